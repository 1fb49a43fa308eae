import Foundation
import Logging
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
        #expect(reset.description.contains("past the partition's records"))
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
        let second = try KafkaConsumer(configuration: cluster.consumerConfiguration(group: group, topics: [topic]), logger: logger)
        let next = try await withDeadline(.seconds(60)) { try await second.collect(1) }
        let logStart = try #require(next.first?.offset)
        #expect(logStart > 1, "the broker kept everything; nothing to reset")
        try await eventually("the reset counted", timeout: .seconds(10)) { second.offsetResets.resets == 1 }
        await second.close()
        #expect(second.offsetResets.resets == 1)
        #expect(second.offsetResets.skippedRecords == Int(logStart - 1))
        let errors = lines.all.filter { $0.contains("deleted before they were read") }
        #expect(errors.count == 1, "\(lines.all)")
        #expect(errors.first?.contains("\(topic) [0]") == true)
        #expect(errors.first?.contains("\(logStart - 1) record(s)") == true)
    }

    /// A group with no committed position starts at the beginning without any reset being
    /// counted: that is not a lost position.
    @Test func aNewGroupStartingAtTheBeginningIsNotAReset() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic()
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        _ = try await producer.send(KafkaProducerMessage(topic: topic, key: nil, value: Array("only".utf8)))
        await producer.close()
        let consumer = try KafkaConsumer(
            configuration: cluster.consumerConfiguration(group: uniqueName("fresh"), topics: [topic]), logger: cluster.logger)
        let read = try await withDeadline(.seconds(60)) { try await consumer.collect(1) }
        await consumer.close()
        #expect(read.map(\.offset) == [0])
        #expect(consumer.offsetResets.resets == 0)
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
