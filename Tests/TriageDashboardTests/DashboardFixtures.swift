import Foundation
import SwiftProtobuf
import TriageAnalytics
import TriageDashboard
import TriageKafka
import TriageKafkaTesting
import TriageRouting
import TriageSLA
import TriageSchema

/// A small support floor, the same for the pure tests and the broker tests: five incidents
/// under the default policy (24x7: A 120 min, B 240 min, C 480 min to first response; no
/// resolution targets), three agents and the desk of team `tier-1`. SLA "now" is T0 + 150 min.
enum Floor {
    static let t0 = ISO8601DateFormatter().date(from: "2026-11-20T10:00:00Z")!
    static func at(_ minutes: Double) -> Date { t0.addingTimeInterval(minutes * 60) }
    static let now = at(150)
    static let rules = SlaRules(SlaPolicy())

    /// Ids in the order the dashboard must list them: breached 30 min ago, 150 min left,
    /// paused with 110 min left, no running clock.
    static let openInOrder = ["INC-LATE", "INC-SOON", "INC-WAIT", "INC-ACKED"]
    static let closed = "INC-DONE"

    static func event(_ incident: String, _ id: String, _ minutes: Double, producer: String = "portal", _ build: (inout IncidentEvent) -> Void) -> IncidentEvent {
        var event = IncidentEvent.with {
            $0.eventID = "\(incident)-\(id)"
            $0.incidentID = incident
            $0.occurredAt = Google_Protobuf_Timestamp(date: at(minutes))
            $0.producer = producer
        }
        build(&event)
        return event
    }

    static func opened(_ incident: String, _ minutes: Double, severity: Severity, title: String) -> IncidentEvent {
        event(incident, "open", minutes) {
            $0.opened = .with {
                $0.customerAccount = "acme"; $0.entitlementID = "pack-1"; $0.product = "billing"; $0.language = "en"
                $0.severity = severity; $0.coverage = .coverage24X7; $0.customerTimeZone = "UTC"; $0.title = title; $0.team = "tier-1"
            }
        }
    }

    /// Lifecycle events in publication order (per incident in time order).
    static let events: [IncidentEvent] = [
        opened("INC-LATE", 0, severity: .a, title: "invoices fail"),
        event("INC-LATE", "assign", 1, producer: "router") { $0.assigned = .with { $0.agentID = "ana" } },
        opened("INC-DONE", 5, severity: .a, title: "login loop"),
        opened("INC-ACKED", 20, severity: .c, title: "typo in report"),
        event("INC-ACKED", "ack", 30) { $0.acknowledged = .with { $0.agentID = "bo" } },
        event("INC-DONE", "close", 50) { $0.closedResolved = .with { $0.closedBy = "ana" } },
        event("INC-LATE", "warn50", 60, producer: "escalator") {
            $0.slaWarning = .with { $0.thresholdPercent = 50; $0.target = "first_response"; $0.deadline = Google_Protobuf_Timestamp(date: at(120)) }
        },
        opened("INC-SOON", 60, severity: .b, title: "slow export"),
        event("INC-LATE", "warn75", 90, producer: "escalator") {
            $0.slaWarning = .with { $0.thresholdPercent = 75; $0.target = "first_response"; $0.deadline = Google_Protobuf_Timestamp(date: at(120)) }
        },
        opened("INC-WAIT", 100, severity: .a, title: "needs logs"),
        event("INC-WAIT", "wait", 110) { $0.waitingOnCustomer = .with { $0.reason = "logs please" } },
        event("INC-LATE", "level1", 120, producer: "escalator") {
            $0.escalated = .with { $0.level = 1; $0.target = "first_response"; $0.breachedDeadline = Google_Protobuf_Timestamp(date: at(120)) }
        },
        event("INC-LATE", "level2", 145, producer: "escalator") {
            $0.escalated = .with { $0.level = 2; $0.target = "first_response"; $0.breachedDeadline = Google_Protobuf_Timestamp(date: at(120)) }
        },
    ]

    /// What the analytics feed publishes on `triage.incident-state`: each incident's snapshot
    /// after each of its events (so a closed incident's last record is its closed snapshot).
    static func stateRecords() throws -> [(incident: String, json: Data)] {
        var facts = IncidentFacts(rules: rules)
        var records: [(String, Data)] = []
        for event in events {
            _ = facts.apply(event)
            records.append((event.incidentID, try facts[event.incidentID]!.jsonData()))
        }
        return records
    }

    static func finalSnapshots() -> [IncidentSnapshot] {
        var facts = IncidentFacts(rules: rules)
        for event in events { _ = facts.apply(event) }
        return facts.snapshots.values.sorted { $0.incidentID < $1.incidentID }
    }

