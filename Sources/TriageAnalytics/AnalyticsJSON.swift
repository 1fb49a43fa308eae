import Foundation
public import SwiftProtobuf
import TriageCore
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
    /// `SEVERITY_UNSPECIFIED`) after the mapping's members. The two
    /// fields with presence, `first_response_business_minutes` and
    /// `breached_by_business_minutes`, stay absent until known. Any protobuf JSON parser reads
    /// the result back into the same message. Documented by `schemas/analytics-record.schema.json`.
    public func publishedJSON() throws -> String {
        String(decoding: try publishedJSONBytes(), as: UTF8.self)
    }

    /// ``publishedJSON()`` as UTF-8, written directly (``JSONBuffer``): the bytes
    /// `jsonString(options: publishedJSONOptions)` gives, then the defaults it leaves out, in
    /// field order. Throws `JSONEncodingError.timestampRange` as the mapping does.
    public func publishedJSONBytes() throws -> [UInt8] {
        var json = JSONBuffer(capacity: 320 + eventID.utf8.count + incidentID.utf8.count)
        json.raw("{")
        var first = true
        func key(_ name: StaticString) {
            json.key(name, first: first)
            first = false
        }
        // The mapping's members: the fields with a value, in field order.
        if !eventID.isEmpty { key("event_id"); json.string(eventID, style: .protobuf) }
        if !incidentID.isEmpty { key("incident_id"); json.string(incidentID, style: .protobuf) }
        if !eventType.isEmpty { key("event_type"); json.string(eventType, style: .protobuf) }
        if hasOccurredAt { key("occurred_at"); try Self.writeTimestamp(occurredAt, into: &json) }
        if severity != .unspecified { key("severity"); Self.writeEnum(severity, into: &json) }
        if coverage != .unspecified { key("coverage"); Self.writeEnum(coverage, into: &json) }
        if !product.isEmpty { key("product"); json.string(product, style: .protobuf) }
        if !customerAccount.isEmpty { key("customer_account"); json.string(customerAccount, style: .protobuf) }
        if !team.isEmpty { key("team"); json.string(team, style: .protobuf) }
        if !assignedAgentID.isEmpty { key("assigned_agent_id"); json.string(assignedAgentID, style: .protobuf) }
        if hasFirstResponseBusinessMinutes {
            key("first_response_business_minutes")
            json.double(firstResponseBusinessMinutes, style: .protobuf)
        }
        if breached { key("breached"); json.bool(true) }
        if hasBreachedByBusinessMinutes { key("breached_by_business_minutes"); json.double(breachedByBusinessMinutes, style: .protobuf) }
        if reassignmentCount != 0 { key("reassignment_count"); json.int(reassignmentCount) }
        // The mapping, like the generated code, tells a double's default by its bit pattern
        // (-0.0 is printed).
        if waitingOnCustomerMinutes.bitPattern != 0 {
            key("waiting_on_customer_minutes")
            json.double(waitingOnCustomerMinutes, style: .protobuf)
        }
        if !outcome.isEmpty { key("outcome"); json.string(outcome, style: .protobuf) }
        if escalationLevel != 0 { key("escalation_level"); json.int(escalationLevel) }
        if !slaTarget.isEmpty { key("sla_target"); json.string(slaTarget, style: .protobuf) }
        // The defaults it leaves out, in field order.
        if eventID.isEmpty { key("event_id"); json.raw("\"\"") }
        if incidentID.isEmpty { key("incident_id"); json.raw("\"\"") }
        if eventType.isEmpty { key("event_type"); json.raw("\"\"") }
        if severity == .unspecified { key("severity"); json.raw("\"SEVERITY_UNSPECIFIED\"") }
        if coverage == .unspecified { key("coverage"); json.raw("\"COVERAGE_UNSPECIFIED\"") }
        if product.isEmpty { key("product"); json.raw("\"\"") }
        if customerAccount.isEmpty { key("customer_account"); json.raw("\"\"") }
        if team.isEmpty { key("team"); json.raw("\"\"") }
        if assignedAgentID.isEmpty { key("assigned_agent_id"); json.raw("\"\"") }
        if !breached { key("breached"); json.raw("false") }
        if reassignmentCount == 0 { key("reassignment_count"); json.raw("0") }
        if waitingOnCustomerMinutes.bitPattern == 0 { key("waiting_on_customer_minutes"); json.raw("0.0") }
        if outcome.isEmpty { key("outcome"); json.raw("\"\"") }
        if escalationLevel == 0 { key("escalation_level"); json.raw("0") }
        if slaTarget.isEmpty { key("sla_target"); json.raw("\"\"") }
        json.raw("}")
        return json.bytes
    }

    /// A proto enum by name, or by number when it has none (as the mapping writes it).
    private static func writeEnum(_ value: Severity, into json: inout JSONBuffer) {
        switch value {
        case .unspecified: json.raw("\"SEVERITY_UNSPECIFIED\"")
        case .a: json.raw("\"SEVERITY_A\"")
        case .b: json.raw("\"SEVERITY_B\"")
        case .c: json.raw("\"SEVERITY_C\"")
        case .UNRECOGNIZED(let number): json.int(number)
        }
    }

    private static func writeEnum(_ value: Coverage, into json: inout JSONBuffer) {
        switch value {
        case .unspecified: json.raw("\"COVERAGE_UNSPECIFIED\"")
        case .coverage24X7: json.raw("\"COVERAGE_24X7\"")
        case .businessHours: json.raw("\"COVERAGE_BUSINESS_HOURS\"")
        case .UNRECOGNIZED(let number): json.int(number)
        }
    }

    /// A `google.protobuf.Timestamp` as the mapping writes it: RFC 3339 UTC with 0, 3, 6 or 9
    /// fractional digits.
    private static func writeTimestamp(_ timestamp: Google_Protobuf_Timestamp, into json: inout JSONBuffer) throws {
        guard AnalyticsInstant.secondsRange.contains(timestamp.seconds), (0...999_999_999).contains(timestamp.nanos) else {
            throw JSONEncodingError.timestampRange
        }
        let days = AnalyticsInstant.floorDivide(timestamp.seconds, 86_400)
        let inDay = timestamp.seconds - days * 86_400
        json.raw("\"")
        AnalyticsInstant.writeDate(days: days, secondsInDay: inDay, into: &json)
        let nanos = Int64(timestamp.nanos)
        if nanos == 0 {
        } else if nanos % 1_000_000 == 0 {
            json.raw(".")
            json.digits(nanos / 1_000_000, width: 3)
        } else if nanos % 1_000 == 0 {
            json.raw(".")
            json.digits(nanos / 1_000, width: 6)
        } else {
            json.raw(".")
            json.digits(nanos, width: 9)
        }
        json.raw("Z\"")
    }
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

    /// ``string(_:)``, quoted, written directly.
    static func write(_ date: Date, into json: inout JSONBuffer) {
        let millis = milliseconds(date)
        let days = floorDivide(millis, 86_400_000)
        let inDay = millis - days * 86_400_000
        guard (0...9999).contains(civil(days: days).0) else {
            json.string(string(date), style: .jsonEncoder)
            return
        }
        json.raw("\"")
        writeDate(days: days, secondsInDay: inDay / 1000, into: &json)
        json.raw(".")
        json.digits(inDay % 1000, width: 3)
        json.raw("Z\"")
    }

    /// `YYYY-MM-DDTHH:MM:SS` of a day since 1970 (whose year has four digits) and a second in it.
    static func writeDate(days: Int64, secondsInDay seconds: Int64, into json: inout JSONBuffer) {
        let (year, month, day) = civil(days: days)
        json.digits(year, width: 4)
        json.raw("-")
        json.digits(month, width: 2)
        json.raw("-")
        json.digits(day, width: 2)
        json.raw("T")
        json.digits(seconds / 3600, width: 2)
        json.raw(":")
        json.digits(seconds / 60 % 60, width: 2)
        json.raw(":")
        json.digits(seconds % 60, width: 2)
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

    static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return value % divisor < 0 ? quotient - 1 : quotient
    }

    // Howard Hinnant's days-from-civil algorithms (proleptic Gregorian, day 0 = 1970-01-01).
    static func civil(days: Int64) -> (Int64, Int64, Int64) {
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
