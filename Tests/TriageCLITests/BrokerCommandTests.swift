import Foundation
import Testing
import TriageKafka
import TriageKafkaTesting
import TriageSchema
import TriageStreams

@Suite("triage commands against a broker, and without one")
struct BrokerCommandTests {
    /// Outside attack: `triage tail` without --from-beginning on a topic with records never
    /// ended (its partitions had no position, so their lag counted from the start), against its
    /// help ("Without --follow it stops once it has caught up with every partition").
    @Test func tailOfNewRecordsOnlyEndsOnATopicWithOldOnes() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic("old", partitions: 2)
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        _ = try await producer.sendAll(
            (0..<6).map { KafkaProducerMessage(topic: topic, key: Array("k\($0)".utf8), value: Array("v\($0)".utf8)) })
        await producer.close()
        let (status, output, errors) = try await triage(
            ["tail", topic, "--bootstrap", cluster.bootstrapServers, "--log-level", "error"], timeout: .seconds(40))
        #expect(status == 0, "\(errors)")
        #expect(output.isEmpty, "only records written after the start are printed: \(output)")
    }

    /// Second outside attack: records written in the ~3 s between the tail's start and its
    /// group's assignment were never printed (librdkafka's `latest` is the end as of the first
    /// fetch). They are now: the partitions are sought to their ends as of the start.
    @Test func tailOfNewRecordsPrintsThoseWrittenBeforeItsAssignment() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic("early", partitions: 2)
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        _ = try await producer.sendAll(
            (0..<4).map { KafkaProducerMessage(topic: topic, key: Array("old\($0)".utf8), value: Array("old".utf8)) })
        let tail = try TriageProcess(["tail", topic, "--bootstrap", cluster.bootstrapServers, "--log-level", "debug"])
        try await eventually("the tail looked up where it starts", timeout: .seconds(30)) {
            tail.output.contains("reading the records written from now on")
        }
        #expect(!tail.output.contains("partitions assigned"), "assigned already: the test proves nothing")
        let keys = (0..<4).map { "new\($0)" }
        _ = try await producer.sendAll(keys.map { KafkaProducerMessage(topic: topic, key: Array($0.utf8), value: Array("new".utf8)) })
        await producer.close()
        try await eventually("the tail ends", timeout: .seconds(40)) { !tail.process.isRunning }
        #expect(await tail.process.terminated().status == 0, "\(tail.output)")
        let printed = jsonLines(tail.output.split(separator: "\n").filter { $0.hasPrefix("{") }.joined(separator: "\n"))
        #expect(Set(printed.compactMap { $0["key"] as? String }) == Set(keys), "\(tail.output.suffix(3_000))")
    }

    /// Third outside attack: without --follow, a tail of a topic written to a few times a second
    /// never ended (it waited for half a second with no record, chasing the moving end). It now
    /// reads up to the ends as of its start and stops; what it prints has no gaps.
    @Test func tailEndsOnATopicWrittenToAllTheTime() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic("busy", partitions: 2)
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        _ = try await producer.sendAll(
            (0..<20).map { KafkaProducerMessage(topic: topic, key: Array("k\($0)".utf8), value: Array("v".utf8)) })
        let writing = Task {
            var index = 20
            while !Task.isCancelled {
                _ = try await producer.send(KafkaProducerMessage(topic: topic, key: Array("k\(index)".utf8), value: Array("v".utf8)))
                index += 1
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        defer { writing.cancel() }
        let tail = try TriageProcess(["tail", topic, "--from-beginning", "--bootstrap", cluster.bootstrapServers, "--log-level", "error"])
        try await eventually("the tail ends", timeout: .seconds(40)) { !tail.process.isRunning }
        #expect(await tail.process.terminated().status == 0, "\(tail.output.suffix(2_000))")
        var offsets: [Int: [Int]] = [:]
        for line in jsonLines(tail.output.split(separator: "\n").filter { $0.hasPrefix("{") }.joined(separator: "\n")) {
            offsets[line["partition"] as! Int, default: []].append(line["offset"] as! Int)
        }
        #expect(offsets.values.reduce(0) { $0 + $1.count } >= 20)
        for (partition, read) in offsets { #expect(read == Array(0..<read.count), "partition \(partition): \(read)") }
        writing.cancel()
        _ = await writing.result
        await producer.close()
    }

    @Test func tailDecodesEveryRecordByItsSchemaHeader() async throws {
        let cluster = try KafkaTestCluster()
        try cluster.embedded.createTopic(TriageTopic.analytics, partitions: 1, replicationFactor: 1)
        try cluster.embedded.createTopic(TriageTopic.agentEvents, partitions: 1, replicationFactor: 1)
        let other = try cluster.makeTopic("other")
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        let agent = AgentEvent.with {
            $0.eventID = "a1"
            $0.agentID = "ada"
            $0.presenceChanged = .with { $0.presence = .online }
        }
        let binary: [UInt8] = [0x08, 0x96, 0x01, 0xFF, 0x00]
        _ = try await producer.send(
            KafkaProducerMessage(
                topic: TriageTopic.analytics, key: Array("inc-1".utf8), value: Array(#"{"incidentId":"inc-1","minutes":12.5}"#.utf8),
                headers: [
                    KafkaHeader(name: TriageHeader.contentType, string: TriageHeader.jsonContentType),
                    KafkaHeader(name: TriageHeader.schema, string: "triage.v1.AnalyticsRecord"),
                ]
            )
        )
        _ = try await producer.send(
            KafkaProducerMessage(
                topic: TriageTopic.agentEvents, key: Array("ada".utf8), value: try agent.serializedBytes(),
                headers: [KafkaHeader(name: TriageHeader.schema, string: "\(AgentEvent.protoMessageName); v=1")]
            )
        )
        _ = try await producer.send(
            KafkaProducerMessage(
                topic: other, key: Array("k".utf8), value: binary,
                headers: [KafkaHeader(name: TriageHeader.schema, string: "acme.v1.Thing; v=3")]
            )
        )
        let dead = try cluster.makeTopic("dead")
        _ = try await producer.send(
            KafkaProducerMessage(
                topic: dead, key: Array("k".utf8), value: binary,
                headers: [
                    KafkaHeader(name: "triage-dlq-reason", string: "not a decodable triage.v1.EntitlementRequest"),
                    KafkaHeader(name: "triage-dlq-topic", string: TriageTopic.entitlementRequests),
                ]
            )
        )
        await producer.close()

        func tail(_ topic: String) async throws -> [String: Any] {
            let (status, output, errors) = try await triage([
                "tail", topic, "--from-beginning", "--bootstrap", cluster.bootstrapServers, "--log-level", "error",
            ])
            #expect(status == 0, "\(errors)")
            let records = jsonLines(output)
            #expect(records.count == 1, "\(output)")
            let record = records.first ?? [:]
            #expect(record["error"] == nil, "\(topic): \(record)")
            return record
        }
        let analytics = try await tail(TriageTopic.analytics)
        #expect(analytics["schema"] as? String == "triage.v1.AnalyticsRecord")
        #expect((analytics["value"] as? [String: Any])?["minutes"] as? Double == 12.5, "\(analytics)")
        let agentRecord = try await tail(TriageTopic.agentEvents)
        #expect((agentRecord["value"] as? [String: Any])?["agentId"] as? String == "ada", "\(agentRecord)")
        let unknown = try await tail(other)
        #expect(unknown["schema"] as? String == "acme.v1.Thing; v=3")
        #expect((unknown["valueBase64"] as? String).flatMap { Data(base64Encoded: $0) }.map(Array.init) == binary, "\(unknown)")
        #expect(unknown["headers"] == nil)
        let deadLetter = try await tail(dead)
        let deadHeaders = deadLetter["headers"] as? [String: String]
        #expect(deadHeaders?["triage-dlq-reason"] == "not a decodable triage.v1.EntitlementRequest", "\(deadLetter)")
        #expect(deadHeaders?["triage-dlq-topic"] == TriageTopic.entitlementRequests, "\(deadLetter)")
    }

    @Test func publishStampsSlaTimeAndTailPipesIntoExplain() async throws {
        let cluster = try KafkaTestCluster()
        try cluster.embedded.createTopic(TriageTopic.incidentEvents, partitions: 3, replicationFactor: 1)
        let bootstrap = ["--bootstrap", cluster.bootstrapServers, "--log-level", "error"]
        // An escalator on ×360 SLA time started 10 s ago: SLA time is an hour past its origin.
        let origin = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 10).rounded(.down))
        let time = ["--time-scale", "360", "--time-origin", rfc3339(origin)]
        let (status, output, errors) = try await triage(
            [
                "publish", "opened", "--incident", "inc-scaled", "--severity", "A", "--coverage", "24x7", "--product", "billing",
                "--customer-account", "acct-1", "--entitlement", "pack-1", "--title", "t",
            ] + time + bootstrap
        )
        #expect(status == 0, "\(output)\(errors)")
        let acknowledged = #"{"incidentId": "inc-scaled", "acknowledged": {"agentId": "ada"}}"#
        let (linesStatus, _, linesErrors) = try await triage(["publish"] + time + bootstrap, input: acknowledged + "\n")
        #expect(linesStatus == 0, "\(linesErrors)")

        let (tailStatus, tailed, tailErrors) = try await triage(["tail", "--from-beginning", "--incident", "inc-scaled"] + bootstrap)
        #expect(tailStatus == 0, "\(tailErrors)")
        let stamps = jsonLines(tailed).compactMap { ($0["occurredAt"] as? String).flatMap { try? Date($0, strategy: .iso8601) } }
        #expect(stamps.count == 2, "\(tailed)")
        for stamp in stamps {
            // Wall-clock stamps would be ~1 hour before SLA time: overdue at once.
            #expect(stamp.timeIntervalSince(origin) > 3_000, "stamped \(stamp), SLA time origin \(origin)")
        }

        // triage tail | triage sla explain --events -, on the same SLA clock.
        let (explained, timeline, explainErrors) = try await triage(["sla", "explain", "--events", "-"] + time, input: tailed)
        #expect(explained == 0, "\(explainErrors)")
        #expect(timeline.contains("incident inc-scaled: 2 event(s)") && timeline.contains("Acknowledged"), "\(timeline)")
        let asOf = timeline.split(separator: "\n").first { $0.hasPrefix("as of ") } ?? ""
        #expect(
            asOf.contains("(SLA time ×360.0): sev A 24x7, first_response stopped"),
            "acknowledged: the first response clock stopped\n\(timeline)")
    }

    @Test func withoutABrokerCommandsSaySoPromptly() async throws {
        let port = try freeLoopbackPort()
        let bootstrap = "127.0.0.1:\(port)"
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("unreachable-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let roster = folder + "/roster.yaml"
        try "agents:\n  - { id: a1, team: t, products: [billing], languages: [en], capacity: 2 }\n".write(
            toFile: roster, atomically: true, encoding: .utf8)
        let opened = folder + "/opened.json"
        try
            #"{"eventId":"e1","incidentId":"inc-1","opened":{"customerAccount":"a","entitlementId":"p","product":"billing","language":"en","severity":"SEVERITY_B","coverage":"COVERAGE_24X7","customerTimeZone":"UTC","title":"t"}}"#
            .write(toFile: opened, atomically: true, encoding: .utf8)
        let commands: [[String]] = [
            ["entitlements", "show"],
            ["entitlements", "grant", "--id", "PACK-1", "--kind", "5-pack", "--account", "acct-1"],
            ["entitlements", "transfer", "PACK-1", "--to", "acct-2"],
            ["entitlements", "billing", "PACK-1", "inc-1", "--refund"],
            ["agents"],
            ["tail"],
            // These waited minutes (their records' delivery timeout) before they asked first.
            ["agents", "apply", roster],
            ["publish", "--file", opened],
            ["topics", "list"],
            ["topics", "create", "--all", "--partitions", "3"],
        ]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for command in commands {
                group.addTask {
                    let started = ContinuousClock.now
                    let (status, _, errors) = try await triage(
                        command + ["--bootstrap", bootstrap, "--log-level", "critical"], timeout: .seconds(30))
                    let took = ContinuousClock.now - started
                    #expect(status == 1, "\(command): \(errors)")
                    #expect(errors.contains("cannot reach the Kafka cluster at \(bootstrap)"), "\(command): \(errors)")
                    #expect(!errors.contains("Usage") && !errors.contains("does not exist"), "\(command): \(errors)")
                    // Minutes before (their records' delivery timeout); the reach check gives up after a
                    // few seconds. Ten at once on a loaded two-core machine took 9.0–9.2 s: the bound
                    // tells "promptly" from "minutes", not how fast a process starts.
                    #expect(took < .seconds(20), "\(command) took \(took)")
                }
            }
            try await group.waitForAll()
        }
    }
}

