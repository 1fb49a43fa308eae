import Foundation
import Synchronization
import Testing
import TriageKafka
import TriageKafkaTesting

/// A stage that hands its outputs over without waiting (``KafkaProducer/submit(_:whenDelivered:)``)
/// must still store its input offsets only in order and only after delivery.
@Suite("Pipelined offsets: stored in order, once delivered")
struct PipelinedOffsetsTests {
    /// Reads `count` records of a one-partition topic in (at least) two batches, storing nothing.
    static func twoBatches(_ cluster: KafkaTestCluster, group: String) async throws -> (
        KafkaConsumer, [KafkaMessage], [KafkaMessage], TopicPartition
    ) {
        let topic = try cluster.makeTopic(partitions: 1)
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        for index in 0..<10 { try await producer.enqueue(KafkaProducerMessage(topic: topic, key: nil, value: "r\(index)")) }
        try await producer.flush()
        await producer.close()
        let consumer = try KafkaConsumer(
            configuration: cluster.consumerConfiguration(group: group, topics: [topic]), logger: cluster.logger)
        let records = try await withDeadline(.seconds(30)) { try await consumer.collect(10, storingOffsets: false) }
        return (consumer, Array(records.prefix(4)), Array(records.dropFirst(4)), TopicPartition(topic, 0))
    }

    @Test func aLaterBatchDeliveredFirstWaitsForTheEarlierOne() async throws {
        let cluster = try KafkaTestCluster()
        let (consumer, first, second, partition) = try await Self.twoBatches(cluster, group: uniqueName("pipelined"))
        let offsets = PipelinedOffsets(consumer: consumer)
        let one = try await offsets.begin(first)
        let two = try await offsets.begin(second)
        offsets.delivered(two, error: nil)
        try await consumer.commit()
        #expect(
            try await consumer.committedOffsets(for: [partition])[partition] == nil,
            "the second batch's offsets were stored before the first was delivered")
        #expect(offsets.inFlight == 2)
        offsets.delivered(one, error: nil)
        try await offsets.drain()
        try await consumer.commit()
        #expect(try await consumer.committedOffsets(for: [partition])[partition] == 10)
        #expect(offsets.inFlight == 0)
        await consumer.close()
    }

    @Test func aFailedDeliveryStopsStoringAndIsThrown() async throws {
        let cluster = try KafkaTestCluster()
        let (consumer, first, second, partition) = try await Self.twoBatches(cluster, group: uniqueName("pipelined"))
        let offsets = PipelinedOffsets(consumer: consumer)
        let one = try await offsets.begin(first)
        let two = try await offsets.begin(second)
        offsets.delivered(one, error: .invalidConfiguration(key: "test", "delivery failed"))
        offsets.delivered(two, error: nil)
        await #expect(throws: KafkaError.self) { try await offsets.drain() }
        #expect(throws: KafkaError.self) { try offsets.check() }
        await #expect(throws: KafkaError.self) { _ = try await offsets.begin(second) }
        try await consumer.commit()
        #expect(try await consumer.committedOffsets(for: [partition])[partition] == nil, "offsets were stored past a failed delivery")
        await consumer.close()
    }

    @Test func beginWaitsWhileTheLimitIsInFlight() async throws {
        let cluster = try KafkaTestCluster()
        let (consumer, first, second, _) = try await Self.twoBatches(cluster, group: uniqueName("pipelined"))
        let offsets = PipelinedOffsets(consumer: consumer, maximumInFlight: 1)
        let one = try await offsets.begin(first)
        let began = Atomic<Bool>(false)
        let waiting = Task {
            let ticket = try await offsets.begin(second)
            began.store(true, ordering: .relaxed)
            return ticket
        }
        try await Task.sleep(for: .milliseconds(200))
        let beganEarly = began.load(ordering: .relaxed)
        #expect(!beganEarly, "a second batch began while the first was in flight (limit 1)")
        offsets.delivered(one, error: nil)
        let two = try await withDeadline(.seconds(10)) { try await waiting.value }
        #expect(two == one + 1)
        offsets.delivered(two, error: nil)
        try await offsets.drain()
        await consumer.close()
    }

    /// Through the producer: every submitted batch's callback fires once, after its records were
    /// stored where the report says.
    @Test func submitReportsEachBatchOnceWhenDelivered() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic(partitions: 3)
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        let calls = Mutex<[Int: Int]>([:])
        for batch in 0..<20 {
            let records = (0..<50).map { KafkaProducerMessage(topic: topic, key: "k\($0)", value: "b\(batch)-\($0)") }
            await producer.submit(records) { error in calls.withLock { $0[batch, default: 0] += error == nil ? 1 : 100 } }
        }
        await producer.submit([]) { error in calls.withLock { $0[-1, default: 0] += error == nil ? 1 : 100 } }
        try await producer.flush()
        #expect(calls.withLock { $0 } == Dictionary(uniqueKeysWithValues: (-1..<20).map { ($0, 1) }))
        let consumer = try KafkaConsumer(
            configuration: cluster.consumerConfiguration(group: uniqueName("reader"), topics: [topic]), logger: cluster.logger)
        let read = try await withDeadline(.seconds(30)) { try await consumer.collect(1_000) }
        #expect(Set(read.compactMap(\.valueString)).count == 1_000)
        await consumer.close()
        await producer.close()
    }
}
