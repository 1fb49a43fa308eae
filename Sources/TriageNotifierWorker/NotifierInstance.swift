public import Logging
public import ServiceLifecycle
public import TriageKafka
public import TriageNotification
public import TriageOps
import TriageStreams

/// The notifier with its consumer and producer, in shutdown order, its topics checked.
///
/// The init fails unless the retry and ledger topics are co-partitioned with the requests topic
/// (``Notifier/checkTopics(_:client:logger:)``). The consumer reads requests and retries from the
/// earliest offset of a new group; its heartbeat is a tenth of `sessionTimeout`; the producer
/// lingers 1 ms. The caller owns `deliverer` and shuts it down however the run ends (an HTTP
/// client dropped unclosed is a crash), also when this init throws.
public struct NotifierInstance: Sendable {
    public let notifier: Notifier
    public let health: WorkerHealth
    /// Producer, notifier, consumer, lag reporter: list them in a ServiceGroup in this order.
    public let services: [any Service]

    public init(
        client: KafkaClientConfiguration, rules: NotificationRules, deliverer: Deliverer, group: String, sessionTimeout: Duration,
        readAhead: Int = Notifier.defaultReadAhead, logger: Logger, topics: NotifierTopics = .init()
    ) async throws {
        try await Notifier.checkTopics(topics, client: client, logger: logger)
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(1)), logger: logger)
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                groupID: group, topics: [topics.requests, topics.retry], client: client, autoOffsetReset: .earliest,
                sessionTimeout: sessionTimeout, heartbeatInterval: sessionTimeout / 10
            ),
            logger: logger
        )
        notifier = Notifier(
            consumer: consumer, producer: producer, client: client, rules: rules, deliverer: deliverer, topics: topics,
            readAhead: readAhead, logger: logger)
        health = notifier.health
        services = [producer, notifier, consumer, ConsumerLagReporter(consumer: consumer, worker: "notifier")]
    }
}
