import TriageCore
import TriageSLA
import TriageSLAEvents
public import TriageSchema
public import TriageStaffing

// Between the lifecycle contract and the staffing replay: which lifecycle events are facts of
// history for `triage sla staffing`, and what they say.

extension StaffingFact {
    /// What lifecycle `event` tells the staffing replay; `nil` for events it does not read
    /// (notes, SLA events, team changes and requests: the replay decides those itself).
    public init?(_ event: IncidentEvent) {
        let at = event.occurredAt.date
        let kind: Kind
        switch event.event {
        case .opened(let opened):
            guard let severity = SupportSeverity(opened.severity) else { return nil }
            kind = .opened(
                Opening(
                    team: opened.team.isEmpty ? nil : opened.team, severity: severity, product: opened.product,
                    language: opened.language.isEmpty ? nil : opened.language,
                    customer: opened.customerAccount.isEmpty ? nil : opened.customerAccount, coverage: SlaCoverage(opened.coverage)))
        case .assigned, .reassigned: kind = .assigned
        case .acknowledged: kind = .acknowledged
        case .severityChanged(let change):
            guard let severity = SupportSeverity(change.to) else { return nil }
            kind = .severityChanged(severity)
        case .waitingOnCustomer:
            // The pause as the escalator reads it (reason defaulted the same way).
            guard case .paused(let reason, let resumeAt)? = SlaInput(event) else { return nil }
            kind = .paused(reason: reason, resumeAt: resumeAt)
        case .customerResponded: kind = .customerResponded
        case .closedResolved, .closedUnresolved: kind = .closedByAgent
        case .closeRequestedByCustomer: kind = .closedByCustomer
        case .reopened: kind = .reopened
        default: return nil
        }
        self.init(incident: event.incidentID, at: at, kind: kind)
    }
}
