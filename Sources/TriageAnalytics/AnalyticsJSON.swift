import Foundation
public import SwiftProtobuf
public import TriageSchema

extension AnalyticsRecord {
    /// The protobuf JSON mapping with proto field names (`event_id`, snake_case), enums by
    /// name (`SEVERITY_B`), timestamps in RFC 3339 (UTC, `Z`).
    public static let publishedJSONOptions: JSONEncodingOptions = {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        return options
    }()

    /// The record exactly as the analytics worker publishes it on `triage.analytics`: the
    /// protobuf JSON mapping (``publishedJSONOptions``) with every column present.
    ///
    /// SwiftProtobuf 1.39 has no option to print default values, and the mapping omits them
    /// (an empty `team`, `breached: false`, zero counts); sinks want stable columns, so the
    /// omitted defaults are added back (`""`, `false`, `0`, `0.0` — doubles always look like
    /// doubles, as SwiftProtobuf prints `3840.0`, so type inference in sinks sees a float —
    /// `SEVERITY_UNSPECIFIED`). The two
    /// fields with presence, `first_response_business_minutes` and
    /// `breached_by_business_minutes`, stay absent until known. Any protobuf JSON parser reads
    /// the result back into the same message. Documented by `schemas/analytics-record.schema.json`.
    public func publishedJSON() throws -> String {
        var json = try jsonString(options: Self.publishedJSONOptions)
        let defaults = Self.defaultColumns.filter { $0.isDefault(self) }.map { "\"\($0.name)\":\($0.literal)" }
        guard !defaults.isEmpty, json.last == "}" else { return json }
        json.removeLast()
        return json + (json == "{" ? "" : ",") + defaults.joined(separator: ",") + "}"
    }

    /// The fields without presence, with the JSON literal of their default value, in field order.
    private static let defaultColumns: [(name: String, literal: String, isDefault: @Sendable (AnalyticsRecord) -> Bool)] = [
        ("event_id", "\"\"", { $0.eventID.isEmpty }),
        ("incident_id", "\"\"", { $0.incidentID.isEmpty }),
        ("event_type", "\"\"", { $0.eventType.isEmpty }),
        ("severity", "\"SEVERITY_UNSPECIFIED\"", { $0.severity == .unspecified }),
        ("coverage", "\"COVERAGE_UNSPECIFIED\"", { $0.coverage == .unspecified }),
        ("product", "\"\"", { $0.product.isEmpty }),
        ("customer_account", "\"\"", { $0.customerAccount.isEmpty }),
        ("team", "\"\"", { $0.team.isEmpty }),
        ("assigned_agent_id", "\"\"", { $0.assignedAgentID.isEmpty }),
        ("breached", "false", { !$0.breached }),
        ("reassignment_count", "0", { $0.reassignmentCount == 0 }),
        ("waiting_on_customer_minutes", "0.0", { $0.waitingOnCustomerMinutes == 0 }),
        ("outcome", "\"\"", { $0.outcome.isEmpty }),
        ("escalation_level", "0", { $0.escalationLevel == 0 }),
        ("sla_target", "\"\"", { $0.slaTarget.isEmpty }),
    ]
}

/// Instants in the analytics state: whole milliseconds, written as RFC 3339 UTC with three
/// fractional digits (`2026-03-06T21:00:00.000Z`), so a snapshot's JSON round trip is exact.
enum AnalyticsInstant {
    /// The valid range of `google.protobuf.Timestamp` seconds (years 1 to 9999).
    static let secondsRange: ClosedRange<Int64> = -62_135_596_800...253_402_300_799

    /// An event time truncated to the millisecond.
    static func normalized(_ timestamp: Google_Protobuf_Timestamp) -> Date {
        let seconds = min(max(timestamp.seconds, secondsRange.lowerBound), secondsRange.upperBound)
        return date(milliseconds: seconds * 1000 + Int64(max(0, min(timestamp.nanos, 999_999_999)) / 1_000_000))
    }

    static func date(milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    static func string(_ date: Date) -> String {
        let millis = milliseconds(date)
        let days = floorDivide(millis, 86_400_000)
        let inDay = millis - days * 86_400_000
        let (year, month, day) = civil(days: days)
        let seconds = inDay / 1000
        return
            "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2)).\(pad(inDay % 1000, 3))Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (what ``string(_:)`` writes), to the millisecond.
    static func date(_ text: String) -> Date? {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 20, utf8.last == UInt8(ascii: "Z"), utf8[4] == UInt8(ascii: "-"), utf8[7] == UInt8(ascii: "-"),
            utf8[10] == UInt8(ascii: "T"), utf8[13] == UInt8(ascii: ":"), utf8[16] == UInt8(ascii: ":"),
            let year = number(utf8[0..<4]), let month = number(utf8[5..<7]), let day = number(utf8[8..<10]),
            let hour = number(utf8[11..<13]), let minute = number(utf8[14..<16]), let second = number(utf8[17..<19]),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        var millis: Int64 = 0
        if utf8.count > 20 {
            let fraction = utf8[19..<(utf8.count - 1)]
            guard fraction.first == UInt8(ascii: "."), fraction.count >= 2, let digits = number(fraction.dropFirst().prefix(3)) else {
                return nil
            }
            guard fraction.dropFirst().allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
            millis = digits * [100, 10, 1][min(fraction.count - 2, 2)]
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        return date(milliseconds: ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis)
    }

    private static func number(_ digits: ArraySlice<UInt8>) -> Int64? {
        var value: Int64 = 0
        for digit in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit) else { return nil }
            value = value * 10 + Int64(digit - UInt8(ascii: "0"))
        }
        return digits.isEmpty ? nil : value
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return value % divisor < 0 ? quotient - 1 : quotient
    }

    // Howard Hinnant's days-from-civil algorithms (proleptic Gregorian, day 0 = 1970-01-01).
    private static func civil(days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = floorDivide(shiftedYear, 400)
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
