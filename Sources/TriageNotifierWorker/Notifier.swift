public import Foundation
public import Logging
public import ServiceLifecycle
import SwiftProtobuf
import Synchronization
public import TriageKafka
public import TriageNotification
public import TriageOps
import TriageSchema
import TriageStreams

/// The notifier worker: notification requests in, deliveries out — a ``StreamWorker`` whose
/// processor (``NotificationDispatch``) starts a delivery task per target and finishes each
/// record when its deliveries are done.
///
/// Each request resolves (``NotificationRules/deliveries(for:)``) to targets; every target is
/// delivered by a task of its own, limited per endpoint (`max_concurrency`) and guarded by the
/// endpoint's circuit breaker, so a slow or failing endpoint never holds up the others or the
/// partition. A failed attempt re-queues the request on the retry topic with its
/// ``DeliveryAttempts`` (the next attempt's not-before instant); the notifier reads the retry
/// topic like any input and holds each record (a timer, not a sleeping loop) until it is due.
/// The last failure goes to the dead-letter topic with every attempt's outcome. Offsets are
/// stored per partition only up to the first record not yet finished (delivered, re-queued or
/// dead-lettered), so a crash re-delivers instead of losing; the delivery ledger (restored from
/// the co-partitioned compacted ledger topic when a partition is assigned) keeps a redelivered
/// key from being sent twice within the dedupe window.
///
/// In a `ServiceGroup`: producer, notifier, consumer.
public final class Notifier: Service, Sendable {
    public var health: WorkerHealth { worker.health }
    private let worker: StreamWorker<NotificationDispatch>
    private let deliveries: Deliveries
    private let retryTopic: String

    /// Deliveries a notifier holds in hand before it stops fetching requests, by default.
    public static let defaultReadAhead = 10_000

    /// `readAhead`: deliveries in hand (started, not finished, not held for later) at which the
    /// notifier stops fetching requests until half of them are done; a batch fetched already
    /// (up to the consumer's batch size, and its buffered batches) is still started. It also
    /// bounds the deliveries read back from the retry topic and held for later: at that many
    /// the notifier stops fetching the retry topic (only) until half of them went on.
    public init(
        consumer: KafkaConsumer, producer: KafkaProducer, client: KafkaClientConfiguration, rules: NotificationRules, deliverer: Deliverer,
        topics: NotifierTopics = .init(), health: WorkerHealth = .init(), readAhead: Int = Notifier.defaultReadAhead, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        retryTopic = topics.retry
        deliveries = Deliveries(
            producer: producer, rules: rules, deliverer: deliverer, topics: topics, logger: logger, readAhead: readAhead, now: now)
        let worker = StreamWorker(
            processor: NotificationDispatch(deliveries: deliveries, topics: topics), consumer: consumer, producer: producer,
            configuration: StreamWorkerConfiguration(worker: "notifier", client: client, deadLetterTopic: topics.deadLetter),
            health: health, logger: logger
        )
        deliveries.readAhead.connect { [worker] paused in worker.pauseFetching(paused) }
        // Only the retry topic: new requests (an urgent escalation among them) still come in
        // however many retries wait (a dead endpoint's backlog, read back from the retry topic
        // and held until its breaker may probe, held 1.1 GB for 100,000 requests).
        deliveries.heldRetries.connect { [worker, retry = topics.retry] paused in worker.pauseFetching(paused, topic: retry) }
        self.worker = worker
    }

    /// Fails fast unless the retry and ledger topics exist with the requests topic's partition count.
    public static func checkTopics(_ topics: NotifierTopics, client: KafkaClientConfiguration, logger: Logger) async throws {
        try await checkCoPartitioned(
            input: topics.requests,
            companions: [
                CoPartitionedTopic(topics.retry),
                CoPartitionedTopic(topics.ledger, configs: ["cleanup.policy=compact,delete", "retention.ms=\(7 * 86_400_000)"]),
            ],
            client: client, logger: logger
        )
    }

    public var statistics: NotifierStatistics {
        var statistics = deliveries.statistics
        let workerStatistics = worker.statistics
        statistics.fetchPauses = workerStatistics.fetchPauses
        statistics.retryFetchPauses = workerStatistics.topicPauses[retryTopic] ?? 0
        return statistics
    }
    /// Partitions (of both input topics) this instance owns now.
    public var assignedPartitions: Int { worker.statistics.assignedPartitions }

    public func run() async throws {
        do {
            try await worker.run()
        } catch {
            await deliveries.shutdown()
            throw error
        }
        await deliveries.shutdown()
    }
}
