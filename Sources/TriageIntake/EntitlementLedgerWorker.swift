import Foundation
public import Logging
public import ServiceLifecycle
import SwiftProtobuf
import Synchronization
public import TriageEntitlements
public import TriageKafka
public import TriageOps
public import TriageSchema
public import TriageStreams

/// Topics of the entitlement ledger and the intake.
public struct LedgerTopics: Sendable, Hashable {
    /// Commands in, keyed by entitlement id.
    public var requests = TriageTopic.entitlementRequests
    /// Compacted entitlement state, co-partitioned with ``requests``.
    public var entitlements = TriageTopic.entitlements
    /// Answers, keyed by request id.
    public var replies = TriageTopic.entitlementReplies
    /// Compacted incident → Opened event.
    public var directory = TriageTopic.incidentDirectory
    public var incidentEvents = TriageTopic.incidentEvents
    public var incidentState = TriageTopic.incidentState
    /// Where the intake's SetPresence call publishes.
    public var agentEvents = TriageTopic.agentEvents
    public var deadLetter = TriageTopic.deadLetter

    public init() {}
}

/// Figures of a ledger since it started.
public struct LedgerStatistics: Sendable, Hashable {
    public var commands = 0
    public var accepted = 0
    public var rejected = 0
    public var deadLettered = 0
    /// Commands redelivered after a crash that the restored state had already applied.
    public var skipped = 0
    public var entitlements = 0
    public var lastRestoreSeconds = 0.0
}

/// The entitlement ledger: the single writer of every entitlement whose partition it owns.
///
/// Commands arrive on `triage.entitlement-requests` keyed by entitlement id, so all commands of
/// one entitlement are applied one after another by one process, whichever intake sent them:
/// two opens racing for the last credit are ordered by the partition, and exactly one wins.
/// Runs on ``StreamWorker``: state lives in the co-partitioned compacted `triage.entitlements`,
/// restored when a partition is assigned. Per batch (every command fetched at once, applied in
/// partition order by this one writer): apply every command (``EntitlementLedger``, pure);
/// write the lifecycle events of accepted commands (completed with the decision) and their
/// directory entries, then, together, the new entitlement states (one per entitlement the
/// batch changed, stamped with the offset of the last command that changed it) and the answers
/// on `triage.entitlement-replies` naming where the events were stored; the offsets are stored
/// after both phases. After a crash, a redelivered command at or below its entitlement's
/// stamped offset is skipped (its events are out: they precede the state), so a rejection
/// stays a rejection even if later commands freed a credit; a command past the stamp is applied
/// again to the same state and decides the same way (its events get the same ids, which
/// consumers drop as duplicates) — which is also why an answer may leave with its state rather
/// than after it: an answer whose state was not stored is given again, identically.
public final class EntitlementLedgerWorker: Service, Sendable {
    public let health: WorkerHealth
    private let worker: StreamWorker<LedgerProcessor>
    private let figures: LedgerFigures

    /// - Parameter answered: Told of a batch's answers, in the order decided, once its events
    ///   are stored (as the answers are written): the ``LedgerClient`` of the same process, whose
    ///   callers then wait neither for the answers to be stored nor for the reply topic to be
    ///   read back (it reads them there too; an answer arrives once either way). An answer is
    ///   final then: after a crash its command is decided again, the same way.
    public init(
        consumer: KafkaConsumer, producer: KafkaProducer, client: KafkaClientConfiguration, policy: BillingPolicy,
        topics: LedgerTopics = .init(), health: WorkerHealth = .init(), logger: Logger,
        answered: (@Sendable ([EntitlementReply]) -> Void)? = nil
    ) {
        let figures = LedgerFigures()
        self.figures = figures
        self.health = health
        worker = StreamWorker(
            processor: LedgerProcessor(policy: policy, topics: topics, figures: figures, answered: answered), consumer: consumer,
            producer: producer,
            configuration: StreamWorkerConfiguration(
                worker: "ledger", client: client, deadLetterTopic: topics.deadLetter, acceptsOffers: true,
                restoreObserver: { _, seconds in figures.value.withLock { $0.lastRestoreSeconds = seconds } }
            ),
            health: health, logger: logger
        )
    }

    public var statistics: LedgerStatistics { figures.value.withLock { $0 } }
    /// The runtime's figures: partitions held, commands decided as offered by this process.
    public var runtimeStatistics: StreamWorkerStatistics { worker.statistics }

    /// Commands this process has just stored on the request topic (see ``StreamWorker/offer(_:)``).
    public func offer(_ requests: [KafkaMessage]) { worker.offer(requests) }

