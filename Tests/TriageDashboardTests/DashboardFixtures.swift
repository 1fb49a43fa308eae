import Foundation
import SwiftProtobuf
import TriageAnalytics
import TriageDashboard
import TriageKafka
import TriageKafkaTesting
import TriageRouterWorker
import TriageRouting
import TriageSLA
import TriageSchema

/// A small support floor, the same for the pure tests and the broker tests: ten incidents
/// under the default policy (24x7: A 120 min, B 240 min, C 480 min to first response; no
/// resolution targets), three agents, the desk of team `tier-1` and that of team
/// `tier-2-enterprise-emea` with two queued incidents (a long team name, as real ones are: the
/// incident table must still fit at 1400 px). SLA "now" is T0 + 150 min.
enum Floor {
    static let t0 = ISO8601DateFormatter().date(from: "2026-11-20T10:00:00Z")!
    static func at(_ minutes: Double) -> Date { t0.addingTimeInterval(minutes * 60) }
    static let now = at(150)
    static let rules = SlaRules(SlaPolicy())

    /// Ids in the order the dashboard must list them: breached 30 min ago; 100, 150, 340 and
    /// 380 min left; paused with 110 min left; no running clock (acknowledged, oldest first:
    /// INC-7F3A9C01D2E4B658 is also waiting on the customer).
    static let openInOrder = ["INC-LATE", "INC-Q1", "INC-SOON", "INC-Q2", "INC-BACK", "INC-WAIT", "INC-ACKED", "INC-7F3A9C01D2E4B658"]
    static let closed = "INC-DONE"
    /// Waiting on the customer now: INC-WAIT before its first response (its clock paused),
    /// INC-7F3A9C01D2E4B658 after it (no clock left to pause). INC-BACK waited and the customer responded.
    static let paused: Set<String> = ["INC-WAIT", "INC-7F3A9C01D2E4B658"]

    static func event(
        _ incident: String, _ id: String, _ minutes: Double, producer: String = "portal", _ build: (inout IncidentEvent) -> Void
    ) -> IncidentEvent {
        var event = IncidentEvent.with {
            $0.eventID = "\(incident)-\(id)"
            $0.incidentID = incident
            $0.occurredAt = Google_Protobuf_Timestamp(date: at(minutes))
            $0.producer = producer
        }
        build(&event)
        return event
    }

