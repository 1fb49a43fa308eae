import Foundation
import ServiceLifecycle
import SwiftProtobuf
import Synchronization
import Testing
import TriageKafka
import TriageKafkaTesting
import TriageSchema
import TriageStreams

func openedEvent(_ incident: String, _ eventID: String) -> IncidentEvent {
    IncidentEvent.with {
        $0.eventID = eventID
        $0.incidentID = incident
        $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
        $0.producer = "test"
        $0.opened = .with {
            $0.customerAccount = "acct"; $0.entitlementID = "pack"; $0.product = "billing"
            $0.severity = .b; $0.coverage = .businessHours; $0.customerTimeZone = "America/New_York"; $0.title = "t"
        }
    }
}

@Suite("Poison records go to the dead-letter topic and the worker carries on")
struct DeadLetterTests {
    @Test func poisonRecordsAreDeadLetteredWithReasonAndOrigin() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic("incident-events", partitions: 1)
        let deadLetterTopic = try cluster.makeTopic("dead-letter", partitions: 1)
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        let publisher = IncidentEventPublisher(producer: producer, topic: topic)

        _ = try await publisher.publish(openedEvent("inc-1", "e1"))
        _ = try await producer.send(KafkaProducerMessage(topic: topic, key: Array("inc-x".utf8), value: [0xFF, 0x00, 0x13, 0x37]))
        _ = try await publisher.publish(openedEvent("inc-2", "e2"))
        var wrongType = try publisher.record(for: openedEvent("inc-3", "e3"))
        wrongType.headers = [KafkaHeader(name: TriageHeader.schema, string: "triage.v1.AgentEvent; v=1")]
        _ = try await producer.send(wrongType)
        _ = try await producer.send(
            KafkaProducerMessage(
                topic: topic, key: "inc-4", value: #"{"incidentId": "inc-4", "opened": {}}"#,
                headers: [KafkaHeader(name: TriageHeader.contentType, string: TriageHeader.jsonContentType)]
            )
        )
        _ = try await producer.send(KafkaProducerMessage(topic: topic, key: Array("inc-5".utf8), value: nil))
        _ = try await publisher.publish(openedEvent("inc-6", "e6"))

        let groupID = uniqueName("worker")
        let consumer = try KafkaConsumer(
            configuration: cluster.consumerConfiguration(group: groupID, topics: [topic]), logger: cluster.logger)
        let handled = HandledEvents()
        let worker = StreamWorker(
            processor: EventRecorder(input: topic, handled: handled), consumer: consumer, producer: producer,
            configuration: StreamWorkerConfiguration(
                worker: "recorder", client: cluster.embedded.clientConfiguration, deadLetterTopic: deadLetterTopic),
            logger: cluster.logger
        )
        let group = ServiceGroup(configuration: .init(services: [worker, consumer], logger: cluster.logger))
        let running = Task { try await group.run() }
        try await eventually("the valid events were handled") { handled.ids.withLock { $0.count } == 3 }
        #expect(handled.ids.withLock { $0 } == ["inc-1", "inc-2", "inc-6"], "valid events in order, around the poison ones")

        let inspector = try KafkaConsumer(
            configuration: cluster.consumerConfiguration(group: uniqueName("inspect"), topics: [deadLetterTopic]), logger: cluster.logger)
        let dead = try await withDeadline(.seconds(30)) { try await inspector.collect(4) }
        #expect(dead.count == 4)
        #expect(dead.map { $0.header(TriageHeader.deadLetterOffset)?.stringValue } == ["1", "3", "4", "5"])
        #expect(dead.allSatisfy { $0.header(TriageHeader.deadLetterTopic)?.stringValue == topic })
        #expect(dead.allSatisfy { $0.header(TriageHeader.deadLetterPartition)?.stringValue == "0" })
        #expect(dead.allSatisfy { $0.header(TriageHeader.deadLetterWorker)?.stringValue == "recorder" }, "names the worker")
        let reasons = dead.compactMap { $0.header(TriageHeader.deadLetterReason)?.stringValue }
        #expect(reasons[0].contains("not a decodable triage.v1.IncidentEvent"))
        #expect(reasons[1].contains("wrong message type"))
        #expect(reasons[2].contains("event_id"), "\(reasons[2])")
        #expect(reasons[3].contains("empty record value"))
        #expect(dead[0].value == [0xFF, 0x00, 0x13, 0x37], "the original bytes are kept")
        #expect(dead[0].keyString == "inc-x")

        // The worker committed past the poison records.
        await group.triggerGracefulShutdown()
        try await running.value
        await inspector.close()
        let probe = try KafkaConsumer(configuration: cluster.consumerConfiguration(group: groupID, topics: [topic]), logger: cluster.logger)
        let committed = try await probe.committedOffsets(for: [TopicPartition(topic, 0)])
        #expect(committed[TopicPartition(topic, 0)] == 7, "the poison records must not hold the partition back")
        await probe.close()
        await producer.close()
    }

    @Test func decoderChecksHeadersAgainstTheRecord() {
        let decoder = IncidentEventDecoder()
        let event = openedEvent("inc-1", "e1")
        var message = KafkaMessage(
            topic: "t", partition: 0, offset: 0, key: nil, value: try! event.serializedBytes(),
            headers: [KafkaHeader(name: TriageHeader.eventType, string: "Escalated")], timestamp: nil
        )
        guard case .failure(let reason) = decoder.decode(message) else {
            Issue.record("a lying triage-event-type header must be refused")
            return
        }
        #expect(reason.text.contains("Escalated"))
        message.headers = [KafkaHeader(name: TriageHeader.contentType, string: "text/csv")]
        guard case .failure(let csv) = decoder.decode(message) else {
            Issue.record("unsupported content types must be refused")
            return
        }
        #expect(csv.text.contains("text/csv"))
        message.headers = event.kafkaHeaders().map { KafkaHeader(name: $0.name, string: $0.value) }
        #expect((try? decoder.decode(message).get()) == event)
    }
}

/// Records the incident of every valid lifecycle event; dead-letters the rest with the decoder's reason.
private struct EventRecorder: StreamProcessor {
    typealias PartitionState = NoPartitionState
    let input: String
    let stateName = "nothing"
    let changelog: Changelog<NoPartitionState>? = nil
    let handled: HandledEvents
    let decoder = IncidentEventDecoder()

    mutating func assigned(_ states: [Int32: NoPartitionState], output: inout StreamOutput) throws {}
    mutating func revoked(_ partitions: [Int32]) {}
    mutating func process(_ records: [KafkaMessage], output: inout StreamOutput) throws {
        for record in records {
            switch decoder.decode(record) {
            case .success(let event): handled.ids.withLock { $0.append(event.incidentID) }
            case .failure(let reason): output.deadLetter(record, reason: reason)
            }
        }
    }
}

private final class HandledEvents: Sendable {
    let ids = Mutex<[String]>([])
}
