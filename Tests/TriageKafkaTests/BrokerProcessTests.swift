import Foundation
import Testing
import TriageChildProcess
import TriageKafka
import TriageKafkaTesting

/// Where kcat is, if installed. On CI (CI=true) a missing kcat is a failure, not a skip.
let kcatPath: String? = ["/usr/bin/kcat", "/usr/local/bin/kcat", "/usr/bin/kafkacat"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}
let kcatRequired = ProcessInfo.processInfo.environment["CI"] == "true"

@Suite("triage broker as a separate process, with kcat as an independent client")
struct BrokerProcessTests {
    @Test(.enabled(if: kcatPath != nil || kcatRequired, "kcat is not installed (apt-get install kcat)"))
    func kcatAndTheBindingInteroperate() async throws {
        let kcat = try #require(kcatPath, "kcat must be installed on CI")
        let broker = try await BrokerProcess(arguments: ["--brokers", "2", "--topic", "interop:1:2", "--topic", "back:1"])
        let client = KafkaClientConfiguration(bootstrap: broker.bootstrap, fetchWait: EmbeddedKafka.mockFetchWait)
        let logger = KafkaTestCluster.makeLogger("test.interop")

        // kcat → binding, with key and headers.
        let (produced, _, produceErrors) = try await runProcess(
            kcat,
            ["-P", "-b", broker.bootstrap, "-t", "interop", "-k", "incident-42", "-H", "triage-event-type=Opened", "-H", "trace=abc"],
            input: "hello from kcat\n"
        )
        #expect(produced == 0, "kcat -P failed: \(produceErrors)")
        var consumerConfiguration = KafkaConsumerConfiguration(groupID: uniqueName("interop"), topics: ["interop"], client: client)
        consumerConfiguration.fetchMaximumWait = .milliseconds(10)
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
        let received = try await withDeadline(.seconds(30)) { try await consumer.collect(1) }
        let message = try #require(received.first)
        #expect(message.keyString == "incident-42")
        #expect(message.valueString == "hello from kcat")
        #expect(message.header("triage-event-type")?.stringValue == "Opened")
        #expect(message.header("trace")?.stringValue == "abc")
        await consumer.close()

        // binding → kcat.
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client), logger: logger)
        _ = try await producer.send(
            KafkaProducerMessage(
                topic: "back", key: "incident-7", value: "hello from Swift",
                headers: [KafkaHeader(name: "content-type", string: "text/plain")])
        )
        await producer.close()
        let (consumed, output, consumeErrors) = try await runProcess(
            kcat, ["-C", "-b", broker.bootstrap, "-t", "back", "-o", "beginning", "-c", "1", "-e", "-f", "key=%k value=%s headers=%h\n"]
        )
        #expect(consumed == 0, "kcat -C failed: \(consumeErrors)")
        #expect(output.contains("key=incident-7 value=hello from Swift headers=content-type=text/plain"), "kcat printed: \(output)")

        // kcat sees the topics the broker created at start-up.
        let (listed, metadata, _) = try await runProcess(kcat, ["-L", "-b", broker.bootstrap, "-J"])
        #expect(listed == 0)
        #expect(metadata.contains("\"interop\"") && metadata.contains("\"back\""))

        #expect(try await broker.stop() == 0, "triage broker should exit 0 on SIGTERM")
    }

    @Test func adminListsAndDescribesTopicsOfTheBrokerProcess() async throws {
        let broker = try await BrokerProcess(arguments: ["--topic", "orders:2"])
        let logger = KafkaTestCluster.makeLogger("test.broker-process")
        let client = KafkaClientConfiguration(bootstrap: broker.bootstrap, fetchWait: EmbeddedKafka.mockFetchWait)
        let admin = try KafkaAdmin(configuration: client, logger: logger)
        let description = try await admin.describeTopic("orders")
        #expect(description.partitions.map(\.id) == [0, 1])
        let topics = try await admin.listTopics()
        #expect(topics.map(\.name).contains("orders"))
        let error = await #expect(throws: KafkaError.self) {
            try await admin.createTopics(
                [KafkaTopicSpecification(name: "new", partitions: 3, configs: ["cleanup.policy": "compact"])], timeout: .seconds(2))
        }
        #expect(error?.message.contains("`triage broker` with --triage-topics N") == true, "\(String(describing: error))")
        #expect(try await broker.stop() == 0)
    }

    @Test(.enabled(if: kcatPath != nil || kcatRequired, "kcat is not installed (apt-get install kcat)"))
    func aGroupSpansProcesses() async throws {
        let kcat = try #require(kcatPath, "kcat must be installed on CI")
        let broker = try await BrokerProcess(arguments: ["--topic", "shared:2"])
        let group = uniqueName("cross-process")
        // kcat joins the group first, as a balanced consumer in another process; it exits after 20 records.
        let kcatProcess = try ChildProcess(
            executable: kcat,
            arguments: [
                "-b", broker.bootstrap, "-G", group, "-X", "partition.assignment.strategy=cooperative-sticky",
                "-X", "session.timeout.ms=3000", "-X", "heartbeat.interval.ms=300", "-X", "fetch.wait.max.ms=10",
                "-X", "auto.offset.reset=earliest",  // kcat defaults to latest: under load it could start after our records
                "-c", "20", "-f", "%p:%s\n", "-u", "shared",
            ],
            standardOutput: .pipe, standardError: .nullDevice
        )
        defer { kcatProcess.send(SIGKILL) }
        let kcatOutput = kcatProcess.standardOutput!
        let kcatLines = Task { String(decoding: await readToEnd(kcatOutput), as: UTF8.self) }

        let logger = KafkaTestCluster.makeLogger("test.cross-process")
        let client = KafkaClientConfiguration(bootstrap: broker.bootstrap, fetchWait: EmbeddedKafka.mockFetchWait)
        var configuration = KafkaConsumerConfiguration(
            groupID: group, topics: ["shared"], client: client,
            sessionTimeout: .seconds(3), heartbeatInterval: .milliseconds(300), fetchMaximumWait: .milliseconds(10)
        )
        configuration.revocationTimeout = .seconds(10)
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        let ledger = Ledger()
        let member = Task { try await runMember("swift", consumer, ledger) }
        try await eventually("the Swift member and kcat each own one partition", timeout: .seconds(45)) {
            ledger.assignment(of: "swift").count == 1
        }
        let mine = try #require(ledger.assignment(of: "swift").first)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client), logger: logger)
        for index in 0..<20 {
            for partition in Int32(0)...1 {
                _ = try await producer.send(
                    KafkaProducerMessage(topic: "shared", value: Array("p\(partition)-\(index)".utf8), partition: partition))
            }
        }
        await producer.close()
        try await eventually("the Swift member got its partition's 20 records") { ledger.uniqueCount == 20 }
        try await Task.sleep(for: .milliseconds(500))
        #expect(ledger.processed.keys.allSatisfy { $0.hasPrefix("p\(mine.partition)-") }, "records of kcat's partition reached Swift")
        try await eventually("kcat read its 20 records and exited (-c 20)") { !kcatProcess.isRunning }
        let other = 1 - mine.partition
        let lines = await kcatLines.value.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("\(other):p\(other)-") }.count == 20, "kcat printed: \(lines.prefix(5))")
        #expect(!lines.contains { $0.hasPrefix("\(mine.partition):") })
        await consumer.close()
        _ = try await member.value
        #expect(try await broker.stop() == 0)
    }

    @Test func brokerRejectsBadArgumentsClearly() async throws {
        let (status, _, errors) = try await runProcess(triageExecutable, ["broker", "--brokers", "0"])
        #expect(status != 0)
        #expect(errors.contains("--brokers"))
        let (topicStatus, _, topicErrors) = try await runProcess(triageExecutable, ["broker", "--topic", "x:zero"])
        #expect(topicStatus != 0)
        #expect(topicErrors.contains("--topic"))
    }
}