    /// Fails fast unless the entitlement state topic exists with the request topic's partition
    /// count, and the reply, directory and lifecycle topics (and `also`) exist. Returns the
    /// partitions of every topic of the cluster, from one metadata request.
    @discardableResult
    public static func checkTopics(_ topics: LedgerTopics, also: [String] = [], admin: KafkaAdmin) async throws -> [String: [Int32]] {
        try await checkCoPartitioned(
            input: topics.requests, companions: [CoPartitionedTopic(topics.entitlements, configs: ["cleanup.policy=compact"])], admin: admin
        )
        let partitions = Dictionary(uniqueKeysWithValues: try await admin.listTopics().map { ($0.name, $0.partitions.map(\.id)) })
        for name in [topics.replies, topics.directory, topics.incidentEvents] + also where partitions[name] == nil {
            let compacted = name == topics.directory || name == topics.incidentState
            throw TopicSetupError(
                "topic \(name) does not exist; create it with: triage topics create \(name):6"
                    + (compacted ? " --config cleanup.policy=compact" : "")
            )
        }
        return partitions
    }

    public func run() async throws {
        try await worker.run()
    }

    /// The request's events as published: Opened gets the paying entitlement and its coverage;
    /// ClosedUnresolved gets the billing decision.
    static func complete(_ events: [IncidentEvent], with outcome: LedgerOutcome, entitlement: Entitlement?) -> [IncidentEvent] {
        events.map { event in
            var event = event
            switch event.event {
            case .opened(var opened):
                if let entitlement {
                    opened.entitlementID = entitlement.id
                    opened.coverage = entitlement.coverage == .twentyFourSeven ? .coverage24X7 : .businessHours
                }
                event.opened = opened
            case .closedUnresolved(var closed):
                if case .billed(let decision, _, _) = outcome { closed.creditRefunded = decision.refunded }
                event.closedUnresolved = closed
            default:
                break
            }
            return event
        }
    }

    /// Shape checks only: when an event happened is the sender's business.
    static let eventValidator = IncidentEventValidator(allowedClockSkew: 1e12)
}

final class LedgerFigures: Sendable {
    let value = Mutex(LedgerStatistics())
}

/// The ledger's logic: commands in; events, directory entries, states and answers out.
struct LedgerProcessor: StreamProcessor {
    let input: String
    let stateName = "entitlements"
    let changelog: Changelog<KeyedState<Entitlement>>?
    let policy: BillingPolicy
    let topics: LedgerTopics
    let figures: LedgerFigures
    let answered: (@Sendable ([EntitlementReply]) -> Void)?
    var owned: [Int32: [String: Entitlement]] = [:]

    /// Events and directory entries first, then the states and the answers: a stored state
    /// means its command's events are out, which is what lets a redelivered command be skipped;
    /// an answer names where its events were stored, so it too waits for the first phase (and
    /// no longer: waiting for the states as well would cost every call another round trip).
    static let eventsPhase = 0
    static let statesPhase = 1
    static let repliesPhase = 1

    init(policy: BillingPolicy, topics: LedgerTopics, figures: LedgerFigures, answered: (@Sendable ([EntitlementReply]) -> Void)? = nil) {
        self.answered = answered
        self.input = topics.requests
        self.changelog = Changelog(topic: topics.entitlements) { bytes in try LedgerJSON.decode(Entitlement.self, from: Array(bytes)) }
        self.policy = policy
        self.topics = topics
        self.figures = figures
    }

    mutating func assigned(_ states: [Int32: KeyedState<Entitlement>], output: inout StreamOutput) throws {
        for (partition, state) in states { owned[partition] = state.values }
        updateCount()
    }

    mutating func revoked(_ partitions: [Int32]) {
        for partition in partitions { owned[partition] = nil }
        updateCount()
    }

    private struct StateKey: Hashable {
        var partition: Int32
        var entitlementID: String
    }

    private struct Pending {
        var reply: EntitlementReply
        var events: [IncidentEvent]
        /// The request's trace, continued by its events.
        var trace: TraceContext? = nil
        /// Incidents this request charged (or counted) for the first time: only their Opened
        /// goes to the directory; a repeat never rewrites an entry.
        var newlyOpened: Set<String> = []
    }