@Suite("triage sla explain on SLA time")
struct ExplainClockTests {
    func event(_ id: String, _ at: Date, _ body: String) -> String {
        #"{"eventId": "\#(id)", "incidentId": "inc-x", "occurredAt": "\#(rfc3339(at))", \#(body)}"#
    }

    @Test func asOfIsTheEscalatorsScaledClock() async throws {
        let origin = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 10).rounded(.down))
        let file = try temporaryFile(
            event(
                "e1", origin,
                #""opened": {"customerAccount": "a", "entitlementId": "p", "product": "billing", "severity": "SEVERITY_A", "coverage": "COVERAGE_24X7", "title": "t"}"#
            ) + "\n"
        )
        let (status, output, errors) = try await triage([
            "sla", "explain", "--events", file, "--time-scale", "360", "--time-origin", rfc3339(origin),
        ])
        #expect(status == 0, "\(errors)")
        // 10 real seconds at ×360 are an hour of SLA time: about 60 of the 120 minutes are used.
        let asOf = try #require(output.split(separator: "\n").first { $0.hasPrefix("as of ") }, "\(output)")
        let used = try #require(asOf.firstMatch(of: /first_response running ([0-9.]+)\/120/).flatMap { Double($0.1) }, "\(asOf)")
        #expect(used > 55, "\(asOf)")
    }

    @Test func aClosedIncidentHasNothingDueButAReopenWindow() async throws {
        let opened = Date(timeIntervalSince1970: 1_772_830_800)  // 2026-03-06T21:00:00Z
        let text = [
            event(
                "e1", opened,
                #""opened": {"customerAccount": "a", "entitlementId": "p", "product": "billing", "severity": "SEVERITY_B", "coverage": "COVERAGE_24X7", "title": "t"}"#
            ),
            event("e2", opened.addingTimeInterval(600), #""closedUnresolved": {"closedBy": "ada", "reason": "gone"}"#),
        ].joined(separator: "\n")
        let (status, output, errors) = try await triage(
            ["sla", "explain", "--events", "-", "--until", "2026-03-07T00:00:00Z"], input: text)
        #expect(status == 0, "\(errors)")
        #expect(output.contains("next due: nothing (closed)"), "\(output)")
        #expect(output.contains("reopen window: open until 2026-04-05T21:10:00Z"), "\(output)")
        #expect(!output.contains("next due: 2026"), "\(output)")
    }

    @Test func theShippedExamplesAreAccepted() async throws {
        let examples = try FileManager.default.contentsOfDirectory(atPath: repositoryRoot + "/schemas/examples").filter {
            $0.hasSuffix(".json")
        }.sorted()
        #expect(examples.count >= 5)
        var all = ""
        for example in examples {
            let text = try String(contentsOfFile: repositoryRoot + "/schemas/examples/" + example, encoding: .utf8)
            all += text + "\n"
            let (status, _, errors) = try await triage([
                "sla", "explain", "--events", "schemas/examples/" + example, "--until", "2026-04-01T00:00:00Z",
            ])
            #expect(status == 0, "\(example): \(errors)")
        }
        // All of them concatenated, from standard input.
        let (status, output, errors) = try await triage(
            ["sla", "explain", "--events", "-", "--incident", "inc-1001", "--until", "2026-04-01T00:00:00Z"], input: all)
        #expect(status == 0, "\(errors)")
        #expect(output.contains("incident inc-1001:"), "\(output)")
        // A bad value: its line, no usage.
        let (bad, _, badErrors) = try await triage(["sla", "explain", "--events", "-"], input: all + "{\n  \"incidentId\": 7\n}\n")
        #expect(bad == 1)
        let badLine = all.split(separator: "\n", omittingEmptySubsequences: false).count
        #expect(badErrors.contains("standard input:\(badLine):"), "\(badErrors)")
        #expect(!badErrors.contains("Usage"), "\(badErrors)")
    }
}
