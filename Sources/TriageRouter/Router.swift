public import Foundation
public import Logging
public import ServiceLifecycle
import SwiftProtobuf
import Synchronization
public import TriageKafka
public import TriageRouting
import TriageSLA
import TriageSLAEvents
import TriageSchema
public import TriageStreams

/// Figures of a router instance.
public struct RouterStatistics: Sendable, Hashable {
    public var partitions = 0
    public var teams = 0
    public var agents = 0
    public var assigned = 0
    public var reassigned = 0
    public var queued = 0
    public var inputs = 0
}

/// Stage 2 of the router: the single writer of each team's desk.
///
/// Consumes `triage.routing` (keyed and partitioned by team) in the router's group; per owned
/// partition it keeps the `TeamDesk` of every team hashed to it, restored from the compacted
/// `triage.router-state` before the partition's first record. Agent profiles and presence
/// come from `triage.agent-events`, which every instance reads whole (a consumer group of its
/// own, from the beginning); changes for teams it owns are applied at once. Decisions become
/// Assigned/Reassigned lifecycle events with deterministic ids; each step waits for its events
/// and desk snapshots to be delivered before storing offsets.
///
/// In a `ServiceGroup`: producer, router, routing consumer, roster consumer.
public final class Router: Service, Sendable {
    public let health: WorkerHealth
    private let consumer: KafkaConsumer
    private let roster: KafkaConsumer
    private let producer: KafkaProducer
    private let client: KafkaClientConfiguration
    private let policy: RoutingPolicy
    private let topics: RouterTopics
    private let routingPartitions: Int
    private let logger: Logger
    private let stats = Mutex(RouterStatistics())
    let metrics = WorkerMetrics(worker: "router")
    private let onDecision: (@Sendable (RoutingDecision) -> Void)?

    /// `consumer` subscribes to `topics.routing` in the router group; `roster` to
    /// `topics.agentEvents` in a group of its own (every instance sees every agent).
    public init(
        consumer: KafkaConsumer, roster: KafkaConsumer, producer: KafkaProducer, client: KafkaClientConfiguration,
        policy: RoutingPolicy, topics: RouterTopics = .init(), routingPartitions: Int, health: WorkerHealth = .init(),
        logger: Logger, onDecision: (@Sendable (RoutingDecision) -> Void)? = nil
    ) {
        self.consumer = consumer
        self.roster = roster
        self.producer = producer
        self.client = client
        // The dispatcher drops a repeated Opened of a closed incident, so desks need not remember
        // closed ids (that memory would grow every snapshot with every incident ever closed).
        var policy = policy
        policy.closedIncidentMemory = 0
        self.policy = policy
        self.topics = topics
        self.routingPartitions = routingPartitions
        self.health = health
        self.logger = logger
        self.onDecision = onDecision
    }

    public var statistics: RouterStatistics { stats.withLock { $0 } }

    private enum Input: Sendable {
        case routing(KafkaConsumerEvent, CheckedContinuation<Void, Never>)
        case roster([KafkaMessage])
        case tick
        case failed(any Error)
    }

    public func run() async throws {
        let (mailbox, inbox) = AsyncStream<Input>.makeStream()
        let consumer = self.consumer
        let roster = self.roster
        let routingPump = Task {
            do {
                for try await event in consumer.events {
                    await withCheckedContinuation { continuation in
                        // After the router stopped, events (revocations at close) are let go at once.
                        if case .terminated = inbox.yield(.routing(event, continuation)) { continuation.resume() }
                    }
                }
            } catch { inbox.yield(.failed(error)) }
            inbox.finish()
        }
        let rosterPump = Task {
            do {
                for try await batch in roster.batches { inbox.yield(.roster(batch)) }
            } catch { inbox.yield(.failed(error)) }
        }
        var state = State(owner: self, inbox: inbox)
        health.markRunning(true, status: "running")
        var failure: (any Error)?
        for await input in mailbox {
            do {
                switch input {
                case .routing(let event, let processed):
                    defer { processed.resume() }
                    try await state.handle(event)
                case .roster(let batch):
                    try await state.apply(roster: batch)
                case .tick:
                    state.timerDue = nil
                    try await state.clock()
                case .failed(let error):
                    throw error
                }
            } catch {
                failure = error
                break
            }
            state.reschedule()
        }
        state.timer?.cancel()
        // Whatever is still in the mailbox is let go, so the consumer's close is not left
        // waiting for a revocation nobody will handle.
        inbox.finish()
        for await input in mailbox { if case .routing(_, let processed) = input { processed.resume() } }
        routingPump.cancel()
        rosterPump.cancel()
        health.markRunning(false, status: "stopped")
        if let failure { throw failure }
        try? await gracefulShutdown()
    }

