public import Foundation
public import Logging
public import ServiceLifecycle
public import TriageKafka
public import TriageOps
public import TriageSLA
import TriageSchema
import TriageStreams

/// The escalator with its consumer and producer, in shutdown order, its topics checked.
///
/// The init fails unless the changelog is co-partitioned with the lifecycle topic
/// (``Escalator/checkTopics(_:client:logger:)``). The consumer starts from the earliest offset of
/// a new group; its heartbeat is a tenth of `sessionTimeout`; the producer lingers 1 ms.
public struct EscalatorInstance: Sendable {
    public let escalator: Escalator
    public let health: WorkerHealth
    /// Producer, escalator, consumer, lag reporter: list them in a ServiceGroup in this order
    /// (shutdown runs in reverse: the consumer stops first, the escalator finishes, the producer
    /// flushes last).
    public let services: [any Service]

    public init(
        client: KafkaClientConfiguration, policy: SlaPolicy, clock: any SlaTimeSource, group: String, sessionTimeout: Duration,
        logger: Logger, topics: EscalatorTopics = .init(), recipients: (@Sendable (_ name: String, _ at: Date) -> String)? = nil
    ) async throws {
        try await Escalator.checkTopics(topics, client: client, logger: logger)
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(1)), logger: logger)
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                groupID: group, topics: [topics.incidentEvents], client: client, autoOffsetReset: .earliest,
                sessionTimeout: sessionTimeout, heartbeatInterval: sessionTimeout / 10
            ),
            logger: logger
        )
        escalator = Escalator(
            consumer: consumer, producer: producer, client: client, policy: policy, clock: clock, topics: topics, logger: logger,
            recipients: recipients)
        health = escalator.health
        services = [producer, escalator, consumer, ConsumerLagReporter(consumer: consumer, worker: "escalator")]
    }
}
