import Foundation
import Logging
import MetricsTestKit
import Synchronization
import Testing
import TriageKafka
import TriageKafkaTesting

@Suite("librdkafka's offset reset lines")
struct PositionResetParsingTests {
    @Test func readsLibrdkafka202sLineWithTheCachedLogStart() throws {
        let line =
            "triage.notification-retry [3]: offset reset (at offset 1200, broker 1) to cached BEGINNING offset 5000: "
            + "fetch failed due to requested offset not available on the broker: Broker: Offset out of range"
        let reset = try #require(KafkaPositionReset(librdkafkaLine: line))
        #expect(reset.topic == "triage.notification-retry")
        #expect(reset.partition == 3)
        #expect(reset.from == 1200)
        #expect(reset.to == "BEGINNING")
        #expect(reset.logStart == 5000)
        #expect(reset.skippedRecords == 3800)
        #expect(reset.reason.hasPrefix("fetch failed due to requested offset"))
        #expect(reset.description.contains("3800 record(s) were deleted before they were read (offsets 1200–4999)"))
        #expect(reset.description.contains("retention"))
    }

    /// Outside attack: with librdkafka's default `log.thread.name=true` the line starts with the
    /// thread ("[thrd:main]: "), which became part of the topic in the log line and the metrics'
    /// `topic` label.
    @Test func theThreadPrefixIsNotPartOfTheTopic() throws {
        let line =
            "[thrd:main]: triage.incident-events [1]: offset reset (at offset 2, broker 1) to cached BEGINNING offset 1604: "
            + "fetch failed due to requested offset not available on the broker: Broker: Offset out of range"
        let reset = try #require(KafkaPositionReset(librdkafkaLine: line))
        #expect(reset.topic == "triage.incident-events")
        #expect(reset.partition == 1)
        #expect(reset.skippedRecords == 1602)
        #expect(reset.description.contains("offset 2 on triage.incident-events [1] is not on the broker"))
    }

    @Test func readsTheLaterFormatWithALeaderEpoch() throws {
        let line =
            "t-1 [0]: offset reset (at offset 17 (leader epoch 4), broker 2) to cached BEGINNING offset 40 (leader epoch 4): "
            + "fetch failed due to requested offset not available on the broker: Broker: Offset out of range"
        let reset = try #require(KafkaPositionReset(librdkafkaLine: line))
        #expect(reset.topic == "t-1")
        #expect(reset.from == 17)
        #expect(reset.to == "BEGINNING")
        #expect(reset.logStart == 40)
        #expect(reset.skippedRecords == 23)
    }

    @Test func aPositionPastTheEndSkipsNothingAndSaysRecordsMayBeReadAgain() throws {
        let line =
            "orders [1]: offset reset (at offset 1000000, broker 1) to cached BEGINNING offset 0: fetch failed due to "
            + "requested offset not available on the broker: Broker: Offset out of range"
        let reset = try #require(KafkaPositionReset(librdkafkaLine: line))
        #expect(reset.skippedRecords == 0)
        #expect(reset.description.contains("though the partition starts at 0"))
        #expect(reset.description.contains("records from there may be read again"))
        #expect(!reset.description.contains("deleted"))
    }

    @Test func aResetWithoutTheLogStartCountsNothingItCannotKnow() throws {
        let line =
            "orders [2]: offset reset (at offset 12, broker 1) to END: fetch failed due to requested offset not available "
            + "on the broker: Broker: Offset out of range"
        let reset = try #require(KafkaPositionReset(librdkafkaLine: line))
        #expect(reset.to == "END")
        #expect(reset.logStart == nil)
        #expect(reset.skippedRecords == nil)
        #expect(reset.description.contains("reading goes on at END"))
    }

    @Test func otherLinesAreNotResets() {
        #expect(KafkaPositionReset(librdkafkaLine: "orders [2]: fetch decide: updating to version 3") == nil)
        #expect(KafkaPositionReset(librdkafkaLine: "offset reset (at offset 12, broker 1) to END: x") == nil)
        #expect(KafkaPositionReset(librdkafkaLine: "orders [x]: offset reset (at offset 12, broker 1) to END: x") == nil)
        #expect(KafkaPositionReset(librdkafkaLine: "") == nil)
    }
}