    /// What the single writer owns.
    private struct State {
        let owner: Router
        let inbox: AsyncStream<Input>.Continuation
        /// Owned routing partition → team → desk.
        var desks: [Int32: [String: TeamDesk]] = [:]
        /// Every agent's latest profile and presence.
        var agents: [String: (profile: Agent?, presence: Presence)] = [:]
        var timer: Task<Void, Never>?
        var timerDue: Date?

        init(owner: Router, inbox: AsyncStream<Input>.Continuation) {
            self.owner = owner
            self.inbox = inbox
        }

        func partition(of team: String) -> Int32 { routingPartition(team: team, partitions: owner.routingPartitions) }

        mutating func handle(_ event: KafkaConsumerEvent) async throws {
            switch event {
            case .partitionsAssigned(let partitions):
                try await restore(partitions.filter { $0.topic == owner.topics.routing }.map(\.partition))
                owner.health.markAssigned()
            case .partitionsRevoked(let partitions), .partitionsLost(let partitions):
                for partition in partitions where partition.topic == owner.topics.routing { desks[partition.partition] = nil }
                updateStatistics()
            case .messages(let batch):
                let started = ContinuousClock.now
                var step = Step()
                for message in batch where desks[message.partition] != nil {
                    guard let team = message.header(routingTeamHeader)?.stringValue, let value = message.valueBytes,
                        let event = try? IncidentEvent(serializedBytes: Array(value)), let input = Self.input(for: event, team: team, message: message)
                    else { continue }
                    if let traceparent = message.header(TriageHeader.traceparent)?.stringValue, let trace = TraceContext(traceparent: traceparent) {
                        step.traces[event.incidentID] = trace
                    }
                    step.apply(input, team: team, partition: message.partition, at: event.occurredAt.date, trigger: event.eventID, state: &self)
                }
                try await publish(step)
                try owner.consumer.storeOffsets(batch.filter { desks[$0.partition] != nil })
                owner.metrics.processed(batch.count, since: started)
            }
        }

        /// Agent profile and presence changes; applied to the desks of teams owned here.
        mutating func apply(roster batch: [KafkaMessage]) async throws {
            var step = Step()
            for message in batch {
                guard let value = message.valueBytes, let event = try? AgentEvent(serializedBytes: Array(value)) else { continue }
                let id = event.agentID
                var entry = agents[id] ?? (profile: nil, presence: .offline)
                let at = event.occurredAt.date
                switch event.event {
                case .profile(let profile):
                    let agent = Agent(
                        id: id, team: profile.team, skills: Set(profile.products), languages: Set(profile.languages),
                        capacity: Int(profile.capacity), shiftCalendar: profile.shiftCalendarID.isEmpty ? nil : profile.shiftCalendarID
                    )
                    if let old = entry.profile, old.team != agent.team {
                        step.apply(.removed(agent: id), team: old.team, partition: partition(of: old.team), at: at, trigger: event.eventID, state: &self)
                    }
                    entry.profile = agent
                    agents[id] = entry
                    step.apply(.profile(agent), team: agent.team, partition: partition(of: agent.team), at: at, trigger: event.eventID, state: &self)
                    step.apply(.presence(agent: id, entry.presence), team: agent.team, partition: partition(of: agent.team), at: at, trigger: event.eventID, state: &self)
                case .presenceChanged(let change):
                    let presence: Presence = change.presence == .online ? .online : change.presence == .away ? .away : .offline
                    entry.presence = presence
                    agents[id] = entry
                    if let team = entry.profile?.team {
                        step.apply(.presence(agent: id, presence), team: team, partition: partition(of: team), at: at, trigger: event.eventID, state: &self)
                    }
                case nil:
                    continue
                }
            }
            try await publish(step)
        }

