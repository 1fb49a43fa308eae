import Foundation
import Testing
import TriageCore

// Seeded property tests and DST/holiday/overnight tables for ``BusinessCalendar`` in four zones:
// New York and London (northern DST on different dates), Sydney (southern DST, the change falls
// inside the night shift) and Kolkata (a half-hour offset, no DST). `SeededGenerator`,
// `instant(_:)` and `officeHours` come from BusinessCalendarTests.swift.

private let propertyZones = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata"]

private func zone(_ identifier: String) -> TimeZone { TimeZone(identifier: identifier)! }

/// A stable seed per zone (FNV-1a of the name), so every run draws the same cases.
private func seed(_ text: String) -> UInt64 {
    text.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 }
}

/// The shapes the properties run against, in a given zone.
enum CalendarShape: String, CaseIterable, Sendable {
    /// Split days, a short Friday, a Saturday night shift across the DST night (all four zones'
    /// changes fall early on a Sunday), and whole, partial and weekend-adjoining holidays.
    case mixed
    /// 22:00–06:00 every night.
    case nights
    /// Every day, with interval boundaries inside the spring-forward gaps (02:00–03:00 in New
    /// York and Sydney, 01:00–02:00 in London): wall-clock times that do not exist that day.
    case dstEdges

    func calendar(in identifier: String) throws -> BusinessCalendar {
        switch self {
        case .mixed:
            return try BusinessCalendar(
                timeZone: zone(identifier),
                weekly: [
                    2: [try .init("08:30", "12:00"), try .init("13:00", "17:30")],
                    3: [try .init("09:00", "17:00")], 4: [try .init("09:00", "17:00")], 5: [try .init("09:00", "17:00")],
                    6: [try .init("09:00", "15:00")],
                    7: [try .init("22:00", "06:00")],
                ],
                holidays: [
                    .init(date: try .init("2026-04-03")), .init(date: try .init("2026-04-06")),  // Easter weekend
                    .init(date: try .init("2026-07-03")),
                    .init(date: try .init("2026-12-24"), closed: try .init("13:00", "24:00")),
                    .init(date: try .init("2026-12-25")),
                    .init(date: try .init("2026-10-03"), closed: try .init("23:00", "02:00")),  // part of a DST night
                ]
            )
        case .nights:
            let night = try BusinessCalendar.DailyInterval("22:00", "06:00")
            return try BusinessCalendar(timeZone: zone(identifier), weekly: Dictionary(uniqueKeysWithValues: (1...7).map { ($0, [night]) }))
        case .dstEdges:
            let day = [try BusinessCalendar.DailyInterval("00:30", "01:45"), try .init("02:00", "02:45"), try .init("03:00", "04:00")]
            return try BusinessCalendar(timeZone: zone(identifier), weekly: Dictionary(uniqueKeysWithValues: (1...7).map { ($0, day) }))
        }
    }
}

/// Random instants in 2026, whole seconds, with about a third drawn from the days around the
/// DST changes and the holidays, where the arithmetic is most likely to go wrong.
private struct Instants {
    var random: SeededGenerator
    static let yearStart = instant("2026-01-01T00:00:00Z").timeIntervalSince1970
    static let hotSpots = [
        "2026-03-07T00:00:00Z", "2026-03-28T00:00:00Z", "2026-04-02T00:00:00Z", "2026-07-02T00:00:00Z",
        "2026-10-02T00:00:00Z", "2026-10-24T00:00:00Z", "2026-10-31T00:00:00Z", "2026-12-23T00:00:00Z",
    ].map { instant($0).timeIntervalSince1970 }

    mutating func next() -> Date {
        let seconds: Double
        if Int.random(in: 0..<3, using: &random) == 0 {
            seconds = Self.hotSpots.randomElement(using: &random)! + Double(Int.random(in: 0..<(4 * 86_400), using: &random))
        } else {
            seconds = Self.yearStart + Double(Int.random(in: 0..<(365 * 86_400), using: &random))
        }
        return Date(timeIntervalSince1970: seconds)
    }

    mutating func minutes(_ range: ClosedRange<Int>) -> Double { Double(Int.random(in: range, using: &random)) }
}

