import Foundation
import Logging
import ServiceLifecycle
import SwiftProtobuf
import Synchronization
import Testing
import TriageKafka
import TriageKafkaTesting
import TriageRouterWorker
import TriageRouting
import TriageSLA
import TriageSchema
import TriageStreams

/// Replays the lifecycle topic into an ``AssignmentAuditor``.
///
/// Live (`record`), events are audited in the order the watcher reads them, which interleaves
/// the topic's partitions arbitrarily: a desk's Assigned (partition 3) can be read before the
/// close (partition 2) that freed the capacity it used. That is fine for progress, but the
/// verdict comes from ``causalReplay()``: every event again, ordered by record creation time
/// (router decisions after other events of the same millisecond). Any input a desk processed
/// before a decision was created before it, so this order never shows a desk less than it
/// knew; it can only show it more (closes it had not seen yet), which makes the check no weaker
/// for what the desk decided on.
final class AuditLog: Sendable {
    let auditor: Mutex<AssignmentAuditor>
    let opened = Atomic<Int>(0)
    let released = Atomic<Int>(0)
    let seen = Mutex<Set<String>>([])
    let duplicates = Atomic<Int>(0)
    private let capacities: [String: Int]
    private let events = Mutex<[AuditedEvent]>([])

    init(capacities: [String: Int]) {
        self.capacities = capacities
        auditor = Mutex(AssignmentAuditor(capacities: capacities))
    }

    func record(_ message: KafkaMessage) {
        guard let value = message.valueBytes, let event = try? IncidentEvent(serializedBytes: Array(value)) else { return }
        // Consumers drop duplicates by event id (a re-published outbox after a crash).
        guard seen.withLock({ $0.insert(event.eventID).inserted }) else {
            duplicates.add(1, ordering: .relaxed)
            return
        }
        events.withLock {
            $0.append(
                AuditedEvent(
                    timestamp: message.timestamp ?? .distantFuture, partition: message.partition, offset: message.offset, event: event))
        }
        auditor.withLock { Self.apply(event, to: &$0) }
        switch event.event {
        case .opened: opened.add(1, ordering: .relaxed)
        case .closedResolved, .closedUnresolved, .closeRequestedByCustomer: released.add(1, ordering: .relaxed)
        default: break
        }
    }

    /// The verdict: every recorded event audited again in causal order (partitions merged by
    /// creation time, each in its own order: ``AssignmentAuditor/causalOrder(_:)``).
    func causalReplay() -> AssignmentAuditor {
        var audit = AssignmentAuditor(capacities: capacities)
        for entry in AssignmentAuditor.causalOrder(recorded) { audit.apply(entry) }
        return audit
    }

    var recorded: [AuditedEvent] { events.withLock { $0 } }

    /// The lifecycle of the incidents behind `violations`, for the failure message.
    func histories(of violations: [String]) -> String {
        AssignmentAuditor.histories(of: violations, in: recorded).joined(separator: "\n---\n")
    }

    static func apply(_ event: IncidentEvent, to audit: inout AssignmentAuditor) { audit.apply(event) }
}

@Suite("Router on the embedded broker: two instances, audited invariants")
struct RouterTests {
    @Test func twoRoutersNeverOverAssignAndForgetNothing() async throws {
        let cluster = try KafkaTestCluster()
        var topics = RouterTopics()
        topics.incidentEvents = try cluster.makeTopic("incident-events", partitions: 4)
        topics.agentEvents = try cluster.makeTopic("agent-events", partitions: 2)
        topics.routing = try cluster.makeTopic("routing", partitions: 4)
        topics.routingIndex = try cluster.makeTopic("routing-index", partitions: 4)
        topics.deskState = try cluster.makeTopic("router-state", partitions: 4)
        topics.deadLetter = try cluster.makeTopic("dead-letter", partitions: 1)
        let client = cluster.embedded.clientConfiguration
        let logger = cluster.logger
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: logger)
        let publisher = IncidentEventPublisher(producer: producer, topic: topics.incidentEvents)

        // 3 teams × 10 agents, capacity 6 (180 load units in all), everyone online.
        let teams = ["tier-1", "tier-2", "platform"]
        var capacities: [String: Int] = [:]
        for (teamIndex, team) in teams.enumerated() {
            for index in 0..<10 {
                let id = "agent-\(teamIndex)-\(index)"
                capacities[id] = 6
                for event in [
                    AgentEvent.with {
                        $0.eventID = "\(id)-profile"; $0.agentID = id; $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
                        $0.profile = .with {
                            $0.team = team; $0.products = ["billing", "api"]; $0.languages = ["en"]; $0.capacity = 6
                        }
                    },
                    AgentEvent.with {
                        $0.eventID = "\(id)-online"; $0.agentID = id; $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
                        $0.presenceChanged = .with { $0.presence = .online }
                    },
                ] {
                    _ = try await producer.send(
                        KafkaProducerMessage(topic: topics.agentEvents, key: Array(id.utf8), value: try event.serializedBytes()))
                }
            }
        }

