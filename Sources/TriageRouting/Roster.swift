import Foundation
import TriageSLA
import Yams

// Reading a team roster (`triage agents apply roster.yaml`) from YAML:
//
//     severity_weights: { A: 3, B: 2, C: 1 }
//     calendars:
//       emea-day: { time_zone: Europe/London, hours: { monday: ["08:00-16:00"] } }
//     agents:
//       - id: ada
//         team: tier-1
//         products: [billing, api]
//         languages: [en, de]
//         capacity: 6
//         shift: emea-day      # optional; none: always on shift
//         presence: online     # optional; default offline
//
// Like SLA policies, the text is composed into a Yams `Node` tree and walked by hand so that
// every error names the file, line, column and dotted key, and unknown keys are refused.

/// A roster file that cannot be used: where the problem is and what to do about it.
///
/// ``description`` reads `FILE:LINE:COLUMN: KEY: MESSAGE` (parts that are `nil` are left out):
///
/// ```
/// roster.yaml:12:15: agents[3].capacity: '0' must be a positive integer (load units)
/// ```
public struct RosterError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem it is. Compare against the `static let` cases; new cases never break
    /// callers. The values match ``SlaPolicyError/Code`` where the kinds are the same.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The text is not valid YAML (or holds a key twice in one mapping).
        public static let syntax = Code(rawValue: "syntax")
        /// A key the format does not know (the message suggests the closest key).
        public static let unknownKey = Code(rawValue: "unknown-key")
        /// A required key is absent.
        public static let missingKey = Code(rawValue: "missing-key")
        /// A value of the wrong shape: a list where a mapping belongs, ...
        public static let wrongType = Code(rawValue: "wrong-type")
        /// A value of the right shape that is not acceptable: a capacity of 0, an unknown time zone, ...
        public static let invalidValue = Code(rawValue: "invalid-value")
        /// A name that refers to something not defined in the file (an agent's shift calendar).
        public static let unknownReference = Code(rawValue: "unknown-reference")
        /// Something defined twice: an agent id.
        public static let duplicate = Code(rawValue: "duplicate")
    }

    public let code: Code
    /// The file name given to ``Roster/load(yaml:file:)``.
    public let file: String
    /// 1-based line of the offending key or value; `nil` when the problem has no position.
    public let line: Int?
    /// 1-based column (in Unicode scalars).
    public let column: Int?
    /// Dotted path such as `agents[3].capacity` (list elements 0-based).
    public let key: String?
    public let message: String

    public init(code: Code, file: String, line: Int? = nil, column: Int? = nil, key: String? = nil, message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.message = message
    }

    /// `FILE:LINE:COLUMN: KEY: MESSAGE`, leaving out the parts that are `nil`.
    public var description: String {
        var location = file
        if let line {
            location += ":\(line)"
            if let column { location += ":\(column)" }
        }
        var parts = location.isEmpty ? [] : [location]
        if let key, !key.isEmpty { parts.append(key) }
        parts.append(message)
        return parts.joined(separator: ": ")
    }
}

/// The agents of one or more teams and the routing policy they are routed under, as read from
/// a roster file.
public struct Roster: Sendable, Hashable {
    /// In file order.
    public var agents: [Agent]
    public var policy: RoutingPolicy
    /// Every agent's presence to start with (`offline` unless the file says otherwise).
    public var initialPresence: [String: Presence]

    public init(agents: [Agent], policy: RoutingPolicy = RoutingPolicy(), initialPresence: [String: Presence] = [:]) {
        self.agents = agents
        self.policy = policy
        self.initialPresence = initialPresence
    }

    /// The teams the roster names, sorted.
    public var teams: [String] { Set(agents.map(\.team)).sorted() }