    static func agentEvents() -> [AgentEvent] {
        func profile(_ id: String, team: String, capacity: UInt32) -> AgentEvent {
            AgentEvent.with {
                $0.eventID = "profile-\(id)"; $0.agentID = id; $0.occurredAt = Google_Protobuf_Timestamp(date: t0); $0.producer = "roster"
                $0.profile = .with { $0.displayName = id.capitalized; $0.team = team; $0.products = ["billing"]; $0.languages = ["en"]; $0.capacity = capacity }
            }
        }
        func presence(_ id: String, _ presence: Triage_V1_Presence) -> AgentEvent {
            AgentEvent.with {
                $0.eventID = "presence-\(id)"; $0.agentID = id; $0.occurredAt = Google_Protobuf_Timestamp(date: t0); $0.producer = "roster"
                $0.presenceChanged = .with { $0.presence = presence }
            }
        }
        return [
            profile("ana", team: "tier-1", capacity: 6), presence("ana", .online),
            profile("bo", team: "tier-1", capacity: 4), presence("bo", .away),
            profile("cy", team: "tier-2", capacity: 3),
        ]
    }

    /// Team tier-1's desk after the roster and INC-LATE (severity A: 3 load units) went to ana,
    /// the only agent online.
    static func desk() -> TeamDesk {
        let policy = RoutingPolicy()
        var desk = TeamDesk(team: "tier-1")
        _ = desk.apply(.profile(Agent(id: "ana", team: "tier-1", skills: ["billing"], languages: ["en"], capacity: 6)), at: t0, policy: policy)
        _ = desk.apply(.presence(agent: "ana", .online), at: t0, policy: policy)
        _ = desk.apply(.profile(Agent(id: "bo", team: "tier-1", skills: ["billing"], languages: ["en"], capacity: 4)), at: t0, policy: policy)
        _ = desk.apply(.presence(agent: "bo", .away), at: t0, policy: policy)
        _ = desk.apply(.opened(RoutingIncident(id: "INC-LATE", team: "tier-1", severity: .a, product: "billing", language: "en", openedAt: t0)), at: t0, policy: policy)
        return desk
    }

    /// The router's `DeskSnapshot` JSON (its memberwise initializer is internal to TriageRouter).
    static func deskSnapshotJSON() throws -> Data {
        let desk = try JSONSerialization.jsonObject(with: JSONEncoder().encode(desk()))
        return try JSONSerialization.data(withJSONObject: ["desk": desk, "outbox": [String]()])
    }
}

/// The four topics on an embedded cluster, filled with ``Floor``.
struct PublishedFloor {
    let topics: DashboardTopics
    /// A topic with 10 records, for the lag of worker groups.
    let work: String

    init(cluster: KafkaTestCluster) async throws {
        topics = DashboardTopics(
            incidentState: try cluster.makeTopic("incident-state", partitions: 2),
            incidentEvents: try cluster.makeTopic("incident-events", partitions: 2),
            agentEvents: try cluster.makeTopic("agent-events", partitions: 1),
            routerState: try cluster.makeTopic("router-state", partitions: 2)
        )
        work = try cluster.makeTopic("work", partitions: 2)
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        var messages: [KafkaProducerMessage] = []
        for event in Floor.events {
            messages.append(.init(topic: topics.incidentEvents, key: Array(event.incidentID.utf8), value: try event.serializedBytes()))
        }
        // A redelivery of the breach (same event id): counted once.
        let breach = Floor.events.first { $0.eventID == "INC-LATE-level1" }!
        messages.append(.init(topic: topics.incidentEvents, key: Array(breach.incidentID.utf8), value: try breach.serializedBytes()))
        for (incident, json) in try Floor.stateRecords() {
            messages.append(.init(topic: topics.incidentState, key: Array(incident.utf8), value: Array(json)))
        }
        // An incident deleted from the compacted topic (a tombstone after its snapshot).
        var gone = IncidentSnapshot(incidentID: "INC-GONE")
        gone.title = "forgotten"
        messages.append(.init(topic: topics.incidentState, key: Array("INC-GONE".utf8), value: Array(try gone.jsonData())))
        messages.append(.init(topic: topics.incidentState, key: Array("INC-GONE".utf8), value: nil))
        // Undecodable garbage is skipped and counted.
        messages.append(.init(topic: topics.incidentState, key: Array("INC-BAD".utf8), value: Array("not json".utf8)))
        for event in Floor.agentEvents() {
            messages.append(.init(topic: topics.agentEvents, key: Array(event.agentID.utf8), value: try event.serializedBytes()))
        }
        messages.append(.init(topic: topics.routerState, key: Array("tier-1".utf8), value: Array(try Floor.deskSnapshotJSON())))
        for index in 0..<10 {
            messages.append(.init(topic: work, key: Array("key-\(index)".utf8), value: Array("record \(index)".utf8)))
        }
        _ = try await producer.sendAll(messages)
        await producer.close()
    }

    /// Runs a real consumer in `group` that processes and commits all 10 records of ``work``.
    func commitAllOfWork(group: String, cluster: KafkaTestCluster) async throws {
        let consumer = try KafkaConsumer(configuration: cluster.consumerConfiguration(group: group, topics: [work]), logger: cluster.logger)
        let received = try await withDeadline(.seconds(30)) { try await consumer.collect(10) }
        precondition(received.count == 10)
        try await consumer.commit()
        await consumer.close()
    }
}
