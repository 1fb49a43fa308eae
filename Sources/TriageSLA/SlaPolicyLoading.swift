import Foundation
public import TriageCore
import Yams

// Reading SLA policies from YAML (the format is documented in docs/sla.md). The walk itself, the
// shape checks and their error texts, shared with every configuration file, are TriageCore's
// `YAMLConfigurationReader`; each entry under `calendars:` is read by TriageCore's
// `BusinessCalendarReader`, as a standalone calendar file is. Errors are `ConfigurationError`s
// (`SlaPolicyError` here).

/// A policy or calendar file that cannot be used (the name SLA code and its callers know it by).
public typealias SlaPolicyError = ConfigurationError

extension SlaPolicy {
    /// Reads a policy from YAML text (docs/sla.md describes the format).
    ///
    /// Every section is optional; what is missing keeps the defaults of ``init(targets:warningPercents:warningNotify:escalation:defaultCalendar:calendars:teamCalendars:reopenWindowMinutes:)``,
    /// and an empty document is the default policy. The calendar named `default` becomes
    /// ``defaultCalendar``; all named calendars (`default` included) go into ``calendars``.
    ///
    /// ```swift
    /// let policy = try SlaPolicy.load(yaml: text, file: "config/sla-policy.yaml")
    /// ```
    ///
    /// - Parameters:
    ///   - yaml: The policy text.
    ///   - file: The name used in errors (usually the path it was read from).
    /// - Throws: ``SlaPolicyError`` naming the file, line, column and key of the first problem:
    ///   YAML syntax, unknown keys, malformed or out-of-range values, overlapping hours, unknown
    ///   time zones, teams that name an undefined calendar, escalation levels out of order.
    public static func load(yaml: String, file: String) throws(SlaPolicyError) -> SlaPolicy {
        let reader = PolicyReader(file: file)
        guard let root = try reader.compose(yaml), !PolicyReader.isNull(root) else { return SlaPolicy() }
        return try reader.policy(root)
    }
}

// MARK: - The reader

/// Walks a composed policy; every error it throws carries the file, the node's position and the
/// dotted key path.
private struct PolicyReader: YAMLConfigurationReader {
    let file: String

    static let policyKeys = ["calendars", "teams", "targets", "warnings", "escalation", "reopen_window", "pause_reasons"]
    static let pauseReasonKeys = ["pauses"]
    /// More would not fit an incident's one-byte pause index.
    static let maximumPauseReasons = 200
    static let targetKeys = SlaTarget.allCases.map(\.rawValue)
    static let warningKeys = ["at", "notify"]
    static let levelKeys = ["level", "after", "notify", "reassign"]
    /// Calendar names the compiled rules give their own meaning (``SlaRules`` numbers `24x7` as
    /// the always-open UTC calendar), so a policy cannot define them.
    static let reservedCalendarNames: Set<String> = ["24x7"]

    static let mergeAliasExample = "*office-hours"

    // MARK: Values

    func integer(_ node: Node, path: String, what: String) throws(SlaPolicyError) -> Int {
        let text = try string(node, path: path, what: what)
        guard let value = Int(text) else { throw error(.invalidValue, "'\(text)' is not \(what)", at: node, key: path) }
        return value
    }

    /// A duration in minutes: `90m`, `4h`, `1h30m` (`0` alone is allowed).
    func duration(_ node: Node, path: String, allowZero: Bool) throws(SlaPolicyError) -> Double {
        let text = try string(node, path: path, what: "a duration such as 90m, 4h or 1h30m")
        let minutes: Double
        switch Self.parseDuration(text) {
        case .success(let value): minutes = value
        case .failure(let problem): throw error(.invalidValue, problem.message, at: node, key: path)
        }
        if minutes == 0 && !allowZero {
            throw error(.invalidValue, "'\(text)': must be more than zero", at: node, key: path)
        }
        return minutes
    }

