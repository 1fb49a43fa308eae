/// Characters no name or single field should carry: control characters (C0, DEL, C1; tab and
/// line breaks included), line and paragraph separators, invisible formatting (bidirectional
/// overrides, zero-width spaces) and surrogate, private-use or unassigned code points. Shared by
/// the configuration files' names and the intake's fields, so both refuse the same things.
extension Unicode.Scalar {
    /// Whether this scalar is one of those characters.
    package var isControlOrInvisible: Bool {
        switch properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator, .format, .surrogate, .privateUse, .unassigned: true
        default: false
        }
    }

    /// `U+0009`, `U+202E`: how an error names the character without echoing it.
    package var codePoint: String {
        let hex = String(value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
