import Foundation
import Yams

// Reading SLA policies and business calendars from YAML (the format is documented in docs/sla.md).
// The walk itself, the shape checks and their error texts, shared with rosters, are in
// `YAMLConfigurationReader`; errors are `ConfigurationError`s (`SlaPolicyError` here).

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

extension BusinessCalendar {
    /// Reads a standalone calendar from YAML text: the shape of one entry under `calendars:` in a
    /// policy (`time_zone`, `hours`, `holidays`, or `always_open`; see docs/sla.md).
    ///
    /// ```yaml
    /// time_zone: America/New_York
    /// hours:
    ///   monday: ["09:00-17:00"]
    /// holidays:
    ///   - { date: 2026-12-25, name: Christmas Day }
    /// ```
    ///
    /// - Throws: ``SlaPolicyError`` naming the file, line, column and key of the first problem.
    public static func load(yaml: String, file: String) throws(SlaPolicyError) -> BusinessCalendar {
        let reader = PolicyReader(file: file)
        guard let root = try reader.compose(yaml), !PolicyReader.isNull(root) else {
            throw SlaPolicyError(
                code: .missingKey, file: file,
                message: "the calendar file is empty: it needs at least time_zone (and usually hours), or always_open: true"
            )
        }
        return try reader.calendar(root, path: "")
    }
}

// MARK: - The reader

/// Walks a composed policy or calendar; every error it throws carries the file, the node's
/// position and the dotted key path.
private struct PolicyReader: YAMLConfigurationReader {
    let file: String

    static let policyKeys = ["calendars", "teams", "targets", "warnings", "escalation", "reopen_window"]
    static let calendarKeys = ["time_zone", "hours", "holidays", "always_open"]
    static let holidayKeys = ["date", "name", "closed"]
    static let targetKeys = SlaTarget.allCases.map(\.rawValue)
    static let warningKeys = ["at", "notify"]
    static let levelKeys = ["level", "after", "notify", "reassign"]
    /// Weekday names in Foundation's numbering (1 = Sunday ... 7 = Saturday).
    static let weekdays = ["monday": 2, "tuesday": 3, "wednesday": 4, "thursday": 5, "friday": 6, "saturday": 7, "sunday": 1]
    static let weekdayOrder = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    static let weekdayNames = [1: "sunday", 2: "monday", 3: "tuesday", 4: "wednesday", 5: "thursday", 6: "friday", 7: "saturday"]
    /// Calendar names the compiled rules give their own meaning (``SlaRules`` numbers `24x7` as
    /// the always-open UTC calendar), so a policy cannot define them.
    static let reservedCalendarNames: Set<String> = ["24x7"]

    static let mergeAliasExample = "*office-hours"

    // MARK: Values

