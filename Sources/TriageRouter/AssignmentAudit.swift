public import TriageRouting
public import TriageSchema
import TriageSLA

extension AssignmentAuditor {
    /// Feeds one lifecycle event to the auditor: opens, severity changes, the router's
    /// assignments and moves, and closes (which release the load). Other events change nothing.
    public mutating func apply(_ event: IncidentEvent) {
        func severity(_ value: Severity) -> SupportSeverity { value == .a ? .a : value == .b ? .b : .c }
        switch event.event {
        case .opened(let opened): self.opened(event.incidentID, severity: severity(opened.severity))
        case .severityChanged(let change): severityChanged(event.incidentID, to: severity(change.to))
        case .assigned(let assigned): self.assigned(event.incidentID, to: assigned.agentID)
        case .reassigned(let reassigned) where event.producer == routerProducerName:
            self.reassigned(event.incidentID, from: reassigned.fromAgentID, to: reassigned.toAgentID)
        case .closedResolved, .closedUnresolved, .closeRequestedByCustomer: released(event.incidentID)
        default: break
        }
    }
}
