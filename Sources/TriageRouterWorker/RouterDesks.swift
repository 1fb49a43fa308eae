import Foundation
import Logging
import Synchronization
import TriageKafka
import TriageRouting
import TriageRoutingEvents
import TriageSLA
import TriageSchema
import TriageStreams

/// The router's stage 2 as a ``StreamProcessor``: per owned `triage.routing` partition, the
/// `TeamDesk` of every team hashed to it, restored from the fenced, compacted
/// `triage.router-state`; the roster (agent profiles and presence) as the global input.
///
/// A step writes, in order: (phase 0) per touched desk its changed queue entries, its core with
/// the events it implies (the outbox), then the queue entries that left the queue — all in one
/// partition, so whatever prefix of them reached the log reassembles to a consistent desk;
/// (phase 1) the events themselves. After a crash the new owner restores the desks and
/// publishes their outboxes again (deterministic ids make the repeat recognisable), so a
/// decision is never in the state without its event, or the other way round. Events of a desk
/// another instance has fenced off are withheld (see ``ChangelogFencing``).
///
/// Every desk-log record goes in phase 0: the runtime keeps a phase in step order, so a key
/// written by one step is never overtaken by an earlier step's write of the same key.
struct RouterDesks: StreamProcessor {
    let input: String
    let changelog: Changelog<DeskPartition>?
    var stateName: String { "router desks" }
    let global: GlobalTopic<Result<AgentEvent, PoisonReason>>?
    private let policy: RoutingPolicy
    private let topics: RouterTopics
    private let routingPartitions: Int
    private let counters: RouterCounters
    private let onDecision: (@Sendable (RoutingDecision) -> Void)?
    private let logger: Logger
    /// The desks' "now" (shift ends, queue alerts, overflows).
    private let time: RouterTime
    /// Makes the triggers of this instance's clock and takeover decisions its own.
    private let instanceID = String(UUID().uuidString.prefix(8)).lowercased()

    /// Owned routing partition → team → desk.
    private var desks: [Int32: [String: TeamDesk]] = [:]
    /// Every agent's latest profile and presence.
    private var agents: [String: RosterEntry] = [:]
    /// Owned partition → team → the highest `triage.routing` offset applied to the desk.
    /// Stored with each core, so records the restored state already reflects are not applied
    /// twice when they are read again (offsets are committed after the state).
    private var applied: [Int32: [String: Int64]] = [:]
    private var takeovers = 0

    init(
        policy: RoutingPolicy, topics: RouterTopics, routingPartitions: Int, counters: RouterCounters,
        onDecision: (@Sendable (RoutingDecision) -> Void)?, logger: Logger, time: RouterTime = .system
    ) {
        input = topics.routing
        // An unreadable record is skipped (counted, and a warning): its key keeps its last
        // readable value rather than the desk starting again from nothing.
        changelog = Changelog(topic: topics.deskState, fencing: .deskLog) { bytes in
            try DeskRecords.check(bytes)
            return Array(bytes)
        }
        // An agent event that cannot be read, or that a roster file would refuse, changes nothing.
        global = GlobalTopic(topic: topics.agentEvents) { key, bytes in
            guard let event = try? AgentEvent(serializedBytes: Array(bytes)) else {
                return .failure(PoisonReason("not a decodable \(AgentEvent.protoMessageName)"))
            }
            if let problem = event.rosterProblem(key: key.map { String(decoding: $0, as: UTF8.self) }) {
                return .failure(PoisonReason(problem))
            }
            return .success(event)
        }
        // The dispatcher drops a repeated Opened of a closed incident, so desks need not remember
        // closed ids (that memory would grow every snapshot with every incident ever closed).
        var policy = policy
        policy.closedIncidentMemory = 0
        self.policy = policy
        self.topics = topics
        self.routingPartitions = routingPartitions
        self.counters = counters
        self.onDecision = onDecision
        self.logger = logger
        self.time = time
    }

    private func partition(of team: String) -> Int32 { routingPartition(team: team, partitions: routingPartitions) }

    // MARK: Partitions

