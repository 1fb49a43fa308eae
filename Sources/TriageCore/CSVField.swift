import Foundation

/// One field of an RFC 4180 CSV line: quoted (with `"` doubled) when it holds a comma, a quote,
/// a line feed or a carriage return, as is otherwise. The text itself is kept, control
/// characters included: CSV is data for another program, not a terminal.
///
/// ```swift
/// CSVField.quoted("tier-1")   // tier-1
/// CSVField.quoted("a,\"b\"")  // "a,""b"""
/// ```
public enum CSVField {
    /// `text` as a CSV field.
    public static func quoted(_ text: String) -> String {
        // Scalars, not Characters: "\r\n" is one Character, equal to neither "\r" nor "\n".
        guard text.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
