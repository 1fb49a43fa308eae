public import TriageSchema

/// One incident's lifecycle events as the console keeps them: the first (its Opened) and the
/// latest ``limit`` − 1, in the order the topic holds them (the lifecycle topic is keyed by
/// incident, so that is the incident's order). Duplicates (an event id seen again, as a retried
/// publication repeats) are kept once. ``dropped`` counts what fell out of the middle.
public struct IncidentTimeline: Sendable {
    public private(set) var events: [IncidentEvent] = []
    /// Events left out between the first and the kept latest ones.
    public private(set) var dropped = 0
    private var ids: Set<String> = []
    private let limit: Int

    public init(limit: Int) {
        self.limit = max(2, limit)
    }

    /// Appends `event` unless its id is already kept.
    public mutating func append(_ event: IncidentEvent) {
        guard event.eventID.isEmpty || ids.insert(event.eventID).inserted else { return }
        events.append(event)
        if events.count > limit {
            let removed = events.remove(at: 1)
            ids.remove(removed.eventID)
            dropped += 1
        }
    }
}
