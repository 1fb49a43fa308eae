import Foundation
import SwiftProtobuf
import Synchronization
import Testing
import TriageKafka
import TriageKafkaTesting
import TriageRouterWorker
import TriageRouting
import TriageSchema
import TriageStreams

@Suite("triage router processes: scale-out with a SIGKILL, audited")
struct RouterProcessTests {
    static let topics = [
        "\(TriageTopic.incidentEvents):6", "\(TriageTopic.agentEvents):3", "\(TriageTopic.routing):6", "\(TriageTopic.routingIndex):6",
        "\(TriageTopic.routerState):6", "\(TriageTopic.deadLetter):1",
        // The router asks for notices (agents, customers, queue alerts) here; it refuses to start without it.
        "\(TriageTopic.notificationRequests):3",
    ]

    @Test func threeRoutersTenThousandIncidentsOneKilled() async throws {
        try await HeavyTests.run { try await self.threeRoutersTenThousandIncidentsOneKilledBody() }
    }

    func threeRoutersTenThousandIncidentsOneKilledBody() async throws {
        let broker = try await BrokerProcess(arguments: Self.topics.flatMap { ["--topic", $0] })
        let logger = KafkaTestCluster.makeLogger("test.router-processes")
        let client = KafkaClientConfiguration(bootstrap: broker.bootstrap, fetchWait: EmbeddedKafka.mockFetchWait)

        // 200 agents in 8 teams, capacity 6 each, published with `triage agents apply`.
        let teams = (0..<8).map { "team-\($0)" }
        var roster = "agents:\n"
        var capacities: [String: Int] = [:]
        for index in 0..<200 {
            let id = "agent-\(index)"
            capacities[id] = 6
            roster +=
                "  - { id: \(id), team: \(teams[index % 8]), products: [billing, api], languages: [en], capacity: 6, presence: online }\n"
        }
        let rosterFile = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("roster") + ".yaml").path
        try roster.write(toFile: rosterFile, atomically: true, encoding: .utf8)
        let (applied, appliedOutput, appliedErrors) = try await runProcess(
            triageExecutable, ["agents", "apply", rosterFile, "--bootstrap", broker.bootstrap])
        #expect(applied == 0, "\(appliedErrors)")
        #expect(appliedOutput.contains("for 200 agent(s)"))

        let routerArguments = [
            "router", "--bootstrap", broker.bootstrap, "--session-timeout", "6", "--ops-port", "0", "--log-level", "warning",
        ]
        var routers = try (0..<3).map { _ in try TriageProcess(routerArguments) }