    static func opened(_ incident: String, _ minutes: Double, severity: Severity, title: String, team: String = "tier-1") -> IncidentEvent {
        event(incident, "open", minutes) {
            $0.opened = .with {
                $0.customerAccount = "acme"; $0.entitlementID = "pack-1"; $0.product = "billing"; $0.language = "en"
                $0.severity = severity; $0.coverage = .coverage24X7; $0.customerTimeZone = "UTC"; $0.title = title; $0.team = team
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
            $0.slaWarning = .with {
                $0.thresholdPercent = 50; $0.target = "first_response"; $0.deadline = Google_Protobuf_Timestamp(date: at(120))
            }
        },
        opened("INC-SOON", 60, severity: .b, title: "slow export"),
        event("INC-LATE", "warn75", 90, producer: "escalator") {
            $0.slaWarning = .with {
                $0.thresholdPercent = 75; $0.target = "first_response"; $0.deadline = Google_Protobuf_Timestamp(date: at(120))
            }
        },
        opened("INC-WAIT", 100, severity: .a, title: "needs logs"),
        event("INC-WAIT", "wait", 110) { $0.waitingOnCustomer = .with { $0.reason = "logs please" } },
        // Acknowledged after 10 minutes, then waiting on the customer: paused without a clock.
        // Opened through the intake, so its id is as long as the intake's ids are.
        opened("INC-7F3A9C01D2E4B658", 70, severity: .b, title: "export stuck"),
        event("INC-7F3A9C01D2E4B658", "assign", 71, producer: "router") { $0.assigned = .with { $0.agentID = "ana" } },
        event("INC-7F3A9C01D2E4B658", "ack", 80) { $0.acknowledged = .with { $0.agentID = "ana" } },
        event("INC-7F3A9C01D2E4B658", "wait", 130) { $0.waitingOnCustomer = .with { $0.reason = "which file?" } },
        // Waited 10 minutes before the first response, the customer answered: running again.
        opened("INC-BACK", 40, severity: .c, title: "report font"),
        event("INC-BACK", "wait", 50) { $0.waitingOnCustomer = .with { $0.reason = "screenshot?" } },
        event("INC-BACK", "respond", 60) { $0.customerResponded = .init() },
        // Team tier-2's queue: INC-Q2 went to cy, and back to the queue when cy went offline
        // (the router's Reassigned without a target), after INC-Q1 was queued.
        opened("INC-Q2", 10, severity: .c, title: "label typo", team: "tier-2-enterprise-emea"),
        event("INC-Q2", "assign", 11, producer: "router") { $0.assigned = .with { $0.agentID = "cy" } },
        opened("INC-Q1", 130, severity: .a, title: "payments down", team: "tier-2-enterprise-emea"),
        event("INC-Q2", "return", 140, producer: "router") { $0.returnedToQueue = .with { $0.fromAgentID = "cy" } },
        event("INC-LATE", "level1", 120, producer: "escalator") {
            $0.escalated = .with {
                $0.level = 1; $0.target = "first_response"; $0.breachedDeadline = Google_Protobuf_Timestamp(date: at(120))
            }
        },
        event("INC-LATE", "level2", 145, producer: "escalator") {
            $0.escalated = .with {
                $0.level = 2; $0.target = "first_response"; $0.breachedDeadline = Google_Protobuf_Timestamp(date: at(120))
            }
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
                $0.profile = .with {
                    $0.displayName = id.capitalized; $0.team = team; $0.products = ["billing"]; $0.languages = ["en"];
                    $0.capacity = capacity
                }
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
            profile("cy", team: "tier-2-enterprise-emea", capacity: 3),
        ]
    }

    /// Team tier-1's desk after the roster and INC-LATE (severity A: 3 load units) went to ana,
    /// the only agent online.
    static func desk() -> TeamDesk {
        let policy = RoutingPolicy()
        var desk = TeamDesk(team: "tier-1")
        _ = desk.apply(
            .profile(Agent(id: "ana", team: "tier-1", skills: ["billing"], languages: ["en"], capacity: 6)), at: t0, policy: policy)
        _ = desk.apply(.presence(agent: "ana", .online), at: t0, policy: policy)
        _ = desk.apply(
            .profile(Agent(id: "bo", team: "tier-1", skills: ["billing"], languages: ["en"], capacity: 4)), at: t0, policy: policy)
        _ = desk.apply(.presence(agent: "bo", .away), at: t0, policy: policy)
        _ = desk.apply(
            .opened(RoutingIncident(id: "INC-LATE", team: "tier-1", severity: .a, product: "billing", language: "en", openedAt: t0)),
            at: t0, policy: policy)
        _ = desk.apply(
            .opened(
                RoutingIncident(
                    id: "INC-7F3A9C01D2E4B658", team: "tier-1", severity: .b, product: "billing", language: "en", openedAt: at(70))),
            at: at(70), policy: policy)
        return desk
    }

    /// Team tier-2's desk: cy offline, INC-Q1 (A) and INC-Q2 (C) queued.
    static func queueDesk() -> TeamDesk {
        let policy = RoutingPolicy()
        var desk = TeamDesk(team: "tier-2-enterprise-emea")
        _ = desk.apply(
            .profile(Agent(id: "cy", team: "tier-2-enterprise-emea", skills: ["billing"], languages: ["en"], capacity: 3)), at: t0,
            policy: policy)
        _ = desk.apply(
            .opened(
                RoutingIncident(
                    id: "INC-Q2", team: "tier-2-enterprise-emea", severity: .c, product: "billing", language: "en", openedAt: at(10))),
            at: at(140), policy: policy)
        _ = desk.apply(
            .opened(
                RoutingIncident(
                    id: "INC-Q1", team: "tier-2-enterprise-emea", severity: .a, product: "billing", language: "en", openedAt: at(130))),
            at: at(140), policy: policy)
        return desk
    }

    /// The router's records of a desk: its core (a `DeskSnapshot`) and one record per queued
    /// incident, as the router writes them.
    static func deskRecords(_ desk: TeamDesk) throws -> [(key: [UInt8], value: [UInt8])] {
        let core = try JSONSerialization.jsonObject(with: JSONEncoder().encode(desk.core))
        var records = [
            (key: Array(desk.team.utf8), value: Array(try JSONSerialization.data(withJSONObject: ["desk": core, "outbox": [String]()])))
        ]
        for entry in desk.queuedIncidents {
            records.append((DeskRecords.queueKey(team: desk.team, incident: entry.id), Array(try JSONEncoder().encode(entry))))
        }
        return records
    }
    /// The router's `DeskSnapshot` JSON (its memberwise initializer is internal to TriageRouterWorker).
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
        // tier-2 in partition 1 behind a fence of writer w-2, then a late write of the router
        // that lost the partition (w-1): the dashboard ignores it, as a router's restore does.
        let writer = { (name: String) in [KafkaHeader(name: DeskLog.writerHeader, string: name)] }
        messages.append(
            .init(topic: topics.routerState, key: DeskLog.fenceKey, value: Array("w-2".utf8), headers: writer("w-2"), partition: 1))
        for record in try Floor.deskRecords(Floor.queueDesk()) {
            messages.append(.init(topic: topics.routerState, key: record.key, value: record.value, headers: writer("w-2"), partition: 1))
        }
        var stale = Floor.queueDesk()
        _ = stale.apply(
            .opened(
                RoutingIncident(
                    id: "INC-STALE", team: "tier-2-enterprise-emea", severity: .a, product: "billing", language: "en", openedAt: Floor.t0)),
            at: Floor.t0,
            policy: RoutingPolicy())
        for record in try Floor.deskRecords(stale) where record.key.count > "tier-2-enterprise-emea".utf8.count {
            messages.append(.init(topic: topics.routerState, key: record.key, value: record.value, headers: writer("w-1"), partition: 1))
        }
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
