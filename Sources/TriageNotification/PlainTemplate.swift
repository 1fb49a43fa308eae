/// A Mustache text made only of plain text, `{{name}}` (or `{{{name}}}`, `{{&name}}`) values and
/// `{{#name}}…{{/name}}` / `{{^name}}…{{/name}}` sections, rendered without the Mustache
/// library's general lookup (a `Mirror` and dynamic casts per name, the largest cost of the
/// notifier's own code in its profile). Every shipped text is of this kind.
///
/// It renders the same as `MustacheTemplate` with `CONTENT_TYPE: TEXT` for the values the
/// notifier renders (strings and booleans, by name): a value prints as itself (a boolean as
/// `true` / `false`); a section shows for a string (empty too) and for `true`, an inverted
/// section for a missing name and for `false`. Names resolve in the values at every depth
/// (a section's string has no names of its own). ``init(_:)`` returns `nil` for anything else
/// — other tags, dotted names, a section tag alone on its line (Mustache drops such lines) —
/// and the text is rendered by Mustache. A property test compares both on generated texts.
struct PlainTemplate: Sendable {
    private indirect enum Node: Sendable {
        case text(String)
        case value(String)
        case section(String, inverted: Bool, [Node])
    }

    private let nodes: [Node]

    init?(_ source: String) {
        guard Self.hasNoStandaloneSectionLine(source), let nodes = Self.parse(source) else { return nil }
        self.nodes = nodes
    }

    /// Renders with `values`: strings and booleans by name (anything else fails the render:
    /// `nil`, and the caller renders with Mustache).
    func render(_ values: [String: Any]) -> String? {
        var output = ""
        return Self.render(nodes, values, into: &output) ? output : nil
    }

    private static func render(_ nodes: [Node], _ values: [String: Any], into output: inout String) -> Bool {
        for node in nodes {
            switch node {
            case .text(let text):
                output += text
            case .value(let name):
                switch values[name] {
                case nil: break
                case let text as String: output += text
                case let flag as Bool: output += flag ? "true" : "false"
                default: return false
                }
            case .section(let name, let inverted, let children):
                let shown: Bool
                switch values[name] {
                case nil: shown = false
                case is String: shown = true
                case let flag as Bool: shown = flag
                default: return false
                }
                if shown != inverted, !render(children, values, into: &output) { return false }
            }
        }
        return true
    }

    /// The nodes of `source`, or `nil` when it holds anything but text, plain names and
    /// sections, or its sections do not nest.
    private static func parse(_ source: String) -> [Node]? {
        var stack: [(name: String, inverted: Bool, nodes: [Node])] = [("", false, [])]
        var rest = Substring(source)
        while !rest.isEmpty {
            guard let open = rest.range(of: "{{") else {
                stack[stack.count - 1].nodes.append(.text(String(rest)))
                break
            }
            if open.lowerBound > rest.startIndex { stack[stack.count - 1].nodes.append(.text(String(rest[..<open.lowerBound]))) }
            rest = rest[open.upperBound...]
            let triple = rest.first == "{"
            if triple { rest = rest.dropFirst() }
            guard let close = rest.range(of: triple ? "}}}" : "}}") else { return nil }
            var tag = rest[..<close.lowerBound]
            rest = rest[close.upperBound...]
            var kind: Character = " "
            if !triple, let first = tag.first, "#^/&".contains(first) {
                kind = first
                tag = tag.dropFirst()
            }
            let name = String(tag.trimmingSpaces())
            guard isPlainName(name) else { return nil }
            switch kind {
            case "#", "^":
                stack.append((name, kind == "^", []))
            case "/":
                guard stack.count > 1, stack[stack.count - 1].name == name else { return nil }
                let section = stack.removeLast()
                stack[stack.count - 1].nodes.append(.section(name, inverted: section.inverted, section.nodes))
            default:
                stack[stack.count - 1].nodes.append(.value(name))
            }
        }
        return stack.count == 1 ? stack[0].nodes : nil
    }

    /// Letters, digits, `_` and `-`: no dots (paths), no parentheses (transforms), no `.` alone.
    private static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty
            && name.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F || byte == 0x2D
            }
    }

    /// False when a line holds a section tag and, without its section tags, only white space:
    /// Mustache removes such a "standalone" line, this renderer does not. The first line too is
    /// left to Mustache when it is blank (the notifier puts a pragma before the text), so is a
    /// last line of white space only, a text with line ends other than "\n", and one with a
    /// brace joined to another character.
    private static func hasNoStandaloneSectionLine(_ source: String) -> Bool {
        // "\r\n" is one Character: lines are not split there. Mustache ends lines at every
        // newline character (U+2028, form feed, ...), and it does not see a brace that forms one
        // character with a mark before or after it (U+0600 "{", "}" U+0301).
        for character in source {
            if character.isNewline, character != "\n" { return false }
            if character.unicodeScalars.count > 1, character.unicodeScalars.contains(where: { $0 == "{" || $0 == "}" }) { return false }
        }
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        if let first = lines.first, first.allSatisfy(\.isWhitespace) { return false }
        // Mustache drops a last line of white space alone ("a\n " renders "a\n").
        if lines.count > 1, let last = lines.last, !last.isEmpty, last.allSatisfy(\.isWhitespace) { return false }
        for line in lines where line.contains("{{#") || line.contains("{{^") || line.contains("{{/") || line.contains("{{ ") {
            var rest = line[...]
            var outside = ""
            while let open = rest.range(of: "{{") {
                outside += rest[..<open.lowerBound]
                rest = rest[open.upperBound...]
                guard let close = rest.range(of: "}}") else { return false }
                let tag = rest[..<close.lowerBound].trimmingSpaces()
                if let first = tag.first, !"#^/".contains(first) { outside += "x" }  // a value shows: not standalone
                rest = rest[close.upperBound...]
            }
            outside += rest
            if outside.allSatisfy(\.isWhitespace) { return false }
        }
        return true
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var result = self
        while result.first == " " { result = result.dropFirst() }
        while result.last == " " { result = result.dropLast() }
        return result
    }
}
