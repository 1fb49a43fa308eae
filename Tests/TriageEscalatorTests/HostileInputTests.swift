import Foundation
import Logging
import SwiftProtobuf
import Testing
import TriageKafka
import TriageKafkaTesting
import TriageSchema

/// Hostile records on every input topic, read by the real worker processes: truncated, huge,
/// a lying `triage-schema` header, valid protobuf of the wrong message, and a future schema
/// version with unknown fields. Each worker dead-letters what it cannot use (reason and origin
/// in the headers), passes the future version through, never crashes, and commits past all of
/// it — the valid records behind them are processed.
@Suite("Hostile input on every input topic")
struct HostileInputTests {
    /// The dead letters of records from `topic`, by the offset they had there.
    static func deadLettered(from topic: String, in deadLetters: [KafkaMessage]) -> [String: [KafkaMessage]] {
        Dictionary(grouping: deadLetters.filter { $0.header(TriageHeader.deadLetterTopic)?.stringValue == topic }) {
            $0.header(TriageHeader.deadLetterOffset)?.stringValue ?? "?"
        }
    }

    /// The topics with hostile records the workers dead-letter, and how many groups read each.
    static let readers = [TriageTopic.incidentEvents: 3, TriageTopic.notificationRequests: 1, TriageTopic.entitlementRequests: 1]

    @Test func everyWorkerDeadLettersHostileRecordsAndCarriesOn() async throws { try await HeavyTests.run { try await self.body() } }

    /// The hostile records for a topic whose messages are `message`'s type (`valid`: a good one).
    static func hostile(topic: String, valid: some SwiftProtobuf.Message, wrong: some SwiftProtobuf.Message, key: String) throws -> [(
        String, KafkaProducerMessage
    )] {
        let bytes: [UInt8] = try valid.serializedBytes()
        let schema = type(of: valid).protoMessageName
        func record(_ value: [UInt8], headers: [KafkaHeader] = []) -> KafkaProducerMessage {
            KafkaProducerMessage(topic: topic, key: Array(key.utf8), value: value, headers: headers)
        }
        return [
            ("truncated", record(Array(bytes.prefix(bytes.count / 2)))),
            ("huge", record(Array(repeating: 0xFF, count: 700_000))),
            ("wrong type header", record(bytes, headers: [KafkaHeader(name: TriageHeader.schema, string: "triage.v1.AgentEvent; v=1")])),
            (
                "wrong message",
                record(try wrong.serializedBytes(), headers: [KafkaHeader(name: TriageHeader.schema, string: "\(schema); v=1")])
            ),
        ]
    }

    /// `valid` from a future version: schema v=2 and a field this version does not know (number 999).
    static func future(_ valid: some SwiftProtobuf.Message, topic: String, key: String) throws -> KafkaProducerMessage {
        var bytes: [UInt8] = try valid.serializedBytes()
        bytes += [0xBA, 0x3E, 0x05] + Array("hello".utf8)  // field 999, length-delimited, "hello"
        return KafkaProducerMessage(
            topic: topic, key: Array(key.utf8), value: bytes,
            headers: [KafkaHeader(name: TriageHeader.schema, string: "\(type(of: valid).protoMessageName); v=2")]
        )
    }

