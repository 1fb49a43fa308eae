import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TriageKafka

struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run Triage locally on an embedded Kafka broker (the README's first command).",
        discussion: """
            Starts the embedded broker (librdkafka's mock cluster) and creates the topics, then runs \
            every part of Triage that exists so far. Today that is the Kafka layer's self-check: a \
            producer publishing records at --rate and a consumer group reading them back, with a \
            live line of throughput, lag and end-to-end latency every --report-interval seconds. \
            The workers (intake, router, escalator, notifier, analytics) join this command as they are built.

            The broker's address is printed at start; other processes (kcat, triage topics) can use it. \
            Stop with Ctrl-C: everything shuts down gracefully (consumers commit and leave the group, \
            producers flush).
            """
    )

    @Option(help: "Brokers in the embedded cluster.")
    var brokers: Int = 3

    @Option(help: "Self-check records published per second.")
    var rate: Int = 200

    @Option(help: "Seconds between live summary lines.")
    var reportInterval: Double = 2

    @Option(help: "Stop by itself after this many seconds (default: run until Ctrl-C).")
    var duration: Double?

    @Option(help: "Write the embedded broker's bootstrap address to this file.")
    var portFile: String?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (1...32).contains(brokers) else { throw ValidationError("--brokers must be between 1 and 32") }
        guard rate > 0 else { throw ValidationError("--rate must be positive") }
        guard reportInterval > 0 else { throw ValidationError("--report-interval must be positive") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
    }

    func run() async throws {
        let logger = common.bootstrapLogging(label: "triage.dev")
        let kafka = try EmbeddedKafka(brokers: brokers, logger: logger)
        let topic = "triage.dev.selfcheck"
        try kafka.createTopic(topic, partitions: 6, replicationFactor: min(3, brokers))
        if let portFile { try Data((kafka.bootstrapServers + "\n").utf8).write(to: URL(fileURLWithPath: portFile)) }
        print("""
            triage dev — embedded Kafka (librdkafka \(KafkaLibrary.version) mock cluster, \(brokers) broker(s))
              bootstrap: \(kafka.bootstrapServers)
              try:       kcat -b \(kafka.bootstrapServers.split(separator: ",")[0]) -L
              running:   Kafka self-check on '\(topic)' at \(rate) records/s (workers join as they are built)
              stop:      Ctrl-C
            """)
        fflush(nil)

        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: kafka.clientConfiguration, linger: .milliseconds(2)),
            logger: logger
        )
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                groupID: "triage-dev-selfcheck",
                topics: [topic],
                client: kafka.clientConfiguration,
                sessionTimeout: .seconds(6),
                heartbeatInterval: .seconds(1),
                fetchMaximumWait: .milliseconds(10)  // the embedded broker never answers an empty Fetch early
            ),
            logger: logger
        )
        let statistics = SelfCheckStatistics()
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: EmbeddedBrokerService(kafka: kafka)),
                    .init(service: producer),
                    .init(service: SelfCheckReader(consumer: consumer, statistics: statistics)),
                    .init(service: consumer),
                    .init(service: SelfCheckReporter(consumer: consumer, statistics: statistics, interval: reportInterval)),
                    .init(service: SelfCheckWriter(producer: producer, topic: topic, rate: rate, statistics: statistics)),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        if let duration {
            Task {
                try await Task.sleep(for: .seconds(duration))
                await group.triggerGracefulShutdown()
            }
        }
        try await group.run()
        let final = statistics.snapshot()
        print("triage dev stopped: produced \(final.produced), consumed \(final.consumed), delivery failures \(final.failed)")
    }
}

/// Counters shared by the self-check services.
final class SelfCheckStatistics: Sendable {
    struct Snapshot {
        var produced = 0
        var consumed = 0
        var failed = 0
        var latencies: [Double] = []  // milliseconds, since the last report
    }

    private let state = Mutex(Snapshot())

    func produced() { state.withLock { $0.produced += 1 } }
    func failed() { state.withLock { $0.failed += 1 } }
    func consumed(latencies: [Double]) {
        state.withLock {
            $0.consumed += latencies.count
            $0.latencies += latencies
        }
    }
    func snapshot(resettingLatencies: Bool = false) -> Snapshot {
        state.withLock {
            let copy = $0
            if resettingLatencies { $0.latencies = [] }
            return copy
        }
    }
}

/// Publishes timestamped records at a fixed rate until shutdown.
struct SelfCheckWriter: Service {
    let producer: KafkaProducer
    let topic: String
    let rate: Int
    let statistics: SelfCheckStatistics

    func run() async throws {
        let interval = Duration.seconds(1) / rate
        await cancelWhenGracefulShutdown {
            let clock = ContinuousClock()
            var next = clock.now
            var sequence = 0
            while !Task.isCancelled {
                let sentAt = String(Date().timeIntervalSince1970)
                do {
                    try await producer.enqueue(
                        KafkaProducerMessage(
                            topic: topic,
                            key: "incident-\(sequence % 64)",
                            value: "self-check \(sequence)",
                            headers: [KafkaHeader(name: "sent-at", string: sentAt)]
                        )
                    )
                    statistics.produced()
                } catch {
                    statistics.failed()
                }
                sequence += 1
                next = next.advanced(by: interval)
                if next > clock.now { try? await Task.sleep(until: next, clock: clock) } else { next = clock.now }
            }
        }
    }
}

/// Reads the self-check records back, measuring end-to-end latency, and commits.
struct SelfCheckReader: Service {
    let consumer: KafkaConsumer
    let statistics: SelfCheckStatistics

    func run() async throws {
        for try await batch in consumer.batches {
            let now = Date().timeIntervalSince1970
            statistics.consumed(
                latencies: batch.compactMap { $0.header("sent-at")?.stringValue.flatMap(Double.init) }.map { (now - $0) * 1000 }
            )
            try consumer.storeOffsets(batch)
        }
        try await gracefulShutdown()
    }
}

/// Prints one summary line per interval.
struct SelfCheckReporter: Service {
    let consumer: KafkaConsumer
    let statistics: SelfCheckStatistics
    let interval: Double

    func run() async throws {
        let started = ContinuousClock.now
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(interval))
                if Task.isCancelled { break }
                let snapshot = statistics.snapshot(resettingLatencies: true)
                let lag = ((try? await consumer.lag()) ?? [:]).values.reduce(0, +)
                let sorted = snapshot.latencies.sorted()
                func percentile(_ p: Double) -> String {
                    sorted.isEmpty ? "-" : String(format: "%.1fms", sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))])
                }
                let elapsed = (ContinuousClock.now - started).components.seconds
                print(
                    "[\(elapsed)s] kafka self-check: produced \(snapshot.produced)  consumed \(snapshot.consumed)  "
                        + "lag \(lag)  e2e p50 \(percentile(0.5)) p99 \(percentile(0.99))  failures \(snapshot.failed)"
                )
                fflush(nil)
            }
        }
    }
}
