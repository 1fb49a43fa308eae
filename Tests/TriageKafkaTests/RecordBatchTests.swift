import Foundation
import Logging
import Synchronization
import Testing
import TriageKafkaTesting

@testable import TriageKafka

/// Issue 19, speed: records read without copies (`recordBatches`), their lifetime against the
/// consumer's, and the producer's cached topic handles and synchronous enqueue.
@Suite("Zero-copy record batches, topic handles, synchronous enqueue", .timeLimit(.minutes(2)))
struct RecordBatchTests {
    @Test func recordBatchesAreViewsOfTheFetchedRecords() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic(partitions: 3)
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        let total = 60
        var sent: [KafkaProducerMessage] = []
        for index in 0..<total {
            let value: [UInt8]? = index % 10 == 0 ? nil : Array("value-\(index)".utf8)
            let time = Date(timeIntervalSince1970: 1_770_000_000 + Double(index))
            sent.append(
                KafkaProducerMessage(
                    topic: topic, key: Array("key-\(index)".utf8), value: value, headers: [KafkaHeader(name: "n", string: "\(index)")],
                    partition: Int32(index % 3), timestamp: time
                )
            )
        }
        let reports = try await producer.sendAll(sent)
        let consumer = try KafkaConsumer(
            configuration: cluster.consumerConfiguration(group: uniqueName("g"), topics: [topic]), logger: cluster.logger)
        let (seen, copies) = try await withDeadline(.seconds(30)) { () async throws -> ([String: SeenRecord], [KafkaMessage]) in
            var seen: [String: SeenRecord] = [:]
            var copies: [KafkaMessage] = []
            for try await batch in consumer.recordBatches {
                // swift-format-ignore: ReplaceForEachWithForLoop
                batch.forEach { record in
                    let key = record.key.map { String(decoding: $0, as: UTF8.self) } ?? "?"
                    seen[key] = SeenRecord(
                        topic: record.topic, partition: record.partition, offset: record.offset,
                        value: record.value.map { String(decoding: $0, as: UTF8.self) },
                        header: record.header("n").map { String(decoding: $0, as: UTF8.self) }, time: record.timestamp
                    )
                }
                copies += batch.makeMessages()
                try consumer.storeOffsets(batch)
                if seen.count >= total { break }
            }
            return (seen, copies)
        }
        #expect(seen.count == total)
        for (index, report) in reports.enumerated() {
            let record = try #require(seen["key-\(index)"])
            #expect(record.topic == topic)
            #expect(record.partition == report.partition && record.offset == report.offset)
            #expect(record.value == (index % 10 == 0 ? nil : "value-\(index)"))
            #expect(record.header == "\(index)")
            #expect(record.time == Date(timeIntervalSince1970: 1_770_000_000 + Double(index)))
        }
        // Copies made from the views carry the same records.
        #expect(copies.count == total)
        #expect(Set(copies.compactMap { $0.keyString }) == Set((0..<total).map { "key-\($0)" }))
        #expect(copies.first { $0.keyString == "key-7" }?.valueString == "value-7")
        #expect(copies.first { $0.keyString == "key-7" }?.header("n")?.stringValue == "7")
        // storeOffsets(batch) stored the next offset of every partition.
        try await consumer.commit()
        let partitions = (0..<3).map { TopicPartition(topic, Int32($0)) }
        let committed = try await consumer.committedOffsets(for: partitions)
        for partition in partitions {
            let last = reports.filter { $0.partition == partition.partition }.map(\.offset).max()!
            #expect(committed[partition] == last + 1)
        }
        await consumer.close()
        await producer.close()
    }

    /// A batch keeps the librdkafka instance its records live in: closing the consumer does not
    /// destroy it while the batch exists, and releasing the batch then does.
    @Test func aBatchOutlivesItsClosedConsumer() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic(partitions: 1)
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        try await producer.sendAll((0..<5).map { KafkaProducerMessage(topic: topic, key: "k\($0)", value: "kept-\($0)") })
        let consumer = try KafkaConsumer(
            configuration: cluster.consumerConfiguration(group: uniqueName("g"), topics: [topic]), logger: cluster.logger)
        var kept: KafkaRecordBatch? = try await withDeadline(.seconds(30)) { () async throws -> KafkaRecordBatch? in
            var iterator = consumer.recordBatches.makeAsyncIterator()
            return try await iterator.next()
        }
        #expect(kept != nil)
        await consumer.close()
        let fate = consumer.core.instanceFate
        #expect(fate.current == .open, "destroyed while a batch still refers to its buffers")
        var values: [String] = []
        // swift-format-ignore: ReplaceForEachWithForLoop
        kept?.forEach { values.append(String(decoding: $0.value!, as: UTF8.self)) }  // not a Sequence: borrowed views
        #expect(values == (0..<values.count).map { "kept-\($0)" } && !values.isEmpty)
        kept = nil
        try await waitUntil(timeout: .seconds(30)) { fate.current == .destroyed }
        await producer.close()
    }

    /// Was: a consumer closed before its first assignment kept its `rd_kafka_t` (threads,
    /// sockets) until the process exited. Closed before its JoinGroup was answered, it is now
    /// destroyed.
    @Test func aConsumerClosedBeforeItsFirstAssignmentIsDestroyed() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic(partitions: 1)
        for wait in [0, 500, 1_500] {  // closed before and while its JoinGroup waits for an answer
            let consumer = try KafkaConsumer(
                configuration: cluster.consumerConfiguration(group: uniqueName("g"), topics: [topic]), logger: cluster.logger)
            try await Task.sleep(for: .milliseconds(wait))
            await consumer.close()  // the embedded broker answers a first JoinGroup after ~3 s
            #expect(consumer.core.instanceFate.current == .destroyed)
        }
    }

    @Test func recordsReachEveryTopicThroughCachedHandlesAndBadNamesFailClearly() async throws {
        let cluster = try KafkaTestCluster()
        let topics = try (0..<3).map { try cluster.makeTopic("handles-\($0)", partitions: 1) }
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        for index in 0..<300 {
            try await producer.enqueue(KafkaProducerMessage(topic: topics[index % 3], key: nil, value: "\(index)"))
        }
        // librdkafka refuses a topic handle for a name over 512 bytes; the record then goes by
        // name and fails with librdkafka's own error, and the producer carries on.
        let long = String(repeating: "t", count: 600)
        await #expect(throws: KafkaError.self) { try await producer.send(KafkaProducerMessage(topic: long, value: Array("x".utf8))) }
        try await producer.flush()
        #expect(producer.statistics.delivered == 300)
        for (offset, topic) in topics.enumerated() {
            let consumer = try KafkaConsumer(
                configuration: cluster.consumerConfiguration(group: uniqueName("g"), topics: [topic]), logger: cluster.logger)
            let received = try await withDeadline(.seconds(30)) { try await consumer.collect(100) }
            #expect(received.allSatisfy { $0.topic == topic })
            #expect(Set(received.compactMap(\.valueString)) == Set(stride(from: offset, to: 300, by: 3).map(String.init)))
            await consumer.close()
        }
        await producer.close()
    }

    @Test func enqueueIfRoomSaysWhenTheQueueIsFull() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic(partitions: 1)
        var configuration = cluster.producerConfiguration()
        configuration.maximumQueuedMessages = 10
        let producer = try KafkaProducer(configuration: configuration, logger: cluster.logger)
        var accepted = 0
        var refused = 0
        for index in 0..<50 {
            if try producer.enqueueIfRoom(KafkaProducerMessage(topic: topic, key: nil, value: "\(index)")) {
                accepted += 1
            } else {
                refused += 1
            }
        }
        #expect(accepted >= 10 && refused > 0, "accepted \(accepted), refused \(refused)")
        // The waiting path takes the rest.
        for index in 0..<refused { try await producer.enqueue(KafkaProducerMessage(topic: topic, key: nil, value: "late-\(index)")) }
        try await producer.flush()
        #expect(producer.statistics.delivered == 50)
        await producer.close()
    }
}

