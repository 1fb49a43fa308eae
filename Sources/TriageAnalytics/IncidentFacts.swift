public import TriageSLA
public import TriageSchema

/// The analytics state of a set of incidents (one `triage.incident-events` partition's): their
/// snapshots by incident id, folded under one SLA policy.
///
/// The worker restores it from `triage.incident-state` on assignment (``restore(_:)``), then
/// for each event publishes the record ``apply(_:)`` returns and the incident's new snapshot.
public struct IncidentFacts: Sendable {
    public let rules: SlaRules
    public private(set) var snapshots: [String: IncidentSnapshot] = [:]

    public init(rules: SlaRules) {
        self.rules = rules
    }

    public var count: Int { snapshots.count }
    public subscript(incident: String) -> IncidentSnapshot? { snapshots[incident] }

    /// Puts back a snapshot read from `triage.incident-state`.
    public mutating func restore(_ snapshot: IncidentSnapshot) {
        snapshots[snapshot.incidentID] = snapshot
    }

    /// Forgets an incident (a tombstone on `triage.incident-state`).
    public mutating func remove(_ incident: String) {
        snapshots[incident] = nil
    }

    /// Folds `event` into its incident's snapshot (a new one for an incident not seen before);
    /// `nil` for a duplicate. ``subscript(_:)`` then gives the snapshot to publish.
    public mutating func apply(_ event: IncidentEvent) -> AnalyticsRecord? {
        // Folded in place (one lookup, no copy of the snapshot). A duplicate changes nothing,
        // and is never the first event of a new incident, so nothing is added for it.
        snapshots[event.incidentID, default: IncidentSnapshot(incidentID: event.incidentID)].apply(event, rules: rules)
    }
}
