import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TriageKafka

struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run the embedded Kafka broker (librdkafka's mock cluster) as a standalone process.",
        discussion: """
            Prints the bootstrap address on standard output (and to --port-file), then serves until \
            SIGINT or SIGTERM. Separate worker processes on this machine can form real consumer groups \
            against it.

            Limits: memory only; about 5 MB retained per partition; no transaction markers \
            (read_committed is not simulated); no CreateTopics over the protocol (use --topic, or let \
            clients auto-create topics with 4 partitions); the first group join takes about 3 s and \
            later rebalances wait for the members' session.timeout.ms. Ports are ephemeral.
            """
    )

    @Option(help: "Number of brokers in the cluster.")
    var brokers: Int = 1

    @Option(help: "Write the bootstrap address to this file once the cluster is up (written atomically).")
    var portFile: String?

    @Option(name: .customLong("topic"), help: "Create a topic at start-up: NAME[:PARTITIONS[:REPLICATION]]. Repeatable.")
    var topics: [TopicArgument] = []

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (1...32).contains(brokers) else { throw ValidationError("--brokers must be between 1 and 32") }
        for topic in topics where topic.replicationFactor > brokers {
            throw ValidationError("topic \(topic.name): replication \(topic.replicationFactor) exceeds --brokers \(brokers)")
        }
    }

    func run() async throws {
        let logger = common.bootstrapLogging(label: "triage.broker")
        let kafka = try EmbeddedKafka(brokers: brokers, logger: logger)
        for topic in topics {
            try kafka.createTopic(topic.name, partitions: topic.partitions, replicationFactor: topic.replicationFactor)
            logger.info("created topic", metadata: ["topic": "\(topic.name)", "partitions": "\(topic.partitions)"])
        }
        if let portFile {
            let temporary = portFile + ".tmp"
            try Data((kafka.bootstrapServers + "\n").utf8).write(to: URL(fileURLWithPath: temporary))
            _ = rename(temporary, portFile)
        }
        print(kafka.bootstrapServers)
        fflush(nil)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: EmbeddedBrokerService(kafka: kafka))],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        logger.info("broker stopped")
    }
}

/// Keeps an embedded cluster up until graceful shutdown.
struct EmbeddedBrokerService: Service {
    let kafka: EmbeddedKafka
    func run() async throws {
        try? await gracefulShutdown()
        kafka.shutdown()
    }
}