    /// A target that may be turned off: `off` (`nil`) or a duration.
    func optionalDuration(_ node: Node, path: String) throws(SlaPolicyError) -> Double? {
        // YAML 1.1 readers take a bare `off` for false: both spellings mean no target.
        if case .scalar(let scalar) = node, ["off", "false"].contains(scalar.string.lowercased()) { return nil }
        return try duration(node, path: path, allowZero: false)
    }

    /// Recipient names: a list of non-empty, distinct strings (a single name is accepted too).
    func recipients(_ node: Node, path: String) throws(SlaPolicyError) -> [String] {
        let items: [Node] = if case .scalar = node { [node] } else { try sequence(node, path: path, what: "a list of recipient names") }
        var names: [String] = []
        for (index, item) in items.enumerated() {
            let itemPath = Self.index(path, index)
            let name = try string(item, path: itemPath, what: "a recipient name")
            guard !name.isEmpty else { throw error(.invalidValue, "a recipient name must not be empty", at: item, key: itemPath) }
            guard !names.contains(name) else { throw error(.invalidValue, "'\(name)' is listed twice", at: item, key: itemPath) }
            names.append(name)
        }
        return names
    }

    // MARK: Policy

    func policy(_ root: Node) throws(SlaPolicyError) -> SlaPolicy {
        let top = try fields(root, path: "", known: Self.policyKeys, what: "a mapping of policy sections (calendars, teams, targets, ...)")
        var policy = SlaPolicy()

        var calendarNodes: [String: Node] = [:]
        if let node = top["calendars"] {
            for entry in try entries(node, path: "calendars", what: "a mapping of calendar names to calendars") {
                let path = Self.join("calendars", entry.name)
                guard !entry.name.isEmpty else { throw error(.invalidValue, "a calendar name must not be empty", at: entry.key, key: path) }
                guard !Self.reservedCalendarNames.contains(entry.name) else {
                    throw error(
                        .invalidValue,
                        "'\(entry.name)' is reserved for 24x7 coverage; choose another name (for example follow-the-sun with always_open: true)",
                        at: entry.key, key: path)
                }
                policy.calendars[entry.name] = try BusinessCalendarReader(file: file).calendar(entry.value, path: path)
                calendarNodes[entry.name] = entry.key
            }
            if let standard = policy.calendars["default"] { policy.defaultCalendar = standard }
        }

        if let node = top["teams"] {
            for entry in try entries(node, path: "teams", what: "a mapping of team names to calendar names") {
                let path = Self.join("teams", entry.name)
                let name = try string(entry.value, path: path, what: "the name of a calendar under 'calendars'")
                // `default` always exists: the built-in Monday–Friday 09:00–17:00 UTC calendar unless redefined.
                guard name == "default" || policy.calendars[name] != nil else {
                    let known = (Array(policy.calendars.keys) + ["default"]).sorted()
                    var message = "team '\(entry.name)' uses calendar '\(name)', which is not defined under 'calendars'"
                    if let suggestion = Self.closest(to: name, in: known) {
                        message += "; did you mean '\(suggestion)'?"
                    } else {
                        message += " (defined: \(Set(known).sorted().joined(separator: ", ")))"
                    }
                    throw error(.unknownReference, message, at: entry.value, key: path)
                }
                policy.teamCalendars[entry.name] = name
            }
        }

        if let node = top["targets"] { policy.targets = try targets(node) }

        if let node = top["warnings"] {
            let warnings = try fields(node, path: "warnings", known: Self.warningKeys, what: "a mapping with 'at' and 'notify'")
            if let at = warnings["at"] { policy.warningPercents = try warningPercents(at, path: warnings.path("at")) }
            if let notify = warnings["notify"] { policy.warningNotify = try recipients(notify, path: warnings.path("notify")) }
            if !policy.warningPercents.isEmpty && policy.warningNotify.isEmpty {
                throw error(
                    .invalidValue, "nobody would be told of warnings; name a recipient, or write 'at: []' to turn warnings off",
                    at: warnings.keyNode("notify") ?? node, key: warnings.path("notify")
                )
            }
        }

        if let node = top["escalation"] { policy.escalation = try escalation(node) }

        if let node = top["reopen_window"] {
            policy.reopenWindowMinutes = try duration(node, path: "reopen_window", allowZero: false)
        }

        if let node = top["pause_reasons"] { policy.pauseReasons = try pauseReasons(node) }
        return policy
    }

