import Foundation
import Testing
import TriageCore

let newYork = TimeZone(identifier: "America/New_York")!

func instant(_ text: String) -> Date {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.date(from: text)!
}

/// Monday to Friday 09:00–17:00 (or every day) in `zone`.
func officeHours(_ zone: TimeZone, days: ClosedRange<Int> = 2...6, holidays: [BusinessCalendar.Holiday] = []) throws -> BusinessCalendar {
    let day = try BusinessCalendar.DailyInterval("09:00", "17:00")
    return try BusinessCalendar(timeZone: zone, weekly: Dictionary(uniqueKeysWithValues: days.map { ($0, [day]) }), holidays: holidays)
}

@Suite("Business calendars: DST-correct business time")
struct BusinessCalendarTests {
    @Test func severityBOpenedFridayAfternoonIsDueMondayAcrossTheDSTChange() throws {
        let calendar = try officeHours(newYork)
        // 1 h on Friday, 3 h on Monday; the clocks sprang forward on Sunday 2026-03-08.
        let due = try calendar.adding(businessMinutes: 4 * 60, to: instant("2026-03-06T16:00:00-05:00"))
        #expect(due == instant("2026-03-09T12:00:00-04:00"))
        #expect(calendar.businessMinutes(from: instant("2026-03-06T16:00:00-05:00"), to: due) == 240)
    }

    @Test(arguments: ["2026-03-08", "2026-11-01", "2026-03-29", "2026-10-25"])
    func aNineToFiveDayIsEightHoursOnDSTDays(_ day: String) throws {
        for zone in ["America/New_York", "Europe/Berlin"] {
            let calendar = try officeHours(TimeZone(identifier: zone)!, days: 1...7)
            let local = try BusinessCalendar.LocalDate(day)
            var parts = DateComponents(year: local.year, month: local.month, day: local.day, hour: 0)
            var gregorian = Calendar(identifier: .gregorian)
            gregorian.timeZone = calendar.timeZone
            let midnight = gregorian.date(from: parts)!
            parts.day! += 1
            let nextMidnight = gregorian.date(from: parts)!
            #expect(calendar.businessMinutes(from: midnight, to: nextMidnight) == 480, "\(zone) \(day)")
        }
    }

    @Test func nightShiftsCrossMidnightAndFollowRealTimeOnDSTNights() throws {
        let night = try BusinessCalendar.DailyInterval("22:00", "06:00")
        let calendar = try BusinessCalendar(timeZone: newYork, weekly: Dictionary(uniqueKeysWithValues: (1...7).map { ($0, [night]) }))
        #expect(calendar.isOpen(at: instant("2026-03-07T01:00:00-05:00")), "Saturday 01:00 belongs to Friday's night shift")
        #expect(!calendar.isOpen(at: instant("2026-03-07T12:00:00-05:00")))
        // 22:00 to 06:00 is 7 real hours when the clocks spring forward, 9 when they fall back.
        #expect(calendar.businessMinutes(from: instant("2026-03-07T21:00:00-05:00"), to: instant("2026-03-08T07:00:00-04:00")) == 420)
        #expect(calendar.businessMinutes(from: instant("2026-10-31T21:00:00-04:00"), to: instant("2026-11-01T07:00:00-05:00")) == 540)
    }

    @Test func openAndClosedInstants() throws {
        let calendar = try officeHours(newYork)
        #expect(calendar.isOpen(at: instant("2026-03-06T16:59:00-05:00")))
        #expect(!calendar.isOpen(at: instant("2026-03-06T17:00:00-05:00")), "intervals are half-open")
        #expect(calendar.isOpen(at: instant("2026-03-06T09:00:00-05:00")))
        #expect(!calendar.isOpen(at: instant("2026-03-07T12:00:00-05:00")), "Saturday")
        // Adding zero minutes at a closed instant lands on the next opening.
        #expect(try calendar.adding(businessMinutes: 0, to: instant("2026-03-07T12:00:00-05:00")) == instant("2026-03-09T09:00:00-04:00"))
    }

