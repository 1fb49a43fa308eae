import Foundation
import TriageCore

// The calendar fixtures of TriageCoreTests' BusinessCalendarTests, which the SLA tests use too
// (test targets cannot share a file).

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
