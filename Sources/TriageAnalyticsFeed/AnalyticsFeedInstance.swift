public import Logging
public import ServiceLifecycle
public import TriageKafka
public import TriageOps
public import TriageSLA
import TriageSchema
import TriageStreams

/// The analytics feed with its consumer and producer, in shutdown order, its topics checked.
///
/// The init fails unless the snapshot topic is co-partitioned with the lifecycle topic
/// (``AnalyticsFeed/checkTopics(_:client:logger:)``). The consumer starts from the earliest
/// offset of a new group; its heartbeat is a tenth of `sessionTimeout`; the producer lingers 5 ms.
public struct AnalyticsFeedInstance: Sendable {
    public let feed: AnalyticsFeed
    public let health: WorkerHealth
    /// Producer, feed, consumer, lag reporter: list them in a ServiceGroup in this order.
    public let services: [any Service]

    public init(
        client: KafkaClientConfiguration, policy: SlaPolicy, group: String, sessionTimeout: Duration, logger: Logger,
        topics: AnalyticsFeedTopics = .init()
    ) async throws {
        try await AnalyticsFeed.checkTopics(topics, client: client, logger: logger)
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(5)), logger: logger)
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                groupID: group, topics: [topics.incidentEvents], client: client, autoOffsetReset: .earliest,
                sessionTimeout: sessionTimeout, heartbeatInterval: sessionTimeout / 10
            ),
            logger: logger
        )
        feed = AnalyticsFeed(consumer: consumer, producer: producer, client: client, policy: policy, topics: topics, logger: logger)
        health = feed.health
        services = [producer, feed, consumer, ConsumerLagReporter(consumer: consumer, worker: "analytics")]
    }
}