extension RecordBatchTests {
    /// Was: a task suspended on a full producer queue ignored cancellation and waited for room.
    @Test func writersWaitingForRoomStopWhenCancelled() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic(partitions: 1)
        var configuration = cluster.producerConfiguration()
        configuration.maximumQueuedMessages = 10
        let producer = try KafkaProducer(configuration: configuration, logger: cluster.logger)
        _ = try await producer.send(KafkaProducerMessage(topic: topic, key: "warm-up", value: "0"))
        // Nothing frees room for 20 s: a writer that ignored cancellation would wait that long and
        // then succeed. (No time limit on the return: on a loaded machine the cancelled task may
        // run late, but it must fail, not send.)
        try cluster.embedded.setRoundTripTime(.seconds(20), broker: 1)
        var filled = 0
        while filled < 1_000, try producer.enqueueIfRoom(KafkaProducerMessage(topic: topic, key: nil, value: "fill")) { filled += 1 }
        #expect(filled < 1_000, "the queue never filled")
        let waiting = Task { try await producer.enqueue(KafkaProducerMessage(topic: topic, key: nil, value: "waiting")) }
        let sending = Task {
            try await producer.sendAll((0..<3).map { KafkaProducerMessage(topic: topic, key: nil, value: "batch-\($0)") })
        }
        try await Task.sleep(for: .milliseconds(300))
        waiting.cancel()
        sending.cancel()
        let error = await #expect(throws: KafkaError.self) { try await waiting.value }
        #expect(error?.code == .queueFull)
        await #expect(throws: KafkaError.self) { try await sending.value }
        try cluster.embedded.setRoundTripTime(.zero, broker: 1)
        try await producer.flush()
        #expect(producer.statistics.delivered == 1 + filled, "\(producer.statistics)")
        await producer.close()
    }
}