@Suite("Business calendar properties and tables (New York, London, Sydney, Kolkata)")
struct CalendarPropertyTests {
    static let cases: [(String, CalendarShape)] = propertyZones.flatMap { zone in CalendarShape.allCases.map { (zone, $0) } }
    static let rounds = 300

    // MARK: Properties

    @Test(arguments: cases)
    func addingIsAdditive(_ zone: String, _ shape: CalendarShape) throws {
        let calendar = try shape.calendar(in: zone)
        var draw = Instants(random: SeededGenerator(state: seed("additive \(zone) \(shape)")))
        for _ in 0..<Self.rounds {
            let start = draw.next()
            let a = draw.minutes(0...2_000)
            let b = draw.minutes(1...2_000)
            let together = try calendar.adding(businessMinutes: a + b, to: start)
            let stepwise = try calendar.adding(businessMinutes: b, to: try calendar.adding(businessMinutes: a, to: start))
            #expect(abs(together.timeIntervalSince(stepwise)) < 1e-3, "\(zone) \(shape): \(start) + \(a) + \(b)")
        }
    }

    @Test(arguments: cases)
    func measuringUndoesAdding(_ zone: String, _ shape: CalendarShape) throws {
        let calendar = try shape.calendar(in: zone)
        var draw = Instants(random: SeededGenerator(state: seed("inverse \(zone) \(shape)")))
        for _ in 0..<Self.rounds {
            let start = draw.next()
            let n = draw.minutes(0...4_000)
            let due = try calendar.adding(businessMinutes: n, to: start)
            #expect(due >= start)
            #expect(abs(calendar.businessMinutes(from: start, to: due) - n) < 1e-6, "\(zone) \(shape): \(start) + \(n) = \(due)")
        }
    }

    @Test(arguments: cases)
    func aDeadlineIsReachedInsideOpenHours(_ zone: String, _ shape: CalendarShape) throws {
        let calendar = try shape.calendar(in: zone)
        var draw = Instants(random: SeededGenerator(state: seed("open \(zone) \(shape)")))
        for _ in 0..<Self.rounds {
            let start = draw.next()
            let n = draw.minutes(1...3_000)
            let due = try calendar.adding(businessMinutes: n, to: start)
            // The last business second before the deadline is open: a deadline is reached while
            // working (it may be the very end of an interval), never in a closed stretch.
            #expect(calendar.isOpen(at: due.addingTimeInterval(-1)), "\(zone) \(shape): \(start) + \(n) = \(due)")
        }
    }

    @Test(arguments: cases)
    func measuringIsAdditiveOverASplitPoint(_ zone: String, _ shape: CalendarShape) throws {
        let calendar = try shape.calendar(in: zone)
        var draw = Instants(random: SeededGenerator(state: seed("split \(zone) \(shape)")))
        for _ in 0..<Self.rounds {
            let times = [draw.next(), draw.next()].sorted()
            let from = times[0]
            let to = min(times[1], from.addingTimeInterval(21 * 86_400))  // keep each walk short
            let split = Date(
                timeIntervalSince1970: Double(
                    Int.random(in: Int(from.timeIntervalSince1970)...Int(to.timeIntervalSince1970), using: &draw.random)))
            let whole = calendar.businessMinutes(from: from, to: to)
            let parts = calendar.businessMinutes(from: from, to: split) + calendar.businessMinutes(from: split, to: to)
            #expect(abs(whole - parts) < 1e-6, "\(zone) \(shape): \(from) | \(split) | \(to)")
        }
    }

    // MARK: DST days

    /// A DST day (or, for Kolkata, an ordinary one) and a deadline on it, in the zone's offsets.
    struct DSTDay: Sendable, CustomTestStringConvertible {
        let zone: String
        let day: String
        /// Saturday 16:00 local, the evening before.
        let opened: String
        /// Opened + 2 business hours on an every-day 09:00–17:00 calendar: Sunday 10:00 local.
        let due: String
        var testDescription: String { "\(zone) \(day)" }
    }