        let audit = AuditLog(capacities: capacities)
        let watcher = try KafkaConsumer(
            configuration: cluster.consumerConfiguration(group: uniqueName("audit"), topics: [topics.incidentEvents]), logger: logger)
        let watching = Task { for try await batch in watcher.batches { for message in batch { audit.record(message) } } }

        let group = uniqueName("router")
        func start() async throws -> (RouterInstance, ServiceGroup) {
            let instance = try await RouterInstance(
                client: client, policy: RoutingPolicy(), group: group, defaultTeam: "tier-1", sessionTimeout: .seconds(3), logger: logger,
                topics: topics
            )
            return (instance, ServiceGroup(configuration: .init(services: instance.services.map { .init(service: $0) }, logger: logger)))
        }
        let (first, firstGroup) = try await start()
        let firstRunning = Task { try await firstGroup.run() }
        try await eventually("the first router owns its partitions", timeout: .seconds(30)) { first.router.statistics.partitions == 4 }

        // 300 incidents: more work (≈600 load units) than capacity (180): most of it queues.
        let severities: [Severity] = [.a, .b, .c, .b, .c]
        for index in 0..<300 {
            _ = try await publisher.publish(
                IncidentEvent.with {
                    $0.eventID = "open-\(index)"; $0.incidentID = "INC-\(index)"; $0.producer = "test"
                    $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
                    $0.opened = .with {
                        $0.customerAccount = "acme"; $0.entitlementID = "pack"; $0.product = index % 2 == 0 ? "billing" : "api"
                        $0.severity = severities[index % severities.count]; $0.coverage = .coverage24X7
                        $0.customerTimeZone = "UTC"; $0.title = "t"; $0.team = teams[index % 3]
                    }
                }
            )
        }
        // A second instance joins: desks move between instances mid-stream.
        let (second, secondGroup) = try await start()
        let secondRunning = Task { try await secondGroup.run() }
        // Presence flaps while incidents are being assigned.
        for round in 0..<3 {
            for id in ["agent-0-1", "agent-1-2", "agent-2-3"] {
                let presence: Triage_V1_Presence = round % 2 == 0 ? .offline : .online
                let event = AgentEvent.with {
                    $0.eventID = "\(id)-flap-\(round)"; $0.agentID = id; $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
                    $0.presenceChanged = .with { $0.presence = presence }
                }
                _ = try await producer.send(
                    KafkaProducerMessage(topic: topics.agentEvents, key: Array(id.utf8), value: try event.serializedBytes()))
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        try await eventually("the second router owns part of the desks", timeout: .seconds(40)) { second.router.statistics.partitions > 0 }
        // Close 240 of them (freeing capacity) so the remaining 60 all fit.
        for index in 0..<240 {
            _ = try await publisher.publish(
                IncidentEvent.with {
                    $0.eventID = "close-\(index)"; $0.incidentID = "INC-\(index)"; $0.producer = "test"
                    $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
                    $0.closedResolved = .with { $0.closedBy = "agent" }
                }
            )
        }
        try await eventually("every open incident is assigned", timeout: .seconds(60)) {
            audit.opened.load(ordering: .relaxed) == 300 && audit.released.load(ordering: .relaxed) == 240
                && audit.auditor.withLock { $0.unassigned.isEmpty }
        }
        let result = audit.causalReplay()
        print(
            "router audit: assigned \(result.assignedCount), reassigned \(result.reassignedCount), "
                + "assigned across a close \(result.assignedAfterClose), max load ratio \(String(format: "%.2f", result.maximumLoadRatio)), "
                + "violations \(result.violations.count); first decided \(first.router.statistics.assigned), second \(second.router.statistics.assigned)"
        )
        #expect(result.violations.isEmpty, "\(result.violations.prefix(5))\n\(audit.histories(of: result.violations))")
        #expect(result.maximumLoadRatio <= 1.0)
        #expect(result.assignedCount >= 60)
        #expect(second.router.statistics.partitions > 0, "the second instance took over part of the desks")

        await secondGroup.triggerGracefulShutdown()
        await firstGroup.triggerGracefulShutdown()
        try await secondRunning.value
        try await firstRunning.value
        await watcher.close()
        _ = try? await watching.value
    }
}