        /// Shift boundaries: every desk re-evaluates.
        mutating func clock() async throws {
            var step = Step()
            let now = Date()
            for (partition, teams) in desks {
                for team in teams.keys {
                    step.apply(.clock, team: team, partition: partition, at: now, trigger: "clock-\(Int(now.timeIntervalSince1970))", state: &self)
                }
            }
            try await publish(step)
        }

        mutating func restore(_ partitions: [Int32]) async throws {
            guard !partitions.isEmpty else { return }
            owner.health.beginRestore("router desks \(partitions)")
            defer { owner.health.endRestore(status: "running") }
            let sink = DeskSink(partitions: partitions)
            let summary = try await KafkaPartitionReader.readToEnd(
                topic: owner.topics.deskState, partitions: partitions, client: owner.client, logger: owner.logger
            ) { record in sink.add(record) }
            var pending: [KafkaProducerMessage] = []
            var repairs: [KafkaProducerMessage] = []
            var queued = 0
            for (partition, stored) in sink.records.withLock({ $0 }) {
                let restored = DeskRecords.restore(stored)
                desks[partition] = restored.desks
                for desk in restored.desks.values { queued += desk.queue.count }
                for bytes in restored.outboxes.values.joined() {
                    guard let event = try? IncidentEvent(serializedBytes: Array(bytes)) else { continue }
                    pending.append(Self.eventRecord(event, bytes: Array(bytes), topic: owner.topics.incidentEvents))
                }
                for repair in restored.repairs {
                    repairs.append(KafkaProducerMessage(topic: owner.topics.deskState, key: repair.key, value: repair.value, partition: partition))
                }
            }
            // Queue entries that disagree with their desk's core (a step cut short between its
            // records) are rewritten before anything else happens.
            try await owner.producer.sendAll(repairs)
            // The last step of the previous owner may have died between its snapshot and its
            // events: publish that outbox again (same ids).
            try await owner.producer.sendAll(pending)
            owner.logger.info(
                "router desks restored",
                metadata: [
                    "partitions": "\(partitions)", "records": "\(summary.records)", "queued": "\(queued)", "queue_repairs": "\(repairs.count)",
                    "outbox_republished": "\(pending.count)",
                ]
            )
            // Bring restored desks up to date with the roster as this instance knows it.
            var step = Step()
            let now = Date()
            for (id, entry) in agents {
                guard let agent = entry.profile, partitions.contains(partition(of: agent.team)) else { continue }
                step.apply(.profile(agent), team: agent.team, partition: partition(of: agent.team), at: now, trigger: "restore-\(id)", state: &self)
                step.apply(.presence(agent: id, entry.presence), team: agent.team, partition: partition(of: agent.team), at: now, trigger: "restore-\(id)", state: &self)
            }
            try await publish(step)
            updateStatistics()
        }

        static func input(for event: IncidentEvent, team: String, message: KafkaMessage) -> RoutingInput? {
            switch event.event {
            case .opened(let opened):
                guard let severity = SupportSeverity(opened.severity) else { return nil }
                return .opened(
                    RoutingIncident(
                        id: event.incidentID, team: team, severity: severity, product: opened.product,
                        language: opened.language.isEmpty ? nil : opened.language, openedAt: event.occurredAt.date
                    )
                )
            case .acknowledged: return .acknowledged(incident: event.incidentID)
            case .severityChanged(let change):
                guard let severity = SupportSeverity(change.to) else { return nil }
                return .severityChanged(incident: event.incidentID, to: severity)
            case .closedResolved, .closedUnresolved, .closeRequestedByCustomer: return .released(incident: event.incidentID)
            case .reopened:
                // Routed again like a new incident, with the attributes the dispatcher's index
                // kept (the Reopened event itself carries none).
                guard let raw = message.header(routingSeverityHeader)?.stringValue, let number = Int(raw),
                    let severity = Severity(rawValue: number).flatMap(SupportSeverity.init)
                else { return nil }
                let language = message.header(routingLanguageHeader)?.stringValue ?? ""
                return .reopened(
                    RoutingIncident(
                        id: event.incidentID, team: team, severity: severity, product: message.header(routingProductHeader)?.stringValue ?? "",
                        language: language.isEmpty ? nil : language, openedAt: event.occurredAt.date
                    )
                )
            case .escalated(let escalated) where escalated.reassignRequested:
                return .reassignRequested(incident: event.incidentID, cause: "sla_breach")
            case .reassigned: return .reassignRequested(incident: event.incidentID, cause: "requested")
            default: return nil
            }
        }

