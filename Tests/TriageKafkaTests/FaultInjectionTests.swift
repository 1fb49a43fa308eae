import Foundation
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

    @Test func unknownBrokerIsAClearError() throws {
        let cluster = try KafkaTestCluster()
        let error = #expect(throws: KafkaError.self) { try cluster.embedded.setBrokerDown(42) }
        #expect(error?.message.contains("broker 42") == true)
        let badTopic = #expect(throws: KafkaError.self) { try cluster.embedded.createTopic("t", partitions: 1, replicationFactor: 2) }
        #expect(badTopic?.configurationKey == "replication.factor")
    }
}