private struct SeenRecord: Sendable {
    var topic: String
    var partition: Int32
    var offset: Int64
    var value: String?
    var header: String?
    var time: Date?
}

private func waitUntil(timeout: Duration, _ condition: @Sendable () -> Bool) async throws {
    let end = ContinuousClock.now + timeout
    while !condition() {
        if ContinuousClock.now > end {
            Issue.record("condition not met within \(timeout)")
            return
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// Issue 19, "also": librdkafka's log lines are logged by the client's own thread (served from
/// its queue), not from librdkafka's internal threads.
@Suite("librdkafka log lines on the client's thread", .timeLimit(.minutes(1)))
struct KafkaLogQueueTests {
    @Test func consumerAndProducerLogFromTheirDriverThreads() async throws {
        let lines = CapturedLines()
        var logger = Logger(label: "log-queue") { _ in CapturingLogHandler(lines: lines) }
        logger.logLevel = .debug
        // Nothing listens on port 1: librdkafka logs its failed connections.
        let client = KafkaClientConfiguration(bootstrap: "127.0.0.1:1")
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(groupID: uniqueName("g"), topics: ["t"], client: client), logger: logger)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client), logger: logger)
        let end = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < end {
            let threads = Set(lines.all.map(\.thread))
            if threads.contains("triage-consumer") && threads.contains("triage-producer") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        await consumer.close()
        await producer.close()
        let fromLibrdkafka = lines.all
        #expect(!fromLibrdkafka.isEmpty, "librdkafka logged nothing about the refused connections")
        #expect(Set(fromLibrdkafka.map(\.thread)).isSubset(of: ["triage-consumer", "triage-producer"]), "\(fromLibrdkafka.prefix(5))")
        #expect(fromLibrdkafka.contains { $0.thread == "triage-consumer" } && fromLibrdkafka.contains { $0.thread == "triage-producer" })
    }
}

/// librdkafka's lines (those with an `rdkafka.facility`) and the OS name of the thread that logged each.
private final class CapturedLines: Sendable {
    struct Line: Sendable, CustomStringConvertible {
        var text: String
        var thread: String
        var description: String { "[\(thread)] \(text)" }
    }
    private let lines = Mutex<[Line]>([])
    var all: [Line] { lines.withLock { $0 } }
    func append(_ line: Line) { lines.withLock { $0.append(line) } }
}

private struct CapturingLogHandler: LogHandler {
    let lines: CapturedLines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        guard event.metadata?["rdkafka.facility"] != nil else { return }
        let thread = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8))?.trimmingCharacters(
            in: .whitespacesAndNewlines)
        lines.append(.init(text: "\(event.message)", thread: thread ?? "?"))
    }
}
