import Foundation
public import TriageCore
import Yams

// Reading an on-call file (docs/roster.md, "On-call rotations"):
//
//     rotations:
//       tier-2:
//         time_zone: Europe/London
//         start: 2026-11-30          # the first hand-off's date; every hand-off is on its weekday
//         hand_off: "09:00"          # local time of every hand-off
//         people: [linus, ada, grace]
//         overrides:
//           - { from: 2026-12-24T09:00, until: 2026-12-27T09:00, person: grace, reason: Christmas swap }
//
// Like the other configuration files, it is walked by hand (TriageCore's YAMLConfigurationReader)
// so every error names the file, line, column and dotted key, and unknown keys are refused.

extension OnCallSchedule {
    /// Reads an on-call file from YAML text; an empty text is an empty schedule.
    ///
    /// - Throws: ``ConfigurationError`` naming the file, line, column and key of the first problem:
    ///   YAML syntax, unknown keys, a time zone, date or time that is not one, no people, an
    ///   override that ends before it starts.
    public static func load(yaml: String, file: String) throws(ConfigurationError) -> OnCallSchedule {
        let reader = OnCallReader(file: file)
        guard let root = try reader.compose(yaml), !OnCallReader.isNull(root) else { return OnCallSchedule() }
        return try reader.schedule(root)
    }

    /// Reads an on-call file; see ``load(yaml:file:)``.
    public static func load(path: String) throws(ConfigurationError) -> OnCallSchedule {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(
                code: .invalidValue, file: path, message: "cannot read the on-call file: \(error.localizedDescription)")
        }
        return try load(yaml: text, file: path)
    }
}

private struct OnCallReader: YAMLConfigurationReader {
    let file: String
    static let mergeAliasExample = "*weekly"
    static let rotationKeys = ["time_zone", "start", "hand_off", "people", "overrides"]
    static let overrideKeys = ["from", "until", "person", "reason"]

    var calendars: BusinessCalendarReader { BusinessCalendarReader(file: file) }

    func schedule(_ root: Node) throws(ConfigurationError) -> OnCallSchedule {
        let top = try fields(root, path: "", known: ["rotations"], what: "a mapping with rotations")
        var schedule = OnCallSchedule()
        guard let node = top["rotations"] else { return schedule }
        for entry in try entries(node, path: "rotations", what: "a mapping of team names to rotations") {
            schedule.rotations[entry.name] = try rotation(entry.name, entry.value, path: Self.join("rotations", entry.name))
        }
        return schedule
    }

    func rotation(_ team: String, _ node: Node, path: String) throws(ConfigurationError) -> OnCallRotation {
        let values = try fields(
            node, path: path, known: Self.rotationKeys, what: "a rotation (\(Self.rotationKeys.joined(separator: ", ")))")
        let zone = try calendars.timeZone(
            try required(values, "time_zone", hint: "the IANA zone hand-offs are in, e.g. Europe/London"), path: values.path("time_zone"))
        let start = try calendars.date(
            try required(values, "start", hint: "the date of the first hand-off, e.g. 2026-11-30"), path: values.path("start"))
        let handOffNode = try required(values, "hand_off", hint: "the local time of every hand-off, e.g. \"09:00\"")
        let handOff = try timeOfDay(handOffNode, path: values.path("hand_off"))
        let peopleNode = try required(values, "people", hint: "who takes turns, in order, e.g. [linus, ada]")
        let people = try sequence(peopleNode, path: values.path("people"), what: "a list of people (agent ids)").enumerated().map {
            (index, item) throws(ConfigurationError) in try name(item, path: Self.index(values.path("people"), index), what: "an agent id")
        }
        guard !people.isEmpty else {
            throw error(.invalidValue, "a rotation needs at least one person", at: peopleNode, key: values.path("people"))
        }
        var overrides: [OnCallRotation.Override] = []
        if let node = values["overrides"] {
            for (index, item) in try sequence(node, path: values.path("overrides"), what: "a list of overrides").enumerated() {
                let itemPath = Self.index(values.path("overrides"), index)
                let fields = try fields(item, path: itemPath, known: Self.overrideKeys, what: "an override (from, until, person, reason)")
                let from = try instant(
                    try required(fields, "from", hint: "when it starts, e.g. 2026-12-24T09:00"), path: fields.path("from"), zone: zone)
                let untilNode = try required(fields, "until", hint: "when it ends, e.g. 2026-12-27T09:00")
                let until = try instant(untilNode, path: fields.path("until"), zone: zone)
                guard from < until else {
                    throw error(.invalidValue, "the override ends before it starts", at: untilNode, key: fields.path("until"))
                }
                let person = try name(
                    try required(fields, "person", hint: "who is on call instead"), path: fields.path("person"), what: "an agent id")
                let reason =
                    try fields["reason"].map { (node) throws(ConfigurationError) in
                        try string(node, path: fields.path("reason"), what: "text")
                    } ?? ""
                overrides.append(.init(from: from, until: until, person: person, reason: reason))
            }
        }
        return OnCallRotation(team: team, timeZone: zone, start: start, handOffMinutes: handOff, people: people, overrides: overrides)
    }

    /// `HH:MM`, 00:00 to 23:59.
    func timeOfDay(_ node: Node, path: String) throws(ConfigurationError) -> Int {
        let text = try string(node, path: path, what: "a time of day such as \"09:00\"")
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]),
            (0..<24).contains(hour), (0..<60).contains(minute)
        else {
            throw error(.invalidValue, "'\(text)' is not a time of day (HH:MM, 00:00 to 23:59; quote it: \"09:00\")", at: node, key: path)
        }
        return hour * 60 + minute
    }

    /// A local date and time in `zone` (`2026-12-24T09:00`), or an instant with its offset
    /// (`2026-12-24T09:00:00Z`).
    func instant(_ node: Node, path: String, zone: TimeZone) throws(ConfigurationError) -> Date {
        let text = try string(node, path: path, what: "a date and time such as 2026-12-24T09:00")
        if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
        let pieces = text.split(separator: "T", omittingEmptySubsequences: false)
        if pieces.count == 2, let date = try? BusinessCalendar.LocalDate(String(pieces[0])), pieces[0].count == 10 {
            let clock = pieces[1].split(separator: ":", omittingEmptySubsequences: false)
            if (2...3).contains(clock.count), let hour = Int(clock[0]), let minute = Int(clock[1]), (0..<24).contains(hour),
                (0..<60).contains(minute),
                clock.count == 2 || Int(clock[2]) == 0
            {
                var calendar = Calendar(identifier: .gregorian)
                calendar.timeZone = zone
                let components = DateComponents(year: date.year, month: date.month, day: date.day, hour: hour, minute: minute)
                if components.isValidDate(in: calendar), let instant = calendar.date(from: components) { return instant }
            }
        }
        throw error(
            .invalidValue, "'\(text)' is not a date and time: write 2026-12-24T09:00 (in the rotation's time_zone) or 2026-12-24T09:00:00Z",
            at: node, key: path)
    }
}
