import Foundation
import Synchronization
import Testing
import TriageKafka
import TriageKafkaTesting
import TriageSchema
import TriageStreams

@Suite("Fault injection on the embedded broker")
struct FaultInjectionTests {
    @Test func retriableProduceErrorsAreRetriedWithoutDuplicates() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic()
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        _ = try await producer.send(KafkaProducerMessage(topic: topic, key: "warm-up", value: "0"))
        try cluster.embedded.failNextRequests(.produce, with: [.notLeaderForPartition, .requestTimedOut, .notLeaderForPartition])
        let report = try await withDeadline(.seconds(30)) {
            try await producer.send(KafkaProducerMessage(topic: topic, key: "incident-1", value: "1"))
        }
        #expect(report.offset == 1, "three failed attempts must still store the record exactly once")
        await producer.close()
    }

    /// `triage publish --file` when the cluster goes away: the first chunk to time out stops the
    /// run — the chunks in flight are reported as they fail, every later line as not sent — instead
    /// of each of the file's chunks waiting out `message.timeout.ms` in turn (an attack on issue
    /// 24 found 300 s per chunk).
    @Test func aBulkPublishStopsHandingOverOnceTheBrokerTimesAChunkOut() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic()
        var configuration = cluster.producerConfiguration()
        configuration.messageTimeout = .seconds(1)
        let producer = try KafkaProducer(configuration: configuration, logger: cluster.logger)
        _ = try await producer.send(KafkaProducerMessage(topic: topic, key: "warm-up", value: "0"))
        try cluster.embedded.setBrokerDown(1)
        let lines = (0..<100).map { index in
            #"{"eventId": "e-\#(index)", "incidentId": "inc-\#(index)", "occurredAt": "2026-03-06T16:00:00Z", "acknowledged": {"agentId": "agent-1"}}"#
        }
        let bulk = IncidentEventBulkPublisher(
            publisher: IncidentEventPublisher(producer: producer, topic: topic), chunkSize: 10, chunksInFlight: 2)
        let outcomes = Mutex<[IncidentEventBulkPublisher.Outcome]>([])
        let (published, failed) = try await withDeadline(.seconds(60)) {
            await bulk.publish(
                IncidentEventText.read(lines.joined(separator: "\n")), prepare: { _ in },
                report: { outcome in outcomes.withLock { $0.append(outcome) } })
        }
        let reported = outcomes.withLock { $0 }
        #expect(published == 0 && failed == 100)
        #expect(reported.map(\.line) == Array(1...100), "every line reported once, in order")
        let notSent = reported.filter { outcome in
            if case .failure(let failure) = outcome.result { return failure.message.hasPrefix("not sent") }
            return false
        }
        // Chunks 1 and 2 were handed over before the first came back; nothing after them was.
        #expect(notSent.map(\.line) == Array(21...100), "\(reported.prefix(3).map(\.result))")
        #expect(notSent.first.map { "\($0.result)".contains("line 1 was not delivered") } == true)
        await producer.close()
    }

    @Test func roundTripTimeDelaysAcknowledgements() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic()
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        _ = try await producer.send(KafkaProducerMessage(topic: topic, key: "warm-up", value: "0"))
        try cluster.embedded.setRoundTripTime(.milliseconds(400), broker: 1)
        let clock = ContinuousClock()
        let slow = try await clock.measure {
            _ = try await producer.send(KafkaProducerMessage(topic: topic, key: "k", value: "slow"))
        }
        try cluster.embedded.setRoundTripTime(.zero, broker: 1)
        #expect(slow >= .milliseconds(350), "acknowledgement came after \(slow) despite a 400 ms round trip")
        await producer.close()
    }

    /// What `triage chaos` does to the producers, in one process: three brokers, records sent
    /// one `send` each from many tasks (as the dev simulator does), while a broker goes down and
    /// up, produce requests fail with retriable errors and round trips spike. Every record the
    /// broker acknowledged must be in the partition, at the offset it was acknowledged with.
    @Test func everyAcknowledgedRecordIsStoredWhereItWasAcknowledgedThroughFaults() async throws {
        let cluster = try KafkaTestCluster(brokers: 3)
        let topic = try cluster.makeTopic(partitions: 6, replicationFactor: 3)
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        let ledger = AcknowledgementLedger()
        let total = 3_000
        let faults = Task {
            for round in 0..<6 {
                try await Task.sleep(for: .milliseconds(300))
                let broker = Int32(round % 3 + 1)
                switch round % 3 {
                case 0:
                    try cluster.embedded.setBrokerDown(broker)
                    try await Task.sleep(for: .milliseconds(800))
                    try cluster.embedded.setBrokerUp(broker)
                case 1:
                    try cluster.embedded.setRoundTripTime(.milliseconds(300), broker: broker)
                    try await Task.sleep(for: .milliseconds(600))
                    try cluster.embedded.setRoundTripTime(.zero, broker: broker)
                default:
                    try cluster.embedded.failNextRequests(
                        .produce, with: [.notLeaderForPartition, .requestTimedOut, .notLeaderForPartition])
                }
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<total {
                group.addTask {
                    let id = "record-\(index)"
                    do {
                        let report = try await producer.send(KafkaProducerMessage(topic: topic, key: "incident-\(index % 97)", value: id))
                        ledger.acknowledged.withLock { $0[id] = (report.partition, report.offset) }
                    } catch {
                        ledger.failed.withLock { $0 += 1 }
                    }
                }
                if index % 50 == 0 { try await Task.sleep(for: .milliseconds(20)) }
            }
            try await group.waitForAll()
        }
        try await faults.value
        for broker: Int32 in 1...3 {
            try cluster.embedded.setBrokerUp(broker)
            try cluster.embedded.setRoundTripTime(.zero, broker: broker)
        }
        let stored = Mutex<[String: (partition: Int32, offset: Int64)]>([:])
        _ = try await KafkaPartitionReader.readToEnd(
            topic: topic, partitions: Array(0..<6), client: cluster.embedded.clientConfiguration, logger: cluster.logger
        ) {
            record in
            guard let value = record.value else { return }
            let id = String(decoding: value, as: UTF8.self)
            stored.withLock { if $0[id] == nil { $0[id] = (record.partition, record.offset) } }
        }
        let acks = ledger.acknowledged.withLock { $0 }
        let found = stored.withLock { $0 }
        let missing = acks.keys.filter { found[$0] == nil }.sorted()
        let misplaced = acks.filter { id, ack in found[id].map { $0.partition != ack.partition || $0.offset != ack.offset } ?? false }
        print(
            "faults: \(acks.count) acknowledged, \(ledger.failed.withLock { $0 }) failed, \(missing.count) missing, \(misplaced.count) not where acknowledged"
        )
        #expect(acks.count + ledger.failed.withLock { $0 } == total)
        #expect(missing.isEmpty, "acknowledged but not stored: \(missing.prefix(5).map { "\($0) at \(acks[$0]!)" })")
        #expect(misplaced.isEmpty, "\(misplaced.prefix(5).map { "\($0.key): acknowledged \($0.value), stored \(found[$0.key]!)" })")
        await producer.close()
    }

    @Test func unknownBrokerIsAClearError() throws {
        let cluster = try KafkaTestCluster()
        let error = #expect(throws: KafkaError.self) { try cluster.embedded.setBrokerDown(42) }
        #expect(error?.message.contains("broker 42") == true)
        let badTopic = #expect(throws: KafkaError.self) { try cluster.embedded.createTopic("t", partitions: 1, replicationFactor: 2) }
        #expect(badTopic?.configurationKey == "replication.factor")
    }
}

/// What the broker acknowledged, from many sending tasks.
private final class AcknowledgementLedger: Sendable {
    let acknowledged = Mutex<[String: (partition: Int32, offset: Int64)]>([:])
    let failed = Mutex(0)
}