    static let dstDays: [DSTDay] = [
        .init(zone: "America/New_York", day: "2026-03-08", opened: "2026-03-07T16:00:00-05:00", due: "2026-03-08T10:00:00-04:00"),
        .init(zone: "America/New_York", day: "2026-11-01", opened: "2026-10-31T16:00:00-04:00", due: "2026-11-01T10:00:00-05:00"),
        .init(zone: "Europe/London", day: "2026-03-29", opened: "2026-03-28T16:00:00+00:00", due: "2026-03-29T10:00:00+01:00"),
        .init(zone: "Europe/London", day: "2026-10-25", opened: "2026-10-24T16:00:00+01:00", due: "2026-10-25T10:00:00+00:00"),
        .init(zone: "Australia/Sydney", day: "2026-04-05", opened: "2026-04-04T16:00:00+11:00", due: "2026-04-05T10:00:00+10:00"),
        .init(zone: "Australia/Sydney", day: "2026-10-04", opened: "2026-10-03T16:00:00+10:00", due: "2026-10-04T10:00:00+11:00"),
        .init(zone: "Asia/Kolkata", day: "2026-03-08", opened: "2026-03-07T16:00:00+05:30", due: "2026-03-08T10:00:00+05:30"),
        .init(zone: "Asia/Kolkata", day: "2026-10-04", opened: "2026-10-03T16:00:00+05:30", due: "2026-10-04T10:00:00+05:30"),
    ]

    @Test(arguments: dstDays)
    func aNineToFiveDayIsEightBusinessHoursAndDeadlinesKeepTheirWallClockTime(_ row: DSTDay) throws {
        let calendar = try officeHours(zone(row.zone), days: 1...7)
        var gregorian = Calendar(identifier: .gregorian)
        gregorian.timeZone = calendar.timeZone
        let day = try BusinessCalendar.LocalDate(row.day)
        let midnight = gregorian.date(from: DateComponents(year: day.year, month: day.month, day: day.day))!
        let nextMidnight = gregorian.date(from: DateComponents(year: day.year, month: day.month, day: day.day + 1))!
        #expect(calendar.businessMinutes(from: midnight, to: nextMidnight) == 480)

        let opened = instant(row.opened)
        #expect(try calendar.adding(businessMinutes: 120, to: opened) == instant(row.due))
        // The whole DST day, and one minute more, from the evening before.
        let open = instant(row.due).addingTimeInterval(-3_600)  // 09:00 local on the DST day
        let close = try calendar.adding(businessMinutes: 60 + 480, to: opened)
        #expect(close == open.addingTimeInterval(8 * 3_600), "17:00 local is eight real hours after 09:00")
        let nextMorning = try calendar.adding(businessMinutes: 60 + 481, to: opened)
        #expect(gregorian.dateComponents([.hour, .minute], from: nextMorning) == DateComponents(hour: 9, minute: 1))
        #expect(nextMorning.timeIntervalSince(open) == 24 * 3_600 + 60, "09:01 the next day: the offset no longer changes")
    }

    @Test(arguments: dstDays)
    func aFridayAfternoonDeadlineCrossesTheDSTWeekendToMonday(_ row: DSTDay) throws {
        let calendar = try officeHours(zone(row.zone))  // Monday to Friday
        var gregorian = Calendar(identifier: .gregorian)
        gregorian.timeZone = calendar.timeZone
        let friday = instant(row.opened).addingTimeInterval(-86_400)  // Friday 16:00 local (no change on Friday)
        let due = try calendar.adding(businessMinutes: 240, to: friday)  // 1 h Friday, 3 h Monday
        let local = gregorian.dateComponents([.weekday, .hour, .minute], from: due)
        #expect(local == DateComponents(hour: 12, minute: 0, weekday: 2), "Monday 12:00 local, \(due)")
        #expect(calendar.businessMinutes(from: friday, to: due) == 240)
    }

    // MARK: Holidays around a weekend

    struct LongWeekend: Sendable, CustomTestStringConvertible {
        let zone: String
        /// The weekend's Saturday.
        let saturday: String
        let friday: String
        let monday: String
        let opened: String
        let minutes: Double
        let due: String
        let note: String
        var testDescription: String { "\(zone) \(note)" }
    }

