public import Foundation
public import TriageCore

/// Who of each team is on call, read from an on-call file (docs/roster.md, "On-call rotations"):
/// a weekly rotation per team with date-range overrides.
///
/// An SLA escalation level that notifies `oncall:<team>` reaches the person this schedule names
/// at the instant the level fires (``recipient(for:at:)``), so a breach at 08:59 on hand-off day
/// pages last week's person and one at 09:00 this week's.
public struct OnCallSchedule: Sendable, Hashable {
    /// Rotations by team.
    public var rotations: [String: OnCallRotation]

    public init(rotations: [String: OnCallRotation] = [:]) {
        self.rotations = rotations
    }

    /// The prefix of recipient names that mean "the on-call of a team" (`oncall:tier-2`).
    public static let recipientPrefix = "oncall:"

    /// The team of an `oncall:<team>` recipient name; `nil` for other names.
    public static func team(of recipient: String) -> String? {
        guard recipient.hasPrefix(recipientPrefix), recipient.count > recipientPrefix.count else { return nil }
        return String(recipient.dropFirst(recipientPrefix.count))
    }

    /// Who is on call for `team` at `instant`; `nil` when the team has no rotation or the
    /// rotation has not started yet.
    public func onCall(team: String, at instant: Date) -> OnCallShift? {
        rotations[team]?.shift(at: instant)
    }

    /// The notification recipient `name` stands for at `instant`: `agent:<person>` for
    /// `oncall:<team>` when someone is on call, `name` itself for every other name, `nil` when
    /// nobody is on call for that team then.
    public func recipient(for name: String, at instant: Date) -> String? {
        guard let team = Self.team(of: name) else { return name }
        return onCall(team: team, at: instant).map { "agent:\($0.person)" }
    }
}

/// One team's rotation: people take turns a week each, handing off on a weekday at a local time
/// of ``timeZone`` (so 09:00 stays 09:00 across daylight-saving changes); overrides put someone
/// else on call for a date range (a swap, a holiday).
public struct OnCallRotation: Sendable, Hashable {
    /// A period someone else is on call.
    public struct Override: Sendable, Hashable {
        /// `[from, until)`.
        public var from: Date
        public var until: Date
        public var person: String
        public var reason: String

        public init(from: Date, until: Date, person: String, reason: String = "") {
            self.from = from
            self.until = until
            self.person = person
            self.reason = reason
        }
    }

    public var team: String
    public var timeZone: TimeZone
    /// The date of the first hand-off: ``people``[0]'s first week starts then.
    public var start: BusinessCalendar.LocalDate
    /// Minutes after local midnight of each hand-off.
    public var handOffMinutes: Int
    /// In turn order; at least one.
    public var people: [String]
    /// Later entries win where they overlap.
    public var overrides: [Override]

    public init(
        team: String, timeZone: TimeZone, start: BusinessCalendar.LocalDate, handOffMinutes: Int, people: [String],
        overrides: [Override] = []
    ) {
        precondition(!people.isEmpty, "a rotation needs people")
        precondition((0..<1440).contains(handOffMinutes), "a hand-off time is within a day")
        self.team = team
        self.timeZone = timeZone
        self.start = start
        self.handOffMinutes = handOffMinutes
        self.people = people
        self.overrides = overrides
    }

    /// The weekday of every hand-off (1 = Sunday ... 7 = Saturday): the start date's.
    public var handOffWeekday: Int { calendar.component(.weekday, from: localNoon(start)) }

    /// The instant of hand-off `week` (0: the first). A local time that does not exist that day
    /// (in a daylight-saving gap) moves forward by the gap (02:30 → 03:30); one that exists twice
    /// is its first occurrence.
    public func handOff(week: Int) -> Date {
        let day = calendar.date(byAdding: .day, value: 7 * week, to: localNoon(start))!
        var wanted = calendar.dateComponents([.year, .month, .day], from: day)
        wanted.hour = handOffMinutes / 60
        wanted.minute = handOffMinutes % 60
        return calendar.date(from: wanted)!
    }

    /// Who is on call at `instant`: an override covering it, else the rotation's person of the
    /// week; `nil` before the first hand-off (unless an override covers it).
    public func shift(at instant: Date) -> OnCallShift? {
        if let override = overrides.last(where: { $0.from <= instant && instant < $0.until }) {
            return OnCallShift(
                team: team, person: override.person, from: override.from, until: override.until, source: .override(reason: override.reason))
        }
        guard let week = week(containing: instant) else { return nil }
        return OnCallShift(
            team: team, person: people[week % people.count], from: handOff(week: week), until: handOff(week: week + 1),
            source: .rotation(week: week))
    }

    /// The rotation's week containing `instant` (0 from the first hand-off); `nil` before it.
    public func week(containing instant: Date) -> Int? {
        let first = handOff(week: 0)
        guard instant >= first else { return nil }
        var week = Int(instant.timeIntervalSince(first) / (7 * 86_400))
        // Daylight-saving changes move hand-offs by an hour against a 7-day stride.
        while handOff(week: week + 1) <= instant { week += 1 }
        while week > 0, handOff(week: week) > instant { week -= 1 }
        return week
    }

    /// The next `count` changes of who is on call after `instant` (hand-offs and override
    /// edges), each with the person from then on.
    public func changes(after instant: Date, count: Int) -> [(at: Date, shift: OnCallShift)] {
        var result: [(at: Date, shift: OnCallShift)] = []
        var cursor = instant
        var current = shift(at: instant)
        while result.count < count {
            var edges = overrides.flatMap { [$0.from, $0.until] }.filter { $0 > cursor }
            if let week = week(containing: cursor) {
                edges.append(handOff(week: week + 1))
            } else {
                edges.append(max(handOff(week: 0), cursor.addingTimeInterval(1)))
            }
            guard let next = edges.min() else { break }
            cursor = next
            let after = shift(at: next)
            if let after, after.person != current?.person || after.source != current?.source {
                result.append((next, after))
            }
            current = after
            if result.isEmpty, cursor.timeIntervalSince(instant) > 400 * 86_400 { break }
        }
        return result
    }

    private var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }

    private func localNoon(_ date: BusinessCalendar.LocalDate) -> Date {
        calendar.date(from: DateComponents(year: date.year, month: date.month, day: date.day, hour: 12))!
    }
}

/// Someone's turn on call.
public struct OnCallShift: Sendable, Hashable {
    /// Where the turn comes from.
    public enum Source: Sendable, Hashable {
        /// The rotation's week (0 from the first hand-off).
        case rotation(week: Int)
        /// An override, with its reason.
        case override(reason: String)
    }

    public var team: String
    public var person: String
    /// `[from, until)`.
    public var from: Date
    public var until: Date
    public var source: Source
}