    func bool(_ node: Node, path: String) throws(SlaPolicyError) -> Bool {
        let text = try string(node, path: path, what: "true or false")
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(.invalidValue, "'\(text)' is not true or false", at: node, key: path)
        }
    }

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
                policy.calendars[entry.name] = try calendar(entry.value, path: path)
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
        return policy
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
                    item.value, path: path, known: Self.targetKeys, what: "a mapping with first_response and resolution")
                var target = targets[coverage]?[severity] ?? SlaTargets(firstResponseMinutes: 0)
                if let value = values["first_response"] {
                    target.firstResponseMinutes = try duration(value, path: values.path("first_response"), allowZero: false)
                }
                if let value = values["resolution"] {
                    target.resolutionMinutes = try duration(value, path: values.path("resolution"), allowZero: false)
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

    // MARK: Calendars

    func calendar(_ node: Node, path: String) throws(SlaPolicyError) -> BusinessCalendar {
        let values = try fields(node, path: path, known: Self.calendarKeys, what: "a calendar (time_zone, hours, holidays or always_open)")
        var zone: TimeZone?
        if let value = values["time_zone"] { zone = try timeZone(value, path: values.path("time_zone")) }
        let alwaysOpen =
            try values["always_open"].map { (node) throws(SlaPolicyError) in try bool(node, path: values.path("always_open")) } ?? false
        if alwaysOpen {
            for name in ["hours", "holidays"] where values[name] != nil {
                throw error(
                    .invalidValue, "an always_open calendar has no \(name); remove '\(name)' or 'always_open'",
                    at: values.keyNode(name), key: values.path(name)
                )
            }
            return BusinessCalendar(alwaysOpenIn: zone ?? TimeZone(identifier: "UTC")!)
        }
        guard let zone else {
            throw error(
                .missingKey,
                "missing 'time_zone': business hours are local times, so name the zone (an IANA id such as America/New_York, or UTC)",
                at: values.keyNode("time_zone") ?? node, key: values.path("time_zone")
            )
        }
        let weekly: [Int: [BusinessCalendar.DailyInterval]]
        if let hours = values["hours"] {
            weekly = try self.hours(hours, path: values.path("hours"))
        } else {
            weekly = SlaPolicy.defaultBusinessCalendar.weekly
        }
        let holidays =
            try values["holidays"].map { (node) throws(SlaPolicyError) in try self.holidays(node, path: values.path("holidays")) } ?? []
        do {
            return try BusinessCalendar(timeZone: zone, weekly: weekly, holidays: holidays)
        } catch {
            let hoursNode = values["hours"]
            let hint = hoursNode == nil ? "" : "; give at least one weekday hours, or use always_open: true"
            throw self.error(
                .invalidValue, error.message + hint, at: hoursNode ?? node, key: hoursNode == nil ? path : values.path("hours"))
        }
    }

    func timeZone(_ node: Node, path: String) throws(SlaPolicyError) -> TimeZone {
        let name = try string(node, path: path, what: "an IANA time zone id such as America/New_York")
        if let zone = TimeZone(identifier: name) { return zone }
        var message = "unknown time zone '\(name)'"
        let known = TimeZone.knownTimeZoneIdentifiers
        if let exact = known.first(where: { $0.lowercased() == name.lowercased() }) {
            message += "; did you mean '\(exact)'?"
        } else if let suggestion = Self.closest(to: name, in: known) {
            message += "; did you mean '\(suggestion)'?"
        } else {
            message += " (use an IANA id such as America/New_York, Europe/London or UTC)"
        }
        throw error(.invalidValue, message, at: node, key: path)
    }

    func hours(_ node: Node, path: String) throws(SlaPolicyError) -> [Int: [BusinessCalendar.DailyInterval]] {
        var weekly: [Int: [BusinessCalendar.DailyInterval]] = [:]
        var nodes: [Int: [(interval: BusinessCalendar.DailyInterval, node: Node, path: String)]] = [:]
        var seen: [Int: String] = [:]
        for entry in try entries(node, path: path, what: "a mapping of weekdays (monday ... sunday) to lists of intervals") {
            guard let weekday = Self.weekdays[entry.name.lowercased()] else {
                throw unknownKey(entry.name, at: entry.key, path: path, known: Self.weekdayOrder, noun: "weekday")
            }
            if let earlier = seen[weekday] {
                throw error(
                    .invalidValue, "\(Self.weekdayNames[weekday]!) is given twice ('\(earlier)' and '\(entry.name)')", at: entry.key,
                    key: Self.join(path, entry.name))
            }
            seen[weekday] = entry.name
            let dayPath = Self.join(path, entry.name)
            let items: [Node] =
                if case .scalar = entry.value, !Self.isNull(entry.value) {
                    [entry.value]
                } else {
                    try sequence(entry.value, path: dayPath, what: "a list of intervals such as [\"09:00-17:00\"]")
                }
            var day: [(interval: BusinessCalendar.DailyInterval, node: Node, path: String)] = []
            for (index, item) in items.enumerated() {
                let itemPath = Self.index(dayPath, index)
                day.append((try interval(item, path: itemPath), item, itemPath))
            }
            // Overlaps within the day.
            let sorted = day.sorted { $0.interval.startMinute < $1.interval.startMinute }
            for (first, second) in zip(sorted, sorted.dropFirst()) where second.interval.startMinute < first.interval.endMinute {
                throw error(.invalidValue, "\(second.interval) overlaps \(first.interval)", at: second.node, key: second.path)
            }
            weekly[weekday] = day.map(\.interval)
            nodes[weekday] = day
        }
        // An interval that crosses midnight must not overlap the next day's first intervals.
        for (weekday, day) in nodes {
            let next = weekday % 7 + 1
            for late in day where late.interval.endMinute > 24 * 60 {
                let spill = late.interval.endMinute - 24 * 60
                for early in nodes[next] ?? [] where early.interval.startMinute < spill {
                    throw error(
                        .invalidValue,
                        "\(early.interval) overlaps \(Self.weekdayNames[weekday]!)'s \(late.interval), which runs past midnight",
                        at: early.node, key: early.path
                    )
                }
            }
        }
        return weekly
    }

    /// `"HH:mm-HH:mm"`; an end at or before the start crosses midnight, `24:00` is the end of the day.
    func interval(_ node: Node, path: String, what: String = "an interval such as \"09:00-17:00\"") throws(SlaPolicyError)
        -> BusinessCalendar.DailyInterval
    {
        let text = try string(node, path: path, what: what)
        let parts = text.split(whereSeparator: { $0 == "-" || $0 == "–" }).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2 else {
            throw error(
                .invalidValue, "'\(text)' is not an interval: write HH:mm-HH:mm, e.g. \"09:00-17:00\" (quoted)", at: node, key: path)
        }
        let interval: BusinessCalendar.DailyInterval
        do {
            interval = try BusinessCalendar.DailyInterval(parts[0], parts[1])
        } catch {
            throw self.error(.invalidValue, "'\(text)': \(error.message)", at: node, key: path)
        }
        guard interval.startMinute < 24 * 60 else {
            throw self.error(.invalidValue, "'\(text)': 24:00 can only end an interval; start at 00:00 instead", at: node, key: path)
        }
        return interval
    }

    func holidays(_ node: Node, path: String) throws(SlaPolicyError) -> [BusinessCalendar.Holiday] {
        var result: [BusinessCalendar.Holiday] = []
        for (index, item) in try sequence(node, path: path, what: "a list of holidays (each with a date)").enumerated() {
            let itemPath = Self.index(path, index)
            if case .scalar = item {  // `- 2026-12-25` is shorthand for `- date: 2026-12-25`
                result.append(.init(date: try date(item, path: itemPath)))
                continue
            }
            let values = try fields(item, path: itemPath, known: Self.holidayKeys, what: "a holiday (date, name, closed)")
            let dateNode = try required(values, "date", hint: "the local date, YYYY-MM-DD")
            let date = try date(dateNode, path: values.path("date"))
            let name =
                try values["name"].map { (node) throws(SlaPolicyError) in try string(node, path: values.path("name"), what: "a name") }
                ?? ""
            let closed = try values["closed"].map { (node) throws(SlaPolicyError) in
                try interval(node, path: values.path("closed"), what: "the closed part of the day, such as \"13:00-24:00\"")
            }
            result.append(.init(date: date, closed: closed, name: name))
        }
        return result
    }

    func date(_ node: Node, path: String) throws(SlaPolicyError) -> BusinessCalendar.LocalDate {
        let text = try string(node, path: path, what: "a date (YYYY-MM-DD)")
        let date: BusinessCalendar.LocalDate
        do { date = try BusinessCalendar.LocalDate(text) } catch { throw self.error(.invalidValue, error.message, at: node, key: path) }
        // LocalDate only range-checks the fields; 2026-02-30 must not slip through.
        var gregorian = Calendar(identifier: .gregorian)
        gregorian.timeZone = TimeZone(identifier: "UTC")!
        guard text.count == 10, DateComponents(year: date.year, month: date.month, day: date.day).isValidDate(in: gregorian) else {
            throw error(.invalidValue, "'\(text)' is not a date (YYYY-MM-DD)", at: node, key: path)
        }
        return date
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
            guard let number = Int(digits) else {
                if let value = Double(digits), !unit.isEmpty {
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
        return .success(total)
    }
}