    static let longWeekends: [LongWeekend] = [
        // Monday holiday only: Friday 16:00 + 2 h = 1 h Friday + 1 h Tuesday.
        .init(
            zone: "America/New_York", saturday: "2026-01-17", friday: "", monday: "2026-01-19", opened: "2026-01-16T16:00:00-05:00",
            minutes: 120,
            due: "2026-01-20T10:00:00-05:00", note: "MLK Day"),
        // Friday and Monday holidays: Thursday 16:00 + 2 h = 1 h Thursday + 1 h Tuesday ...
        .init(
            zone: "Europe/London", saturday: "2026-04-04", friday: "2026-04-03", monday: "2026-04-06", opened: "2026-04-02T16:00:00+01:00",
            minutes: 120,
            due: "2026-04-07T10:00:00+01:00", note: "Easter, from Thursday"),
        // ... and an incident opened on the Friday holiday itself starts counting on Tuesday.
        .init(
            zone: "Europe/London", saturday: "2026-04-04", friday: "2026-04-03", monday: "2026-04-06", opened: "2026-04-03T16:00:00+01:00",
            minutes: 120,
            due: "2026-04-07T11:00:00+01:00", note: "Easter, from the Friday holiday"),
        // Sydney's Easter weekend also holds the end of DST (Sunday April 5): +11:00 before, +10:00 after.
        .init(
            zone: "Australia/Sydney", saturday: "2026-04-04", friday: "2026-04-03", monday: "2026-04-06",
            opened: "2026-04-02T16:00:00+11:00", minutes: 120,
            due: "2026-04-07T10:00:00+10:00", note: "Easter across the DST change"),
        .init(
            zone: "America/New_York", saturday: "2026-07-04", friday: "2026-07-03", monday: "", opened: "2026-07-02T16:00:00-04:00",
            minutes: 120,
            due: "2026-07-06T10:00:00-04:00", note: "Independence Day observed on Friday"),
        .init(
            zone: "Asia/Kolkata", saturday: "2026-10-03", friday: "2026-10-02", monday: "2026-10-05", opened: "2026-10-01T16:00:00+05:30",
            minutes: 600,
            due: "2026-10-07T10:00:00+05:30", note: "Friday and Monday, 10 hours"),
    ]

