/// Text that came from outside (an event's incident id, a team or customer name, a file's
/// line) made safe to print on a terminal: control characters are written as escapes, so an id
/// holding a newline cannot fake a line of a table and an ESC sequence never reaches the
/// terminal.
///
/// `\n`, `\r` and `\t` are written so; other C0 and C1 controls, DEL, the bidirectional
/// overrides and isolates (which reorder what is shown) and the line and paragraph separators
/// as `\u{1B}`. Everything else, backslashes included, is kept as it is: readable names stay
/// readable.
///
/// ```swift
/// TerminalText.escaped("INC-1\nINC-2")  // "INC-1\\nINC-2", printed as INC-1\nINC-2
/// ```
public enum TerminalText {
    /// `text` with every control character escaped.
    public static func escaped(_ text: String) -> String {
        escaped(text, keepingNewlines: false)
    }

    /// `text` with every control character escaped except `\n`: for a message whose lines are
    /// its own (the parts that came from outside are escaped with ``escaped(_:)``).
    public static func escaped(_ text: String, keepingNewlines: Bool) -> String {
        guard text.unicodeScalars.contains(where: { needsEscape($0) && !(keepingNewlines && $0 == "\n") }) else { return text }
        var result = ""
        result.unicodeScalars.reserveCapacity(text.unicodeScalars.count + 8)
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar), !(keepingNewlines && scalar == "\n") else {
                result.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default: result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
        }
        return result
    }

    /// Whether `text` holds anything ``escaped(_:)`` would change.
    public static func needsEscaping(_ text: String) -> Bool {
        text.unicodeScalars.contains(where: needsEscape)
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: true
        // Left-to-right/right-to-left marks, embeddings and overrides, isolates; line and
        // paragraph separators.
        case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069, 0x2028, 0x2029: true
        default: false
        }
    }
}
