package import Foundation
package import Yams

// Reading business calendars from YAML (the format is documented in docs/sla.md): a standalone
// calendar file, and each entry under `calendars:` of an SLA policy. Rosters and notification
// rules read their calendars through `BusinessCalendar.load(yaml:file:)`.

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
    /// - Throws: ``ConfigurationError`` naming the file, line, column and key of the first problem.
    public static func load(yaml: String, file: String) throws(ConfigurationError) -> BusinessCalendar {
        let reader = BusinessCalendarReader(file: file)
        guard let root = try reader.compose(yaml), !BusinessCalendarReader.isNull(root) else {
            throw ConfigurationError(
                code: .missingKey, file: file,
                message: "the calendar file is empty: it needs at least time_zone (and usually hours), or always_open: true"
            )
        }
        return try reader.calendar(root, path: "")
    }
}

/// Walks one composed calendar (`time_zone`, `hours`, `holidays`, `always_open`); every error it
/// throws carries the file, the node's position and the dotted key path. SLA policies use it for
/// their `calendars:` entries, so a calendar reads the same, with the same messages, everywhere.
package struct BusinessCalendarReader: YAMLConfigurationReader {
    package let file: String

    static let calendarKeys = ["time_zone", "hours", "holidays", "always_open"]
    static let holidayKeys = ["date", "name", "closed"]
    /// Weekday names in Foundation's numbering (1 = Sunday ... 7 = Saturday).
    static let weekdays = ["monday": 2, "tuesday": 3, "wednesday": 4, "thursday": 5, "friday": 6, "saturday": 7, "sunday": 1]
    static let weekdayOrder = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    static let weekdayNames = [1: "sunday", 2: "monday", 3: "tuesday", 4: "wednesday", 5: "thursday", 6: "friday", 7: "saturday"]

    package static let mergeAliasExample = "*office-hours"

    package init(file: String) { self.file = file }

    package func calendar(_ node: Node, path: String) throws(ConfigurationError) -> BusinessCalendar {
        let values = try fields(node, path: path, known: Self.calendarKeys, what: "a calendar (time_zone, hours, holidays or always_open)")
        var zone: TimeZone?
        if let value = values["time_zone"] { zone = try timeZone(value, path: values.path("time_zone")) }
        let alwaysOpen =
            try values["always_open"].map { (node) throws(ConfigurationError) in try bool(node, path: values.path("always_open")) } ?? false
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
            weekly = BusinessCalendar.officeHoursUTC.weekly
        }
        let holidays =
            try values["holidays"].map { (node) throws(ConfigurationError) in try self.holidays(node, path: values.path("holidays")) } ?? []
        do {
            return try BusinessCalendar(timeZone: zone, weekly: weekly, holidays: holidays)
        } catch {
            let hoursNode = values["hours"]
            let hint = hoursNode == nil ? "" : "; give at least one weekday hours, or use always_open: true"
            throw self.error(
                .invalidValue, error.message + hint, at: hoursNode ?? node, key: hoursNode == nil ? path : values.path("hours"))
        }
    }

    package func timeZone(_ node: Node, path: String) throws(ConfigurationError) -> TimeZone {
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

    func hours(_ node: Node, path: String) throws(ConfigurationError) -> [Int: [BusinessCalendar.DailyInterval]] {
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
    func interval(_ node: Node, path: String, what: String = "an interval such as \"09:00-17:00\"") throws(ConfigurationError)
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

    func holidays(_ node: Node, path: String) throws(ConfigurationError) -> [BusinessCalendar.Holiday] {
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
                try values["name"].map { (node) throws(ConfigurationError) in try string(node, path: values.path("name"), what: "a name") }
                ?? ""
            let closed = try values["closed"].map { (node) throws(ConfigurationError) in
                try interval(node, path: values.path("closed"), what: "the closed part of the day, such as \"13:00-24:00\"")
            }
            result.append(.init(date: date, closed: closed, name: name))
        }
        return result
    }

    package func date(_ node: Node, path: String) throws(ConfigurationError) -> BusinessCalendar.LocalDate {
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
}