    func body() async throws {
        let broker = try await BrokerProcess(arguments: TriageTopic.all.flatMap { ["--topic", "\($0):1"] })
        let client = KafkaClientConfiguration(bootstrap: broker.bootstrap, fetchWait: EmbeddedKafka.mockFetchWait)
        let logger = KafkaTestCluster.makeLogger("test.hostile")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("hostile")).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "tenants:\n  - name: acme\n    token: t\n    accounts: [acct-1]\n".write(
            toFile: folder + "/tenants.yaml", atomically: true, encoding: .utf8)
        try """
        endpoints:
          hook: { channel: webhook, url: "http://127.0.0.1:1/refused", secret_env: HOSTILE_KEY }
        recipients:
          team-lead: { endpoints: [hook] }
          support-manager: { endpoints: [hook] }
        retry: { max_attempts: 1 }
        """.write(toFile: folder + "/rules.yaml", atomically: true, encoding: .utf8)

        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client), logger: logger)
        let producing = Task { try await producer.run() }
        defer { producing.cancel() }
        let now = Date()
        func opened(_ id: String) -> IncidentEvent {
            .with {
                $0.eventID = "\(id)-opened"; $0.incidentID = id; $0.producer = "test"; $0.occurredAt = Google_Protobuf_Timestamp(date: now)
                $0.opened = .with {
                    $0.customerAccount = "acct-1"; $0.entitlementID = "pack"; $0.product = "billing"; $0.language = "en"; $0.severity = .c
                    $0.coverage = .coverage24X7; $0.customerTimeZone = "UTC"; $0.title = "hostile neighbours"; $0.team = "support"
                }
            }
        }
        let agent = AgentEvent.with {
            $0.eventID = "ada-profile"; $0.agentID = "ada"; $0.producer = "test"; $0.occurredAt = Google_Protobuf_Timestamp(date: now)
            $0.profile = .with {
                $0.team = "support"; $0.products = ["billing"]; $0.languages = ["en"]; $0.capacity = 3
            }
        }
        let online = AgentEvent.with {
            $0.eventID = "ada-online"; $0.agentID = "ada"; $0.producer = "test"; $0.occurredAt = Google_Protobuf_Timestamp(date: now)
            $0.presenceChanged = .with { $0.presence = .online }
        }
        let request = NotificationRequest.with {
            $0.idempotencyKey = "hostile-1"; $0.incidentID = "INC-H1"; $0.recipient = "team-lead"; $0.template = "escalated";
            $0.urgent = true
            $0.requestedAt = Google_Protobuf_Timestamp(date: now)
        }
        let ledgerRequest = EntitlementRequest.with {
            $0.requestID = "r-1"; $0.entitlementID = "pack"; $0.commandJson = "{}"; $0.requestedBy = "test"
        }

        // Hostile records first, then what must still be processed behind them.
        var hostile: [(topic: String, kind: String)] = []
        var records: [KafkaProducerMessage] = []
        for (kind, record) in try Self.hostile(topic: TriageTopic.incidentEvents, valid: opened("INC-X"), wrong: request, key: "INC-X") {
            hostile.append((TriageTopic.incidentEvents, kind))
            records.append(record)
        }
        // Instants outside Timestamp's range (found by an outside attack: INT64_MIN seconds
        // overflowed converting to a Date and crashed the escalator, router and analytics on every
        // restart; a negative nanos or a year before 1 stopped the analytics feed for good).
        for (kind, seconds, nanos) in [
            ("int64-min", Int64.min, Int32(0)), ("before-year-1", Int64(-9_000_000_000_000), 0), ("negative-nanos", 0, -1),
        ] {
            var event = opened("INC-TIME-\(kind)")
            event.occurredAt = .with {
                $0.seconds = seconds
                $0.nanos = nanos
            }
            hostile.append((TriageTopic.incidentEvents, "occurred_at \(kind)"))
            records.append(
                KafkaProducerMessage(
                    topic: TriageTopic.incidentEvents, key: Array(event.incidentID.utf8), value: try event.serializedBytes()))
        }
        records.append(try Self.future(opened("INC-FUTURE"), topic: TriageTopic.incidentEvents, key: "INC-FUTURE"))
        for (kind, record) in try Self.hostile(topic: TriageTopic.notificationRequests, valid: request, wrong: agent, key: "INC-H1") {
            hostile.append((TriageTopic.notificationRequests, kind))
            records.append(record)
        }
        for (kind, record) in try Self.hostile(topic: TriageTopic.entitlementRequests, valid: ledgerRequest, wrong: request, key: "pack") {
            hostile.append((TriageTopic.entitlementRequests, kind))
            records.append(record)
        }
        // The roster skips what it cannot read (every router reads it whole, outside any
        // committed group: dead-lettering would repeat per instance); the agent behind counts.
        for (_, record) in try Self.hostile(topic: TriageTopic.agentEvents, valid: agent, wrong: request, key: "ada") {
            records.append(record)
        }
        var agentOutOfTime = online
        agentOutOfTime.occurredAt.seconds = .min
        records.append(
            KafkaProducerMessage(topic: TriageTopic.agentEvents, key: Array("ada".utf8), value: try agentOutOfTime.serializedBytes()))
        records.append(try Self.future(agent, topic: TriageTopic.agentEvents, key: "ada"))
        records.append(KafkaProducerMessage(topic: TriageTopic.agentEvents, key: Array("ada".utf8), value: try online.serializedBytes()))
        records.append(
            KafkaProducerMessage(
                topic: TriageTopic.incidentEvents, key: Array("INC-OK".utf8), value: try opened("INC-OK").serializedBytes()))
        records.append(
            KafkaProducerMessage(topic: TriageTopic.notificationRequests, key: Array("INC-H1".utf8), value: try request.serializedBytes()))
        _ = try await producer.sendAll(records)

        let common = ["--bootstrap", broker.bootstrap, "--session-timeout", "3", "--ops-port", "0", "--log-level", "info"]
        let workers = try [
            TriageProcess(["escalator"] + common), TriageProcess(["analytics"] + common), TriageProcess(["router"] + common),
            TriageProcess(["notifier", "--rules", folder + "/rules.yaml"] + common, environment: ["HOSTILE_KEY": "k"]),
            TriageProcess(
                ["intake", "--tenants", folder + "/tenants.yaml", "--port", "\(try freeLoopbackPort())", "--host", "127.0.0.1"] + common),
        ]

        // Behind the hostile records: the valid Opened and the future-version one reach analytics,
        // and the router assigns INC-OK to ada (whose profile came after hostile agent events).
        let hostileRecords = hostile
        try await eventually("the valid records behind the hostile ones were processed", timeout: .seconds(180)) {
            let analytics = try await readTopic(TriageTopic.analytics, client: client, logger: logger).compactMap(\.valueString)
            let lifecycle = try await readTopic(TriageTopic.incidentEvents, client: client, logger: logger).compactMap {
                try? IncidentEvent(serializedBytes: Array($0.valueBytes ?? []))
            }
            guard
                analytics.contains(where: { $0.contains("INC-OK-opened") })
                    && analytics.contains(where: { $0.contains("INC-FUTURE-opened") })
                    && lifecycle.contains(where: { $0.incidentID == "INC-OK" && $0.assigned.agentID == "ada" })
            else { return false }
            // And every reading group has got past its hostile records (a CI run once stopped the
            // workers before the notifier, joining last under load, had read its topic).
            let dead = try await readTopicWithHeaders(TriageTopic.deadLetter, client: client, logger: logger)
            return Self.readers.allSatisfy { topic, groups in
                let offsets = hostileRecords.filter { $0.topic == topic }.count
                let copies = Self.deadLettered(from: topic, in: dead)
                return (0..<offsets).allSatisfy { (copies[String($0)]?.count ?? 0) >= groups }
            }
        }
        let deadLetters = try await readTopicWithHeaders(TriageTopic.deadLetter, client: client, logger: logger)
        for worker in workers { #expect(worker.process.isRunning, "no crash: \(worker.output.suffix(1_000))") }
        for worker in workers { #expect(try await worker.stop(timeout: .seconds(30)) == 0, "\(worker.output.suffix(1_000))") }

        // Every hostile record was dead-lettered (with its topic, offset and a reason) by each
        // group that reads its topic; the future version was not.
        for (topic, groups) in Self.readers {
            let offsets = hostile.filter { $0.topic == topic }.count
            let byOffset = Self.deadLettered(from: topic, in: deadLetters)
            #expect(
                Set(byOffset.keys).isSuperset(of: (0..<offsets).map(String.init)),
                "\(topic): the \(offsets) hostile records dead-lettered, got offsets \(byOffset.keys.sorted())")
            for (offset, copies) in byOffset where Int(offset).map({ $0 < offsets }) ?? true {
                #expect(copies.count == groups, "\(topic)@\(offset): one copy per reading group")
                for copy in copies {
                    let reason = copy.header(TriageHeader.deadLetterReason)?.stringValue ?? ""
                    #expect(!reason.isEmpty, "\(topic)@\(offset) has a reason")
                }
            }
            let dead = byOffset.values.joined()
            print(
                "\(topic): \(dead.count) dead-lettered, reasons: \(Set(dead.compactMap { $0.header(TriageHeader.deadLetterReason)?.stringValue?.prefix(60) }).sorted())"
            )
        }
        #expect(
            !deadLetters.contains { $0.keyString == "INC-FUTURE" || $0.keyString == "INC-OK" },
            "the future version and the valid event pass")

        // And every group committed past all of it: nothing holds a partition back.
        for (group, topic) in [
            ("triage-escalator", TriageTopic.incidentEvents), ("triage-analytics", TriageTopic.incidentEvents),
            ("triage-router-dispatch", TriageTopic.incidentEvents), ("triage-notifier", TriageTopic.notificationRequests),
            ("triage-ledger", TriageTopic.entitlementRequests),
        ] {
            let end = try await readTopic(topic, client: client, logger: logger).count
            // Read without joining the group (a consumer closed while its join is still in
            // progress trips an assertion in librdkafka 2.0.2).
            let committed = try await KafkaGroupLagReader(client: client, logger: logger).lag(group: group, topic: topic, partitions: [0])
                .partitions.first?.committed
            #expect(committed == Int64(end), "\(group) committed to the end of \(topic) (\(end))")
        }
        _ = try await broker.stop()
    }

    func readTopic(_ topic: String, client: KafkaClientConfiguration, logger: Logging.Logger) async throws -> [KafkaMessage] {
        let sink = RecordSink()
        _ = try await KafkaPartitionReader.readToEnd(topic: topic, partitions: [0], client: client, logger: logger) { record in
            sink.add(record, topic: topic)
        }
        return sink.records.withLock { $0 }
    }

    /// With headers: a consumer in a group of its own, from the beginning to the current end.
    func readTopicWithHeaders(_ topic: String, client: KafkaClientConfiguration, logger: Logging.Logger) async throws -> [KafkaMessage] {
        let end = try await readTopic(topic, client: client, logger: logger).count
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                groupID: uniqueName("inspect"), topics: [topic], client: client, sessionTimeout: .seconds(3),
                heartbeatInterval: .milliseconds(300)),
            logger: logger
        )
        let records = try await withDeadline(.seconds(60)) { try await consumer.collect(end, storingOffsets: false) }
        await consumer.close()
        return records
    }
}