    /// What brings a desk of `team` up to this roster: each of the team's agents' profile, then
    /// their initial presence (inputs for ``TeamDesk/apply(_:at:policy:)``; agents the roster
    /// does not name are left alone).
    public func inputs(team: String) -> [RoutingInput] {
        agents.filter { $0.team == team }.flatMap { agent -> [RoutingInput] in
            [.profile(agent), .presence(agent: agent.id, initialPresence[agent.id] ?? .offline)]
        }
    }

    /// Reads a roster from YAML text.
    ///
    /// - Parameters:
    ///   - yaml: The roster text; every section is optional (an empty text is an empty roster
    ///     under the default policy).
    ///   - file: The name used in errors (usually the path it was read from).
    /// - Throws: ``RosterError`` naming the file, line, column and key of the first problem:
    ///   YAML syntax, unknown keys, missing or malformed values, a capacity that is not a
    ///   positive integer, a duplicate agent id, a shift calendar the file does not define,
    ///   calendar problems (the rules of SLA calendars, docs/sla.md).
    public static func load(yaml: String, file: String) throws(RosterError) -> Roster {
        let reader = RosterReader(file: file)
        guard let root = try reader.compose(yaml), !RosterReader.isNull(root) else { return Roster(agents: []) }
        return try reader.roster(root)
    }
}

// MARK: - The reader

private struct RosterReader {
    let file: String

    static let rosterKeys = ["severity_weights", "calendars", "agents"]
    static let agentKeys = ["id", "team", "products", "languages", "capacity", "shift", "presence"]

    func error(_ code: RosterError.Code, _ message: String, at node: Node?, key: String) -> RosterError {
        RosterError(
            code: code, file: file, line: node?.mark?.line, column: node?.mark?.column, key: key.isEmpty ? nil : key, message: message)
    }

    // MARK: Roster

    func roster(_ root: Node) throws(RosterError) -> Roster {
        let top = try fields(
            root, path: "", known: Self.rosterKeys, what: "a mapping of roster sections (severity_weights, calendars, agents)")
        var policy = RoutingPolicy()
        if let node = top["severity_weights"] { policy.severityWeights = try weights(node, path: "severity_weights") }
        if let node = top["calendars"] {
            for entry in try entries(node, path: "calendars", what: "a mapping of calendar names to calendars") {
                let path = Self.join("calendars", entry.name)
                guard !entry.name.isEmpty else { throw error(.invalidValue, "a calendar name must not be empty", at: entry.key, key: path) }
                policy.calendars[entry.name] = try calendar(entry.value, path: path)
            }
        }
        var agents: [Agent] = []
        var presence: [String: Presence] = [:]
        var firstSeen: [String: Int] = [:]
        if let node = top["agents"] {
            for (index, item) in try sequence(node, path: "agents", what: "a list of agents").enumerated() {
                let path = Self.index("agents", index)
                let (agent, initial, idNode) = try agent(item, path: path, calendars: policy.calendars)
                if let earlier = firstSeen[agent.id] {
                    throw error(
                        .duplicate, "agent '\(agent.id)' is already defined by agents[\(earlier)]; each id once", at: idNode,
                        key: Self.join(path, "id"))
                }
                firstSeen[agent.id] = index
                agents.append(agent)
                presence[agent.id] = initial
            }
        }
        return Roster(agents: agents, policy: policy, initialPresence: presence)
    }

    func weights(_ node: Node, path: String) throws(RosterError) -> [SupportSeverity: Int] {
        var weights = RoutingPolicy.defaultSeverityWeights
        var seen: [SupportSeverity: String] = [:]
        for entry in try entries(node, path: path, what: "a mapping of severities (A, B, C) to load units") {
            let itemPath = Self.join(path, entry.name)
            guard let severity = SupportSeverity(rawValue: entry.name.uppercased()) else {
                throw error(.unknownKey, "unknown severity '\(entry.name)' (severities are A, B and C)", at: entry.key, key: itemPath)
            }
            if let earlier = seen[severity] {
                throw error(
                    .invalidValue, "severity \(severity.rawValue) is given twice ('\(earlier)' and '\(entry.name)')", at: entry.key,
                    key: itemPath)
            }
            seen[severity] = entry.name
            weights[severity] = try positiveInteger(entry.value, path: itemPath, what: "load units")
        }
        return weights
    }

