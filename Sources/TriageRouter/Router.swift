import Foundation
public import Logging
public import ServiceLifecycle
import SwiftProtobuf
import Synchronization
import TriageCore
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
    /// Agents whose latest presence (as this instance has applied it) is online.
    public var online = 0
    public var assigned = 0
    public var reassigned = 0
    public var queued = 0
    public var inputs = 0
    /// Times another instance's fence was found before this one's writes (see ``DeskLog``):
    /// the step's decisions were withheld and the partition dropped.
    public var fencedOff = 0
    /// Partitions taken over again after being fenced off while still assigned here.
    public var retaken = 0
    /// Routing records read again (after a restart or takeover) that the restored desks
    /// already reflected: not applied twice.
    public var skipped = 0
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
    /// Names this instance's fences (with a count of its takeovers).
    private let instanceID = String(UUID().uuidString.prefix(8)).lowercased()
    private let retakeDelay: Duration

    /// `consumer` subscribes to `topics.routing` in the router group; `roster` to
    /// `topics.agentEvents` in a group of its own (every instance sees every agent).
    /// `retakeDelay`: after another instance fenced this one off a partition that is still
    /// assigned here, how long to wait (for the group to hand it to its real owner) before
    /// taking it over again — a few session timeouts.
    public init(
        consumer: KafkaConsumer, roster: KafkaConsumer, producer: KafkaProducer, client: KafkaClientConfiguration,
        policy: RoutingPolicy, topics: RouterTopics = .init(), routingPartitions: Int, health: WorkerHealth = .init(),
        logger: Logger, retakeDelay: Duration = .seconds(10), onDecision: (@Sendable (RoutingDecision) -> Void)? = nil
    ) {
        self.retakeDelay = retakeDelay
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
        // The roster as it stands (each agent's latest profile and presence) before any desk is
        // restored; the roster consumer, reading from the beginning, then skips what this read
        // covered. Re-applying the topic's history instead would put every desk through past
        // presence changes (an agent offline an hour ago: their incidents moved again), and
        // decide again what was decided before.
        var state = State(owner: self, inbox: inbox)
        (state.agents, state.rosterNext) = try await readRoster()
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

    /// Every agent's latest profile and presence from the agent topic, and where each partition
    /// of it ended.
    private func readRoster() async throws -> (agents: [String: (profile: Agent?, presence: Presence)], ends: [Int32: Int64]) {
        let partitions = try await KafkaAdmin(configuration: client, logger: logger).describeTopic(topics.agentEvents).partitions.map(\.id)
        let read = Mutex<(agents: [String: (profile: Agent?, presence: Presence)], ends: [Int32: Int64])>(([:], [:]))
        let summary = try await KafkaPartitionReader.readToEnd(
            topic: topics.agentEvents, partitions: partitions, client: client, logger: logger
        ) { record in
            let event = record.value.flatMap { try? AgentEvent(serializedBytes: Array($0)) }
            read.withLock {
                $0.ends[record.partition] = record.offset + 1
                if let event { $0.agents[event.agentID] = Self.roster($0.agents[event.agentID], after: event) }
            }
        }
        let result = read.withLock { $0 }
        logger.info("roster read", metadata: ["agents": "\(result.agents.count)", "records": "\(summary.records)"])
        return result
    }

    /// An agent's roster entry after `event` (a profile or a presence change).
    static func roster(_ entry: (profile: Agent?, presence: Presence)?, after event: AgentEvent) -> (profile: Agent?, presence: Presence) {
        var entry = entry ?? (profile: nil, presence: .offline)
        switch event.event {
        case .profile(let profile):
            entry.profile = Agent(
                id: event.agentID, team: profile.team, skills: Set(profile.products), languages: Set(profile.languages),
                capacity: Int(profile.capacity), shiftCalendar: profile.shiftCalendarID.isEmpty ? nil : profile.shiftCalendarID
            )
        case .presenceChanged(let change):
            entry.presence = change.presence == .online ? .online : change.presence == .away ? .away : .offline
        case nil:
            break
        }
        return entry
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
        /// Per owned desk-log partition: the token this instance fenced it with, and the
        /// highest offset of it accounted for (written by this instance, or read).
        var writers: [Int32: String] = [:]
        var known: [Int32: Int64] = [:]
        var takeovers = 0
        /// Partitions another instance fenced this one off while still assigned here: when to
        /// look again whether they are.
        var retakes: [Int32: Date] = [:]
        /// Owned partition → team → the highest `triage.routing` offset applied to the desk.
        /// Stored with each core, so records the restored state already reflects are not
        /// applied twice when they are read again (offsets are committed after the state).
        var applied: [Int32: [String: Int64]] = [:]
        /// Per agent-topic partition, the next offset not yet applied. The roster consumer has
        /// no committed offsets: whenever its group rebalances (a session timeout under load, a
        /// coordinator fault) it reads from the beginning again, and an agent event applied a
        /// second time would decide again what it decided before, under the same ids.
        var rosterNext: [Int32: Int64] = [:]

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
                for partition in partitions where partition.topic == owner.topics.routing { drop(partition.partition) }
                updateStatistics()
            case .messages(let batch):
                let started = ContinuousClock.now
                var step = Step()
                var skipped = 0
                for message in batch where desks[message.partition] != nil {
                    guard let team = message.header(routingTeamHeader)?.stringValue, let value = message.valueBytes,
                        let event = try? IncidentEvent(serializedBytes: Array(value)),
                        let input = Self.input(for: event, team: team, message: message)
                    else { continue }
                    // Read again after a restart or takeover, but already in the restored desk.
                    if let through = applied[message.partition]?[team], message.offset <= through {
                        skipped += 1
                        continue
                    }
                    applied[message.partition, default: [:]][team] = message.offset
                    if let traceparent = message.header(TriageHeader.traceparent)?.stringValue,
                        let trace = TraceContext(traceparent: traceparent)
                    {
                        step.traces[event.incidentID] = trace
                    }
                    step.apply(
                        input, team: team, partition: message.partition, at: event.occurredAt.date, trigger: event.eventID, state: &self)
                }
                if skipped > 0 { owner.stats.withLock { $0.skipped += skipped } }
                try await publish(step)
                try owner.consumer.storeOffsets(batch.filter { desks[$0.partition] != nil })
                owner.metrics.processed(batch.count, since: started)
            }
        }

        /// Agent profile and presence changes; applied to the desks of teams owned here.
        mutating func apply(roster batch: [KafkaMessage]) async throws {
            var step = Step()
            for message in batch {
                guard message.offset >= rosterNext[message.partition] ?? 0 else { continue }
                rosterNext[message.partition] = message.offset + 1
                // An agent event that cannot be read, or whose instant is out of range, changes nothing.
                guard let value = message.valueBytes, let event = try? AgentEvent(serializedBytes: Array(value)), event.event != nil,
                    event.occurredAt.isInProtobufRange
                else { continue }
                let id = event.agentID
                let old = agents[id]
                let entry = Router.roster(old, after: event)
                agents[id] = entry
                let at = event.occurredAt.date
                switch event.event {
                case .profile:
                    guard let agent = entry.profile else { continue }
                    if let previous = old?.profile, previous.team != agent.team {
                        step.apply(
                            .removed(agent: id), team: previous.team, partition: partition(of: previous.team), at: at,
                            trigger: event.eventID, state: &self)
                    }
                    step.apply(
                        .profile(agent), team: agent.team, partition: partition(of: agent.team), at: at, trigger: event.eventID,
                        state: &self)
                    step.apply(
                        .presence(agent: id, entry.presence), team: agent.team, partition: partition(of: agent.team), at: at,
                        trigger: event.eventID, state: &self)
                case .presenceChanged:
                    if let team = entry.profile?.team {
                        step.apply(
                            .presence(agent: id, entry.presence), team: team, partition: partition(of: team), at: at,
                            trigger: event.eventID, state: &self)
                    }
                case nil:
                    continue
                }
            }
            try await publish(step)
        }

        /// Forgets a partition's desks and write position.
        mutating func drop(_ partition: Int32) {
            desks[partition] = nil
            applied[partition] = nil
            writers[partition] = nil
            known[partition] = nil
            retakes[partition] = nil
        }

        /// Another instance fenced this one off `partition`: its desks are dropped (their last
        /// step's decisions were not published; the new owner replays the inputs) and its
        /// records skipped. If the group still has it here after `retakeDelay` (the fence came
        /// from an instance that has lost it since), it is taken over again.
        mutating func fencedOff(_ partition: Int32) {
            drop(partition)
            retakes[partition] = Date().addingTimeInterval(
                Double(owner.retakeDelay.components.seconds) + Double(owner.retakeDelay.components.attoseconds) / 1e18)
            owner.stats.withLock { $0.fencedOff += 1 }
            owner.logger.warning(
                "router desks of partition \(partition) were taken over by another instance; decisions withheld, partition dropped",
                metadata: ["partition": "\(partition)"]
            )
            updateStatistics()
        }

        /// Partitions fenced off earlier and still assigned here: read again from the group's
        /// committed offset with a fresh takeover.
        mutating func retake(now: Date) async throws {
            let due = retakes.filter { $0.value <= now }.map(\.key).sorted()
            guard !due.isEmpty else { return }
            for partition in due { retakes[partition] = nil }
            let assigned = Set(try owner.consumer.assignment().filter { $0.topic == owner.topics.routing }.map(\.partition))
            let still = due.filter { assigned.contains($0) && desks[$0] == nil }
            guard !still.isEmpty else { return }
            let topicPartitions = still.map { TopicPartition(owner.topics.routing, $0) }
            let committed = try await owner.consumer.committedOffsets(for: topicPartitions)
            for partition in topicPartitions {
                // -2: librdkafka's "beginning" when the group committed nothing yet.
                try await owner.consumer.seek(partition, to: committed[partition] ?? -2)
            }
            owner.logger.warning("taking fenced-off router desks over again (still assigned here)", metadata: ["partitions": "\(still)"])
            owner.stats.withLock { $0.retaken += still.count }
            try await restore(still)
        }

        /// Shift boundaries: every desk re-evaluates.
        mutating func clock() async throws {
            let now = Date()
            try await retake(now: now)
            var step = Step()
            // Over the names only: iterating `desks` itself while the steps mutate it would copy
            // every desk (the loop holds a second reference to the storage).
            for (partition, teams) in desks.mapValues({ Array($0.keys) }) {
                for team in teams {
                    step.apply(
                        .clock, team: team, partition: partition, at: now,
                        trigger: "clock-\(owner.instanceID)-\(Int(now.timeIntervalSince1970 * 1000))", state: &self)
                }
            }
            try await publish(step)
        }

        mutating func restore(_ partitions: [Int32]) async throws {
            guard !partitions.isEmpty else { return }
            owner.health.beginRestore("router desks \(partitions)")
            defer { owner.health.endRestore(status: "running") }
            // A fence first: from it on, records of whoever wrote these partitions before do not
            // count (a late step of an instance that lost them), and what came before it is all
            // read below.
            takeovers += 1
            let token = "\(owner.instanceID)-\(takeovers)"
            let fences = try await owner.producer.sendAll(
                partitions.map {
                    KafkaProducerMessage(
                        topic: owner.topics.deskState, key: DeskLog.fenceKey, value: Array(token.utf8),
                        headers: [KafkaHeader(name: DeskLog.writerHeader, string: token)], partition: $0
                    )
                }
            )
            let sink = DeskSink(partitions: partitions)
            let summary = try await KafkaPartitionReader.readToEnd(
                topic: owner.topics.deskState, partitions: partitions, client: owner.client, logger: owner.logger
            ) { record in sink.add(record) }
            var pending: [KafkaProducerMessage] = []
            var repairs: [KafkaProducerMessage] = []
            var queued = 0
            var ignored = 0
            for (partition, read) in sink.logs.withLock({ $0 }) {
                guard read.log.writer == token else {
                    // Someone fenced after this instance did: it has lost these already.
                    fencedOff(partition)
                    continue
                }
                writers[partition] = token
                known[partition] = max(read.lastOffset, fences.filter { $0.partition == partition }.map(\.offset).max() ?? -1)
                ignored += read.log.ignored
                let restored = DeskRecords.restore(read.log.latest)
                desks[partition] = restored.desks
                applied[partition] = restored.applied
                for desk in restored.desks.values { queued += desk.queue.count }
                for bytes in restored.outboxes.values.joined() {
                    guard let event = try? IncidentEvent(serializedBytes: Array(bytes)) else { continue }
                    pending.append(Self.eventRecord(event, bytes: Array(bytes), topic: owner.topics.incidentEvents))
                }
                for repair in restored.repairs {
                    repairs.append(
                        KafkaProducerMessage(topic: owner.topics.deskState, key: repair.key, value: repair.value, partition: partition))
                }
            }
            // Queue entries that disagree with their desk's core (a step cut short between its
            // records) are rewritten before anything else happens.
            for partition in try await send(repairs) { fencedOff(partition) }
            // The last step of the previous owner may have died between its snapshot and its
            // events: publish that outbox again (same ids).
            try await owner.producer.sendAll(pending)
            owner.logger.info(
                "router desks restored",
                metadata: [
                    "partitions": "\(partitions)", "records": "\(summary.records)", "queued": "\(queued)",
                    "queue_repairs": "\(repairs.count)",
                    "outbox_republished": "\(pending.count)", "writer": "\(token)", "fenced_off_records_ignored": "\(ignored)",
                ]
            )
            // Bring restored desks up to date with the roster as this instance knows it.
            var step = Step()
            let now = Date()
            for (id, entry) in agents {
                guard let agent = entry.profile, partitions.contains(partition(of: agent.team)) else { continue }
                // The takeover's token makes these decisions' ids its own: a later takeover
                // deciding the same for the same incident is a new decision, not a repeat.
                step.apply(
                    .profile(agent), team: agent.team, partition: partition(of: agent.team), at: now, trigger: "restore-\(token)-\(id)",
                    state: &self)
                step.apply(
                    .presence(agent: id, entry.presence), team: agent.team, partition: partition(of: agent.team), at: now,
                    trigger: "restore-\(token)-\(id)",
                    state: &self
                )
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
                        id: event.incidentID, team: team, severity: severity,
                        product: message.header(routingProductHeader)?.stringValue ?? "",
                        language: language.isEmpty ? nil : language, openedAt: event.occurredAt.date
                    )
                )
            case .escalated(let escalated) where escalated.reassignRequested:
                return .reassignRequested(incident: event.incidentID, cause: "sla_breach")
            case .reassignRequested: return .reassignRequested(incident: event.incidentID, cause: "requested")
            default: return nil
            }
        }

        /// Sends `messages`, marking the desk-log records with this instance's writer token, and
        /// returns the desk-log partitions where another instance's fence came before them.
        mutating func send(_ messages: [KafkaProducerMessage]) async throws -> Set<Int32> {
            guard !messages.isEmpty else { return [] }
            let marked = messages.map { message -> KafkaProducerMessage in
                guard message.topic == owner.topics.deskState, let partition = message.partition, let writer = writers[partition] else {
                    return message
                }
                var message = message
                message.headers.append(KafkaHeader(name: DeskLog.writerHeader, string: writer))
                return message
            }
            let reports = try await owner.producer.sendAll(marked)
            var written: [Int32: [Int64]] = [:]
            for report in reports where report.topic == owner.topics.deskState {
                written[report.partition, default: []].append(report.offset)
            }
            var fenced: Set<Int32> = []
            for (partition, offsets) in written.sorted(by: { $0.key < $1.key }) where try await !verify(partition, wrote: offsets) {
                fenced.insert(partition)
            }
            return fenced
        }

        /// Whether this instance still writes `partition` of the desk log after writing
        /// `offsets` there: its records follow the last one it accounted for without a gap, or
        /// the records in the gap hold no fence of another instance.
        mutating func verify(_ partition: Int32, wrote offsets: [Int64]) async throws -> Bool {
            guard let me = writers[partition], let last = known[partition], let highest = offsets.max() else { return false }
            if offsets.min() == last + 1 && highest - last == Int64(offsets.count) {
                known[partition] = highest
                return true
            }
            let seen = Mutex<(fences: [(key: [UInt8], value: [UInt8]?)], last: Int64)>(([], last))
            _ = try await KafkaPartitionReader.readToEnd(
                topic: owner.topics.deskState, partitions: [partition], from: [partition: last + 1], client: owner.client,
                logger: owner.logger
            ) { record in
                let fence = record.key.map { DeskLog.isFence(key: $0) } ?? false
                let value = fence ? record.value.map { Array($0) } : nil
                seen.withLock {
                    if fence { $0.fences.append((DeskLog.fenceKey, value)) }
                    $0.last = max($0.last, record.offset)
                }
            }
            let (fences, read) = seen.withLock { $0 }
            known[partition] = max(read, highest)
            return !DeskLog.fencedOff(fences, me: me)
        }

        /// Publishes a step's decisions and snapshots, waiting for every delivery. Decisions of
        /// a desk whose partition another instance has fenced off are withheld (see ``DeskLog``).
        mutating func publish(_ step: Step) async throws {
            var events: [(partition: Int32, record: KafkaProducerMessage)] = []
            var outboxes: [String: [Data]] = [:]
            var assigned = 0
            var reassigned = 0
            var queued = 0
            for (decision, trigger, at, partition, team) in step.decisions {
                owner.onDecision?(decision)
                var event = IncidentEvent()
                event.producer = TriageProducer.router
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
                    // Back to the queue, published so the record of who holds what stays
                    // complete on the lifecycle topic.
                    queued += 1
                    event.incidentID = incident
                    event.eventID = "route-" + Self.hash("\(trigger)|\(incident)|unassigned|\(from)")
                    event.returnedToQueue = .with {
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
                events.append(
                    (
                        partition,
                        Self.eventRecord(event, bytes: bytes, topic: owner.topics.incidentEvents, traceparent: trace?.child().traceparent)
                    ))
                owner.logger.info(
                    "routed",
                    metadata: [
                        "incident": "\(event.incidentID)", "event_id": "\(event.eventID)", "team": "\(team)",
                        "agent": "\(event.assigned.agentID.isEmpty ? event.reassigned.toAgentID : event.assigned.agentID)",
                        "trace_id": "\(trace?.traceID ?? "-")",
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
                    first.append(
                        KafkaProducerMessage(
                            topic: owner.topics.deskState, key: DeskRecords.queueKey(team: team, incident: entry.id),
                            value: DeskRecords.encode(entry), partition: partition))
                }
                let core = DeskSnapshot(
                    desk: desk.core, outbox: outboxes["\(partition)/\(team)"] ?? [], appliedThrough: applied[partition]?[team])
                first.append(
                    KafkaProducerMessage(topic: owner.topics.deskState, key: Array(team.utf8), value: core.jsonBytes, partition: partition))
                for id in changes.removed {
                    then.append(
                        KafkaProducerMessage(
                            topic: owner.topics.deskState, key: DeskRecords.queueKey(team: team, incident: id), value: nil,
                            partition: partition))
                }
            }
            // Decisions are published only where this instance's core followed no fence of another.
            let fenced = try await send(first)
            for partition in fenced { fencedOff(partition) }
            let allowed = events.filter { !fenced.contains($0.partition) }.map(\.record)
            for partition in try await send(then.filter { !fenced.contains($0.partition ?? -1) } + allowed) { fencedOff(partition) }
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
            let online = self.agents.values.count { $0.presence == .online }
            owner.stats.withLock {
                $0.partitions = partitions
                $0.teams = teams
                $0.agents = agents
                $0.online = online
            }
        }

        /// Points the timer at the next shift change of any owned desk (or the next retake).
        mutating func reschedule() {
            let now = Date()
            var next: Date?
            for teams in desks.values {
                for desk in teams.values {
                    if let change = desk.nextShiftChange(after: now, policy: owner.policy), next.map({ change < $0 }) ?? true {
                        next = change
                    }
                }
            }
            if let retake = retakes.values.min(), next.map({ retake < $0 }) ?? true { next = retake }
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
            if seen.insert("\(partition)/\(team)").inserted {
                touched.append((partition, team))
                before["\(partition)/\(team)"] = state.desks[partition]![team] ?? TeamDesk(team: team)
            }
            // In place: a copy taken out of the dictionary would make the desk copy its agents
            // and incidents on every input (copy-on-write with two owners), not once per step.
            let decisions = state.desks[partition]![team, default: TeamDesk(team: team)].apply(input, at: at, policy: state.owner.policy)
            inputs += 1
            for decision in decisions { self.decisions.append((decision, trigger, at, partition, team)) }
        }
    }
}

/// Each partition read through a ``DeskLog`` (the latest record per key of its writer), and the
/// last offset read.
private final class DeskSink: Sendable {
    let logs: Mutex<[Int32: (log: DeskLog, lastOffset: Int64)]>
    init(partitions: [Int32]) { logs = Mutex(Dictionary(uniqueKeysWithValues: partitions.map { ($0, (DeskLog(), -1)) })) }
    func add(_ record: borrowing KafkaRecordView) {
        let key = record.key.map { Array($0) }
        let value = record.value.map { Array($0) }
        let writer = record.header(DeskLog.writerHeader).map { String(decoding: $0, as: UTF8.self) }
        logs.withLock {
            $0[record.partition]?.lastOffset = record.offset
            if let key { $0[record.partition]?.log.add(key: key, value: value, writer: writer) }
        }
    }
}
