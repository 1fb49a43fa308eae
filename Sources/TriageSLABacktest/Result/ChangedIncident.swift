public import Foundation

/// An incident that fares differently under the candidate: each policy's outcome, with the
/// deadline each clock moves to.
public struct ChangedIncident: Sendable, Hashable, Codable {
    public var incident: String
    public var group: String
    public var openedAt: Date
    /// A verdict, a count or an escalation differs; `false`: only a deadline moved.
    public var outcomeChanged: Bool
    public var baseline: IncidentOutcome
    public var candidate: IncidentOutcome

    public init(
        incident: String, group: String, openedAt: Date, outcomeChanged: Bool, baseline: IncidentOutcome, candidate: IncidentOutcome
    ) {
        self.incident = incident
        self.group = group
        self.openedAt = openedAt
        self.outcomeChanged = outcomeChanged
        self.baseline = baseline
        self.candidate = candidate
    }
}