    mutating func assigned(_ states: [Int32: DeskPartition], output: inout StreamOutput) throws {
        takeovers += 1
        var queued = 0
        var repairs = 0
        var pending = 0
        var carried: [String: [Data]] = [:]
        for (partition, state) in states {
            let restored = DeskRecords.restore(state.latest)
            desks[partition] = restored.desks
            applied[partition] = restored.applied
            for desk in restored.desks.values { queued += desk.queue.count }
            // Queue entries that disagree with their desk's core (a step cut short between its
            // records) are rewritten before anything else happens.
            for repair in restored.repairs {
                repairs += 1
                output.write(
                    KafkaProducerMessage(topic: topics.deskState, key: repair.key, value: repair.value, partition: partition),
                    on: partition)
            }
            // The last step of the previous owner may have died between its snapshot and its
            // events: publish that outbox again (same ids). A desk the catch-up below writes
            // again carries it on in its new core, so a crash before these events are out
            // loses nothing either.
            for (team, outbox) in restored.outboxes {
                carried["\(partition)/\(team)"] = outbox
                for bytes in outbox {
                    guard let event = try? IncidentEvent(serializedBytes: Array(bytes)) else { continue }
                    pending += 1
                    output.write(try event.kafkaRecord(topic: topics.incidentEvents), phase: 1, on: partition)
                }
            }
        }
        logger.info(
            "router desks taken over",
            metadata: [
                "partitions": "\(states.keys.sorted())", "queued": "\(queued)", "queue_repairs": "\(repairs)",
                "outbox_republished": "\(pending)",
            ]
        )
        // Bring restored desks up to date with the roster as this instance knows it.
        var step = Step()
        let now = time.now()
        let trigger = "restore-\(instanceID)-\(takeovers)"
        for (id, entry) in agents {
            guard let agent = entry.profile, states[partition(of: agent.team)] != nil else { continue }
            // The takeover makes these decisions' ids its own: a later takeover deciding the
            // same for the same incident is a new decision, not a repeat.
            apply(.profile(agent), team: agent.team, at: now, trigger: "\(trigger)-\(id)", to: &step)
            apply(.presence(agent: id, entry.presence), team: agent.team, at: now, trigger: "\(trigger)-\(id)", to: &step)
        }
        try publish(step, into: &output, carrying: carried)
    }

    mutating func revoked(_ partitions: [Int32]) {
        for partition in partitions {
            desks[partition] = nil
            applied[partition] = nil
        }
        updateStatistics()
    }

    // MARK: Inputs

    mutating func process(_ records: [KafkaMessage], output: inout StreamOutput) throws {
        var step = Step()
        var skipped = 0
        for message in records {
            guard let team = message.header(routingTeamHeader)?.stringValue else {
                output.deadLetter(message, reason: PoisonReason("routing record without a \(routingTeamHeader) header"))
                continue
            }
            guard let value = message.valueBytes, let event = try? IncidentEvent(serializedBytes: value) else {
                output.deadLetter(message, reason: PoisonReason("not a decodable \(IncidentEvent.protoMessageName)"))
                continue
            }
            // The dispatcher validated what it forwards; a record written here by anybody else
            // is checked before it can become a decision (and an invalid lifecycle event).
            guard event.occurredAt.isInProtobufRange else {
                output.deadLetter(message, reason: PoisonReason("occurred_at is outside the Timestamp range (years 1 to 9999)"))
                continue
            }
            guard partition(of: team) == message.partition else {
                output.deadLetter(
                    message,
                    reason: PoisonReason(
                        "a routing record of team '\(team)' belongs in partition \(partition(of: team)), not \(message.partition)"))
                continue
            }
            let routed = RoutingInput(event, team: team, attributes: Self.attributes(of: message))
            guard let input = routed else { continue }
            // Read again after a restart or takeover, but already in the restored desk.
            if let through = applied[message.partition]?[team], message.offset <= through {
                skipped += 1
                continue
            }
            applied[message.partition, default: [:]][team] = message.offset
            if let traceparent = message.header(TriageHeader.traceparent)?.stringValue, let trace = TraceContext(traceparent: traceparent) {
                step.traces[event.incidentID] = trace
            }
            apply(input, team: team, at: event.occurredAt.date, trigger: event.eventID, to: &step)
        }
        if skipped > 0 { counters.withLock { [skipped] in $0.skipped += skipped } }
        try publish(step, into: &output)
    }