    func agent(_ node: Node, path: String, calendars: [String: BusinessCalendar]) throws(RosterError) -> (Agent, Presence, Node) {
        if Self.isNull(node) {
            throw error(.wrongType, "expected an agent (id, team, products, capacity, ...), found nothing", at: node, key: path)
        }
        let values = try fields(node, path: path, known: Self.agentKeys, what: "an agent (id, team, products, capacity, ...)")
        let idNode = try required(values, "id", hint: "the agent's id, as in agent events")
        let id = try name(idNode, path: values.path("id"), what: "an agent id")
        let teamNode = try required(values, "team", hint: "the team whose incidents the agent takes")
        let team = try name(teamNode, path: values.path("team"), what: "a team name")
        let productsNode = try required(values, "products", hint: "the products the agent supports, e.g. [billing, api]")
        let products = try names(productsNode, path: values.path("products"), what: "a product")
        guard !products.isEmpty else {
            throw error(
                .invalidValue, "an agent with no products is never routed anything; list at least one", at: productsNode,
                key: values.path("products"))
        }
        var languages: [String] = []
        if let node = values["languages"] {
            languages = try names(node, path: values.path("languages"), what: "a language tag")
            for (index, tag) in languages.enumerated() where !Self.isLanguageTag(tag) {
                let itemPath = Self.index(values.path("languages"), index)
                let itemNode = Self.element(index, of: node) ?? node
                throw error(
                    .invalidValue, "'\(tag)' is not a language tag; write a BCP 47 tag such as en, de or pt-BR", at: itemNode, key: itemPath
                )
            }
        }
        let capacityNode = try required(
            values, "capacity", hint: "how many load units the agent takes at once (severity A weighs 3 by default)")
        let capacity = try positiveInteger(capacityNode, path: values.path("capacity"), what: "load units")
        var shift: String?
        if let node = values["shift"] {
            let calendar = try name(node, path: values.path("shift"), what: "the name of a calendar under 'calendars'")
            guard calendars[calendar] != nil else {
                var message = "shift calendar '\(calendar)' is not defined under 'calendars'"
                let known = calendars.keys.sorted()
                if let suggestion = Self.closest(to: calendar, in: known) {
                    message += "; did you mean '\(suggestion)'?"
                } else {
                    message += known.isEmpty ? " (the file defines none)" : " (defined: \(known.joined(separator: ", ")))"
                }
                throw error(.unknownReference, message, at: node, key: values.path("shift"))
            }
            shift = calendar
        }
        var presence = Presence.offline
        if let node = values["presence"] {
            let text = try string(node, path: values.path("presence"), what: "online, away or offline")
            guard let value = Presence(rawValue: text.lowercased()) else {
                throw error(
                    .invalidValue, "'\(text)' is not a presence: write online, away or offline", at: node, key: values.path("presence"))
            }
            presence = value
        }
        let agent = Agent(id: id, team: team, skills: Set(products), languages: Set(languages), capacity: capacity, shiftCalendar: shift)
        return (agent, presence, idNode)
    }

    /// `en`, `de-CH`, `zh-Hant-TW`: letters first, then alphanumeric subtags, each 1 to 8 long.
    static func isLanguageTag(_ tag: String) -> Bool {
        let parts = tag.split(separator: "-", omittingEmptySubsequences: false)
        guard let primary = parts.first, (2...8).contains(primary.count), primary.allSatisfy({ $0.isASCII && $0.isLetter }) else {
            return false
        }
        return parts.dropFirst().allSatisfy { (1...8).contains($0.count) && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }
    }

    // MARK: Calendars