        /// Publishes a step's decisions and snapshots, waiting for every delivery.
        func publish(_ step: Step) async throws {
            var events: [KafkaProducerMessage] = []
            var outboxes: [String: [Data]] = [:]
            var assigned = 0
            var reassigned = 0
            var queued = 0
            for (decision, trigger, at, partition, team) in step.decisions {
                owner.onDecision?(decision)
                var event = IncidentEvent()
                event.producer = routerProducerName
                event.occurredAt = Google_Protobuf_Timestamp(date: at)
                switch decision {
                case .assigned(let incident, let agent, let reason):
                    assigned += 1
                    event.incidentID = incident
                    event.eventID = "route-" + Self.hash("\(trigger)|\(incident)|assigned|\(agent)")
                    event.assigned = .with {
                        $0.agentID = agent
                        $0.reason = Self.reason(reason)
                    }
                case .reassigned(let incident, let from, let to, let reason):
                    reassigned += 1
                    event.incidentID = incident
                    event.eventID = "route-" + Self.hash("\(trigger)|\(incident)|reassigned|\(from)|\(to)")
                    event.reassigned = .with {
                        $0.fromAgentID = from
                        $0.toAgentID = to
                        $0.reason = Self.reason(reason)
                    }
                case .unassigned(let incident, let from):
                    // Back to the queue: a Reassigned without a target, so the record of who
                    // holds what stays complete on the lifecycle topic.
                    queued += 1
                    event.incidentID = incident
                    event.eventID = "route-" + Self.hash("\(trigger)|\(incident)|unassigned|\(from)")
                    event.reassigned = .with {
                        $0.fromAgentID = from
                        $0.reason = .with { $0.cause = AssignmentReason.Cause.agentOffline }
                    }
                case .queued:
                    queued += 1
                    continue
                }
                let bytes: [UInt8] = try event.serializedBytes()
                // The incident's trace goes on (the opening call's, through the routing record).
                let trace = step.traces[event.incidentID]
                events.append(Self.eventRecord(event, bytes: bytes, topic: owner.topics.incidentEvents, traceparent: trace?.child().traceparent))
                owner.logger.info(
                    "routed",
                    metadata: [
                        "incident": "\(event.incidentID)", "event_id": "\(event.eventID)", "team": "\(team)",
                        "agent": "\(event.assigned.agentID.isEmpty ? event.reassigned.toAgentID : event.assigned.agentID)", "trace_id": "\(trace?.traceID ?? "-")",
                    ]
                )
                outboxes["\(partition)/\(team)", default: []].append(Data(bytes))
            }
            // 1. Each touched desk's core (agents, assigned incidents) together with the events
            //    it implies (an outbox), in one record per team, preceded by the queue entries
            //    that are new or changed: after a crash the new owner restores both and
            //    re-publishes the outbox (deterministic ids make the repeat recognisable), so a
            //    decision is never in the state without its event, or the other way round.
            // 2. Then queue entries that left the queue, and the events themselves.
            var first: [KafkaProducerMessage] = []
            var then: [KafkaProducerMessage] = []
            for (partition, team) in step.touched {
                guard let desk = desks[partition]?[team] else { continue }
                let changes = desk.queueChanges(since: step.before["\(partition)/\(team)"] ?? TeamDesk(team: team))
                for entry in changes.upserted {
                    first.append(KafkaProducerMessage(topic: owner.topics.deskState, key: DeskRecords.queueKey(team: team, incident: entry.id), value: try DeskRecords.encode(entry), partition: partition))
                }
                let core = DeskSnapshot(desk: desk.core, outbox: outboxes["\(partition)/\(team)"] ?? [])
                first.append(KafkaProducerMessage(topic: owner.topics.deskState, key: Array(team.utf8), value: try DeskRecords.encode(core), partition: partition))
                for id in changes.removed {
                    then.append(KafkaProducerMessage(topic: owner.topics.deskState, key: DeskRecords.queueKey(team: team, incident: id), value: nil, partition: partition))
                }
            }
            try await owner.producer.sendAll(first)
            try await owner.producer.sendAll(then + events)
            owner.stats.withLock {
                $0.assigned += assigned
                $0.reassigned += reassigned
                $0.queued += queued
                $0.inputs += step.inputs
            }
            updateStatistics()
        }

