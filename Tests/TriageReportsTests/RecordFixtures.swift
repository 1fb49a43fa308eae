import Foundation
import SwiftProtobuf
import TriageReports
import TriageSchema

/// An instant from RFC 3339 text, e.g. `2026-03-06T16:00:00Z`.
func at(_ text: String) -> Date {
    let formatter = ISO8601DateFormatter()
    if text.contains(".") { formatter.formatOptions.insert(.withFractionalSeconds) }
    guard let date = formatter.date(from: text) else { fatalError("bad instant \(text)") }
    return date
}

/// March 2026, UTC.
let march = DateInterval(start: at("2026-03-01T00:00:00Z"), end: at("2026-04-01T00:00:00Z"))

/// A hand-made analytics record: only what a test names differs from an empty record.
func record(
    _ type: String, _ incident: String, id: String? = nil, at instant: String, team: String = "billing", severity: Severity = .b,
    customer: String = "acme", firstResponse: Double? = nil, breached: Bool = false, waiting: Double = 0, outcome: String = "",
    level: UInt32 = 0, target: String = ""
) -> AnalyticsRecord {
    var record = AnalyticsRecord()
    record.eventID = id ?? "\(incident)-\(type)-\(instant)"
    record.incidentID = incident
    record.eventType = type
    record.occurredAt = Google_Protobuf_Timestamp(date: at(instant))
    record.team = team
    record.severity = severity
    record.customerAccount = customer
    if let firstResponse { record.firstResponseBusinessMinutes = firstResponse }
    record.breached = breached
    record.waitingOnCustomerMinutes = waiting
    record.outcome = outcome
    record.escalationLevel = level
    record.slaTarget = target
    return record
}

/// A small deterministic generator (SplitMix64) for the property tests.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension SlaComplianceReport {
    func row(_ group: String) -> SlaComplianceRow? { rows.first { $0.group == group } }
}
