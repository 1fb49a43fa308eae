import Foundation
import Synchronization
import Testing
import TriageKafka
import TriageKafkaTesting

/// Every rebalance event one member saw, in order.
final class SeenEvents: Sendable {
    private let seen = Mutex<[String]>([])
    func add(_ event: String) { seen.withLock { $0.append(event) } }
    var all: [String] { seen.withLock { $0 } }
    var assigned: Bool { all.contains { $0.hasPrefix("assigned") } }
}

/// Issue 19, fault 1: `max.poll.interval.ms` on quiet topics.
///
/// These run in a `swift test` process of their own (`make test`'s second step): they measure
/// whether the application's task runs within seconds, and in the main run CPU-bound tests hold
/// both threads of a two-core machine's cooperative pool for longer than that.
@Suite("Consumer liveness: quiet topics and stalled handlers", .serialized)
struct ConsumerLivenessTests {
    static func configuration(_ cluster: KafkaTestCluster, topic: String, interval: Duration) -> KafkaConsumerConfiguration {
        var configuration = cluster.consumerConfiguration(group: uniqueName("liveness"), topics: [topic])
        configuration.maximumPollInterval = interval
        return configuration
    }

    /// Runs `consumer` and reads its events into `events` ("assigned N", "revoked", "lost",
    /// "records N"), calling `onRecords` inside the loop body for every batch.
    static func read(
        _ consumer: KafkaConsumer, into events: SeenEvents, onRecords: @escaping @Sendable ([KafkaMessage]) async throws -> Void
    ) -> Task<Void, any Error> {
        Task {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await consumer.run() }
                group.addTask {
                    for try await event in consumer.events {
                        switch event {
                        case .partitionsAssigned(let partitions): events.add("assigned \(partitions.count)")
                        case .partitionsRevoked: events.add("revoked")
                        case .partitionsLost: events.add("lost")
                        case .messages(let batch):
                            events.add("records \(batch.count)")
                            try await onRecords(batch)
                        }
                    }
                }
            }
        }
    }

    /// A consumer whose topic stays quiet for more than three times `max.poll.interval.ms` keeps
    /// its assignment: librdkafka sees it serving its queue while the application waits for records.
    @Test func anIdleConsumerKeepsItsPartitions() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic("quiet", partitions: 2)
        let consumer = try KafkaConsumer(
            configuration: Self.configuration(cluster, topic: topic, interval: .seconds(6)), logger: cluster.logger)
        let events = SeenEvents()
        let reading = Self.read(consumer, into: events) { _ in }
        defer { reading.cancel() }
        try await eventually("the consumer is assigned", timeout: .seconds(30)) { events.assigned }
        try await Task.sleep(for: .seconds(20))  // > 3 × max.poll.interval.ms, nothing to read
        #expect(events.all == ["assigned 2"], "an idle consumer saw \(events.all)")
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        let producing = Task { try await producer.run() }
        defer { producing.cancel() }
        _ = try await producer.send(KafkaProducerMessage(topic: topic, key: Array("k".utf8), value: Array("v".utf8)))
        try await eventually("the record arrives without a rejoin", timeout: .seconds(30)) { events.all.contains("records 1") }
        #expect(events.all == ["assigned 2", "records 1"])
    }

    /// A handler that really stalls longer than `max.poll.interval.ms` still loses its
    /// partitions: that is what the interval is for.
    @Test func aStalledHandlerStillLeavesItsGroup() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic("stalled", partitions: 1)
        let consumer = try KafkaConsumer(
            configuration: Self.configuration(cluster, topic: topic, interval: .seconds(6)), logger: cluster.logger)
        let events = SeenEvents()
        let stalled = Mutex(false)
        let reading = Self.read(consumer, into: events) { _ in
            // The first batch's handler stalls for twice the interval.
            let first = stalled.withLock { already in
                defer { already = true }
                return !already
            }
            if first { try await Task.sleep(for: .seconds(12)) }
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

/// Issue 19, fault 4: the revocation handshake, seek and close off the happy path.
@Suite("Consumer hand-off: cancelled reads, seek, close from the loop", .timeLimit(.minutes(2)))
struct ConsumerHandoffTests {
    static func fill(_ cluster: KafkaTestCluster, topic: String, count: Int) async throws {
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        let producing = Task { try await producer.run() }
        defer { producing.cancel() }
        try await producer.sendAll(
            (0..<count).map { KafkaProducerMessage(topic: topic, key: nil, value: Array("\($0)".utf8), partition: 0) })
    }

    /// A `next()` cancelled while it waited handed nothing out, so it must not count as the
    /// application coming back: the revocation still waits until its handler returned, and the
    /// offsets it stores there are the ones committed.
    @Test func aCancelledNextDoesNotDisableTheRevocationHandshake() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic("handshake", partitions: 1)
        try await Self.fill(cluster, topic: topic, count: 20)
        let group = uniqueName("handshake")
        let consumer = try KafkaConsumer(
            configuration: cluster.consumerConfiguration(group: group, topics: [topic]), logger: cluster.logger)
        let running = Task { try await consumer.run() }
        defer { running.cancel() }

        var iterator = consumer.events.makeAsyncIterator()
        var last: KafkaMessage?
        while last?.offset != 19 {
            guard case .messages(let batch)? = try await iterator.next() else { continue }
            last = batch.last  // processed, but offsets are stored only in the revocation handler
        }
        // The topic is quiet now: a read waits. Cancel it.
        let waiting = Task {
            var another = consumer.events.makeAsyncIterator()
            return try await another.next()
        }
        try await Task.sleep(for: .milliseconds(300))
        waiting.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiting.value }

        let closing = Task { await consumer.close() }
        var handlerFinished: Date?
        while let event = try await iterator.next() {
            if case .partitionsRevoked = event {
                try await Task.sleep(for: .milliseconds(1_500))  // the handler takes its time
                try consumer.storeOffset(try #require(last))
                handlerFinished = Date()
            }
        }
        await closing.value
        #expect(handlerFinished != nil, "the final revocation reached the application")

        let checker = try KafkaConsumer(configuration: cluster.consumerConfiguration(group: group, topics: [topic]), logger: cluster.logger)
        let committed = try await checker.committedOffsets(for: [TopicPartition(topic, 0)])
        await checker.close()
        #expect(committed[TopicPartition(topic, 0)] == 20, "the offset stored in the revocation handler was committed: \(committed)")
    }

    /// After `seek` returns, the next record is the one sought, even when thousands fetched
    /// before the seek were waiting in the hand-off's buffer.
    @Test func seekDropsRecordsFetchedBeforeIt() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic("seek", partitions: 1)
        try await Self.fill(cluster, topic: topic, count: 5_000)
        var configuration = cluster.consumerConfiguration(group: uniqueName("seek"), topics: [topic])
        configuration.maximumBatchSize = 100
        let consumer = try KafkaConsumer(configuration: configuration, logger: cluster.logger)
        let running = Task { try await consumer.run() }
        defer { running.cancel() }

        var iterator = consumer.events.makeAsyncIterator()
        var first: [KafkaMessage] = []
        while first.isEmpty {
            if case .messages(let batch)? = try await iterator.next() { first = batch }
        }
        // Not reading for a while: the driver fills the hand-off's buffer with later records.
        try await Task.sleep(for: .milliseconds(1_000))
        try await consumer.seek(TopicPartition(topic, 0), to: 10, timeout: .seconds(60))
        var after: [Int64] = []
        while after.count < 300 {
            guard let event = try await iterator.next() else { break }
            if case .messages(let batch) = event { after += batch.map(\.offset) }
        }
        #expect(after.first == 10, "the first record after the seek is the one sought, not one fetched before: \(after.prefix(5))")
        #expect(after == Array(10..<Int64(10 + after.count)), "records after the seek are contiguous")
        await consumer.close()
    }

    /// Closing from inside the reading loop (the task that would have to come back for the final
    /// revocation is the one waiting in `close()`) does not wait for the revocation timeout.
    @Test func closeFromInsideTheLoopDoesNotWaitForTheRevocationTimeout() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic("close-in-loop", partitions: 1)
        try await Self.fill(cluster, topic: topic, count: 3)
        var configuration = cluster.consumerConfiguration(group: uniqueName("close-in-loop"), topics: [topic])
        configuration.revocationTimeout = .seconds(60)
        let consumer = try KafkaConsumer(configuration: configuration, logger: cluster.logger)
        let running = Task { try await consumer.run() }
        defer { running.cancel() }
        let took: Duration = try await withDeadline(.seconds(45)) {
            for try await event in consumer.events {
                if case .messages = event {
                    let clock = ContinuousClock()
                    let started = clock.now
                    await consumer.close()
                    return clock.now - started
                }
            }
            return .seconds(999)
        }
        #expect(took < .seconds(30), "close() from the loop took \(took)")
    }
}