    /// `name: { pauses: [first_response, resolution, update] }`; entries replace the built-in
    /// reason of the same name or add one; the other built-in reasons stay.
    func pauseReasons(_ node: Node) throws(SlaPolicyError) -> [String: Set<SlaTarget>] {
        var reasons = SlaPolicy.defaultPauseReasons
        let targetNames = SlaTarget.allCases.map(\.rawValue)
        for entry in try entries(node, path: "pause_reasons", what: "a mapping of pause-reason names to { pauses: [...] }") {
            let path = Self.join("pause_reasons", entry.name)
            guard Self.isPauseReasonName(entry.name) else {
                throw error(
                    .invalidValue,
                    "'\(entry.name)' is not a pause-reason name: use lowercase letters, digits and '_' (e.g. waiting_on_vendor)",
                    at: entry.key, key: path)
            }
            let values = try fields(entry.value, path: path, known: Self.pauseReasonKeys, what: "a mapping with 'pauses'")
            let pausesNode = try required(values, "pauses", hint: "the clocks this reason pauses, e.g. [resolution]")
            let pausesPath = values.path("pauses")
            let items: [Node] =
                if case .scalar = pausesNode { [pausesNode] } else {
                    try sequence(pausesNode, path: pausesPath, what: "a list of clocks (first_response, resolution, update)")
                }
            var targets = Set<SlaTarget>()
            for (index, item) in items.enumerated() {
                let itemPath = Self.index(pausesPath, index)
                let name = try string(item, path: itemPath, what: "a clock name")
                guard let target = SlaTarget(rawValue: name) else {
                    throw unknownKey(name, at: item, path: pausesPath, known: targetNames, noun: "clock")
                }
                guard targets.insert(target).inserted else {
                    throw error(.invalidValue, "'\(name)' is listed twice", at: item, key: itemPath)
                }
            }
            guard !targets.isEmpty else {
                throw error(
                    .invalidValue, "a pause reason must pause at least one clock (first_response, resolution or update)", at: pausesNode,
                    key: pausesPath)
            }
            reasons[entry.name] = targets
            guard reasons.count <= Self.maximumPauseReasons else {
                throw error(.invalidValue, "at most \(Self.maximumPauseReasons) pause reasons", at: entry.key, key: path)
            }
        }
        return reasons
    }