@Suite("A position deleted by retention", .timeLimit(.minutes(2)))
struct PositionResetTests {
    /// The embedded broker keeps about 5 MB per partition. A group's committed position that
    /// retention deleted was moved by librdkafka to the partition's start with only a warning;
    /// now the consumer counts it, with the records it skipped, and logs an error saying so.
    @Test func aPositionDeletedByRetentionIsCountedAndLoggedAsAnError() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic()
        let group = uniqueName("lagging")
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        _ = try await producer.send(KafkaProducerMessage(topic: topic, key: nil, value: Array("first".utf8)))

        // The group reads the first record and commits position 1.
        let first = try KafkaConsumer(configuration: cluster.consumerConfiguration(group: group, topics: [topic]), logger: cluster.logger)
        let read = try await withDeadline(.seconds(60)) { try await first.collect(1) }
        #expect(read.map(\.offset) == [0])
        try await first.commit()
        await first.close()
        #expect(first.offsetResets.resets == 0)

        // 8 MB more: the broker deletes the oldest records, position 1 among them.
        let chunk = [UInt8](repeating: 0x61, count: 100_000)
        _ = try await producer.sendAll((0..<80).map { _ in KafkaProducerMessage(topic: topic, key: nil, value: chunk) })
        await producer.close()

        let lines = ErrorLines()
        var logger = Logger(label: "position-reset") { _ in ErrorLineHandler(lines: lines) }
        logger.logLevel = .warning
        let metrics = TestMetrics()
        var configuration = cluster.consumerConfiguration(group: group, topics: [topic])
        configuration.client.metricsFactory = metrics
        let second = try KafkaConsumer(configuration: configuration, logger: logger)
        // Not storing offsets: the group's committed offset moves only by the reset's commit.
        let next = try await withDeadline(.seconds(60)) { try await second.collect(1, storingOffsets: false) }
        let logStart = try #require(next.first?.offset)
        #expect(logStart > 1, "the broker kept everything; nothing to reset")
        try await eventually("the reset counted", timeout: .seconds(10)) { second.offsetResets.resets == 1 }
        // Outside attack: the committed offset stayed at the lost position until a graceful stop
        // (librdkafka commits a stored offset only above the committed one), so a crash meant
        // the same reset, reported again.
        let partition = TopicPartition(topic, 0)
        try await eventually("the group's committed offset follows the reset", timeout: .seconds(10)) {
            try await second.committedOffsets(for: [partition])[partition] == logStart
        }
        #expect(second.offsetResets.resets == 1)
        #expect(second.offsetResets.skippedRecords == Int(logStart - 1))
        let errors = lines.all.filter { $0.contains("deleted before they were read") }
        #expect(errors.count == 1, "\(lines.all)")
        #expect(errors.first?.hasPrefix("the consumer's offset 1 on \(topic) [0] is not on the broker") == true, "\(errors)")
        #expect(errors.first?.contains("\(logStart - 1) record(s)") == true)
        let dimensions = [("topic", topic), ("partition", "0")]
        #expect(try metrics.expectCounter("triage_kafka_consumer_offset_resets_total", dimensions).totalValue == 1)
        #expect(try metrics.expectCounter("triage_kafka_consumer_records_skipped_total", dimensions).totalValue == Int64(logStart - 1))
        await second.close()
    }

    /// A committed position past the partition's end (the topic recreated): nothing skipped,
    /// the partition read from its start, and the group's committed offset moved back there at
    /// once — before, it stayed past the end until a graceful stop, so after a crash the same
    /// records were read (and the reset reported) again.
    @Test func aPositionPastTheEndIsCommittedBackToTheStart() async throws {
        let (cluster, topic, group) = try await Self.groupPastTheEnd(records: 5)
        let partition = TopicPartition(topic, 0)

        let metrics = TestMetrics()
        var configuration = cluster.consumerConfiguration(group: group, topics: [topic])
        configuration.client.metricsFactory = metrics
        let second = try KafkaConsumer(configuration: configuration, logger: cluster.logger)
        let read = try await withDeadline(.seconds(60)) { try await second.collect(5, storingOffsets: false) }
        #expect(read.map(\.offset) == [0, 1, 2, 3, 4])
        try await eventually("the reset counted", timeout: .seconds(10)) { second.offsetResets.resets == 1 }
        #expect(second.offsetResets.skippedRecords == 0)
        try await eventually("the group's committed offset moved back to the start", timeout: .seconds(10)) {
            try await second.committedOffsets(for: [partition])[partition] == 0
        }
        let dimensions = [("topic", topic), ("partition", "0")]
        #expect(try metrics.expectCounter("triage_kafka_consumer_records_skipped_total", dimensions).totalValue == 0)
        await second.close()
    }

    /// Second outside attack: the commit of the new start was refused while the group
    /// rebalanced (workers starting together) and never tried again, so the committed offset
    /// stayed past the end and a crash meant the same reset and the partition read again.
    @Test func aResetCommitRefusedByARebalanceIsTriedAgain() async throws {
        let (cluster, topic, group) = try await Self.groupPastTheEnd(records: 3)
        let partition = TopicPartition(topic, 0)

        try cluster.embedded.failNextRequests(.offsetCommit, with: Array(repeating: .rebalanceInProgress, count: 3))
        let second = try KafkaConsumer(configuration: cluster.consumerConfiguration(group: group, topics: [topic]), logger: cluster.logger)
        let read = try await withDeadline(.seconds(60)) { try await second.collect(3, storingOffsets: false) }
        #expect(read.map(\.offset) == [0, 1, 2])
        try await eventually("the group's committed offset moved back to the start", timeout: .seconds(20)) {
            try await second.committedOffsets(for: [partition])[partition] == 0
        }
        await second.close()
    }

    /// A topic of one partition with `records` records, and a group whose committed position
    /// there is 100,000: past the end, as after the topic was recreated.
    static func groupPastTheEnd(records: Int) async throws -> (KafkaTestCluster, String, String) {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic()
        let group = uniqueName("recreated")
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        _ = try await producer.sendAll((0..<records).map { KafkaProducerMessage(topic: topic, key: nil, value: Array("r\($0)".utf8)) })
        await producer.close()
        let first = try KafkaConsumer(configuration: cluster.consumerConfiguration(group: group, topics: [topic]), logger: cluster.logger)
        _ = try await withDeadline(.seconds(60)) { try await first.collect(1, storingOffsets: false) }
        try first.storeOffsets(next: [TopicPartition(topic, 0): 100_000])
        try await first.commit()
        await first.close()
        return (cluster, topic, group)
    }

    /// A group with no committed position starts at the beginning without any reset being
    /// counted: that is not a lost position.
    @Test func aNewGroupStartingAtTheBeginningIsNotAReset() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic()
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        _ = try await producer.send(KafkaProducerMessage(topic: topic, key: nil, value: Array("only".utf8)))
        await producer.close()
        let metrics = TestMetrics()
        var configuration = cluster.consumerConfiguration(group: uniqueName("fresh"), topics: [topic])
        configuration.client.metricsFactory = metrics
        let consumer = try KafkaConsumer(configuration: configuration, logger: cluster.logger)
        let read = try await withDeadline(.seconds(60)) { try await consumer.collect(1) }
        await consumer.close()
        #expect(read.map(\.offset) == [0])
        #expect(consumer.offsetResets.resets == 0)
        // The series exist at 0 from the assignment on: the first reset is an increase.
        let dimensions = [("topic", topic), ("partition", "0")]
        #expect(try metrics.expectCounter("triage_kafka_consumer_offset_resets_total", dimensions).totalValue == 0)
        #expect(try metrics.expectCounter("triage_kafka_consumer_records_skipped_total", dimensions).totalValue == 0)
    }
}

/// Error-level lines logged through a logger.
private final class ErrorLines: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    func append(_ line: String) { lines.withLock { $0.append(line) } }
}

private struct ErrorLineHandler: LogHandler {
    let lines: ErrorLines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .warning

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        if event.level >= .error { lines.append("\(event.message)") }
    }
}
