public import Foundation

/// When an entitlement's term ends.
///
/// ## The expiry boundary
///
/// An entitlement bought at instant `purchasedAt` in time zone `Z` with a term of `years` years
/// expires at **the anniversary of the purchase's local date and time in `Z`, `years` later**:
///
/// - The local date and wall-clock time of `purchasedAt` in `Z` are taken (to the millisecond),
///   the year is advanced by `years`, and that local date and time is turned back into an
///   instant in `Z`, with the offset (standard or daylight time) in force on the anniversary. So
///   a pack bought at 09:00 in New York in winter expires at 09:00 New York time a year later,
///   whatever the UTC offset then.
/// - **Leap day.** A purchase on 29 February expires on 28 February at the same local time in a
///   year that is not a leap year (the day is clamped to the month's last day); with a four-year
///   term landing on a leap year it expires on 29 February.
/// - **Daylight-saving gap.** If the local time does not exist on the anniversary (clocks spring
///   forward over it), it moves forward by the length of the gap: a 02:30 purchase in New York
///   expires at 03:30 on a spring-forward anniversary (the instant 02:30 standard time would be).
/// - **Repeated hour.** If the local time occurs twice on the anniversary (clocks fall back), the
///   earlier occurrence is the expiry.
/// - **Validity.** The entitlement is valid for instants `t` with `purchasedAt <= t < expiresAt`:
///   the expiry is exclusive, so at exactly `expiresAt` it has expired.
/// - `t` is always the instant the customer's request was received (carried in the command),
///   never the current time, so decisions come out the same on replay.
///
/// Instants are kept to the millisecond (the precision of the ledger's JSON); anything finer in
/// `purchasedAt` is rounded to the nearest millisecond.
public enum EntitlementTerm {
    /// The instant an entitlement bought at `purchasedAt` in `timeZone` stops being valid after
    /// `years` years (default one); see ``EntitlementTerm`` for the rules (leap day, daylight-saving
    /// gaps and repeated hours, exclusive end).
    ///
    /// ```swift
    /// // 2028-02-29 10:00 UTC → 2029-02-28 10:00 UTC
    /// let end = EntitlementTerm.expiry(purchasedAt: leapDay, timeZone: TimeZone(identifier: "UTC")!)
    /// ```
    public static func expiry(purchasedAt: Date, timeZone: TimeZone, years: Int = 1) -> Date {
        let millis = Instant.milliseconds(purchasedAt)
        let seconds = Instant.floorDivide(millis, 1000)
        let fraction = millis - seconds * 1000

        // The purchase's local date and time, by Foundation's Gregorian calendar in the zone.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let local = calendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: Double(seconds)))
        let year = (local.year ?? 1970) + years
        let month = local.month ?? 1
        let day = min(local.day ?? 1, Instant.daysInMonth(year: year, month: month))
        let wall =
            Instant.days(year: year, month: month, day: day) * 86_400
            + Int64((local.hour ?? 0) * 3600 + (local.minute ?? 0) * 60 + (local.second ?? 0))
        return Instant.date(milliseconds: resolve(localSeconds: wall, in: timeZone) * 1000 + fraction)
    }

    /// The instant of a local wall-clock time (seconds since 1970-01-01T00:00 local): the earlier
    /// one when it occurs twice, and, when it does not occur, the instant it would be under the
    /// offset in force before the gap (which is the wall time moved forward by the gap's length).
    ///
    /// Only the zone's offsets are trusted here, not `Calendar.date(from:)`'s handling of skipped
    /// and repeated times (which has differed between Foundation implementations).
    static func resolve(localSeconds wall: Int64, in zone: TimeZone) -> Int64 {
        func offset(at instant: Int64) -> Int64 { Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant)))) }
        // Offsets are within ±14 h, so the instant lies within a day of `wall`; zones do not change
        // their offset twice within a day, so these probes see every offset that could apply.
        let offsets = Set([wall - 86_400, wall, wall + 86_400].map(offset))
        let fitting = offsets.filter { offset(at: wall - $0) == $0 }
        if let largest = fitting.max() { return wall - largest }  // the larger offset is the earlier instant
        // A gap: the clocks jumped from the smaller offset to the larger one over this wall time.
        return wall - (offsets.min() ?? 0)
    }
}

/// Instants to the millisecond: the ledger's canonical dates, and their text.
enum Instant {
    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    static func date(milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    /// `date` rounded to the millisecond, in the one form that JSON decoding also produces (so
    /// stored states compare equal after a round trip).
    static func canonical(_ date: Date) -> Date { Self.date(milliseconds: milliseconds(date)) }

    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = floorDivide(y, 400)
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date of a day number (`civil_from_days`).
    static func civil(days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (Int(yearOfEra + era * 400 + (month <= 2 ? 1 : 0)), Int(month), Int(day))
    }

    /// `2027-03-01T09:00:00.250Z`: RFC 3339 in UTC, always with milliseconds (the JSON form).
    static func string(_ date: Date) -> String { text(date, alwaysMilliseconds: true) }

    /// `2027-03-01T09:00:00Z`, with milliseconds only when there are some (for messages).
    static func readable(_ date: Date) -> String { text(date, alwaysMilliseconds: false) }

    private static func text(_ date: Date, alwaysMilliseconds: Bool) -> String {
        let millis = milliseconds(date)
        let days = floorDivide(millis, 86_400_000)
        let inDay = millis - days * 86_400_000
        let (year, month, day) = civil(days: days)
        let seconds = inDay / 1000
        func pad(_ value: some BinaryInteger, _ width: Int) -> String {
            let digits = String(value.magnitude)
            return (value < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        var text =
            "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2))"
        if alwaysMilliseconds || inDay % 1000 != 0 { text += ".\(pad(inDay % 1000, 3))" }
        return text + "Z"
    }

    /// Parses RFC 3339: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, to the millisecond (a finer
    /// fraction is rounded).
    static func parse(_ text: String) -> Date? {
        let scalars = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= scalars.count else { return nil }
            var value = 0
            for byte in scalars[range] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard scalars.count >= 20, scalars[4] == 45, scalars[7] == 45, scalars[10] == 84 || scalars[10] == 116,
            scalars[13] == 58, scalars[16] == 58,
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
            hour < 24, minute < 60, second < 60
        else { return nil }
        var index = 19
        var fractionMillis = 0.0
        if scalars[index] == 46 {  // "."
            let start = index + 1
            index = start
            while index < scalars.count, scalars[index] >= 48, scalars[index] <= 57 { index += 1 }
            guard index > start, let digits = Double(String(decoding: scalars[start..<index], as: UTF8.self)) else { return nil }
            fractionMillis = digits / pow(10, Double(index - start)) * 1000
        }
        guard index < scalars.count else { return nil }
        var offsetSeconds = 0
        switch scalars[index] {
        case 90, 122:  // Z z
            guard index + 1 == scalars.count else { return nil }
        case 43, 45:  // + -
            guard index + 6 == scalars.count, scalars[index + 3] == 58,
                let hours = number(index + 1..<index + 3), let minutes = number(index + 4..<index + 6), hours < 24, minutes < 60
            else { return nil }
            offsetSeconds = (hours * 3600 + minutes * 60) * (scalars[index] == 45 ? -1 : 1)
        default:
            return nil
        }
        let seconds = days(year: year, month: month, day: day) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
        return date(milliseconds: seconds * 1000 + Int64(fractionMillis.rounded()))
    }
}
