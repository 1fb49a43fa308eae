import Foundation
import TriageSchema

/// What a report keeps of one incident while it reads the records: when it was opened, its
/// latest record, and what only the whole sequence tells (escalation level, warnings).
struct IncidentTrail {
    /// The earliest Opened's `occurred_at`; `nil` while no Opened was seen (an orphan).
    var openedAt: Date?
    /// The latest record by `occurred_at`, ties broken by read order (the later one wins).
    var latest: AnalyticsRecord
    private var latestAt: Date
    /// The highest escalation level on the first-response target (0: never escalated).
    var firstResponseLevel: UInt32 = 0
    /// The escalator warned about the first-response target.
    var firstResponseWarned = false

    init(_ record: AnalyticsRecord, at instant: Date) {
        latest = record
        latestAt = instant
        note(record, at: instant)
    }

    mutating func add(_ record: AnalyticsRecord, at instant: Date) {
        if instant >= latestAt {
            latest = record
            latestAt = instant
        }
        note(record, at: instant)
    }

    private mutating func note(_ record: AnalyticsRecord, at instant: Date) {
        switch record.eventType {
        case "opened":
            openedAt = min(openedAt ?? instant, instant)
        case "escalated" where record.slaTarget == SlaComplianceReport.firstResponseTarget:
            firstResponseLevel = max(firstResponseLevel, record.escalationLevel)
        case "sla_warning" where record.slaTarget == SlaComplianceReport.firstResponseTarget:
            firstResponseWarned = true
        default:
            break
        }
    }

    /// Open, no first response yet, not breached, and warned about the first response.
    var isAtRisk: Bool {
        latest.outcome.isEmpty && !latest.hasFirstResponseBusinessMinutes && !latest.breached && firstResponseWarned
    }

    /// The key of the incident's group under `grouping`.
    func group(by grouping: ReportGrouping) -> String {
        switch grouping {
        case .team: latest.team
        case .severity: latest.severity.recordName
        case .customer: latest.customerAccount
        case .month: openedAt.map(Self.month) ?? ""
        }
    }

    /// `YYYY-MM` of `instant` in UTC.
    static func month(_ instant: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month], from: instant)
        let month = parts.month!
        return "\(parts.year!)-\(month < 10 ? "0" : "")\(month)"
    }
}

extension Severity {
    /// The enum's name as the record's JSON spells it.
    var recordName: String {
        switch self {
        case .unspecified: "SEVERITY_UNSPECIFIED"
        case .a: "SEVERITY_A"
        case .b: "SEVERITY_B"
        case .c: "SEVERITY_C"
        case .UNRECOGNIZED(let value): String(value)
        }
    }
}