        func updateStatistics() {
            let partitions = desks.count
            let teams = desks.values.reduce(0) { $0 + $1.count }
            let agents = self.agents.count
            owner.stats.withLock {
                $0.partitions = partitions
                $0.teams = teams
                $0.agents = agents
            }
        }

        /// Points the timer at the next shift change of any owned desk.
        mutating func reschedule() {
            let now = Date()
            var next: Date?
            for teams in desks.values {
                for desk in teams.values {
                    if let change = desk.nextShiftChange(after: now, policy: owner.policy), next.map({ change < $0 }) ?? true { next = change }
                }
            }
            guard next != timerDue else { return }
            timer?.cancel()
            timerDue = next
            guard let next else { return }
            let inbox = self.inbox
            let delay = max(0, next.timeIntervalSinceNow)
            timer = Task {
                do { try await Task.sleep(for: .milliseconds(Int64(delay * 1000) + 1)) } catch { return }
                if !Task.isCancelled { inbox.yield(.tick) }
            }
        }

        static func eventRecord(_ event: IncidentEvent, bytes: [UInt8], topic: String, traceparent: String? = nil) -> KafkaProducerMessage {
            KafkaProducerMessage(
                topic: topic, key: Array(event.incidentID.utf8), value: bytes,
                headers: event.kafkaHeaders(traceparent: traceparent).map { KafkaHeader(name: $0.name, string: $0.value) }
            )
        }

        static func reason(_ reason: AssignmentReason) -> Triage_V1_AssignmentReason {
            .with {
                $0.cause = reason.cause
                $0.matchedSkills = reason.matchedSkills
                $0.loadBefore = UInt32(max(0, reason.loadBefore))
                $0.loadAfter = UInt32(max(0, reason.loadAfter))
                $0.capacity = UInt32(max(0, reason.capacity))
                $0.candidatesConsidered = UInt32(max(0, reason.candidatesConsidered))
            }
        }

        static func hash(_ text: String) -> String { StableHash.hex128(text) }
    }

    /// What one step decided, and which desks changed.
    private struct Step {
        var decisions: [(RoutingDecision, trigger: String, at: Date, partition: Int32, team: String)] = []
        var touched: [(Int32, String)] = []
        var seen = Set<String>()
        /// Each touched desk as it was before this step ("partition/team").
        var before: [String: TeamDesk] = [:]
        /// The W3C trace of each incident whose input carried one.
        var traces: [String: TraceContext] = [:]
        var inputs = 0

        /// Applies `input` to `team`'s desk if this instance owns the team's partition.
        mutating func apply(_ input: RoutingInput, team: String, partition: Int32, at: Date, trigger: String, state: inout State) {
            guard state.desks[partition] != nil else { return }
            var desk = state.desks[partition]![team] ?? TeamDesk(team: team)
            if seen.insert("\(partition)/\(team)").inserted {
                touched.append((partition, team))
                before["\(partition)/\(team)"] = desk
            }
            let decisions = desk.apply(input, at: at, policy: state.owner.policy)
            state.desks[partition]![team] = desk
            inputs += 1
            for decision in decisions { self.decisions.append((decision, trigger, at, partition, team)) }
        }
    }
}

