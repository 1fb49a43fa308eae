import Testing
import TriageCore

@Suite("Text from outside on a terminal and in CSV")
struct TerminalTextTests {
    @Test func controlCharactersAreEscapedAndTheRestKept() {
        #expect(TerminalText.escaped("INC-1\nINC-FAKE") == #"INC-1\nINC-FAKE"#)
        #expect(TerminalText.escaped("tier\u{1B}[2J-1\r\t") == #"tier\u{1B}[2J-1\r\t"#)
        #expect(TerminalText.escaped("a\u{7F}b\u{9B}c\u{202E}d\u{0}") == #"a\u{7F}b\u{9B}c\u{202E}d\u{0}"#)
        #expect(TerminalText.escaped(#"Zürich \ café → 東京"#) == #"Zürich \ café → 東京"#)
        #expect(TerminalText.escaped("line one\nid \u{1B}]0;x\u{7}", keepingNewlines: true) == "line one\nid \\u{1B}]0;x\\u{7}")
        #expect(!TerminalText.needsEscaping("tier-1") && TerminalText.needsEscaping("a\r\nb"))
    }

    @Test func csvFieldsAreQuotedWhenTheyMustBe() {
        #expect(CSVField.quoted("tier-1") == "tier-1")
        #expect(CSVField.quoted("a,\"b\"") == "\"a,\"\"b\"\"\"")
        // "\r\n" is one Character, equal to neither "\r" nor "\n": it was left unquoted.
        #expect(CSVField.quoted("a\r\nb") == "\"a\r\nb\"")
        #expect(CSVField.quoted("a\rb") == "\"a\rb\"" && CSVField.quoted("a\nb") == "\"a\nb\"")
        #expect(CSVField.quoted("esc\u{1B}") == "esc\u{1B}", "CSV is data: the text is kept")
    }
}
