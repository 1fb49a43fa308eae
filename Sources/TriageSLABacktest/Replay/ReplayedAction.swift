public import Foundation
public import TriageSLA
import TriageSLAEvents
public import TriageSchema

/// A warning or escalation a replay fired: what the escalator would have published.
public struct ReplayedAction: Sendable, Hashable {
    public let incident: String
    public let action: SlaAction

    public init(incident: String, action: SlaAction) {
        self.incident = incident
        self.action = action
    }

    /// The event the escalator publishes for it (its deterministic id, `occurred_at` the due
    /// instant); recipient names as the policy writes them (`oncall:<team>` is not resolved).
    public var event: IncidentEvent { action.incidentEvent(incident: incident) }
    public var eventID: String { action.eventID(incident: incident) }
    /// When it fell due (the published event's `occurred_at`).
    public var due: Date { action.due }
}
