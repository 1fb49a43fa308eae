import Foundation
public import TriageCore
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
//     notifications: { agents: true, customers: true }
//     teams:
//       tier-1:
//         routing: round_robin
//         queue_alert: { after: 30m, notify: [team-lead] }
//         overflow: { to: tier-2, after: { A: 10m, B: 30m } }
//         follow_the_sun: { to: americas }
//
// Like SLA policies, the text is composed into a Yams `Node` tree and walked by hand (TriageCore's
// `YAMLConfigurationReader`) so that every error names the file, line, column and dotted key, and
// unknown keys are refused.

/// A roster file that cannot be used: where the problem is and what to do about it.
///
/// ``description`` reads `FILE:LINE:COLUMN: KEY: MESSAGE` (parts that are `nil` are left out):
///
/// ```
/// roster.yaml:12:15: agents[3].capacity: '0' must be a positive integer (load units)
/// ```
///
/// The same type as SLA policy errors, so the codes and the format are the same.
public typealias RosterError = ConfigurationError

/// The agents of one or more teams and the routing policy they are routed under, as read from
/// a roster file.
public struct Roster: Sendable, Hashable {
    /// In file order.
    public var agents: [Agent]
    public var policy: RoutingPolicy
    /// Every agent's presence to start with (`offline` unless the file says otherwise).
    public var initialPresence: [String: Presence]
    /// Which notices the router asks for (both on unless the file says otherwise).
    public var notices: NoticeSettings

    /// The largest capacity a roster may give (load units): a profile carries it as a 32-bit
    /// number, and the desk adds weights to loads. Near `Int.max` the sum overflowed and stopped
    /// the process (outside attack on issue 25).
    public static let maximumCapacity = 100_000
    /// The largest severity weight (load units).
    public static let maximumWeight = 1_000

