import Foundation
public import Logging
public import ServiceLifecycle
public import TriageKafka
public import TriageOps
public import TriageRouting
import TriageSchema
import TriageStreams

/// Both router stages with their clients, in shutdown order.
///
/// The consumers' `fetch.wait.max.ms` is the client's (``KafkaClientConfiguration/fetchWait``).
/// `closedRetention` (default 30 days) is how long a closed incident can still be reopened and
/// routed again. `notices`: which notices the dispatcher asks for (the roster's `notifications`).
public struct RouterInstance: Sendable {
    public let router: DeskRouter
    public let dispatcher: RoutingDispatcher
    public let health: WorkerHealth
    /// The consumer of `triage.agent-events` (a group of this instance's own, never committed).
    public let rosterConsumer: KafkaConsumer
    /// Producer, dispatcher + its consumer, router + its consumers: list them in a ServiceGroup in this order.
    public let services: [any Service]

    public init(
        client: KafkaClientConfiguration, policy: RoutingPolicy, group: String, defaultTeam: String,
        sessionTimeout: Duration, logger: Logger, topics: RouterTopics = .init(),
        closedRetention: Duration = .seconds(30 * 86_400), indexSweepInterval: Duration = .seconds(60),
        notices: NoticeSettings = NoticeSettings(), time: RouterTime = .system
    ) async throws {
        let admin = try KafkaAdmin(configuration: client, logger: logger)
        try await checkCoPartitioned(
            input: topics.incidentEvents, companions: [CoPartitionedTopic(topics.routingIndex, configs: ["cleanup.policy=compact"])],
            admin: admin
        )
        let routing = try await checkCoPartitioned(
            input: topics.routing, companions: [CoPartitionedTopic(topics.deskState, configs: ["cleanup.policy=compact"])], admin: admin
        )
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(1)), logger: logger)
        func consumer(_ groupID: String, _ topic: String, commit: Bool = true) throws -> KafkaConsumer {
            try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(
                    groupID: groupID, topics: [topic], client: client, sessionTimeout: sessionTimeout,
                    heartbeatInterval: sessionTimeout / 10, autoCommitInterval: commit ? .seconds(1) : nil
                ),
                logger: logger
            )
        }
        let dispatchConsumer = try consumer(group + TriageGroup.routerDispatchSuffix, topics.incidentEvents)
        let routingConsumer = try consumer(group, topics.routing)
        // Every instance reads every agent: a group of its own, never committed.
        let rosterConsumer = try consumer("\(group)-roster-\(UUID().uuidString.prefix(8))", topics.agentEvents, commit: false)
        self.rosterConsumer = rosterConsumer
        health = WorkerHealth()
        // What the dispatcher forwards goes to this instance's desks as soon as it is stored; the
        // desks take it when they own its partition and are up to it (else their consumer brings it).
        let forwards = OfferRelay(topic: topics.routing)
        dispatcher = RoutingDispatcher(
            consumer: dispatchConsumer, producer: producer, client: client, topics: topics, routingPartitions: routing,
            defaultTeam: defaultTeam, closedRetention: closedRetention, sweepInterval: indexSweepInterval, notices: notices,
            logger: logger, forwardsTo: forwards
        )
        router = DeskRouter(
            consumer: routingConsumer, roster: rosterConsumer, producer: producer, client: client, policy: policy,
            topics: topics, routingPartitions: routing, health: health, logger: logger, retakeDelay: sessionTimeout * 2, time: time,
            acceptsOffers: true
        )
        forwards.connect(router.offer)
        services = [
            producer, dispatcher, dispatchConsumer, router, routingConsumer, rosterConsumer,
            ConsumerLagReporter(consumer: dispatchConsumer, worker: "router-dispatcher"),
            ConsumerLagReporter(consumer: routingConsumer, worker: "router"),
        ]
    }
}