    @Test func holidaysCloseWholeOrPartDays() throws {
        let monday = try BusinessCalendar.LocalDate("2026-03-09")
        let opened = instant("2026-03-06T16:00:00-05:00")
        let closedMonday = try officeHours(newYork, holidays: [.init(date: monday, name: "Founders' Day")])
        #expect(try closedMonday.adding(businessMinutes: 240, to: opened) == instant("2026-03-10T12:00:00-04:00"))
        let lateStart = try officeHours(newYork, holidays: [.init(date: monday, closed: try .init("09:00", "12:00"))])
        #expect(try lateStart.adding(businessMinutes: 240, to: opened) == instant("2026-03-09T15:00:00-04:00"))
        // The holiday is a local date: in Tokyo, Monday's holiday must not touch New York's Monday.
        let tokyo = try officeHours(TimeZone(identifier: "Asia/Tokyo")!, holidays: [.init(date: monday)])
        #expect(tokyo.businessMinutes(from: instant("2026-03-09T00:00:00+09:00"), to: instant("2026-03-10T00:00:00+09:00")) == 0)
        #expect(tokyo.businessMinutes(from: instant("2026-03-10T00:00:00+09:00"), to: instant("2026-03-11T00:00:00+09:00")) == 480)
    }

    @Test func twentyFourSevenIsWallClockTime() throws {
        let start = instant("2026-03-08T01:30:00-05:00")
        #expect(try BusinessCalendar.twentyFourSeven.adding(businessMinutes: 120, to: start) == start.addingTimeInterval(7_200))
        #expect(BusinessCalendar.twentyFourSeven.businessMinutes(from: start, to: start.addingTimeInterval(600)) == 10)
        #expect(BusinessCalendar.twentyFourSeven.isOpen(at: start))
    }

    @Test func invalidCalendarsAreRefusedWithTheReason() throws {
        #expect(throws: CalendarError.self) { try BusinessCalendar.DailyInterval("9", "17:00") }
        #expect(throws: CalendarError.self) { try BusinessCalendar.DailyInterval("25:00", "26:00") }
        let error = #expect(throws: CalendarError.self) {
            try BusinessCalendar(timeZone: newYork, weekly: [2: [try .init("09:00", "13:00"), try .init("12:00", "17:00")]])
        }
        #expect(error?.message.contains("overlap") == true)
        #expect(throws: CalendarError.self) { try BusinessCalendar(timeZone: newYork, weekly: [8: [try .init("09:00", "17:00")]]) }
        #expect(throws: CalendarError.self) { try BusinessCalendar(timeZone: newYork, weekly: [2: []]) }
        #expect(throws: CalendarError.self) { try BusinessCalendar.LocalDate("2026-13-01") }
    }
}

/// A small deterministic generator (SplitMix64) so property runs are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Business calendar properties")
struct BusinessCalendarPropertyTests {
    static let zones = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata", "America/Santiago"]

    @Test(arguments: zones)
    func addingThenMeasuringGivesBackTheMinutes(_ zone: String) throws {
        var random = SeededGenerator(state: UInt64(abs(zone.hashValue % 1_000)) + 42)
        let split = try BusinessCalendar(
            timeZone: TimeZone(identifier: zone)!,
            weekly: [
                2: [try .init("08:30", "12:00"), try .init("13:00", "17:30")], 3: [try .init("09:00", "17:00")],
                4: [try .init("22:00", "06:00")], 5: [try .init("09:00", "17:00")], 6: [try .init("07:00", "15:00")],
            ],
            holidays: [.init(date: try .init("2026-12-25")), .init(date: try .init("2026-04-03"), closed: try .init("12:00", "00:00"))]
        )
        let yearStart = instant("2026-01-01T00:00:00Z").timeIntervalSince1970
        for _ in 0..<150 {
            let start = Date(timeIntervalSince1970: yearStart + Double.random(in: 0..<(365 * 86_400), using: &random).rounded())
            let first = Double(Int.random(in: 0...3_000, using: &random))
            let second = Double(Int.random(in: 0...3_000, using: &random))
            let due = try split.adding(businessMinutes: first, to: start)
            #expect(due >= start)
            #expect(abs(split.businessMinutes(from: start, to: due) - first) < 1e-6, "\(zone) start \(start) + \(first)")
            if first > 0 { #expect(split.isOpen(at: due.addingTimeInterval(-1)), "the last business second before \(due) is open") }
            // Additivity: a + b == (a then b).
            let together = try split.adding(businessMinutes: first + second, to: start)
            let stepwise = try split.adding(businessMinutes: second, to: due)
            #expect(abs(together.timeIntervalSince(stepwise)) < 1e-3 || second == 0 && stepwise >= due)
        }
    }
}