    /// Agent profile and presence changes; applied to the desks of teams owned here.
    mutating func update(global records: [Result<AgentEvent, PoisonReason>], output: inout StreamOutput) throws {
        var step = Step()
        var refused: [PoisonReason] = []
        for record in records {
            let event: AgentEvent
            switch record {
            case .success(let decoded): event = decoded
            case .failure(let reason):
                refused.append(reason)
                continue
            }
            let id = event.agentID
            let old = agents[id]
            let entry = (old ?? RosterEntry()).after(event)
            agents[id] = entry
            let at = event.occurredAt.date
            switch event.event {
            case .profile:
                guard let agent = entry.profile else { continue }
                if let previous = old?.profile, previous.team != agent.team {
                    apply(.removed(agent: id), team: previous.team, at: at, trigger: event.eventID, to: &step)
                }
                apply(.profile(agent), team: agent.team, at: at, trigger: event.eventID, to: &step)
                apply(.presence(agent: id, entry.presence), team: agent.team, at: at, trigger: event.eventID, to: &step)
            case .presenceChanged:
                if let team = entry.profile?.team {
                    apply(.presence(agent: id, entry.presence), team: team, at: at, trigger: event.eventID, to: &step)
                }
            case nil:
                continue
            }
        }
        if let first = refused.first {
            logger.warning(
                "agent events skipped", metadata: ["topic": "\(topics.agentEvents)", "count": "\(refused.count)", "first": "\(first)"])
        }
        try publish(step, into: &output)
    }

    // MARK: Shift changes

    mutating func nextPunctuation() -> Punctuation? {
        let now = time.now()
        var next: Date?
        for teams in desks.values {
            for desk in teams.values {
                if let change = desk.nextShiftChange(after: now, policy: policy), next.map({ change < $0 }) ?? true { next = change }
                if let due = desk.nextDeadline(after: now, policy: policy), next.map({ due < $0 }) ?? true { next = due }
            }
        }
        return next.map { Punctuation(due: $0, delay: time.realDelay($0)) }
    }

    /// Shift boundaries, queue alerts and overflows falling due: every desk re-evaluates.
    mutating func punctuate(output: inout StreamOutput) throws {
        let now = time.now()
        var step = Step()
        let trigger = "clock-\(instanceID)-\(Int(now.timeIntervalSince1970 * 1000))"
        // Over the names only: iterating `desks` itself while the steps mutate it would copy
        // every desk (the loop holds a second reference to the storage).
        for teams in desks.values.map({ Array($0.keys) }) {
            for team in teams { apply(.clock, team: team, at: now, trigger: trigger, to: &step) }
        }
        try publish(step, into: &output)
    }