/// One team's desk core as stored in `triage.router-state` under the team's name, with the
/// events its last step decided. Its queue is stored one incident at a time (see
/// ``DeskRecords``).
public struct DeskSnapshot: Codable, Sendable {
    public var desk: TeamDesk
    /// Serialized IncidentEvents of the step that produced this state.
    public var outbox: [Data]

    public init(desk: TeamDesk, outbox: [Data]) {
        self.desk = desk
        self.outbox = outbox
    }
}

/// The records of `triage.router-state`, all in the team's routing partition: the core under
/// the key `TEAM` (a ``DeskSnapshot``), each queued incident under `TEAM` + U+001F + incident id
/// (a JSON ``TeamDesk/QueuedIncident``; a tombstone when it leaves the queue). Older
/// whole-desk records (a core with its queue) still restore.
public enum DeskRecords {
    static let separator: UInt8 = 0x1F

    public static func queueKey(team: String, incident: String) -> [UInt8] { Array(team.utf8) + [separator] + Array(incident.utf8) }

    /// The team of a record's key, and the incident for a queue entry.
    public static func parse(key: some Collection<UInt8>) -> (team: String, incident: String?) {
        guard let cut = key.firstIndex(of: separator) else { return (String(decoding: key, as: UTF8.self), nil) }
        return (String(decoding: key[..<cut], as: UTF8.self), String(decoding: key[key.index(after: cut)...], as: UTF8.self))
    }

    static func encode(_ value: some Encodable) throws -> [UInt8] { Array(try JSONEncoder().encode(value)) }

    /// A partition's desks from its latest record per key; `repairs` are the queue records to
    /// write so the stored queue matches the restored desks again (stale entries removed,
    /// missing ones written).
    public static func restore(_ latest: [[UInt8]: [UInt8]?]) -> (desks: [String: TeamDesk], outboxes: [String: [Data]], repairs: [(key: [UInt8], value: [UInt8]?)]) {
        let decoder = JSONDecoder()
        var cores: [String: DeskSnapshot] = [:]
        var queues: [String: [(key: [UInt8], entry: TeamDesk.QueuedIncident?)]] = [:]
        for (key, value) in latest {
            let (team, incident) = parse(key: key)
            if incident != nil {
                let entry = value.flatMap { try? decoder.decode(TeamDesk.QueuedIncident.self, from: Data($0)) }
                if value != nil { queues[team, default: []].append((key, entry)) }
            } else if let value, let snapshot = try? decoder.decode(DeskSnapshot.self, from: Data(value)) {
                cores[team] = snapshot
            }
        }
        var desks: [String: TeamDesk] = [:]
        var repairs: [(key: [UInt8], value: [UInt8]?)] = []
        for team in Set(cores.keys).union(queues.keys) {
            let stored = queues[team] ?? []
            let desk = TeamDesk.assemble(core: cores[team]?.desk ?? TeamDesk(team: team), queued: stored.compactMap(\.entry)).desk
            desks[team] = desk
            let queued = Dictionary(uniqueKeysWithValues: desk.queuedIncidents.map { (queueKey(team: team, incident: $0.id), $0) })
            let storedEntries = Dictionary(stored.map { ($0.key, $0.entry) }, uniquingKeysWith: { _, last in last })
            for key in storedEntries.keys where queued[key] == nil { repairs.append((key, nil)) }
            for (key, entry) in queued where storedEntries[key] != .some(entry) {
                if let bytes = try? encode(entry) { repairs.append((key, bytes)) }
            }
        }
        return (desks, cores.mapValues(\.outbox), repairs)
    }
}

/// The latest record per key of each partition read.
private final class DeskSink: Sendable {
    let records: Mutex<[Int32: [[UInt8]: [UInt8]?]]>
    init(partitions: [Int32]) { records = Mutex(Dictionary(uniqueKeysWithValues: partitions.map { ($0, [:]) })) }
    func add(_ record: KafkaRecordView) {
        guard let key = record.key else { return }
        let value = record.value.map { Array($0) }
        records.withLock { $0[record.partition]?[Array(key)] = .some(value) }
    }
}
