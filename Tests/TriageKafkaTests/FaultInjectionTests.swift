import Foundation
import Synchronization
import Testing
import TriageKafka
import TriageKafkaTesting

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
