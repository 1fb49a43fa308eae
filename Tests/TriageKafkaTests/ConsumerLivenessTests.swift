import Foundation
import Synchronization
import Testing
import TriageKafka
import TriageKafkaTesting

/// A consumer off the happy path (issue 19): quiet topics, stalled handlers, fatal errors.
@Suite("Consumer liveness and fatal errors", .serialized)
struct ConsumerLivenessTests {
    /// Every rebalance event one member saw, in order.
    final class Events: Sendable {
        private let seen = Mutex<[String]>([])
        func add(_ event: String) { seen.withLock { $0.append(event) } }
        var all: [String] { seen.withLock { $0 } }
        var assigned: Bool { all.contains { $0.hasPrefix("assigned") } }
    }

    static func configuration(_ cluster: KafkaTestCluster, topic: String, interval: Duration, instance: String? = nil) -> KafkaConsumerConfiguration {
        var configuration = cluster.consumerConfiguration(group: uniqueName("liveness"), topics: [topic])
        configuration.maximumPollInterval = interval
        configuration.groupInstanceID = instance
        return configuration
    }

    /// A consumer whose topic stays quiet for three times `max.poll.interval.ms` keeps its
    /// assignment: librdkafka sees it serving its queue while the application waits for records.
    @Test func anIdleConsumerKeepsItsPartitions() async throws {
        try await HeavyTests.run {
            let cluster = try KafkaTestCluster()
            let topic = try cluster.makeTopic("quiet", partitions: 2)
            let consumer = try KafkaConsumer(configuration: Self.configuration(cluster, topic: topic, interval: .seconds(6)), logger: cluster.logger)
            let events = Events()
            let reading = Task {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { try await consumer.run() }
                    group.addTask {
                        for try await event in consumer.events {
                            switch event {
                            case .partitionsAssigned(let partitions): events.add("assigned \(partitions.count)")
                            case .partitionsRevoked: events.add("revoked")
                            case .partitionsLost: events.add("lost")
                            case .messages(let batch): events.add("records \(batch.count)")
                            }
                        }
                    }
                }
            }
            defer { reading.cancel() }
            try await eventually("the consumer is assigned", timeout: .seconds(30)) { events.assigned }
            try await Task.sleep(for: .seconds(20))  // > 3 × max.poll.interval.ms, nothing to read
            #expect(events.all == ["assigned 2"], "an idle consumer saw \(events.all)")
            let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
            let producing = Task { try await producer.run() }
            defer { producing.cancel() }
            _ = try await producer.send(KafkaProducerMessage(topic: topic, key: Array("k".utf8), value: Array("v".utf8)))
            try await eventually("the record arrives without a rejoin", timeout: .seconds(10)) { events.all.contains("records 1") }
            #expect(events.all == ["assigned 2", "records 1"])
        }
    }

    /// A handler that really stalls longer than `max.poll.interval.ms` still loses its
    /// partitions: that is what the interval is for.
    @Test func aStalledHandlerStillLeavesItsGroup() async throws {
        try await HeavyTests.run {
            let cluster = try KafkaTestCluster()
            let topic = try cluster.makeTopic("stalled", partitions: 1)
            let consumer = try KafkaConsumer(configuration: Self.configuration(cluster, topic: topic, interval: .seconds(6)), logger: cluster.logger)
            let events = Events()
            let reading = Task {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { try await consumer.run() }
                    group.addTask {
                        var stalled = false
                        for try await event in consumer.events {
                            switch event {
                            case .partitionsAssigned: events.add("assigned")
                            case .partitionsRevoked: events.add("revoked")
                            case .partitionsLost: events.add("lost")
                            case .messages:
                                events.add("records")
                                if !stalled {
                                    stalled = true
                                    try await Task.sleep(for: .seconds(12))  // twice the interval
                                }
                            }
                        }
                    }
                }
            }
            defer { reading.cancel() }
            try await eventually("the consumer is assigned", timeout: .seconds(30)) { events.assigned }
            let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
            let producing = Task { try await producer.run() }
            defer { producing.cancel() }
            _ = try await producer.send(KafkaProducerMessage(topic: topic, key: Array("k".utf8), value: Array("v".utf8)))
            try await eventually("the stalled member loses its partition", timeout: .seconds(40)) {
                events.all.contains("lost") || events.all.contains("revoked")
            }
        }
    }

    /// A fatal error (another member took this static member's place) ends `events` with a
    /// fatal `KafkaError` instead of a warning in the log.
    @Test func aFencedStaticMemberEndsItsEventsWithAFatalError() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic("fenced", partitions: 1)
        try cluster.embedded.failNextRequests(.syncGroup, with: [.fencedInstanceID])
        let consumer = try KafkaConsumer(
            configuration: Self.configuration(cluster, topic: topic, interval: .seconds(30), instance: "pod-0"), logger: cluster.logger
        )
        let running = Task { try await consumer.run() }
        defer { running.cancel() }
        let outcome: Result<Int, KafkaError> = try await withDeadline(.seconds(40)) {
            var events = 0
            do {
                for try await _ in consumer.events { events += 1 }
                return .success(events)
            } catch let error as KafkaError {
                return .failure(error)
            }
        }
        guard case .failure(let error) = outcome else {
            Issue.record("events ended without an error: \(outcome)")
            return
        }
        #expect(error.isFatal, "\(error)")
        #expect(error.code == .fencedInstanceID || error.code == .fatal, "\(error)")
    }
}