    /// A calendar entry, read by TriageSLA's calendar reader (the same rules and messages as SLA
    /// policies). That reader takes text, so the entry is written back out as YAML and its
    /// errors are pointed at the matching node of this file.
    func calendar(_ node: Node, path: String) throws(RosterError) -> BusinessCalendar {
        if Self.isNull(node) {
            throw error(.wrongType, "expected a calendar (time_zone, hours, holidays or always_open), found nothing", at: node, key: path)
        }
        let text: String
        do {
            text = try Yams.serialize(node: node)
        } catch {
            throw self.error(.invalidValue, "cannot read this calendar: \(error)", at: node, key: path)
        }
        do {
            return try BusinessCalendar.load(yaml: text, file: file)
        } catch {
            var mark = node.mark
            if let line = error.line, let column = error.column, let copy = try? Yams.compose(yaml: text),
                let original = Self.counterpart(line: line, column: column, in: copy, original: node)
            {
                mark = original
            }
            throw RosterError(
                code: RosterError.Code(rawValue: error.code.rawValue), file: file, line: mark?.line, column: mark?.column,
                key: Self.join(path, error.key ?? ""), message: error.message
            )
        }
    }

    /// The position in `original` of the node of `copy` (a re-composed serialization of it, so
    /// the same shape) that sits at `line`:`column`; the deepest match wins.
    static func counterpart(line: Int, column: Int, in copy: Node, original: Node) -> Mark? {
        switch (copy, original) {
        case (.mapping(let copied), .mapping(let originals)):
            for ((copyKey, copyValue), (originalKey, originalValue)) in zip(copied, originals) {
                if let found = counterpart(line: line, column: column, in: copyKey, original: originalKey) { return found }
                if let found = counterpart(line: line, column: column, in: copyValue, original: originalValue) { return found }
            }
        case (.sequence(let copied), .sequence(let originals)):
            for (copyItem, originalItem) in zip(copied, originals) {
                if let found = counterpart(line: line, column: column, in: copyItem, original: originalItem) { return found }
            }
        default:
            break
        }
        if let mark = copy.mark, mark.line == line, mark.column == column { return original.mark }
        return nil
    }

    // MARK: YAML

    /// Composes the text; YAML errors become ``RosterError/Code/syntax`` with the position.
    func compose(_ yaml: String) throws(RosterError) -> Node? {
        do {
            return try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            switch error {
            case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
                .composer(let context, let problem, let mark, _):
                let detail = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
                throw RosterError(
                    code: .syntax, file: file, line: mark.line, column: mark.column, message: "invalid YAML: \(problem)\(detail)")
            case .duplicatedKeysInMapping(let duplicates, let context):
                let names = duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ")
                throw RosterError(
                    code: .syntax, file: file, line: context.mark.line, column: context.mark.column,
                    message: "key \(names) appears more than once in the same mapping; keep one"
                )
            default:
                throw RosterError(code: .syntax, file: file, message: "invalid YAML: \(error)")
            }
        } catch {
            throw RosterError(code: .syntax, file: file, message: "invalid YAML: \(error)")
        }
    }