    /// `[a-z0-9_]+`, at most 64 bytes.
    static func isPauseReasonName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F }
    }

    func targets(_ node: Node) throws(SlaPolicyError) -> [SlaCoverage: [SupportSeverity: SlaTargets]] {
        var targets = SlaPolicy.defaultTargets
        let coverages = SlaCoverage.allCases.map(\.rawValue)
        for entry in try entries(node, path: "targets", what: "a mapping of coverages (business_hours, 24x7) to targets") {
            guard let coverage = SlaCoverage(rawValue: entry.name) else {
                throw unknownKey(entry.name, at: entry.key, path: "targets", known: coverages, noun: "coverage")
            }
            let coveragePath = Self.join("targets", entry.name)
            var seen: [SupportSeverity: String] = [:]
            for item in try entries(entry.value, path: coveragePath, what: "a mapping of severities (A, B, C) to targets") {
                let path = Self.join(coveragePath, item.name)
                guard let severity = SupportSeverity(rawValue: item.name.uppercased()) else {
                    throw error(.unknownKey, "unknown severity '\(item.name)' (severities are A, B and C)", at: item.key, key: path)
                }
                if let earlier = seen[severity] {
                    throw error(
                        .invalidValue, "severity \(severity.rawValue) is given twice ('\(earlier)' and '\(item.name)')", at: item.key,
                        key: path)
                }
                seen[severity] = item.name
                let values = try fields(
                    item.value, path: path, known: Self.targetKeys, what: "a mapping with first_response, resolution and update")
                var target = targets[coverage]?[severity] ?? SlaTargets(firstResponseMinutes: 0)
                if let value = values["first_response"] {
                    if case .scalar(let scalar) = value, scalar.string.lowercased() == "off" {
                        throw error(
                            .invalidValue, "the first-response target cannot be off; give a duration such as 4h", at: value,
                            key: values.path("first_response"))
                    }
                    target.firstResponseMinutes = try duration(value, path: values.path("first_response"), allowZero: false)
                }
                if let value = values["resolution"] {
                    target.resolutionMinutes = try optionalDuration(value, path: values.path("resolution"))
                }
                if let value = values["update"] {
                    target.updateMinutes = try optionalDuration(value, path: values.path("update"))
                }
                targets[coverage, default: [:]][severity] = target
            }
        }
        return targets
    }

    func warningPercents(_ node: Node, path: String) throws(SlaPolicyError) -> [Int] {
        var percents: [Int] = []
        for (index, item) in try sequence(node, path: path, what: "a list of percentages such as [50, 75]").enumerated() {
            let itemPath = Self.index(path, index)
            let percent = try integer(item, path: itemPath, what: "a whole percentage (1 to 99)")
            guard (1...99).contains(percent) else {
                throw error(
                    .invalidValue, "\(percent) is not a warning percentage: use 1 to 99 (100 % is the breach, which escalation handles)",
                    at: item, key: itemPath
                )
            }
            guard !percents.contains(percent) else { throw error(.invalidValue, "\(percent) % is listed twice", at: item, key: itemPath) }
            percents.append(percent)
        }
        return percents.sorted()
    }

    func escalation(_ node: Node) throws(SlaPolicyError) -> [EscalationLevel] {
        var levels: [EscalationLevel] = []
        for (index, item) in try sequence(node, path: "escalation", what: "a list of escalation levels").enumerated() {
            let path = Self.index("escalation", index)
            if Self.isNull(item) {
                throw error(.wrongType, "expected a mapping with level, after and notify, found nothing", at: item, key: path)
            }
            let values = try fields(item, path: path, known: Self.levelKeys, what: "a mapping with level, after and notify")
            let levelNode = try required(values, "level", hint: "levels are numbered 1, 2, 3, ...")
            let level = try integer(levelNode, path: values.path("level"), what: "a level number")
            guard level == index + 1 else {
                throw error(
                    .invalidValue, "levels must be numbered 1, 2, 3, ... in order: expected level \(index + 1) here, found \(level)",
                    at: levelNode, key: values.path("level")
                )
            }
            let afterNode = try required(values, "after", hint: "how long past the breach this level fires, e.g. 0m or 1h")
            let after = try duration(afterNode, path: values.path("after"), allowZero: true)
            if let previous = levels.last, after < previous.afterMinutes {
                throw error(
                    .invalidValue,
                    "level \(level) fires \(Self.format(minutes: after)) past the breach, before level \(previous.level) (\(Self.format(minutes: previous.afterMinutes))); 'after' must not decrease",
                    at: afterNode, key: values.path("after")
                )
            }
            let notifyNode = try required(values, "notify", hint: "who is told, e.g. [team-lead]")
            let notify = try recipients(notifyNode, path: values.path("notify"))
            guard !notify.isEmpty else {
                throw error(.invalidValue, "an escalation level must notify someone", at: notifyNode, key: values.path("notify"))
            }
            let reassign =
                try values["reassign"].map { (node) throws(SlaPolicyError) in try bool(node, path: values.path("reassign")) } ?? false
            levels.append(EscalationLevel(level: level, afterMinutes: after, notify: notify, reassign: reassign))
        }
        return levels
    }

    // MARK: Text helpers

    static func format(minutes: Double) -> String {
        let whole = Int(minutes)
        switch (whole / 60, whole % 60) {
        case (0, let m): return "\(m)m"
        case (let h, 0): return "\(h)h"
        case (let h, let m): return "\(h)h\(m)m"
        }
    }

    struct DurationProblem: Error { let message: String }

    /// `90m`, `4h`, `1h30m` (spaces allowed, units in any case); `0` alone is zero.
    static func parseDuration(_ text: String) -> Result<Double, DurationProblem> {
        let compact = text.lowercased().filter { !$0.isWhitespace }
        let example = "write hours and minutes such as 90m, 4h or 1h30m"
        if compact == "0" { return .success(0) }
        guard !compact.isEmpty else { return .failure(.init(message: "a duration is needed: \(example)")) }
        var total = 0.0
        var units: [Character] = []
        var rest = Substring(compact)
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber || $0 == "." }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            guard !digits.isEmpty else { return .failure(.init(message: "'\(text)' is not a duration: \(example)")) }
            guard let number = Int(digits), number <= maximumMinutes else {
                if digits.allSatisfy(\.isNumber) {
                    return .failure(.init(message: "'\(text)' is longer than ten years (87600h): SLA durations are hours or days long"))
                }
                if let value = Double(digits), !unit.isEmpty, value < Double(maximumMinutes) {
                    return .failure(
                        .init(message: "'\(text)': use whole numbers, e.g. \(format(minutes: value * (unit.hasPrefix("h") ? 60 : 1)))"))
                }
                return .failure(.init(message: "'\(text)' is not a duration: \(example)"))
            }
            switch unit {
            case "h", "m":
                let symbol = unit.first!
                guard !units.contains(symbol), !(symbol == "h" && units.contains("m")) else {
                    return .failure(.init(message: "'\(text)': give hours then minutes, each once, e.g. 1h30m"))
                }
                units.append(symbol)
                total += Double(number) * (symbol == "h" ? 60 : 1)
            case "d", "day", "days":
                return .failure(
                    .init(
                        message:
                            "'\(text)': days are not a unit here — a day is ambiguous in business time (8 business hours? 24 wall-clock hours?); "
                            + "write hours instead, e.g. \(number * 24)h for \(number) × 24 h or \(number * 8)h for \(number) eight-hour business day\(number == 1 ? "" : "s")"
                    ))
            case "w", "week", "weeks":
                return .failure(
                    .init(
                        message:
                            "'\(text)': weeks are not a unit here (ambiguous in business time); write hours, e.g. \(number * 40)h or \(number * 168)h"
                    ))
            case "s", "sec", "secs", "second", "seconds":
                return .failure(.init(message: "'\(text)': seconds are not supported; SLA times are whole minutes, e.g. 90m"))
            case "min", "mins", "minute", "minutes", "hr", "hrs", "hour", "hours":
                return .failure(
                    .init(message: "'\(text)': write the unit as a single letter, \(unit.hasPrefix("m") ? "\(number)m" : "\(number)h")"))
            case "":
                return .failure(.init(message: "'\(text)' needs a unit: \(example)"))
            default:
                return .failure(.init(message: "'\(text)': unknown unit '\(unit)'; \(example)"))
            }
        }
        guard total <= Double(maximumMinutes) else {
            return .failure(.init(message: "'\(text)' is longer than ten years (87600h): SLA durations are hours or days long"))
        }
        return .success(total)
    }

    /// Ten years of minutes: no SLA duration is longer (and the arithmetic stays exact).
    static let maximumMinutes = 87_600 * 60
}