        let audit = AuditLog(capacities: capacities)
        let watcher = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                groupID: uniqueName("audit"), topics: [TriageTopic.incidentEvents], client: client,
                sessionTimeout: .seconds(3), heartbeatInterval: .milliseconds(300), fetchMaximumWait: .milliseconds(10)
            ),
            logger: logger
        )
        let watching = Task { for try await batch in watcher.batches { for message in batch { audit.record(message) } } }
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(5)), logger: logger)
        let publisher = IncidentEventPublisher(producer: producer)
        try await Task.sleep(for: .seconds(4))  // let the routers join

        // 10,000 incidents; each is closed 400 incidents later, so at most ~400 are open
        // (≈ 800 load units against 1,200 of capacity, but unevenly spread: some queue).
        let severities: [Severity] = [.a, .b, .c, .b, .c]
        let total = 10_000
        let window = 400
        func opened(_ index: Int) -> IncidentEvent {
            .with {
                $0.eventID = "open-\(index)"; $0.incidentID = "INC-\(index)"; $0.producer = "test"
                $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
                $0.opened = .with {
                    $0.customerAccount = "acme"; $0.entitlementID = "pack"; $0.product = index % 3 == 0 ? "api" : "billing"
                    $0.severity = severities[index % severities.count]; $0.coverage = .coverage24X7
                    $0.customerTimeZone = "UTC"; $0.title = "t"; $0.team = teams[index % 8]
                }
            }
        }
        func closed(_ index: Int) -> IncidentEvent {
            .with {
                $0.eventID = "close-\(index)"; $0.incidentID = "INC-\(index)"; $0.producer = "test"
                $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
                $0.closedResolved = .with { $0.closedBy = "agent" }
            }
        }
        var killed = false
        // Incidents are closed once they have been assigned and `window` newer ones opened, so
        // the routers work against real capacity limits (not on incidents already closed).
        var pendingCloses: [Int] = []
        func closeAssigned() async throws {
            var kept: [Int] = []
            for index in pendingCloses {
                if audit.auditor.withLock({ $0.holder(of: "INC-\(index)") != nil }) {
                    try await producer.enqueue(try publisher.record(for: closed(index)))
                } else {
                    kept.append(index)
                }
            }
            pendingCloses = kept
        }
        for index in 0..<total {
            try await producer.enqueue(try publisher.record(for: opened(index)))
            if index >= window { pendingCloses.append(index - window) }
            if index % 50 == 0 {
                try await closeAssigned()
                // Keep the routers within reach: wait while more than 600 opened are unplaced.
                let deadline = ContinuousClock.now + .seconds(20)
                while pendingCloses.count > 600, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                    try await closeAssigned()
                }
            }
            if index % 500 == 0 {
                // Presence flaps: 10 agents go offline and come back.
                for agent in stride(from: index % 200, to: 200, by: 20) {
                    let presence: Triage_V1_Presence = (index / 500) % 2 == 0 ? .offline : .online
                    let event = AgentEvent.with {
                        $0.eventID = "flap-\(agent)-\(index)"; $0.agentID = "agent-\(agent)"
                        $0.occurredAt = Google_Protobuf_Timestamp(date: Date()); $0.presenceChanged = .with { $0.presence = presence }
                    }
                    try await producer.enqueue(
                        KafkaProducerMessage(
                            topic: TriageTopic.agentEvents, key: Array("agent-\(agent)".utf8), value: try event.serializedBytes()))
                }
                try await Task.sleep(for: .milliseconds(150))
            }
            if index == total / 2 && !killed {
                routers[1].kill9()  // mid-run, no shutdown
                routers[1] = try TriageProcess(routerArguments)
                killed = true
            }
        }
        // Everyone back online at the end, so every open incident can be placed.
        for agent in 0..<200 {
            let event = AgentEvent.with {
                $0.eventID = "final-\(agent)"; $0.agentID = "agent-\(agent)"
                $0.occurredAt = Google_Protobuf_Timestamp(date: Date()); $0.presenceChanged = .with { $0.presence = .online }
            }
            try await producer.enqueue(
                KafkaProducerMessage(topic: TriageTopic.agentEvents, key: Array("agent-\(agent)".utf8), value: try event.serializedBytes()))
        }
        // Close the rest of the window's predecessors as they get assigned.
        let closing = ContinuousClock.now + .seconds(60)
        while !pendingCloses.isEmpty, ContinuousClock.now < closing {
            try await closeAssigned()
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(pendingCloses.isEmpty, "\(pendingCloses.count) incidents never assigned")
        try await producer.flush()

        try await eventually("every open incident assigned, the auditor caught up", timeout: .seconds(120)) {
            audit.opened.load(ordering: .relaxed) == total && audit.released.load(ordering: .relaxed) == total - window
                && audit.auditor.withLock { $0.unassigned.isEmpty }
        }
        let live = audit.auditor.withLock { $0 }
        let result = audit.causalReplay()
        print("live audit (watcher's read order): violations \(live.violations.count) \(live.violations.prefix(2))")
        print(
            "router processes audit: incidents \(total), assigned \(result.assignedCount), reassigned \(result.reassignedCount), "
                + "assigned across a close \(result.assignedAfterClose), duplicates dropped \(audit.duplicates.load(ordering: .relaxed)), "
                + "max load ratio \(String(format: "%.2f", result.maximumLoadRatio)), violations \(result.violations.count)"
        )
        #expect(result.violations.isEmpty, "\(result.violations.prefix(5))\n\(audit.histories(of: result.violations))")
        #expect(result.maximumLoadRatio <= 1.0)
        #expect(result.unassigned.isEmpty)

        // `triage agents` reads the roster and the desks back from the topics.
        let (listed, listing, listErrors) = try await runProcess(
            triageExecutable, ["agents", "--bootstrap", broker.bootstrap, "--log-level", "error"])
        #expect(listed == 0, "\(listErrors)")
        let rows = listing.split(separator: "\n").filter { $0.hasPrefix("agent-") }
        #expect(rows.count == 200, "\(listing.prefix(500))")
        #expect(rows.allSatisfy { $0.contains("online") }, "everyone was set online at the end")
        let loaded = rows.filter { row in
            guard let column = row.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first else { return false }
            return !column.hasPrefix("0/")
        }
        #expect(!loaded.isEmpty, "some agents hold the \(window) open incidents: \(rows.prefix(3))")

        for router in routers { #expect(try await router.stop() == 0, "graceful exit") }
        await watcher.close()
        _ = try? await watching.value
        #expect(try await broker.stop() == 0)
    }
}
