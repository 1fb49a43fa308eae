import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Testing
import TriageEntitlements
import TriageIntake
import TriageKafka
import TriageKafkaTesting
import TriageSchema

@Suite("triage intake processes: the last-credit race, operator commands")
struct IntakeProcessTests {
    static let topics = [
        "\(TriageTopic.entitlementRequests):6", "\(TriageTopic.entitlements):6", "\(TriageTopic.entitlementReplies):3",
        "\(TriageTopic.incidentDirectory):3", "\(TriageTopic.incidentEvents):6", "\(TriageTopic.incidentState):6",
        "\(TriageTopic.deadLetter):1",
    ]

    /// Two intake processes (each one also a ledger member), many trials of two concurrent opens
    /// on a pack's last credit, one through each intake: exactly one wins every time.
    @Test func theLastCreditGoesToExactlyOneOfTwoConcurrentOpens() async throws {
        try await HeavyTests.run { try await self.theLastCreditGoesToExactlyOneOfTwoConcurrentOpensBody() }
    }

    func theLastCreditGoesToExactlyOneOfTwoConcurrentOpensBody() async throws {
        let broker = try await BrokerProcess(arguments: Self.topics.flatMap { ["--topic", $0] })
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("intake")).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Tokens.tenantsYAML.write(toFile: folder + "/tenants.yaml", atomically: true, encoding: .utf8)
        func intake(_ name: String) throws -> TriageProcess {
            try TriageProcess(
                [
                    "intake", "--bootstrap", broker.bootstrap, "--tenants", folder + "/tenants.yaml", "--port", "0", "--port-file",
                    "\(folder)/\(name).port",
                    "--ops-port", "0", "--session-timeout", "3", "--log-level", "warning",
                ],
                environment: ["BETA_TOKEN": Tokens.beta]
            )
        }
        let intakes = try [intake("a"), intake("b")]
        var ports: [Int] = []
        for name in ["a", "b"] {
            let file = "\(folder)/\(name).port"
            try await eventually("intake \(name) listens", timeout: .seconds(60)) { FileManager.default.fileExists(atPath: file) }
            try await eventually("intake \(name) wrote its port") {
                ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").hasSuffix("\n")
            }
            ports.append(Int(try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))!)
        }

        // Operators grant with the CLI (the first waits for the ledger group to form).
        let trials = 40
        let purchase = "2026-01-15T09:00:00Z"
        let (granted, grantOutput, grantErrors) = try await runProcess(
            triageExecutable,
            [
                "entitlements", "grant", "--bootstrap", broker.bootstrap, "--id", "RACE-0", "--kind", "5-pack", "--account", "ACME",
                "--credits", "1", "--purchased-at", purchase,
            ],
            timeout: .seconds(60)
        )
        #expect(granted == 0, "\(grantErrors)")
        #expect(grantOutput.contains("granted RACE-0"))
        let logger = KafkaTestCluster.makeLogger("test.intake-processes")
        let client = KafkaClientConfiguration(bootstrap: broker.bootstrap, fetchWait: EmbeddedKafka.mockFetchWait)
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(1)), logger: logger)
        let ledger = LedgerClient(producer: producer, client: client, replyPartitions: [0, 1, 2], timeout: .seconds(30), logger: logger)
        let background = Task {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await producer.run() }
                group.addTask { try await ledger.run() }
            }
        }
        defer { background.cancel() }
        let purchased = ISO8601DateFormatter().date(from: purchase)!
        for index in 1..<trials {
            let spec = GrantSpec(
                id: "RACE-\(index)", kind: .fivePack, account: "ACME", purchasedAt: purchased, timeZone: "UTC", credits: 1, coverage: nil,
                calendar: nil, termYears: 1)
            _ = try await ledger.submit(.grant(spec), entitlementID: spec.id, requestID: "grant/\(spec.id)", requestedBy: "test").outcome
                .get()
        }

        // The races.
        var winners: [Int: [String]] = [:]
        var losers: [Int: [String]] = [:]
        let acme = Tokens.metadata(Tokens.acme)
        try await withGRPCClient(
            transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: ports[0]), transportSecurity: .plaintext)
        ) { a in
            try await withGRPCClient(
                transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: ports[1]), transportSecurity: .plaintext)
            ) { b in
                let first = Triage_V1_IncidentIntake.Client(wrapping: a)
                let second = Triage_V1_IncidentIntake.Client(wrapping: b)
                for index in 0..<trials {
                    let pack = "RACE-\(index)"
                    async let viaA = status { try await first.openIncident(openRequest("a-\(index)", entitlement: pack), metadata: acme) }
                    async let viaB = status { try await second.openIncident(openRequest("b-\(index)", entitlement: pack), metadata: acme) }
                    for (via, outcome) in await [("a", viaA), ("b", viaB)] {
                        if let (code, message) = outcome {
                            #expect(code == .failedPrecondition, "\(pack) via \(via): \(code) \(message)")
                            losers[index, default: []].append(via)
                        } else {
                            winners[index, default: []].append(via)
                        }
                    }
                }
            }
        }
        let exactlyOne = (0..<trials).filter { winners[$0]?.count == 1 && losers[$0]?.count == 1 }.count
        let winsA = winners.values.filter { $0 == ["a"] }.count
        print("last-credit race: \(trials) trials, exactly one winner in \(exactlyOne); won via intake a \(winsA), via b \(trials - winsA)")
        #expect(exactlyOne == trials)

        // The ledger's state agrees: every pack has exactly one charge.
        let (shown, showOutput, _) = try await runProcess(
            triageExecutable, ["entitlements", "show", "--bootstrap", broker.bootstrap, "RACE-0", "RACE-1"])
        #expect(shown == 0)
        #expect(showOutput.components(separatedBy: "0 of 1 credits left").count == 3, "\(showOutput)")
        #expect(showOutput.components(separatedBy: "  charge INC-").count == 3, "\(showOutput)")

        // A transfer with the CLI: the remaining credits go to the new account.
        let spec = GrantSpec(
            id: "MOVE-1", kind: .fivePack, account: "ACME", purchasedAt: purchased, timeZone: "UTC", credits: 5, coverage: nil,
            calendar: nil, termYears: 1)
        _ = try await ledger.submit(.grant(spec), entitlementID: spec.id, requestID: "grant/MOVE-1", requestedBy: "test").outcome.get()
        try await withGRPCClient(
            transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: ports[0]), transportSecurity: .plaintext)
        ) { a in
            let intake = Triage_V1_IncidentIntake.Client(wrapping: a)
            let opened = try await intake.openIncident(openRequest("move-1", entitlement: "MOVE-1"), metadata: acme)
            #expect(opened.creditsRemaining == 4)
            let (moved, movedOutput, movedErrors) = try await runProcess(
                triageExecutable,
                ["entitlements", "transfer", "--bootstrap", broker.bootstrap, "MOVE-1", "--to", "ACME-EU", "--by", "ops"],
                timeout: .seconds(60)
            )
            #expect(moved == 0, "\(movedErrors)")
            #expect(movedOutput.contains("transferred MOVE-1: ACME → ACME-EU"))
            let oldOwner = await status { try await intake.openIncident(openRequest("move-2", entitlement: "MOVE-1"), metadata: acme) }
            #expect(oldOwner?.0 == .permissionDenied, "\(String(describing: oldOwner))")
            let newOwner = try await intake.openIncident(openRequest("move-3", account: "ACME-EU", entitlement: "MOVE-1"), metadata: acme)
            #expect(newOwner.creditsRemaining == 3)
        }

        // The same calls from the command line (`triage call`).
        let call = ["call", "--intake", "127.0.0.1:\(ports[1])", "--token", Tokens.acme]
        let (opened, openedJSON, openedErrors) = try await runProcess(
            triageExecutable,
            call + [
                "OpenIncident",
                #"{"requestId":"cli-1","customerAccount":"ACME-EU","entitlementId":"MOVE-1","product":"billing","language":"en","severity":"SEVERITY_A","customerTimeZone":"Europe/Zurich","title":"from the shell"}"#,
            ],
            timeout: .seconds(60)
        )
        #expect(opened == 0, "\(openedErrors)")
        #expect(openedJSON.contains(#""creditsRemaining":2"#), "\(openedJSON)")
        let incident = try #require(openedJSON.range(of: #"INC-[0-9A-F]{16}"#, options: .regularExpression).map { String(openedJSON[$0]) })
        let (acked, ackedJSON, _) = try await runProcess(
            triageExecutable, call + ["Acknowledge", #"{"requestId":"cli-2","incidentId":"\#(incident)","agentId":"ana"}"#],
            timeout: .seconds(60)
        )
        #expect(acked == 0)
        #expect(ackedJSON.contains(#""eventId":"intake-"#), "\(ackedJSON)")
        // The staff calls too, with the person acted for.
        let (moved, movedJSON, movedErrors) = try await runProcess(
            triageExecutable,
            call + ["--actor", "lee", "Reassign", #"{"requestId":"cli-4","incidentId":"\#(incident)","toQueue":true}"#],
            timeout: .seconds(60)
        )
        #expect(moved == 0, "\(movedErrors)")
        #expect(movedJSON.contains(#""eventId":"intake-"#), "\(movedJSON)")
        let (refused, _, refusedErrors) = try await runProcess(
            triageExecutable,
            call + [
                "OpenIncident",
                #"{"requestId":"cli-3","customerAccount":"ACME","entitlementId":"RACE-0","product":"billing","language":"en","severity":"SEVERITY_B","customerTimeZone":"UTC","title":"t"}"#,
            ],
            timeout: .seconds(60)
        )
        #expect(refused == 2)
        #expect(refusedErrors.contains("FAILED_PRECONDITION: ") && refusedErrors.contains("RACE-0"), "\(refusedErrors)")
        let (denied, _, deniedErrors) = try await runProcess(
            triageExecutable,
            ["call", "--intake", "127.0.0.1:\(ports[1])", "--token", "wrong", "GetIncident", #"{"incidentId":"\#(incident)"}"#],
            timeout: .seconds(60)
        )
        #expect(denied == 2)
        #expect(deniedErrors.contains("UNAUTHENTICATED: "), "\(deniedErrors)")

        for process in intakes { #expect(try await process.stop() == 0, "\(process.output)") }
        _ = try await broker.stop()
    }

    /// A bad tenants or billing file stops start-up with the file, line and key; so does a
    /// missing token variable and a missing topic.
    @Test func badConfigurationFailsFastNamingTheKey() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("intake-config")).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "tenants:\n  - name: acme\n    token: x\n    acounts: [ACME]\n".write(
            toFile: folder + "/typo.yaml", atomically: true, encoding: .utf8)
        try "tenants:\n  - name: acme\n    token_env: TRIAGE_NOT_SET_ANYWHERE\n    accounts: [ACME]\n".write(
            toFile: folder + "/env.yaml", atomically: true, encoding: .utf8)
        try "unresolved_closes:\n  default: maybe\n".write(toFile: folder + "/billing.yaml", atomically: true, encoding: .utf8)
        try "tenants:\n  - name: acme\n    token: x\n    accounts: [ACME]\n".write(
            toFile: folder + "/good.yaml", atomically: true, encoding: .utf8)
        func start(_ arguments: [String]) async throws -> (Int32, String) {
            let (code, _, errors) = try await runProcess(
                triageExecutable, ["intake", "--bootstrap", "127.0.0.1:1", "--port", "0", "--ops-port", "0"] + arguments,
                timeout: .seconds(60))
            return (code, errors)
        }
        let (typo, typoErrors) = try await start(["--tenants", folder + "/typo.yaml"])
        #expect(typo != 0)
        #expect(typoErrors.contains("typo.yaml:4:5"), "\(typoErrors)")
        #expect(typoErrors.contains("accounts"), "did you mean: \(typoErrors)")
        let (env, envErrors) = try await start(["--tenants", folder + "/env.yaml"])
        #expect(env != 0)
        #expect(envErrors.contains("TRIAGE_NOT_SET_ANYWHERE"), "\(envErrors)")
        let (billing, billingErrors) = try await start(["--tenants", folder + "/good.yaml", "--billing", folder + "/billing.yaml"])
        #expect(billing != 0)
        #expect(billingErrors.contains("billing.yaml:2:") && billingErrors.contains("unresolved_closes.default"), "\(billingErrors)")

        let broker = try await BrokerProcess(arguments: ["--topic", "\(TriageTopic.entitlementRequests):3"])
        let (code, _, missing) = try await runProcess(
            triageExecutable,
            ["intake", "--bootstrap", broker.bootstrap, "--tenants", folder + "/good.yaml", "--port", "0", "--ops-port", "0"],
            input: nil, timeout: .seconds(60)
        )
        #expect(code != 0)
        // Every missing topic in one error, with the command that creates them all.
        #expect(missing.contains("topic(s) missing: ") && missing.contains(TriageTopic.entitlements + ","), "\(missing)")
        #expect(!missing.contains(TriageTopic.entitlementRequests + ","), "\(missing)")
        #expect(missing.contains("triage topics create --all --partitions N"), "\(missing)")
        _ = try await broker.stop()
    }

    /// Kafka properties from the environment (how the Helm chart passes SASL credentials): a
    /// `TRIAGE_KAFKA_*` variable becomes a librdkafka property, checked like `--kafka-property`.
    @Test func kafkaPropertiesComeFromTheEnvironment() async throws {
        let process = try TriageProcess(
            ["topics", "list", "--bootstrap", "127.0.0.1:1", "--log-level", "error"],
            environment: ["TRIAGE_KAFKA_SOCKET_TIMEOUT_MS": "not-a-number"]
        )
        try await eventually("triage topics exits", timeout: .seconds(30)) { !process.process.isRunning }
        #expect(await process.process.terminated() != .exited(0))
        #expect(process.output.contains("socket.timeout.ms"), "\(process.output)")
    }
}
