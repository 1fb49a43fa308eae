import Foundation
import TriageCore
import TriageSLAEvents
import TriageSchema

/// What a back-test keeps of one incident besides its clocks: the attributes it is grouped by
/// (the same under both policies) and each policy's outcome once that replay is done with it.
struct BacktestIncident: Sendable {
    var team: String
    var customer: String
    var severity: SupportSeverity
    var openedAt: Date
    var baseline: IncidentOutcome?
    var candidate: IncidentOutcome?
    /// The escalator's events in the log and the baseline replay's, as `id@milliseconds`.
    var logged: Set<String> = []
    var replayed: Set<String> = []

    static func milestone(_ id: String, at instant: Date) -> String {
        "\(id)@\(Int64((instant.timeIntervalSince1970 * 1000).rounded()))"
    }

    init(opened: Triage_V1_Opened, at instant: Date) {
        team = opened.team
        customer = opened.customerAccount
        severity = SupportSeverity(opened.severity) ?? .c
        openedAt = instant
    }

    mutating func update(with event: IncidentEvent) {
        switch event.event {
        case .opened(let opened):
            team = opened.team
            customer = opened.customerAccount
            if let severity = SupportSeverity(opened.severity) { self.severity = severity }
        case .severityChanged(let change):
            if let severity = SupportSeverity(change.to) { self.severity = severity }
        default: break
        }
    }

    func group(by grouping: BacktestGrouping) -> String {
        switch grouping {
        case .team: team.isEmpty ? "(none)" : team
        case .customer: customer.isEmpty ? "(none)" : customer
        case .severity: severity.rawValue
        case .month:
            Self.month(openedAt)
        }
    }

    static func month(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month], from: date)
        let month = parts.month ?? 1
        return "\(parts.year ?? 1970)-\(month < 10 ? "0" : "")\(month)"
    }
}
