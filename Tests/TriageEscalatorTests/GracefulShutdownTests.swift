import Foundation
import Logging
import SwiftProtobuf
import Synchronization
import Testing
import TriageKafka
import TriageKafkaTesting
import TriageSchema
import TriageStreams

/// SIGTERM while records keep arriving: the worker stops fetching, finishes what it holds,
/// commits, leaves the group and exits 0 within its budget; every record below the committed
/// offsets has its effect in the output topics (nothing lost); a restarted worker takes over
/// from there and the output is complete.
@Suite("Graceful shutdown under load: analytics, escalator and router processes")
struct GracefulShutdownTests {
    static let partitions = 4
    static let topics = [
        "\(TriageTopic.incidentEvents):\(partitions)", "\(TriageTopic.slaState):\(partitions)",
        "\(TriageTopic.incidentState):\(partitions)",
        "\(TriageTopic.analytics):\(partitions)", "\(TriageTopic.notificationRequests):1", "\(TriageTopic.deadLetter):1",
        "\(TriageTopic.routing):\(partitions)", "\(TriageTopic.routingIndex):\(partitions)", "\(TriageTopic.routerState):\(partitions)",
        "\(TriageTopic.agentEvents):1",
    ]
    /// The shutdown budget the Helm chart's terminationGracePeriodSeconds must exceed.
    static let budget = Duration.seconds(30)

    @Test func sigtermUnderLoadCommitsAndLosesNothing() async throws {
        try await HeavyTests.run { try await self.sigtermUnderLoadCommitsAndLosesNothingBody() }
    }

