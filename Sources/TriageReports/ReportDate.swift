public import Foundation

/// A report window's bound as people write it: `YYYY-MM-DD` (midnight UTC that day) or an
/// RFC 3339 instant (`2026-03-01T09:00:00-05:00`, `2026-03-01T14:00:00.500Z`). Shared by
/// `triage report sla` and the console's reports page.
public enum ReportDate {
    /// What is accepted, for help and error messages.
    public static let accepted = "YYYY-MM-DD (midnight UTC) or RFC 3339 (2026-03-01T00:00:00Z, 2026-03-01T09:00:00-05:00)"

    /// The instant `text` names; `nil` when it is neither form.
    public static func parse(_ text: String) -> Date? {
        if text.count == 10 { return day(text) }
        guard text.count > 10 else { return nil }
        if let date = try? Date(text, strategy: .iso8601) { return date }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
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
