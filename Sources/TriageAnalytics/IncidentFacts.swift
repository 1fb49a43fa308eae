public import TriageSLA
public import TriageSchema

/// The analytics state of a set of incidents (one `triage.incident-events` partition's): their
/// snapshots by incident id, folded under one SLA policy.
///
/// The worker restores it from `triage.incident-state` on assignment (``restore(_:)``), then
/// for each event publishes the record ``apply(_:)`` returns and the incident's new snapshot.
public struct IncidentFacts: Sendable {
    public let rules: SlaRules
    /// Each snapshot in a box of its own: a partition holds thousands of snapshots of several
    /// hundred bytes, and a dictionary that grows moves its values (a tenth of the feed's time
    /// when they were stored inline). Boxes are copied before a change unless held only here,
    /// so copies of the facts stay independent.
    private var boxes: [String: SnapshotBox] = [:]

    public init(rules: SlaRules) {
        self.rules = rules
    }

    /// Every snapshot by incident id (a copy: for inspection, not for the hot path).
    public var snapshots: [String: IncidentSnapshot] { boxes.mapValues(\.snapshot) }
    public var count: Int { boxes.count }
    public subscript(incident: String) -> IncidentSnapshot? { boxes[incident]?.snapshot }

    /// Puts back a snapshot read from `triage.incident-state`.
    public mutating func restore(_ snapshot: IncidentSnapshot) {
        boxes[snapshot.incidentID] = SnapshotBox(snapshot)
    }

    /// Forgets an incident (a tombstone on `triage.incident-state`).
    public mutating func remove(_ incident: String) {
        boxes[incident] = nil
    }

    /// Folds `event` into its incident's snapshot (a new one for an incident not seen before);
    /// `nil` for a duplicate. ``subscript(_:)`` then gives the snapshot to publish.
    public mutating func apply(_ event: IncidentEvent) -> AnalyticsRecord? {
        let incident = event.incidentID
        guard boxes[incident] != nil else {
            // A duplicate is never the first event of an incident: a new one is always kept.
            var snapshot = IncidentSnapshot(incidentID: incident)
            let record = snapshot.apply(event, rules: rules)
            boxes[incident] = SnapshotBox(snapshot)
            return record
        }
        if !isKnownUniquelyReferenced(&boxes[incident]!) { boxes[incident] = SnapshotBox(boxes[incident]!.snapshot) }
        return boxes[incident]!.snapshot.apply(event, rules: rules)
    }

    /// The incident's snapshot as it stands now, to serialize later (on another task) without
    /// copying it: the facts copy a shared snapshot before changing it, so what this holds
    /// never changes. `nil` for an unknown incident.
    public func frozen(_ incident: String) -> FrozenSnapshot? {
        boxes[incident].map(FrozenSnapshot.init)
    }
}

/// A snapshot held as it was when ``IncidentFacts/frozen(_:)`` was asked for.
public struct FrozenSnapshot: Sendable {
    fileprivate let box: SnapshotBox

    public var incidentID: String { box.snapshot.incidentID }

    /// ``IncidentSnapshot/jsonBytes()`` of the held snapshot.
    public func jsonBytes() throws -> [UInt8] { try box.snapshot.jsonBytes() }
}

/// A snapshot on the heap (see ``IncidentFacts``). Mutated only while its one reference is
/// held by one `IncidentFacts` (checked with `isKnownUniquelyReferenced`; a ``FrozenSnapshot``
/// is a second reference, so it is never mutated under one), hence Sendable.
private final class SnapshotBox: @unchecked Sendable {
    var snapshot: IncidentSnapshot

    init(_ snapshot: IncidentSnapshot) { self.snapshot = snapshot }
}
