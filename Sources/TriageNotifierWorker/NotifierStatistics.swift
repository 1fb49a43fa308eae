/// Figures of a notifier since it started.
public struct NotifierStatistics: Sendable, Hashable {
    public var delivered = 0
    /// Attempts that failed and were re-queued.
    public var retried = 0
    /// Deliveries held for quiet hours or an open circuit breaker (no attempt spent).
    public var held = 0
    /// Deliveries dropped by a maintenance window with `action: suppress`.
    public var suppressed = 0
    public var deadLettered = 0
    /// Targets skipped because the ledger had their key (a redelivered or repeated request).
    public var duplicatesSkipped = 0
    /// The most deliveries in hand at once (started, not finished, not held); fetching pauses
    /// at the notifier's read-ahead limit, but a batch fetched already is started whole.
    public var mostInHand = 0
    /// Times the notifier paused fetching requests, having its read-ahead limit in hand.
    public var fetchPauses = 0
    /// The most deliveries read from the retry topic and held for later at once; at the
    /// read-ahead limit the notifier stops fetching the retry topic.
    public var mostHeldRetries = 0
    /// Times the notifier paused fetching the retry topic, holding its read-ahead limit of retries.
    public var retryFetchPauses = 0
}