    mutating func process(_ batch: [KafkaMessage], output: inout StreamOutput) throws {
        var pending: [Pending] = []
        // The states the batch changed, each written once (its last value): a compacted topic
        // keeps only the last anyway, and an entitlement's state grows with its charges.
        var changedStates: [StateKey: Entitlement] = [:]
        var changedOrder: [StateKey] = []
        var accepted = 0
        var rejected = 0
        var skipped = 0
        var poisoned = 0
        for message in batch {
            if let mismatch = message.schemaMismatch(expected: EntitlementRequest.protoMessageName) {
                output.deadLetter(message, reason: mismatch)
                poisoned += 1
                continue
            }
            let request: EntitlementRequest
            do {
                request = try EntitlementRequest(serializedBytes: message.valueBytes ?? [])
            } catch {
                output.deadLetter(message, reason: PoisonReason("not a decodable \(EntitlementRequest.protoMessageName): \(error)"))
                poisoned += 1
                continue
            }
            var reply = EntitlementReply()
            reply.requestID = request.requestID
            reply.entitlementID = request.entitlementID
            let command: LedgerCommand
            do {
                command = try request.ledgerCommand()
            } catch {
                // The sender waits for an answer: tell it, and keep the record for inspection.
                output.deadLetter(message, reason: PoisonReason(error.description))
                poisoned += 1
                reply.setLedgerAnswer(.failure(LedgerRejection(code: .invalid, message: error.description)))
                pending.append(Pending(reply: reply, events: []))
                continue
            }
            let current = owned[message.partition]?[request.entitlementID]
            if let applied = current?.appliedRequestOffset, message.offset <= applied {
                // Redelivered after a crash and already applied: its events were published and
                // its answer was (or will be retried) — a repeat could decide differently now.
                skipped += 1
                continue
            }
            var (next, outcome) = EntitlementLedger.apply(command, to: current, entitlementID: request.entitlementID, policy: policy)
            switch outcome {
            case .failure(let rejection):
                rejected += 1
                reply.setLedgerAnswer(.failure(rejection))
                pending.append(Pending(reply: reply, events: []))
            case .success(let result):
                // The events are the sender's (stamped with its clock), completed here: checked
                // before the new state is kept, so an invalid one refuses the command instead of
                // stopping the ledger.
                let events = EntitlementLedgerWorker.complete(request.events, with: result, entitlement: next ?? current)
                if let violation = events.lazy.compactMap({ EntitlementLedgerWorker.eventValidator.violations(of: $0).first }).first {
                    rejected += 1
                    reply.setLedgerAnswer(
                        .failure(LedgerRejection(code: .invalid, message: "an event of the request is invalid: \(violation)")))
                    pending.append(Pending(reply: reply, events: []))
                    continue
                }
                accepted += 1
                if next != current, var changed = next {
                    changed.appliedRequestOffset = message.offset
                    next = changed
                    owned[message.partition, default: [:]][request.entitlementID] = changed
                    let key = StateKey(partition: message.partition, entitlementID: request.entitlementID)
                    if changedStates.updateValue(changed, forKey: key) == nil { changedOrder.append(key) }
                }
                reply.setLedgerAnswer(.success(result))
                var newlyOpened: Set<String> = []
                if case .opened(_, let charged, _) = result { newlyOpened = Set(charged) }
                pending.append(
                    Pending(
                        reply: reply, events: events,
                        trace: message.header(TriageHeader.traceparent)?.stringValue.flatMap(TraceContext.init(traceparent:)),
                        newlyOpened: newlyOpened
                    )
                )
            }
        }
        for key in changedOrder {
            output.write(
                KafkaProducerMessage(
                    topic: topics.entitlements, key: Array(key.entitlementID.utf8), value: try LedgerJSON.encode(changedStates[key]!),
                    headers: [KafkaHeader(name: TriageHeader.contentType, string: TriageHeader.jsonContentType)],
                    partition: key.partition
                ),
                phase: Self.statesPhase
            )
        }
        // The events in order, then their directory entries: the first phase's reports up to
        // `origins.count` are the events', which the answers name.
        var directory: [KafkaProducerMessage] = []
        var origins: [(pending: Int, incidentID: String, eventID: String)] = []
        for index in pending.indices {
            for event in pending[index].events {
                output.write(
                    try event.kafkaRecord(topic: topics.incidentEvents, traceparent: pending[index].trace?.child().traceparent),
                    phase: Self.eventsPhase
                )
                origins.append((index, event.incidentID, event.eventID))
                if case .opened = event.event, pending[index].newlyOpened.contains(event.incidentID) {
                    directory.append(
                        KafkaProducerMessage(topic: topics.directory, key: Array(event.incidentID.utf8), value: try event.serializedBytes())
                    )
                }
            }
        }
        output.write(contentsOf: directory, phase: Self.eventsPhase)
        if !pending.isEmpty {
            let repliesTopic = topics.replies
            let answered = self.answered
            output.write(phase: Self.repliesPhase) { [pending, origins] stored in
                var replies = pending.map(\.reply)
                for (report, origin) in zip(stored, origins) {
                    var position = EventPosition()
                    position.incidentID = origin.incidentID
                    position.eventID = origin.eventID
                    position.partition = report.partition
                    position.offset = report.offset
                    replies[origin.pending].events.append(position)
                }
                // Final once the events are stored: after a crash the same answers are given
                // again (see the type's comment), so the waiting caller need not wait for them
                // to be stored as well.
                answered?(replies)
                return try replies.map {
                    KafkaProducerMessage(
                        topic: repliesTopic, key: Array($0.requestID.utf8), value: try $0.serializedBytes(),
                        headers: [
                            KafkaHeader(
                                name: TriageHeader.schema, string: "\(EntitlementReply.protoMessageName); v=\(TriageHeader.schemaVersion)")
                        ])
                }
            }
        }
        let figures = self.figures
        let commands = batch.count
        output.whenDelivered { [accepted, rejected, skipped, poisoned] in
            figures.value.withLock {
                $0.commands += commands
                $0.accepted += accepted
                $0.rejected += rejected
                $0.deadLettered += poisoned
                $0.skipped += skipped
            }
        }
        updateCount()
    }

    func updateCount() {
        let count = owned.values.reduce(0) { $0 + $1.count }
        figures.value.withLock { $0.entitlements = count }
    }
}