    // MARK: Steps

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
    }

    /// Applies `input` to `team`'s desk if this instance owns the team's partition.
    private mutating func apply(_ input: RoutingInput, team: String, at: Date, trigger: String, to step: inout Step) {
        let partition = partition(of: team)
        guard desks[partition] != nil else { return }
        if step.seen.insert("\(partition)/\(team)").inserted {
            step.touched.append((partition, team))
            step.before["\(partition)/\(team)"] = desks[partition]![team] ?? TeamDesk(team: team)
        }
        // In place: a copy taken out of the dictionary would make the desk copy its agents
        // and incidents on every input (copy-on-write with two owners), not once per step.
        let decisions = desks[partition]![team, default: TeamDesk(team: team)].apply(input, at: at, policy: policy)
        step.inputs += 1
        for decision in decisions { step.decisions.append((decision, trigger, at, partition, team)) }
    }

    /// Writes a step's desk records in phase 0 and its events in phase 1, each on behalf of its
    /// desk's partition. `carried`: outboxes of restored desks, kept in their next core.
    private func publish(_ step: Step, into output: inout StreamOutput, carrying carried: [String: [Data]] = [:]) throws {
        var outboxes = carried
        var counts = RouterStatistics()
        var alerts: [String: [KafkaProducerMessage]] = [:]
        for (decision, trigger, at, partition, team) in step.decisions {
            onDecision?(decision)
            if case .queueWaiting(let alert) = decision {
                // Written before the desk core that remembers the alert fired: a crash between the
                // two asks again, under the same idempotency key.
                for request in IncidentNotices.requests(for: alert, at: at) {
                    alerts["\(partition)/\(team)", default: []].append(
                        KafkaProducerMessage(
                            topic: topics.notificationRequests, key: Array(request.recipient.utf8), value: try request.serializedBytes(),
                            headers: [
                                KafkaHeader(name: TriageHeader.contentType, string: TriageHeader.protobufContentType),
                                KafkaHeader(
                                    name: TriageHeader.schema,
                                    string: "\(NotificationRequest.protoMessageName); v=\(TriageHeader.schemaVersion)"),
                                KafkaHeader(name: TriageHeader.idempotencyKey, string: request.idempotencyKey),
                            ]))
                }
                logger.info(
                    "queue alert",
                    metadata: ["team": "\(team)", "incident": "\(alert.incident)", "waited_minutes": "\(alert.waitedMinutes)"])
                continue
            }
            guard let event = IncidentEvent(routing: decision, trigger: trigger, at: at) else {
                counts.queued += 1
                continue
            }
            switch decision {
            case .assigned: counts.assigned += 1
            case .reassigned: counts.reassigned += 1
            case .unassigned, .queued: counts.queued += 1
            case .teamChanged: counts.teamChanged += 1
            case .queueWaiting: break
            }
            // Serialized once: the outbox keeps the very bytes the event is published with.
            let bytes: [UInt8] = try event.serializedBytes()
            // The incident's trace goes on (the opening call's, through the routing record).
            let trace = step.traces[event.incidentID]
            output.write(
                event.kafkaRecord(topic: topics.incidentEvents, serialized: bytes, traceparent: trace?.child().traceparent), phase: 1,
                on: partition)
            logger.info(
                "routed",
                metadata: [
                    "incident": "\(event.incidentID)", "event_id": "\(event.eventID)", "team": "\(team)",
                    "agent": "\(event.assigned.agentID.isEmpty ? event.reassigned.toAgentID : event.assigned.agentID)",
                    "choice": "\(Self.choice(of: decision) ?? "-")", "trace_id": "\(trace?.traceID ?? "-")",
                ]
            )
            outboxes["\(partition)/\(team)", default: []].append(Data(bytes))
        }
        for (partition, team) in step.touched {
            guard let desk = desks[partition]?[team] else { continue }
            for alert in alerts["\(partition)/\(team)"] ?? [] { output.write(alert, on: partition) }
            let changes = desk.queueChanges(since: step.before["\(partition)/\(team)"] ?? TeamDesk(team: team))
            for entry in changes.upserted {
                output.write(
                    KafkaProducerMessage(
                        topic: topics.deskState, key: DeskRecords.queueKey(team: team, incident: entry.id),
                        value: DeskRecords.encode(entry),
                        partition: partition),
                    on: partition)
            }
            let core = DeskSnapshot(
                desk: desk.core, outbox: outboxes["\(partition)/\(team)"] ?? [], appliedThrough: applied[partition]?[team])
            output.write(
                KafkaProducerMessage(topic: topics.deskState, key: Array(team.utf8), value: core.jsonBytes, partition: partition),
                on: partition)
            for id in changes.removed {
                output.write(
                    KafkaProducerMessage(
                        topic: topics.deskState, key: DeskRecords.queueKey(team: team, incident: id), value: nil, partition: partition),
                    on: partition)
            }
        }
        counts.inputs = step.inputs
        updateStatistics()
        let counters = self.counters
        output.whenDelivered { [counts] in
            counters.withLock {
                $0.assigned += counts.assigned
                $0.reassigned += counts.reassigned
                $0.queued += counts.queued
                $0.teamChanged += counts.teamChanged
                $0.inputs += counts.inputs
            }
        }
    }

    /// The team policy that chose the agent (the contract's AssignmentReason has no field for it).
    private static func choice(of decision: RoutingDecision) -> String? {
        switch decision {
        case .assigned(_, _, let reason), .reassigned(_, _, _, let reason): reason.choice.rawValue
        default: nil
        }
    }

    /// The incident attributes the dispatcher put in a routing record's headers.
    private static func attributes(of message: KafkaMessage) -> RoutedAttributes {
        RoutedAttributes(
            severity: message.header(routingSeverityHeader)?.stringValue.flatMap { Int($0) },
            product: message.header(routingProductHeader)?.stringValue ?? "",
            language: message.header(routingLanguageHeader)?.stringValue ?? "",
            customer: message.header(routingCustomerHeader)?.stringValue ?? "",
            openedAt: message.header(routingOpenedAtHeader)?.stringValue.flatMap { Double($0) }.map { Date(timeIntervalSince1970: $0) }
        )
    }

    private func updateStatistics() {
        let partitions = desks.count
        let teams = desks.values.reduce(0) { $0 + $1.count }
        let agents = self.agents.count
        let online = self.agents.values.count { $0.presence == .online }
        counters.withLock {
            $0.partitions = partitions
            $0.teams = teams
            $0.agents = agents
            $0.online = online
        }
    }
}