@Suite("triage publish and triage tail")
struct PublishTailTests {
    @Test func publishLinesReportsBadLinesAndTailPrintsJSON() async throws {
        let broker = try await BrokerProcess(arguments: ["--topic", "triage.incident-events:3"])
        let opened = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("schemas/examples/opened.json"), encoding: .utf8)
        let oneLine = opened.replacingOccurrences(of: "\n", with: " ")
        let lines = [
            oneLine,
            "{not json",
            #"{"incidentId": "inc-2002", "acknowledged": {"agentId": "agent-9"}}"#,
            #"{"incidentId": "inc-2003", "opened": {"severity": "SEVERITY_A"}}"#,
        ].joined(separator: "\n")
        let (status, output, errors) = try await runProcess(
            triageExecutable, ["publish", "--bootstrap", broker.bootstrap, "--log-level", "error"], input: lines
        )
        #expect(status == 1, "a failed line must make the exit code non-zero")
        #expect(output.contains("line 1: inc-1001 Opened -> triage.incident-events["))
        #expect(output.contains("line 3: inc-2002 Acknowledged -> triage.incident-events["))
        #expect(output.contains("published 2, failed 2"))
        #expect(errors.contains("line 2: error"))
        #expect(errors.contains("line 4: error") && errors.contains("opened.customer_account"), "\(errors)")

        let (tailStatus, tailed, tailErrors) = try await runProcess(
            triageExecutable, ["tail", "--from-beginning", "--bootstrap", broker.bootstrap, "--log-level", "error"]
        )
        #expect(tailStatus == 0, "\(tailErrors)")
        let records = tailed.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(Set(records.compactMap { $0["incidentId"] as? String }) == ["inc-1001", "inc-2002"])
        let first = try #require(records.first { $0["incidentId"] as? String == "inc-1001" })
        #expect((first["opened"] as? [String: Any])?["severity"] as? String == "SEVERITY_B")

