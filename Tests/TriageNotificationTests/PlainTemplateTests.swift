import Mustache
import Testing

@testable import TriageNotification

/// The notifier renders simple texts without the Mustache library; they must come out byte for
/// byte as Mustache renders them, and anything it does not handle must be left to Mustache.
@Suite("Plain templates render as Mustache does")
struct PlainTemplateTests {
    static let names = ["a", "b", "c_d", "e-f", "urgent"]

    /// A random text of text pieces, values and (nested) sections.
    static func text(depth: Int, using generator: inout SplitMix64) -> String {
        let pieces = [
            "Hello", " ", "\n", "  \n", "\u{2028}", "\u{0C}", "\u{0600}", "\u{301}", "\t", "x", "{", "}", "}}", "é", ": ", "*", "{ {",
            "\n\n", " {{", "{{.}}",
        ]
        var result = ""
        for _ in 0..<Int.random(in: 0...5, using: &generator) {
            let name = names.randomElement(using: &generator)!
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<4: result += pieces.randomElement(using: &generator)!
            case 4..<7:
                result += ["{{\(name)}}", "{{ \(name) }}", "{{{\(name)}}}", "{{&\(name)}}", "{{& \(name)}}"].randomElement(
                    using: &generator)!
            default:
                guard depth < 3 else { continue }
                let sigil = Bool.random(using: &generator) ? "#" : "^"
                let inner = text(depth: depth + 1, using: &generator)
                let around = ["", "\n", " "]
                result +=
                    around.randomElement(using: &generator)! + "{{\(sigil)\(name)}}" + around.randomElement(using: &generator)! + inner
                    + around.randomElement(using: &generator)! + "{{/\(name)}}" + around.randomElement(using: &generator)!
            }
        }
        return result
    }

    static func values(using generator: inout SplitMix64) -> [String: Any] {
        var values: [String: Any] = [:]
        for name in names where Bool.random(using: &generator) {
            values[name] =
                Bool.random(using: &generator)
                ? Bool.random(using: &generator) : ["", " ", "x", "line\n", "{{a}}", "true", "<&>"].randomElement(using: &generator)!
        }
        return values
    }

    @Test("generated texts: the plain rendering equals Mustache's, and Mustache gets the rest")
    func sameAsMustache() throws {
        var generator = SplitMix64(seed: 20_261_207)
        var plain = 0
        var left = 0
        for _ in 0..<8_000 {
            let source = Self.text(depth: 0, using: &generator)
            guard let mustache = try? MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT }}" + source) else { continue }
            guard let template = PlainTemplate(source) else {
                left += 1
                continue
            }
            for _ in 0..<3 {
                let values = Self.values(using: &generator)
                let expected = mustache.render(values)
                #expect(template.render(values) == expected, "\(source.debugDescription) with \(values)")
            }
            plain += 1
        }
        // Both kinds occur often enough for the comparison to mean something.
        #expect(plain > 1_500 && left > 1_000, "plain \(plain), left to Mustache \(left)")
    }

    @Test("every shipped text renders without the Mustache library")
    func shippedTextsArePlain() {
        let sources = NotificationTemplates.shippedSources
        #expect(sources.count > 30)
        for source in sources { #expect(PlainTemplate(source) != nil, "\(source)") }
    }

    @Test("what it does not handle is left to Mustache")
    func refusals() {
        for source in [
            "{{#a}}\nx\n{{/a}}",  // standalone section lines: Mustache removes them
            "  {{^a}}  \nx{{/a}}",
            "\nx",  // a blank first line after the notifier's pragma
            "x\n ",  // Mustache drops a last line of white space
            "x\r\n{{#a}}y{{/a}}",
            // Outside attack: Mustache ends lines at U+2028 and form feeds too, and does not see
            // a brace joined to a mark.
            "a\n{{#urgent}}\u{2028}X{{/urgent}}", "a\n{{#urgent}}X\n{{/urgent}}\u{0C}Y", "[\u{0600}{{summary}}]",
            "x \u{0600}{{{summary}}}|", "{{a}}\u{301}",
            "{{a.b}}", "{{.}}", "{{! comment }}", "{{> partial}}", "{{=<% %>=}}", "{{uppercased(a)}}",
            "{{#a}}x", "{{/a}}", "{{#a}}x{{/b}}", "{{a", "{{{a}}",
        ] {
            #expect(PlainTemplate(source) == nil, "\(source.debugDescription)")
        }
        #expect(
            PlainTemplate("Incident {{incident_id}} escalated to level {{level}}: {{reason}}")?.render(["incident_id": "I-1"])
                == "Incident I-1 escalated to level : ")
    }
}