    func sigtermUnderLoadCommitsAndLosesNothingBody() async throws {
        let broker = try await BrokerProcess(arguments: Self.topics.flatMap { ["--topic", $0] })
        let logger = KafkaTestCluster.makeLogger("test.shutdown")
        let client = KafkaClientConfiguration(bootstrap: broker.bootstrap, fetchWait: EmbeddedKafka.mockFetchWait)
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(2)), logger: logger)
        let producing = Task { try await producer.run() }
        defer { producing.cancel() }
        let publisher = IncidentEventPublisher(producer: producer, validator: .init(allowedClockSkew: 86_400))

        // Load: Opened events at ~300/s until told to stop.
        let published = Atomic<Int>(0)
        let load = Task {
            var index = 0
            while !Task.isCancelled {
                let event = IncidentEvent.with {
                    $0.eventID = "load-\(index)"; $0.incidentID = "INC-LOAD-\(index)"; $0.producer = "test"
                    $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
                    $0.opened = .with {
                        $0.customerAccount = "acme"; $0.entitlementID = "pack"; $0.product = "billing"; $0.severity = .c;
                        $0.coverage = .coverage24X7
                        $0.customerTimeZone = "UTC"; $0.title = "load \(index)"; $0.language = "en"
                    }
                }
                try? await producer.enqueue(publisher.record(for: event))
                published.add(1, ordering: .relaxed)
                index += 1
                if index % 30 == 0 { try? await Task.sleep(for: .milliseconds(100)) }
            }
        }
        let common = ["--bootstrap", broker.bootstrap, "--session-timeout", "3", "--ops-port", "0", "--log-level", "warning"]
        // The router has no agents: every incident queues, so its desk grows by ~300 a second
        // (each step must stay cheap however long the queue is).
        let workers = [("analytics", "triage-analytics"), ("escalator", "triage-escalator"), ("router", "triage-router-dispatch")]
        var processes = try workers.map { try TriageProcess([$0.0] + common) }
        try await Task.sleep(for: .seconds(8))  // join, restore, process a while under load

        // SIGTERM under load; each must exit 0 within the budget.
        for (index, process) in processes.enumerated() {
            let started = ContinuousClock.now
            let status = try await process.stop(timeout: Self.budget)
            let took = ContinuousClock.now - started
            print("\(workers[index].0): SIGTERM under load → exit \(status) after \(took)")
            #expect(status == 0, "\(workers[index].0): \(process.output.suffix(2_000))")
            #expect(took < Self.budget)
        }
        load.cancel()
        _ = await load.result
        try await producer.flush()
        let total = published.load(ordering: .relaxed)

        // Committed offsets of each group: everything below them has its output.
        let lifecycle = (0..<Int32(Self.partitions)).map { TopicPartition(TriageTopic.incidentEvents, $0) }
        // Read without joining the groups (a consumer closed while its join is still in
        // progress trips an assertion in librdkafka 2.0.2).
        func committedOffsets(_ group: String, _ topic: String) async throws -> [TopicPartition: Int64] {
            let lag = try await KafkaGroupLagReader(client: client, logger: logger).lag(
                group: group, topic: topic, partitions: (0..<Int32(Self.partitions)).map { $0 })
            return Dictionary(
                uniqueKeysWithValues: lag.partitions.compactMap { entry in
                    entry.committed.map { (TopicPartition(topic, entry.partition), $0) }
                })
        }
        var committed: [String: [TopicPartition: Int64]] = [:]
        for (_, group) in workers { committed[group] = try await committedOffsets(group, TriageTopic.incidentEvents) }
        _ = lifecycle
        let lifecycleRecords = try await readTopic(TriageTopic.incidentEvents, client: client, logger: logger)
        #expect(lifecycleRecords.count == total)
        func below(_ group: String) -> [KafkaMessage] {
            lifecycleRecords.filter { $0.offset < (committed[group]?[TopicPartition($0.topic, $0.partition)] ?? 0) }
        }
        let analyticsDone = below("triage-analytics")
        let escalatorDone = below("triage-escalator")
        print(
            "shutdown under load: published \(total); committed by analytics \(analyticsDone.count), by the escalator \(escalatorDone.count)"
        )
        #expect(analyticsDone.count > 0 && escalatorDone.count > 0, "both made progress before SIGTERM")

        let analytics = Set(
            try await readTopic(TriageTopic.analytics, client: client, logger: logger).compactMap { record -> String? in
                guard let value = record.valueBytes, let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any]
                else { return nil }
                return object["event_id"] as? String
            })
        let doneIDs = analyticsDone.compactMap { try? IncidentEvent(serializedBytes: Array($0.valueBytes ?? [])).eventID }
        #expect(doneIDs.count == analyticsDone.count)
        let missingAnalytics = doneIDs.filter { !analytics.contains($0) }
        #expect(missingAnalytics.isEmpty, "committed but no analytics record: \(missingAnalytics.prefix(5))")
        let slaState = Set(try await readTopic(TriageTopic.slaState, client: client, logger: logger).compactMap(\.keyString))
        let missingState = escalatorDone.compactMap(\.keyString).filter { !slaState.contains($0) }
        #expect(missingState.isEmpty, "committed but no SLA state: \(missingState.prefix(5))")

        // The router's two stages: every event below the dispatcher's offsets was forwarded to
        // its team's routing partition; every routing record below the desk stage's offsets has
        // its incident in the stored queue (no agents: all of them queue).
        let routed = try await readTopic(TriageTopic.routing, client: client, logger: logger)
        func incident(_ record: KafkaMessage) -> String? { try? IncidentEvent(serializedBytes: Array(record.valueBytes ?? [])).incidentID }
        let forwarded = Set(routed.compactMap(incident))
        let dispatched = below("triage-router-dispatch").compactMap(incident)
        #expect(!dispatched.isEmpty)
        let missingRouted = dispatched.filter { !forwarded.contains($0) }
        #expect(missingRouted.isEmpty, "committed by the dispatcher but not forwarded: \(missingRouted.prefix(5))")
        let deskCommitted = try await committedOffsets("triage-router", TriageTopic.routing)
        let decided = routed.filter { $0.offset < (deskCommitted[TopicPartition($0.topic, $0.partition)] ?? 0) }
        let queued = try await storedQueue(client: client, logger: logger)
        let missingQueued = decided.compactMap(incident).filter { !queued.contains($0) }
        print("router: dispatched \(dispatched.count), desk stage committed \(decided.count), stored queue \(queued.count)")
        #expect(!decided.isEmpty)
        #expect(missingQueued.isEmpty, "committed by the desk stage but not in the stored queue: \(missingQueued.prefix(5))")

        // Restarted, they take over from the committed offsets and finish the rest.
        processes = try workers.map { try TriageProcess([$0.0] + common) }
        try await eventually("every event has its analytics record", timeout: .seconds(60)) {
            try await readTopic(TriageTopic.analytics, client: client, logger: logger).count >= total
        }
        try await eventually("every incident is in the router's stored queue", timeout: .seconds(60)) {
            try await storedQueue(client: client, logger: logger).count == total
        }
        for process in processes { #expect(try await process.stop(timeout: Self.budget) == 0) }
        _ = try await broker.stop()
    }

    /// The incidents queued in `triage.router-state` now: keys TEAM + U+001F + incident whose
    /// latest record is not a tombstone (fence records, keyed U+001F `fence`, left out).
    func storedQueue(client: KafkaClientConfiguration, logger: Logging.Logger) async throws -> Set<String> {
        var latest: [String: Bool] = [:]
        for record in try await readTopic(TriageTopic.routerState, client: client, logger: logger) {
            guard let key = record.key, let cut = key.firstIndex(of: 0x1F), cut > 0 else { continue }
            latest[String(decoding: key[(cut + 1)...], as: UTF8.self)] = record.value != nil
        }
        return Set(latest.filter(\.value).keys)
    }

    /// Every record of `topic` now (partitions read to their end outside any group).
    func readTopic(_ topic: String, client: KafkaClientConfiguration, logger: Logging.Logger) async throws -> [KafkaMessage] {
        let admin = try KafkaAdmin(configuration: client, logger: logger)
        let partitions = try await admin.describeTopic(topic).partitions.map(\.id)
        let sink = RecordSink()
        _ = try await KafkaPartitionReader.readToEnd(topic: topic, partitions: partitions, client: client, logger: logger) { record in
            sink.add(record, topic: topic)
        }
        return sink.records.withLock { $0 }
    }
}

/// Copies records out of a partition reader's callback.
final class RecordSink: Sendable {
    let records = Mutex<[KafkaMessage]>([])
    func add(_ record: borrowing KafkaRecordView, topic: String) {
        let message = KafkaMessage(
            topic: topic, partition: record.partition, offset: record.offset, key: record.key.map { Array($0) },
            value: record.value.map { Array($0) },
            headers: [], timestamp: nil
        )
        records.withLock { $0.append(message) }
    }
}
