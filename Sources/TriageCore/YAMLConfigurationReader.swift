import Foundation
package import Yams

// What the YAML loaders of this package share (business calendars here; SLA policies, rosters,
// notification rules, billing policies and tenants files in their modules): the text is composed
// into a Yams `Node` tree and walked by hand rather than decoded with `Codable`, because every
// node carries its line and column. So each error can name the file, the position and the dotted
// key of the offending value, and keys a format does not know are reported (with the closest
// known key) instead of being silently ignored.

/// A walker over one composed YAML file: every error it throws is a ``ConfigurationError``
/// carrying the file, the node's position and the dotted key path.
///
/// A loader conforms with a small private type that holds ``file`` and adds the format's own
/// sections; the shape checks (mappings with known keys, required keys, lists, strings, names,
/// positive integers) and the error texts come from this protocol's extension.
package protocol YAMLConfigurationReader {
    /// The file name used in errors (usually the path the text was read from).
    var file: String { get }

    /// An alias a '<<' merge could name in this format, such as `*office-hours`; it appears in the
    /// error for a merge of something that is not a mapping.
    static var mergeAliasExample: String { get }

    /// Whether YAML syntax errors are pointed more precisely than Yams reports them: a key given
    /// twice at its second occurrence (not the first), a reader error (such as a control
    /// character) at its line and column. Default `true`.
    static var refinesSyntaxErrorPositions: Bool { get }

    /// `path.key`, or `key` at the top level: the dotted path of a key inside `path`.
    static func join(_ path: String, _ key: String) -> String
}

/// The keys of a mapping checked by ``YAMLConfigurationReader/fields(_:path:known:what:)``.
package struct YAMLFields {
    package let node: Node
    package let path: String
    package let entries: [(name: String, key: Node, value: Node)]

    /// The value of `name`; an explicit `null` counts as absent.
    package subscript(name: String) -> Node? {
        guard let value = entries.first(where: { $0.name == name })?.value, value.null == nil else { return nil }
        return value
    }
    package func keyNode(_ name: String) -> Node? { entries.first { $0.name == name }?.key }
    package func path(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }
}

extension YAMLConfigurationReader {
    package typealias Fields = YAMLFields

    package static var refinesSyntaxErrorPositions: Bool { true }

    package static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
    package static func index(_ path: String, _ index: Int) -> String { "\(path)[\(index)]" }

    // MARK: Errors

    package func error(_ code: ConfigurationError.Code, _ message: String, at node: Node?, key: String) -> ConfigurationError {
        let mark = node?.mark
        return ConfigurationError(
            code: code, file: file, line: mark?.line, column: mark?.column, key: key.isEmpty ? nil : key, message: message)
    }

    /// Composes the text; YAML errors become ``ConfigurationError/Code/syntax`` with the position.
    package func compose(_ yaml: String) throws(ConfigurationError) -> Node? {
        do {
            return try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw syntaxError(error, in: yaml)
        } catch {
            throw ConfigurationError(code: .syntax, file: file, message: "invalid YAML: \(error)")
        }
    }

