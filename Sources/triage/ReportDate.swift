import ArgumentParser
import Foundation

/// A `DATE` of `triage report`: `YYYY-MM-DD` (midnight UTC that day) or an RFC 3339 instant
/// (`2026-03-01T09:00:00-05:00`, `2026-03-01T14:00:00.500Z`).
struct ReportDate {
    let date: Date

    /// What the options accept, for help and error messages.
    static let accepted = "YYYY-MM-DD (midnight UTC) or RFC 3339 (2026-03-01T00:00:00Z, 2026-03-01T09:00:00-05:00)"

    init?(_ text: String) {
        if text.count == 10, let day = Self.day(text) {
            date = day
        } else if text.count > 10, let instant = parseInstant(text) {
            date = instant
        } else {
            return nil
        }
    }

    /// Parses `text` for `option`; a ``ValidationError`` naming the option and the accepted forms.
    static func parse(_ text: String, option: String) throws -> Date {
        guard let parsed = ReportDate(text) else {
            throw ValidationError("\(option) '\(text)' is not a date: use \(accepted)")
        }
        return parsed.date
    }

    private static func day(_ text: String) -> Date? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year, month: month, day: day)
        guard components.isValidDate(in: calendar) else { return nil }
        return calendar.date(from: components)
    }
}