    public init(
        agents: [Agent], policy: RoutingPolicy = RoutingPolicy(), initialPresence: [String: Presence] = [:],
        notices: NoticeSettings = NoticeSettings()
    ) {
        self.agents = agents
        self.policy = policy
        self.initialPresence = initialPresence
        self.notices = notices
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

private struct RosterReader: YAMLConfigurationReader {
    let file: String

    static let rosterKeys = ["severity_weights", "calendars", "agents", "notifications", "teams"]
    static let noticeKeys = ["agents", "customers"]
    static let teamKeys = ["routing", "queue_alert", "overflow", "follow_the_sun"]
    static let queueAlertKeys = ["after", "notify"]
    static let overflowKeys = ["to", "after"]
    static let followTheSunKeys = ["to"]
    static let agentKeys = ["id", "team", "products", "languages", "capacity", "shift", "presence"]

    static let mergeAliasExample = "*defaults"
    /// Roster syntax errors keep the positions Yams reports (a key given twice is reported at its
    /// first occurrence), as they always have.
    static let refinesSyntaxErrorPositions = false

    /// `path.key`, `key` at the top level, and `path` itself for an empty key (so an error from
    /// TriageCore's calendar reader with no key points at the calendar).
    static func join(_ path: String, _ key: String) -> String {
        if key.isEmpty { return path }
        return path.isEmpty ? key : "\(path).\(key)"
    }

    // MARK: Roster

    func roster(_ root: Node) throws(RosterError) -> Roster {
        let top = try fields(
            root, path: "", known: Self.rosterKeys,
            what: "a mapping of roster sections (severity_weights, calendars, agents, notifications, teams)")
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
        var notices = NoticeSettings()
        if let node = top["notifications"], !Self.isNull(node) {
            let values = try fields(
                node, path: "notifications", known: Self.noticeKeys, what: "a mapping with agents and customers (true or false)")
            if let flag = values["agents"] { notices.agents = try bool(flag, path: values.path("agents")) }
            if let flag = values["customers"] { notices.customers = try bool(flag, path: values.path("customers")) }
        }
        if let node = top["teams"], !Self.isNull(node) {
            var keys: [String: Node] = [:]
            for entry in try entries(node, path: "teams", what: "a mapping of team names to team settings") {
                let path = Self.join("teams", entry.name)
                guard !entry.name.isEmpty else { throw error(.invalidValue, "a team name must not be empty", at: entry.key, key: path) }
                policy.teams[entry.name] = try teamSettings(entry.value, team: entry.name, path: path)
                keys[entry.name] = entry.key
            }
            // Overflow moves an incident that waited too long; a chain that comes back to a team
            // would bounce incidents between queues for ever (each move starts the wait again).
            for team in keys.keys.sorted() {
                var chain = [team]
                var next = policy.teams[team]?.overflow?.to
                while let current = next, !chain.contains(current) {
                    chain.append(current)
                    next = policy.teams[current]?.overflow?.to
                }
                if let back = next, back == team {
                    throw error(
                        .invalidValue,
                        "overflow goes round in a loop (\((chain + [back]).joined(separator: " → "))): incidents would bounce between the queues; end the chain at a team without overflow",
                        at: keys[team], key: Self.join(Self.join("teams", team), "overflow.to"))
                }
            }
        }
        return Roster(agents: agents, policy: policy, initialPresence: presence, notices: notices)
    }

    // MARK: Teams

    func teamSettings(_ node: Node, team: String, path: String) throws(RosterError) -> TeamSettings {
        var settings = TeamSettings()
        if Self.isNull(node) { return settings }
        let values = try fields(
            node, path: path, known: Self.teamKeys, what: "team settings (routing, queue_alert, overflow, follow_the_sun)")
        if let node = values["routing"] {
            let text = try string(node, path: values.path("routing"), what: "round_robin or least_loaded")
            guard let choice = TeamSettings.Choice(rawValue: text.lowercased()) else {
                throw error(
                    .invalidValue, "'\(text)' is not a routing choice: write round_robin or least_loaded", at: node,
                    key: values.path("routing"))
            }
            settings.choice = choice
        }
        if let node = values["queue_alert"] {
            let alertPath = values.path("queue_alert")
            let alert = try fields(node, path: alertPath, known: Self.queueAlertKeys, what: "a queue alert (after, notify)")
            let afterNode = try required(alert, "after", hint: "how long the oldest incident may wait, e.g. 30m")
            let after = try duration(afterNode, path: alert.path("after"))
            let notifyNode = try required(alert, "notify", hint: "who is told, e.g. [team-lead]")
            let notify = try names(notifyNode, path: alert.path("notify"), what: "a recipient name")
            guard !notify.isEmpty else {
                throw error(.invalidValue, "a queue alert needs at least one recipient", at: notifyNode, key: alert.path("notify"))
            }
            settings.queueAlert = TeamSettings.QueueAlert(after: after, notify: notify)
        }
        if let node = values["overflow"] {
            let overflowPath = values.path("overflow")
            let overflow = try fields(node, path: overflowPath, known: Self.overflowKeys, what: "an overflow (to, after)")
            let toNode = try required(overflow, "to", hint: "the team that takes incidents waiting too long")
            let to = try name(toNode, path: overflow.path("to"), what: "a team name")
            guard to != team else {
                throw error(
                    .invalidValue, "an overflow must go to another team, not '\(team)' itself", at: toNode, key: overflow.path("to"))
            }
            let afterNode = try required(overflow, "after", hint: "waiting time per severity, e.g. { A: 10m, B: 30m }")
            var after: [SupportSeverity: TimeInterval] = [:]
            for entry in try entries(afterNode, path: overflow.path("after"), what: "a mapping of severities (A, B, C) to durations") {
                let itemPath = Self.join(overflow.path("after"), entry.name)
                guard let severity = SupportSeverity(rawValue: entry.name.uppercased()) else {
                    throw error(.unknownKey, "unknown severity '\(entry.name)' (severities are A, B and C)", at: entry.key, key: itemPath)
                }
                guard after[severity] == nil else {
                    throw error(.invalidValue, "severity \(severity.rawValue) is given twice", at: entry.key, key: itemPath)
                }
                after[severity] = try duration(entry.value, path: itemPath)
            }
            settings.overflow = TeamSettings.Overflow(to: to, after: after)
        }
        if let node = values["follow_the_sun"] {
            let sunPath = values.path("follow_the_sun")
            let sun = try fields(node, path: sunPath, known: Self.followTheSunKeys, what: "a follow-the-sun hand-off (to)")
            let toNode = try required(sun, "to", hint: "the team of the next shift")
            let to = try name(toNode, path: sun.path("to"), what: "a team name")
            guard to != team else {
                throw error(
                    .invalidValue, "follow-the-sun must hand off to another team, not '\(team)' itself", at: toNode, key: sun.path("to"))
            }
            settings.followTheSun = TeamSettings.FollowTheSun(to: to)
        }
        return settings
    }

    /// A positive duration: `90s`, `30m`, `2h`, `1h30m` (whole numbers, larger units first).
    func duration(_ node: Node, path: String) throws(RosterError) -> TimeInterval {
        let text = try string(node, path: path, what: "a duration such as 30m, 2h or 1h30m")
        guard let seconds = Self.parseDuration(text) else {
            throw error(
                .invalidValue, "'\(text)' is not a duration: write whole hours, minutes or seconds such as 30m, 2h or 1h30m", at: node,
                key: path)
        }
        guard seconds > 0 else { throw error(.invalidValue, "'\(text)': must be more than zero", at: node, key: path) }
        return seconds
    }

    static func parseDuration(_ text: String) -> TimeInterval? {
        let units: [(Character, TimeInterval)] = [("h", 3_600), ("m", 60), ("s", 1)]
        var rest = Substring(text.lowercased().filter { !$0.isWhitespace })
        guard !rest.isEmpty else { return nil }
        var total: TimeInterval = 0
        var next = 0
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            rest = rest.dropFirst(digits.count)
            guard let number = Int(digits), let unit = rest.first, let index = units.firstIndex(where: { $0.0 == unit }), index >= next
            else { return nil }
            rest = rest.dropFirst()
            total += Double(number) * units[index].1
            next = index + 1
        }
        return total
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
            weights[severity] = try positiveInteger(entry.value, path: itemPath, what: "load units", maximum: Roster.maximumWeight)
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
        let capacity = try positiveInteger(capacityNode, path: values.path("capacity"), what: "load units", maximum: Roster.maximumCapacity)
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

    /// A calendar entry, read by TriageCore's calendar reader (the same rules and messages as SLA
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
                code: error.code, file: file, line: mark?.line, column: mark?.column,
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
}