    func syntaxError(_ error: YamlError, in yaml: String) -> ConfigurationError {
        func located(_ mark: Mark?, _ message: String) -> ConfigurationError {
            ConfigurationError(code: .syntax, file: file, line: mark?.line, column: mark?.column, message: message)
        }
        func explain(_ context: YamlError.Context?, _ problem: String) -> String {
            guard let context else { return "invalid YAML: \(problem)" }
            return "invalid YAML: \(problem) (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
        }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return located(mark, explain(context, problem))
        case .reader(let problem, let offset, _, _) where Self.refinesSyntaxErrorPositions:
            // `offset` counts Characters from the start of the text.
            guard let offset, offset <= yaml.count else { return located(nil, "invalid YAML: \(problem)") }
            let prefix = yaml.prefix(offset)
            let line = prefix.reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
            let column = prefix.reversed().prefix { $0 != "\n" }.count + 1
            return ConfigurationError(code: .syntax, file: file, line: line, column: column, message: "invalid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let names = duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ")
            let message = "key \(names) appears more than once in the same mapping; keep one"
            let line =
                Self.refinesSyntaxErrorPositions && duplicates.count == 1
                ? Self.repetition(of: duplicates[0], after: context.mark, in: yaml) : nil
            let key = duplicates.count == 1 ? Self.keyPath(of: duplicates[0], at: context.mark, in: yaml) : nil
            return ConfigurationError(
                code: .syntax, file: file, line: line ?? context.mark.line, column: context.mark.column, key: key, message: message)
        default:
            return located(nil, "invalid YAML: \(error)")
        }
    }

    /// The dotted path of the duplicated `key` whose first occurrence is at `mark`, like every
    /// other error's: Yams refuses the whole text, so it is composed again with that occurrence
    /// renamed and the key looked up by its position. `nil` when that does not compose either
    /// (another duplicate, a quoted key the renaming breaks).
    static func keyPath(of key: String, at mark: Mark, in yaml: String) -> String? {
        var lines = yaml.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.unicodeScalars) }
        guard mark.line >= 1, mark.line <= lines.count, mark.column >= 1, mark.column - 1 <= lines[mark.line - 1].count else { return nil }
        lines[mark.line - 1].insert(contentsOf: "triage-duplicate-".unicodeScalars, at: mark.column - 1)
        var renamed = String.UnicodeScalarView()
        for (index, line) in lines.enumerated() {
            if index > 0 { renamed.append("\n") }
            renamed.append(contentsOf: line)
        }
        guard let root = try? Yams.compose(yaml: String(renamed)) else { return nil }
        func find(_ node: Node, _ path: String) -> String? {
            switch node {
            case .mapping(let mapping):
                for (name, value) in mapping {
                    if name.mark?.line == mark.line, name.mark?.column == mark.column { return join(path, key) }
                    if let found = find(value, join(path, name.string ?? "?")) { return found }
                }
            case .sequence(let sequence):
                for (position, element) in sequence.enumerated() {
                    if let found = find(element, index(path, position)) { return found }
                }
            default: break
            }
            return nil
        }
        return find(root, "")
    }

    /// Yams marks the first occurrence of a duplicated key; the second is the one to point at.
    /// Its line is found by looking for the same key at the same indentation further down (block
    /// style); `nil` if there is none (flow style), and the first occurrence is reported.
    static func repetition(of key: String, after first: Mark, in yaml: String) -> Int? {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        guard first.line >= 1, first.line <= lines.count else { return nil }
        for number in first.line..<lines.count {
            let text = lines[number].unicodeScalars
            guard text.count >= first.column - 1 + key.unicodeScalars.count else { continue }
            let indent = text.prefix(first.column - 1)
            let rest = Substring(text.dropFirst(first.column - 1))
            if indent.allSatisfy({ $0 == " " }), rest.hasPrefix(key), rest.dropFirst(key.count).drop(while: { $0 == " " }).hasPrefix(":") {
                return number + 1
            }
        }
        return nil
    }

    // MARK: Node shapes

    package static func isNull(_ node: Node) -> Bool { node.null != nil }

    package static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .scalar(let scalar): isNull(node) ? "nothing" : "'\(scalar.string)'"
        case .alias: "an alias"
        }
    }

    /// A mapping's entries by key text, in file order. `null` (an empty section) reads as no
    /// entries; `<<` merge keys are expanded (keys written in the mapping itself win).
    package func entries(_ node: Node, path: String, what: String) throws(ConfigurationError) -> [(name: String, key: Node, value: Node)] {
        if Self.isNull(node) { return [] }
        guard case .mapping(let mapping) = node else {
            throw error(.wrongType, "expected \(what), found \(Self.describe(node))", at: node, key: path)
        }
        var result: [(name: String, key: Node, value: Node)] = []
        var merged: [(name: String, key: Node, value: Node)] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode, !Self.isNull(keyNode) else {
                throw error(.wrongType, "keys must be plain names, found \(Self.describe(keyNode))", at: keyNode, key: path)
            }
            if scalar.string == "<<" && scalar.style == .plain {
                let sources: [Node] = if case .sequence(let list) = value { Array(list) } else { [value] }
                for source in sources {
                    guard case .mapping = source else {
                        throw error(
                            .wrongType, "a '<<' merge needs a mapping (an alias such as \(Self.mergeAliasExample))", at: source, key: path)
                    }
                    merged += try entries(source, path: path, what: what)
                }
                continue
            }
            result.append((scalar.string, keyNode, value))
        }
        for entry in merged where !result.contains(where: { $0.name == entry.name }) {
            result.append(entry)
        }
        return result
    }

    /// A mapping whose keys must all be in `known`; an unknown key is an error that suggests the
    /// closest known one.
    package func fields(_ node: Node, path: String, known: [String], what: String) throws(ConfigurationError) -> Fields {
        let entries = try entries(node, path: path, what: what)
        for entry in entries where !known.contains(entry.name) {
            throw unknownKey(entry.name, at: entry.key, path: path, known: known)
        }
        return Fields(node: node, path: path, entries: entries)
    }

    package func unknownKey(_ name: String, at node: Node, path: String, known: [String], noun: String = "key") -> ConfigurationError {
        var message = "unknown \(noun) '\(name)'"
        if let suggestion = Self.closest(to: name, in: known) {
            message += "; did you mean '\(suggestion)'?"
        } else {
            message += " (expected \(known.map { "'\($0)'" }.joined(separator: ", ")))"
        }
        return error(.unknownKey, message, at: node, key: Self.join(path, name))
    }

    package func required(_ fields: Fields, _ name: String, hint: String) throws(ConfigurationError) -> Node {
        guard let value = fields[name] else {
            throw error(.missingKey, "missing '\(name)': \(hint)", at: fields.keyNode(name) ?? fields.node, key: fields.path(name))
        }
        return value
    }

    package func sequence(_ node: Node, path: String, what: String) throws(ConfigurationError) -> [Node] {
        if Self.isNull(node) { return [] }
        guard case .sequence(let list) = node else {
            throw error(.wrongType, "expected \(what), found \(Self.describe(node))", at: node, key: path)
        }
        return Array(list)
    }

    /// The `index`th item of a list node, if it is one and that long.
    package static func element(_ index: Int, of node: Node) -> Node? {
        guard case .sequence(let list) = node, index < list.count else { return nil }
        return list[index]
    }

    /// A scalar's text, trimmed of spaces.
    package func string(_ node: Node, path: String, what: String) throws(ConfigurationError) -> String {
        guard case .scalar(let scalar) = node, !Self.isNull(node) else {
            throw error(.wrongType, "expected \(what), found \(Self.describe(node))", at: node, key: path)
        }
        return scalar.string.trimmingCharacters(in: .whitespaces)
    }

    /// `true`/`yes`/`on` or `false`/`no`/`off`, in any case.
    package func bool(_ node: Node, path: String) throws(ConfigurationError) -> Bool {
        let text = try string(node, path: path, what: "true or false")
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(.invalidValue, "'\(text)' is not true or false", at: node, key: path)
        }
    }

    /// A non-empty string without control characters (tab and line breaks included), line or
    /// paragraph separators, or invisible formatting (bidirectional overrides, zero-width
    /// spaces); the zero-width joiners that some scripts and emoji need are allowed. Names end
    /// up in ids, logs, pages and the intake's fields, which refuse the same characters. The
    /// message names the character by code point, not the value.
    package func name(_ node: Node, path: String, what: String) throws(ConfigurationError) -> String {
        let text = try string(node, path: path, what: what)
        guard !text.isEmpty else { throw error(.invalidValue, "\(what) must not be empty", at: node, key: path) }
        if let scalar = text.unicodeScalars.first(where: { $0.isControlOrInvisible && $0 != "\u{200C}" && $0 != "\u{200D}" }) {
            throw error(
                .invalidValue, "\(what) must not contain \(scalar.codePoint) (a control or invisible character)", at: node, key: path)
        }
        return text
    }

    /// A list of distinct non-empty strings (a single one is accepted too).
    package func names(_ node: Node, path: String, what: String) throws(ConfigurationError) -> [String] {
        let items: [Node] =
            if case .scalar = node, !Self.isNull(node) { [node] } else { try sequence(node, path: path, what: "a list (\(what) each)") }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            let itemPath = Self.index(path, index)
            let text = try name(item, path: itemPath, what: what)
            guard !result.contains(text) else { throw error(.invalidValue, "'\(text)' is listed twice", at: item, key: itemPath) }
            result.append(text)
        }
        return result
    }

    /// A positive integer of at most `maximum` (what the value's users can add up safely).
    package func positiveInteger(_ node: Node, path: String, what: String, maximum: Int = .max) throws(ConfigurationError) -> Int {
        let text = try string(node, path: path, what: "a positive integer (\(what))")
        guard let value = Int(text), value > 0 else {
            throw error(.invalidValue, "'\(text)' must be a positive integer (\(what))", at: node, key: path)
        }
        guard value <= maximum else {
            throw error(.invalidValue, "'\(text)' is more than \(maximum) (\(what))", at: node, key: path)
        }
        return value
    }

    /// The name of an environment variable that holds a secret (a key, a token, a password),
    /// such as `example`. Never quoted back in an error: text that is not such a name is most
    /// likely the secret itself, pasted where its variable's name belongs, and errors reach logs.
    package func environmentVariableName(_ node: Node, path: String, example: String) throws(ConfigurationError) -> String {
        let text = try string(node, path: path, what: "the name of an environment variable, such as \(example)")
        guard Self.isEnvironmentVariableName(text) else {
            throw error(
                .invalidValue,
                "expected an environment variable name such as \(example) (found \(text.count) characters that are not one: "
                    + "upper-case letters, digits and _, in words of at most 16); the secret itself belongs in that variable, never in this file",
                at: node, key: path)
        }
        return text
    }

    /// Whether `text` reads as the name of an environment variable: upper-case ASCII letters,
    /// digits and `_`, not starting with a digit, at most 128 characters, in `_`-separated words
    /// of at most 16 characters, those over 12 without digits. Secrets fail (lower case, `+/=-`,
    /// or one long run of letters and digits), so a name that passes may be printed.
    package static func isEnvironmentVariableName(_ text: String) -> Bool {
        let scalars = text.unicodeScalars
        guard let first = scalars.first, first == "_" || ("A"..."Z").contains(first), scalars.count <= 128 else {
            return false
        }
        guard scalars.allSatisfy({ $0 == "_" || ("A"..."Z").contains($0) || ("0"..."9").contains($0) }) else {
            return false
        }
        return text.split(separator: "_").allSatisfy { word in
            word.count <= 16 && (word.count <= 12 || !word.contains(where: \.isNumber))
        }
    }

    // MARK: Suggestions

    /// The candidate closest to `name` (case-insensitive, transpositions count once), if it is
    /// close enough to be a likely typo or a prefix of it.
    package static func closest(to name: String, in candidates: [String]) -> String? {
        let target = Array(name.lowercased())
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(target, Array(candidate.lowercased()))
            if distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        if let best, best.distance <= max(1, min(3, best.candidate.count / 3)), best.distance < target.count {
            return best.candidate
        }
        if target.count >= 3, let prefixed = candidates.first(where: { $0.lowercased().hasPrefix(String(target)) }) {
            return prefixed
        }
        return nil
    }

    /// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previous2[j - 2] + 1)
                }
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }
}