    static func isNull(_ node: Node) -> Bool { node.null != nil }

    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .scalar(let scalar): isNull(node) ? "nothing" : "'\(scalar.string)'"
        case .alias: "an alias"
        }
    }

    /// A mapping's entries in file order; `null` reads as none; `<<` merges are expanded (keys
    /// written in the mapping itself win).
    func entries(_ node: Node, path: String, what: String) throws(RosterError) -> [(name: String, key: Node, value: Node)] {
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
                        throw error(.wrongType, "a '<<' merge needs a mapping (an alias such as *defaults)", at: source, key: path)
                    }
                    merged += try entries(source, path: path, what: what)
                }
                continue
            }
            result.append((scalar.string, keyNode, value))
        }
        for entry in merged where !result.contains(where: { $0.name == entry.name }) { result.append(entry) }
        return result
    }

    struct Fields {
        let node: Node
        let path: String
        let entries: [(name: String, key: Node, value: Node)]

        /// The value of `name`; an explicit `null` counts as absent.
        subscript(name: String) -> Node? {
            guard let value = entries.first(where: { $0.name == name })?.value, !RosterReader.isNull(value) else { return nil }
            return value
        }
        func keyNode(_ name: String) -> Node? { entries.first { $0.name == name }?.key }
        func path(_ name: String) -> String { RosterReader.join(path, name) }
    }

    /// A mapping whose keys must all be in `known`.
    func fields(_ node: Node, path: String, known: [String], what: String) throws(RosterError) -> Fields {
        let entries = try entries(node, path: path, what: what)
        for entry in entries where !known.contains(entry.name) {
            var message = "unknown key '\(entry.name)'"
            if let suggestion = Self.closest(to: entry.name, in: known) {
                message += "; did you mean '\(suggestion)'?"
            } else {
                message += " (expected \(known.map { "'\($0)'" }.joined(separator: ", ")))"
            }
            throw error(.unknownKey, message, at: entry.key, key: Self.join(path, entry.name))
        }
        return Fields(node: node, path: path, entries: entries)
    }

    func required(_ fields: Fields, _ name: String, hint: String) throws(RosterError) -> Node {
        guard let value = fields[name] else {
            throw error(.missingKey, "missing '\(name)': \(hint)", at: fields.keyNode(name) ?? fields.node, key: fields.path(name))
        }
        return value
    }

    func sequence(_ node: Node, path: String, what: String) throws(RosterError) -> [Node] {
        if Self.isNull(node) { return [] }
        guard case .sequence(let list) = node else {
            throw error(.wrongType, "expected \(what), found \(Self.describe(node))", at: node, key: path)
        }
        return Array(list)
    }

    static func element(_ index: Int, of node: Node) -> Node? {
        guard case .sequence(let list) = node, index < list.count else { return nil }
        return list[index]
    }

    func string(_ node: Node, path: String, what: String) throws(RosterError) -> String {
        guard case .scalar(let scalar) = node, !Self.isNull(node) else {
            throw error(.wrongType, "expected \(what), found \(Self.describe(node))", at: node, key: path)
        }
        return scalar.string.trimmingCharacters(in: .whitespaces)
    }

    /// A non-empty string.
    func name(_ node: Node, path: String, what: String) throws(RosterError) -> String {
        let text = try string(node, path: path, what: what)
        guard !text.isEmpty else { throw error(.invalidValue, "\(what) must not be empty", at: node, key: path) }
        return text
    }

    /// A list of distinct non-empty strings (a single one is accepted too).
    func names(_ node: Node, path: String, what: String) throws(RosterError) -> [String] {
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

    func positiveInteger(_ node: Node, path: String, what: String) throws(RosterError) -> Int {
        let text = try string(node, path: path, what: "a positive integer (\(what))")
        guard let value = Int(text), value > 0 else {
            throw error(.invalidValue, "'\(text)' must be a positive integer (\(what))", at: node, key: path)
        }
        return value
    }

    // MARK: Text helpers

    static func join(_ path: String, _ key: String) -> String {
        if key.isEmpty { return path }
        return path.isEmpty ? key : "\(path).\(key)"
    }
    static func index(_ path: String, _ index: Int) -> String { "\(path)[\(index)]" }

    /// The candidate closest to `name` if it is likely a typo of it (or `name` a prefix of it).
    static func closest(to name: String, in candidates: [String]) -> String? {
        let target = Array(name.lowercased())
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(target, Array(candidate.lowercased()))
            if distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        if let best, best.distance <= max(1, min(3, best.candidate.count / 3)), best.distance < target.count { return best.candidate }
        if target.count >= 3, let prefixed = candidates.first(where: { $0.lowercased().hasPrefix(String(target)) }) { return prefixed }
        return nil
    }

    /// Levenshtein distance plus adjacent transpositions.
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
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { current[j] = min(current[j], previous2[j - 2] + 1) }
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }
}
