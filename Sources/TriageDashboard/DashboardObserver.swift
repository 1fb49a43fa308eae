public import TriageAnalytics
public import TriageSchema

/// Something that wants more of the topics than the dashboard keeps (the console's incident
/// details and timelines): the ``DashboardCollector`` hands it every record it reads, decoded,
/// so there is one reader of the topics per process, not one per screen.
///
/// The methods are called on the collector's follower threads, one record at a time per topic,
/// in offset order per partition; they must be quick and must not block.
public protocol DashboardObserver: Sendable {
    /// Topics to follow besides the dashboard's own (``DashboardTopics``), from the beginning;
    /// one that does not exist is skipped (and logged). Default: none.
    var extraTopics: [String] { get }

    /// The latest snapshot of an incident on `triage.incident-state`; `nil` for a tombstone.
    func incidentState(id: String, snapshot: IncidentSnapshot?)

    /// A lifecycle event of `triage.incident-events`.
    func incidentEvent(_ event: IncidentEvent)

    /// A record of one of ``extraTopics``; returns whether it could be decoded.
    func extraRecord(topic: String, key: [UInt8]?, value: [UInt8]?) -> Bool
}

extension DashboardObserver {
    public var extraTopics: [String] { [] }
    public func incidentState(id: String, snapshot: IncidentSnapshot?) {}
    public func incidentEvent(_ event: IncidentEvent) {}
    public func extraRecord(topic: String, key: [UInt8]?, value: [UInt8]?) -> Bool { true }
}
