import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TriageKafka
import TriageSchema

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

    @Option(
        help: """
            Create every Triage topic at start-up with this many partitions each (what `triage topics create --all` \
            does on a real cluster; the embedded broker cannot create topics over the protocol).
            """
    )
    var triageTopics: Int?

    @Flag(
        help: """
            Read fault commands from standard input, one per line (what `triage chaos` drives): \
            `down ID`, `up ID` (a broker off the network and back), `rtt ID MS` (delay its responses; 0 ends it), \
            `fail API CODE COUNT` (the next COUNT requests of API produce|fetch|offset-commit|heartbeat|join-group|metadata \
            fail with the numeric Kafka error CODE). Each command is answered with `ok` or `error: …` on standard error.
            """
    )
    var faultCommands = false

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (1...32).contains(brokers) else { throw ValidationError("--brokers must be between 1 and 32") }
        if let triageTopics, !(1...1_000).contains(triageTopics) { throw ValidationError("--triage-topics must be between 1 and 1000") }
        for topic in topics where topic.replicationFactor > brokers {
            throw ValidationError("topic \(topic.name): replication \(topic.replicationFactor) exceeds --brokers \(brokers)")
        }
    }

    func run() async throws {
        let logger = common.bootstrapLogging(label: "triage.broker")
        let kafka = try EmbeddedKafka(brokers: brokers, logger: logger)
        let named = Set(topics.map(\.name))
        let triage =
            triageTopics.map { count in
                TriageTopicLayout.topics().filter { !named.contains($0.name) }.map {
                    TopicArgument(name: $0.name, partitions: count, replicationFactor: min(3, brokers))
                }
            } ?? []
        for topic in topics + triage {
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
        if faultCommands {
            let thread = Thread { BrokerFaults.readCommands(kafka: kafka, logger: logger) }
            thread.name = "triage-broker-faults"
            thread.start()
        }
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

/// The fault commands of `triage broker --fault-commands` (see its help).
enum BrokerFaults {
    static let apis: [String: KafkaAPIKey] = [
        "produce": .produce, "fetch": .fetch, "offset-commit": .offsetCommit, "heartbeat": .heartbeat, "join-group": .joinGroup,
        "sync-group": .syncGroup, "metadata": .metadata, "find-coordinator": .findCoordinator, "list-offsets": .listOffsets,
    ]

    /// Reads standard input until it closes (on a thread of its own: the reads block).
    static func readCommands(kafka: EmbeddedKafka, logger: Logger) {
        while let line = readLine() {
            let answer: String
            do {
                try apply(line, to: kafka)
                answer = "ok"
                logger.info("fault injected", metadata: ["command": "\(line)"])
            } catch {
                answer = "error: \(error)"
            }
            FileHandle.standardError.write(Data("\(line): \(answer)\n".utf8))
        }
    }

    struct CommandError: Error, CustomStringConvertible {
        let description: String
    }

    static func apply(_ line: String, to kafka: EmbeddedKafka) throws {
        let words = line.split(separator: " ").map(String.init)
        guard let verb = words.first else { return }
        func number(_ index: Int) throws -> Int32 {
            guard index < words.count, let value = Int32(words[index]) else {
                throw CommandError(description: "\(verb): word \(index + 1) must be a number")
            }
            return value
        }
        switch verb {
        case "down": try kafka.setBrokerDown(try number(1))
        case "up": try kafka.setBrokerUp(try number(1))
        case "rtt": try kafka.setRoundTripTime(.milliseconds(Int64(try number(2))), broker: try number(1))
        case "fail":
            guard words.count == 4, let api = apis[words[1]] else {
                throw CommandError(description: "fail API CODE COUNT; API one of \(apis.keys.sorted().joined(separator: ", "))")
            }
            let code = KafkaError.Code(rawValue: try number(2))
            try kafka.failNextRequests(api, with: Array(repeating: code, count: Int(try number(3))))
        default: throw CommandError(description: "unknown command '\(verb)' (down, up, rtt, fail)")
        }
    }
}
