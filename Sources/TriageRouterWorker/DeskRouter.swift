import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization
public import TriageKafka
public import TriageOps
public import TriageRouting
public import TriageStreams

/// Stage 2 of the router: the single writer of each team's desk, a ``StreamWorker`` running
/// ``RouterDesks``.
///
/// Consumes `triage.routing` (keyed and partitioned by team) in the router's group; per owned
/// partition it keeps the `TeamDesk` of every team hashed to it, restored from the compacted,
/// fenced `triage.router-state` before the partition's first record. Agent profiles and
/// presence come from `triage.agent-events`, which every instance reads whole (a consumer
/// group of its own, from the beginning); changes for teams it owns are applied at once.
/// Decisions become Assigned/Reassigned lifecycle events with deterministic ids, published
/// only after the desk state that holds them (see ``RouterDesks``).
///
/// In a `ServiceGroup`: producer, router, routing consumer, roster consumer.
public final class DeskRouter: Service, Sendable {
    public var health: WorkerHealth { worker.health }
    let metrics: WorkerMetrics
    private let worker: StreamWorker<RouterDesks>
    private let counters = RouterCounters()

    /// `consumer` subscribes to `topics.routing` in the router group; `roster` to
    /// `topics.agentEvents` in a group of its own (every instance sees every agent).
    /// `retakeDelay`: after another instance fenced this one off a partition that is still
    /// assigned here, how long to wait (for the group to hand it to its real owner) before
    /// taking it over again — a few session timeouts.
    public init(
        consumer: KafkaConsumer, roster: KafkaConsumer, producer: KafkaProducer, client: KafkaClientConfiguration,
        policy: RoutingPolicy, topics: RouterTopics = .init(), routingPartitions: Int, health: WorkerHealth = .init(),
        logger: Logger, retakeDelay: Duration = .seconds(10), time: RouterTime = .system,
        onDecision: (@Sendable (RoutingDecision) -> Void)? = nil, acceptsOffers: Bool = false
    ) {
        let desks = RouterDesks(
            policy: policy, topics: topics, routingPartitions: routingPartitions, counters: counters, onDecision: onDecision,
            logger: logger,
            time: time
        )
        worker = StreamWorker(
            processor: desks, consumer: consumer, globalConsumer: roster, producer: producer,
            configuration: StreamWorkerConfiguration(
                worker: "router", client: client, deadLetterTopic: topics.deadLetter, retakeDelay: retakeDelay,
                acceptsOffers: acceptsOffers),
            health: health, logger: logger
        )
        metrics = worker.metrics
    }

    /// Routing records this process's dispatcher has just stored (``StreamWorker/offer(_:)``;
    /// taken only with `acceptsOffers`).
    public func offer(_ records: [KafkaMessage]) { worker.offer(records) }
    /// The runtime's figures: partitions held, routing records taken as offered.
    public var runtimeStatistics: StreamWorkerStatistics { worker.statistics }

    public var statistics: RouterStatistics {
        var statistics = counters.withLock { $0 }
        let fencing = worker.statistics
        statistics.fencedOff = fencing.fencedOff
        statistics.retaken = fencing.retaken
        return statistics
    }

    public func run() async throws { try await worker.run() }
}