    @Test(arguments: longWeekends)
    func holidaysAroundAWeekendAreSkipped(_ row: LongWeekend) throws {
        let holidays = try [row.friday, row.monday].filter { !$0.isEmpty }.map { BusinessCalendar.Holiday(date: try .init($0)) }
        let calendar = try officeHours(zone(row.zone), holidays: holidays)
        let due = try calendar.adding(businessMinutes: row.minutes, to: instant(row.opened))
        #expect(due == instant(row.due))
        #expect(calendar.businessMinutes(from: instant(row.opened), to: due) == row.minutes)
        // The holidays and the weekend between them hold no business time at all.
        var gregorian = Calendar(identifier: .gregorian)
        gregorian.timeZone = calendar.timeZone
        let local = try BusinessCalendar.LocalDate(row.saturday)
        let saturday = gregorian.date(from: DateComponents(year: local.year, month: local.month, day: local.day))!  // 00:00
        let friday = gregorian.date(byAdding: .day, value: -1, to: saturday)!
        let monday = gregorian.date(byAdding: .day, value: 2, to: saturday)!
        let tuesday = gregorian.date(byAdding: .day, value: 3, to: saturday)!
        #expect(calendar.businessMinutes(from: saturday, to: monday) == 0)
        if !row.friday.isEmpty { #expect(calendar.businessMinutes(from: friday, to: saturday) == 0) }
        if !row.monday.isEmpty { #expect(calendar.businessMinutes(from: monday, to: tuesday) == 0) }
    }

    // MARK: Overnight intervals

    struct Night: Sendable, CustomTestStringConvertible {
        let zone: String
        /// 21:00 local on the evening the night starts.
        let evening: String
        /// 07:00 local the next morning.
        let morning: String
        /// Real minutes from 22:00 to 06:00 that night.
        let minutes: Double
        /// 22:00 + 8 business hours, in local time with the morning's offset.
        let eightHoursLater: String
        var testDescription: String { "\(zone) \(evening)" }
    }

    static let nights: [Night] = [
        .init(
            zone: "America/New_York", evening: "2026-03-07T21:00:00-05:00", morning: "2026-03-08T07:00:00-04:00", minutes: 420,
            eightHoursLater: "2026-03-08T22:59:00-04:00"),
        .init(
            zone: "America/New_York", evening: "2026-10-31T21:00:00-04:00", morning: "2026-11-01T07:00:00-05:00", minutes: 540,
            eightHoursLater: "2026-11-01T05:00:00-05:00"),
        .init(
            zone: "Europe/London", evening: "2026-03-28T21:00:00+00:00", morning: "2026-03-29T07:00:00+01:00", minutes: 420,
            eightHoursLater: "2026-03-29T22:59:00+01:00"),
        .init(
            zone: "Europe/London", evening: "2026-10-24T21:00:00+01:00", morning: "2026-10-25T07:00:00+00:00", minutes: 540,
            eightHoursLater: "2026-10-25T05:00:00+00:00"),
        .init(
            zone: "Australia/Sydney", evening: "2026-04-04T21:00:00+11:00", morning: "2026-04-05T07:00:00+10:00", minutes: 540,
            eightHoursLater: "2026-04-05T05:00:00+10:00"),
        .init(
            zone: "Australia/Sydney", evening: "2026-10-03T21:00:00+10:00", morning: "2026-10-04T07:00:00+11:00", minutes: 420,
            eightHoursLater: "2026-10-04T22:59:00+11:00"),
        .init(
            zone: "Asia/Kolkata", evening: "2026-03-07T21:00:00+05:30", morning: "2026-03-08T07:00:00+05:30", minutes: 480,
            eightHoursLater: "2026-03-08T06:00:00+05:30"),
    ]

    @Test(arguments: nights)
    func overnightIntervalsFollowRealTimeAcrossMidnightAndDST(_ row: Night) throws {
        let calendar = try CalendarShape.nights.calendar(in: row.zone)
        let evening = instant(row.evening)
        let morning = instant(row.morning)
        #expect(calendar.businessMinutes(from: evening, to: morning) == row.minutes)
        // From 22:00: on a 7-hour night, 7 h 59 min run to 06:00 and on to 22:59 the next night;
        // on a 9-hour night, 8 h end at 05:00 by the (set back) clock.
        let start = evening.addingTimeInterval(3_600)
        let minutes = row.minutes == 420 ? 420.0 + 59 : 480
        #expect(try calendar.adding(businessMinutes: minutes, to: start) == instant(row.eightHoursLater))
        // Open after midnight, closed from 06:00 local with the morning's offset.
        #expect(calendar.isOpen(at: morning.addingTimeInterval(-3_600 - 1)))
        #expect(!calendar.isOpen(at: morning.addingTimeInterval(-3_600)))
        #expect(!calendar.isOpen(at: evening))
        #expect(calendar.isOpen(at: start))
    }

    @Test func aFridayNightShiftReachesIntoSaturdayOnly() throws {
        let calendar = try BusinessCalendar(timeZone: zone("Europe/London"), weekly: [6: [try .init("22:00", "06:00")]])
        #expect(try calendar.adding(businessMinutes: 120, to: instant("2026-06-05T23:00:00+01:00")) == instant("2026-06-06T01:00:00+01:00"))
        #expect(calendar.isOpen(at: instant("2026-06-06T05:59:59+01:00")))
        #expect(!calendar.isOpen(at: instant("2026-06-06T06:00:00+01:00")))
        #expect(!calendar.isOpen(at: instant("2026-06-06T23:00:00+01:00")), "Saturday night is not a shift")
        // 420 minutes left at 23:00 on Friday: 7 h to 06:00, the rest the next Friday night.
        #expect(
            try calendar.adding(businessMinutes: 420 + 30, to: instant("2026-06-05T23:00:00+01:00")) == instant("2026-06-12T22:30:00+01:00")
        )
    }
}

@Suite("Business calendar edge cases")
struct CalendarEdgeCaseTests {
    @Test func anOvernightIntervalMayNotOverlapTheNextMorning() throws {
        let late = try BusinessCalendar.DailyInterval("22:00", "06:00")
        #expect(throws: CalendarError.self) {
            try BusinessCalendar(timeZone: zone("UTC"), weekly: [6: [late], 7: [try .init("05:00", "09:00")]])
        }
        #expect(throws: CalendarError.self, "Saturday night runs into Sunday (7 → 1)") {
            try BusinessCalendar(timeZone: zone("UTC"), weekly: [7: [late], 1: [try .init("00:00", "01:00")]])
        }
        let touching = try BusinessCalendar(timeZone: zone("UTC"), weekly: [6: [late], 7: [try .init("06:00", "09:00")]])
        #expect(touching.businessMinutes(from: instant("2026-06-05T21:00:00Z"), to: instant("2026-06-06T10:00:00Z")) == 660)
    }

    @Test func aPartialHolidayThatRunsPastMidnightClosesTheNextMorningToo() throws {
        let days = try Dictionary(
            uniqueKeysWithValues: (1...7).map { ($0, [try BusinessCalendar.DailyInterval("00:00", "08:00"), try .init("20:00", "24:00")]) })
        let calendar = try BusinessCalendar(
            timeZone: zone("Europe/London"), weekly: days,
            holidays: [.init(date: try .init("2026-06-10"), closed: try .init("20:00", "04:00"))]
        )
        #expect(!calendar.isOpen(at: instant("2026-06-11T02:00:00+01:00")))
        #expect(calendar.isOpen(at: instant("2026-06-11T05:00:00+01:00")))
        #expect(calendar.businessMinutes(from: instant("2026-06-10T00:00:00+01:00"), to: instant("2026-06-12T00:00:00+01:00")) == 960)
        #expect(try calendar.adding(businessMinutes: 60, to: instant("2026-06-10T19:00:00+01:00")) == instant("2026-06-11T05:00:00+01:00"))
    }

    /// Business minutes of one local day of an every-day calendar.
    private func minutes(on day: String, in identifier: String, _ intervals: [(String, String)]) throws -> Double {
        let daily = try intervals.map { try BusinessCalendar.DailyInterval($0.0, $0.1) }
        let calendar = try BusinessCalendar(
            timeZone: zone(identifier), weekly: Dictionary(uniqueKeysWithValues: (1...7).map { ($0, daily) }))
        var gregorian = Calendar(identifier: .gregorian)
        gregorian.timeZone = calendar.timeZone
        let local = try BusinessCalendar.LocalDate(day)
        let midnight = gregorian.date(from: DateComponents(year: local.year, month: local.month, day: local.day))!
        let nextMidnight = gregorian.date(from: DateComponents(year: local.year, month: local.month, day: local.day + 1))!
        return calendar.businessMinutes(from: midnight, to: nextMidnight)
    }

    @Test func boundariesInsideASpringForwardGapAreReachedAtTheChange() throws {
        // New York, 02:00 → 03:00: 01:30–02:00 EST and 03:00–03:30 EDT exist.
        #expect(try minutes(on: "2026-03-08", in: "America/New_York", [("01:30", "02:30"), ("02:45", "03:30")]) == 60)
        // An end inside the gap must not overlap the next interval (this was counted as 165).
        #expect(try minutes(on: "2026-03-08", in: "America/New_York", [("01:00", "02:45"), ("03:00", "04:00")]) == 120)
        // London, 01:00 → 02:00: 02:00–02:30 BST and 02:45–03:30 BST exist (this was 45); 00:30–01:45
        // is open from 00:30 GMT to the change at 01:00 GMT.
        #expect(try minutes(on: "2026-03-29", in: "Europe/London", [("01:30", "02:30"), ("02:45", "03:30")]) == 75)
        #expect(try minutes(on: "2026-03-29", in: "Europe/London", [("00:30", "01:45"), ("02:00", "02:45"), ("03:00", "04:00")]) == 135)
        // Sydney, 02:00 → 03:00 on October 4; an interval entirely inside the gap is empty that day.
        #expect(try minutes(on: "2026-10-04", in: "Australia/Sydney", [("02:15", "02:45"), ("09:00", "17:00")]) == 480)
        #expect(try minutes(on: "2026-10-05", in: "Australia/Sydney", [("02:15", "02:45"), ("09:00", "17:00")]) == 510)
    }

    @Test func aRepeatedHourCountsFromTheFirstOccurrence() throws {
        // New York falls back 02:00 EDT → 01:00 EST: 01:30 EDT to 02:30 EST is two real hours,
        // just as the 22:00–06:00 night is nine.
        #expect(try minutes(on: "2026-11-01", in: "America/New_York", [("01:30", "02:30")]) == 120)
        #expect(try minutes(on: "2026-11-01", in: "America/New_York", [("00:30", "01:30"), ("01:30", "02:30")]) == 180)
    }

}
