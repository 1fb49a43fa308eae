import TriageSchema

/// Topics of the notifier.
public struct NotifierTopics: Sendable, Hashable {
    /// Requests in (keyed by recipient).
    public var requests = TriageTopic.notificationRequests
    /// Re-queued requests waiting for their next attempt (`DeliveryAttempts` headers), written
    /// to the partition of the request they came from.
    public var retry = TriageTopic.notificationRetry
    /// Compacted ledger of delivered keys, co-partitioned with ``requests`` and ``retry``.
    public var ledger = TriageTopic.notificationLedger
    public var deadLetter = TriageTopic.deadLetter

    public init() {}
}