        let (_, filtered, _) = try await runProcess(
            triageExecutable,
            ["tail", "--from-beginning", "--incident", "inc-2002", "--bootstrap", broker.bootstrap, "--log-level", "error"]
        )
        #expect(filtered.split(separator: "\n").count == 1 && filtered.contains("inc-2002"))
        #expect(try await broker.stop() == 0)
    }

    /// A tail whose cluster goes away before it caught up (here while it joins its group, ~3 s on
    /// the mock) says it cannot reach the cluster within seconds; it waited for ever.
    @Test func tailGivesUpWhenTheClusterGoesAwayMidRead() async throws {
        let broker = try await BrokerProcess(arguments: ["--topic", "triage.incident-events:1"])
        async let tail = runProcess(
            triageExecutable, ["tail", "--from-beginning", "--bootstrap", broker.bootstrap, "--log-level", "critical"],
            timeout: .seconds(120))
        // Half a second: past the tail's first reach check (milliseconds), well before its group
        // join and catch-up end. After 2 s a CI run's tail had already finished (exit 0). Stopped
        // before the check, the tail fails the same way, from the check.
        try await Task.sleep(for: .milliseconds(500))
        _ = try await broker.stop()
        let (status, _, errors) = try await tail
        #expect(status == 1, "\(errors)")
        #expect(errors.contains("cannot reach the Kafka cluster at \(broker.bootstrap)"), "\(errors)")
    }

    /// Outside attack: a broker gone after the tail's partitions were assigned left the tail
    /// waiting for ever (librdkafka waits for a watermark answer without a limit) — without
    /// --follow too. It now gives up like a tail that could not reach the cluster at all.
    @Test func tailGivesUpWhenTheClusterGoesAwayAfterItsAssignment() async throws {
        let broker = try await BrokerProcess(arguments: ["--topic", "triage.incident-events:2"])
        let tail = try TriageProcess(["tail", "--bootstrap", broker.bootstrap, "--log-level", "info"])
        try await eventually("the tail's partitions assigned", timeout: .seconds(60)) { tail.output.contains("partitions assigned") }
        broker.process.send(SIGKILL)
        try await eventually("the tail gives up", timeout: .seconds(60)) { !tail.process.isRunning }
        let status = await tail.process.terminated().status
        #expect(status == 1, "\(tail.output.suffix(2_000))")
        #expect(tail.output.contains("cannot reach the Kafka cluster at \(broker.bootstrap)"), "\(tail.output.suffix(2_000))")
    }

    /// Thousands of lines are published many at a time (not one round trip each), yet every line
    /// is reported in input order, a bad line in the middle fails alone, and each incident's
    /// events keep their order on the topic.
    @Test func publishPipelinesThousandsOfLinesAndReportsEachInOrder() async throws {
        let broker = try await BrokerProcess(arguments: ["--topic", "triage.incident-events:4"])
        let incidents = 1_500
        var lines: [String] = []
        for index in 0..<incidents {
            lines.append(
                #"{"incidentId": "inc-p\#(index)", "opened": {"customerAccount": "a", "entitlementId": "p", "product": "billing", "severity": "SEVERITY_B", "coverage": "COVERAGE_24X7", "customerTimeZone": "UTC", "title": "t"}}"#
            )
            lines.append(#"{"incidentId": "inc-p\#(index)", "acknowledged": {"agentId": "agent-1"}}"#)
        }
        lines.insert("{not json", at: 1_234)  // line 1235
        lines.append(#"{"incidentId": "inc-bad", "opened": {"severity": "SEVERITY_A"}}"#)  // the last line
        let (status, output, errors) = try await runProcess(
            triageExecutable, ["publish", "--bootstrap", broker.bootstrap, "--log-level", "error"],
            input: lines.joined(separator: "\n"))
        #expect(status == 1, "a failed line must make the exit code non-zero")
        #expect(output.contains("published \(2 * incidents), failed 2"), "\(output.suffix(200))")
        #expect(errors.contains("line 1235: error") && errors.contains("line \(lines.count): error"), "\(errors)")
        // Every published line once, in input order; per incident, Opened before Acknowledged on one partition.
        var reported: [Int] = []
        var stored: [String: [(partition: Int, offset: Int)]] = [:]
        for match in output.matches(of: /line (\d+): (\S+) (\w+) -> triage.incident-events\[(\d+)\]@(\d+)/) {
            reported.append(Int(match.1)!)
            stored[String(match.2), default: []].append((Int(match.4)!, Int(match.5)!))
        }
        #expect(reported.count == 2 * incidents && reported == reported.sorted())
        #expect(!reported.contains(1_235))
        #expect(stored.count == incidents)
        for (incident, places) in stored {
            #expect(
                places.count == 2 && places[0].partition == places[1].partition && places[0].offset < places[1].offset,
                "\(incident): \(places)")
        }
        #expect(try await broker.stop() == 0)
    }
}
