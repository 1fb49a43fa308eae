import Foundation
import Logging
import Synchronization
import Testing
import TriageKafka
import TriageKafkaTesting
import TriageSchema

/// Every producer of lifecycle events speaks the contract: a `triage dev` run (simulator, demo
/// portal through the intake, router, escalator) with a team too small for its load — so agents
/// going offline send unacknowledged incidents back to the queue — publishes only events that
/// pass ``IncidentEventValidator``, leaves `triage.dead-letter` empty and says so in its live line.
@Suite("lifecycle events of every producer pass the shared validator")
struct LifecycleContractTests {
    @Test func aDevRunPublishesOnlyValidEventsAndDeadLettersNothing() async throws {
        try await HeavyTests.run { try await self.body() }
    }

    func body() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("contract"))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // Two agents with little room: when one goes offline, the other is full and its
        // unacknowledged incidents go back to the queue.
        let roster = folder.appendingPathComponent("roster.yaml")
        try """
        agents:
          - { id: ada, team: tier-1, products: [billing], languages: [en], capacity: 3 }
          - { id: bob, team: tier-1, products: [billing], languages: [en], capacity: 3 }
        """.write(to: roster, atomically: true, encoding: .utf8)
        let portFile = folder.appendingPathComponent("bootstrap").path
        let dev = try TriageProcess([
            "dev", "--roster", roster.path, "--port-file", portFile, "--dashboard-port", "0", "--intake-port", "0", "--ops-port", "0",
            "--time-scale", "720", "--incident-rate", "3", "--portal-interval", "1", "--rate", "20", "--report-interval", "2",
            "--log-level", "warning", "--console-port", "0",
        ])
        try await eventually("triage dev writes its bootstrap", timeout: .seconds(60)) {
            ((try? String(contentsOfFile: portFile, encoding: .utf8)) ?? "").hasSuffix("\n")
        }
        let bootstrap = try String(contentsOfFile: portFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let client = KafkaClientConfiguration(bootstrap: bootstrap, fetchWait: EmbeddedKafka.mockFetchWait)
        let logger = Logger(label: "contract-test")
        // Long enough for presence changes (every 3 s) to hit held, unacknowledged incidents.
        try await eventually("queue returns, escalations and intake events on the lifecycle topic", timeout: .seconds(150)) {
            let kinds = try await Self.read(client: client, logger: logger).reduce(into: Set<String>()) { kinds, event in
                kinds.insert("\(event.1.producer)/\(event.1.eventTypeName ?? "?")")
            }
            return kinds.contains("router/ReturnedToQueue") && kinds.contains("escalator/Escalated") && kinds.contains("intake/Opened")
        }
        try await Task.sleep(for: .seconds(5))  // the workers' own consumption of the last of them
        let events = try await Self.read(client: client, logger: logger)
        // Dev events occur on scaled SLA time, ahead of the wall clock; the escalator checks them
        // against its own scaled clock (an event it refused would be a dead letter, checked below).
        let validator = IncidentEventValidator(allowedClockSkew: 86_400 * 365)
        var problems: [String] = []
        var producers: Set<String> = []
        for (offset, event) in events {
            producers.insert(event.producer)
            for violation in validator.violations(of: event) {
                problems.append("\(event.producer) \(event.eventTypeName ?? "?") @\(offset): \(violation)")
            }
        }
        #expect(problems.isEmpty, "\(problems.count) invalid events, first: \(problems.prefix(5))")
        // The router names where an incident went (a queue return is a ReturnedToQueue), and
        // its decisions are never dated before the incident they decide (one clock for the run).
        let targetless = events.filter {
            $0.1.producer == "router" && $0.1.eventTypeName == "Reassigned" && $0.1.reassigned.toAgentID.isEmpty
        }
        #expect(targetless.isEmpty, "\(targetless.count) router Reassigned without a target")
        var openedAt: [String: Date] = [:]
        for (_, event) in events where event.eventTypeName == "Opened" { openedAt[event.incidentID] = event.occurredAt.date }
        let early = events.filter { _, event in
            guard event.producer == "router", let opened = openedAt[event.incidentID] else { return false }
            return event.occurredAt.date < opened.addingTimeInterval(-1)
        }
        #expect(
            early.isEmpty,
            "\(early.count) router decisions dated before their incident's Opened, first: \(early.prefix(3).map { "\($0.1.incidentID) \($0.1.eventTypeName ?? "?") \($0.1.occurredAt.date) < \(openedAt[$0.1.incidentID]!)" })"
        )
        #expect(producers.isSuperset(of: ["router", "escalator", "intake", "simulator"]), "producers seen: \(producers.sorted())")
        var deadLetters: [String] = []
        let partitions = try await KafkaAdmin(configuration: client, logger: logger).describeTopic(TriageTopic.deadLetter).partitions.map(
            \.id)
        let found = Mutex<[String]>([])
        _ = try await KafkaPartitionReader.readToEnd(topic: TriageTopic.deadLetter, partitions: partitions, client: client, logger: logger)
        { record in
            let reason = record.header(TriageHeader.deadLetterReason).map { String(decoding: $0, as: UTF8.self) } ?? "?"
            found.withLock { $0.append(reason) }
        }
        deadLetters = found.withLock { $0 }
        #expect(deadLetters.isEmpty, "\(deadLetters.count) dead letters, first: \(deadLetters.prefix(3))")
        try await eventually("the live line reports the dead-letter count", timeout: .seconds(20)) {
            dev.output.contains("dead letters 0 (triage.dead-letter)")
        }
        #expect(try await dev.stop(timeout: .seconds(60)) == 0, "\(dev.output.suffix(2_000))")
    }

    /// Every lifecycle event on the topic so far, with its partition/offset.
    static func read(client: KafkaClientConfiguration, logger: Logger) async throws -> [(String, IncidentEvent)] {
        let partitions = try await KafkaAdmin(configuration: client, logger: logger).describeTopic(TriageTopic.incidentEvents).partitions
            .map(\.id)
        let events = Mutex<[(String, IncidentEvent)]>([])
        _ = try await KafkaPartitionReader.readToEnd(
            topic: TriageTopic.incidentEvents, partitions: partitions, client: client, logger: logger
        ) { record in
            guard let value = record.value else { return }
            let event = try IncidentEvent(serializedBytes: Array(value.bindMemory(to: UInt8.self)))
            events.withLock { $0.append(("\(record.partition)/\(record.offset)", event)) }
        }
        return events.withLock { $0 }
    }
}
