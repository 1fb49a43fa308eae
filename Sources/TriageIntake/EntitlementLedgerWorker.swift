import Foundation
public import Logging
public import ServiceLifecycle
import SwiftProtobuf
import Synchronization
public import TriageEntitlements
public import TriageKafka
import TriageSchema
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
/// State lives in the co-partitioned compacted `triage.entitlements`, restored when a partition
/// is assigned. Per batch: apply every command (``EntitlementLedger``, pure); publish the
/// lifecycle events of accepted commands (completed with the decision) and their directory
/// entries, then the new entitlement states (each stamped with the offset of the command that
/// changed it), then the answers on `triage.entitlement-replies`; then store the offsets.
/// After a crash, a redelivered command at or below its entitlement's stamped offset is skipped
/// (its events are out: they precede the state), so a rejection stays a rejection even if later
/// commands freed a credit; a command past the stamp is applied again to the same state and
/// decides the same way (its events get the same ids, which consumers drop as duplicates).
public final class EntitlementLedgerWorker: Service, Sendable {
    public let health: WorkerHealth
    private let consumer: KafkaConsumer
    private let producer: KafkaProducer
    private let client: KafkaClientConfiguration
    private let policy: BillingPolicy
    private let topics: LedgerTopics
    private let logger: Logger
    private let stats = Mutex(LedgerStatistics())
    private let metrics = WorkerMetrics(worker: "ledger")

    public init(
        consumer: KafkaConsumer, producer: KafkaProducer, client: KafkaClientConfiguration, policy: BillingPolicy,
        topics: LedgerTopics = .init(), health: WorkerHealth = .init(), logger: Logger
    ) {
        self.consumer = consumer
        self.producer = producer
        self.client = client
        self.policy = policy
        self.topics = topics
        self.health = health
        self.logger = logger
    }

    public var statistics: LedgerStatistics { stats.withLock { $0 } }

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
                "topic \(name) does not exist; create it with: triage topics create \(name):6" + (compacted ? " --config cleanup.policy=compact" : "")
            )
        }
        return partitions
    }

    public func run() async throws {
        health.markRunning(true, status: "running")
        defer { health.markRunning(false, status: "stopped") }
        var owned: [Int32: [String: Entitlement]] = [:]
        for try await event in consumer.events {
            switch event {
            case .partitionsAssigned(let partitions):
                let mine = partitions.filter { $0.topic == topics.requests }.map(\.partition)
                defer { health.markAssigned() }
                guard !mine.isEmpty else { continue }
                for (partition, restored) in try await restore(mine) { owned[partition] = restored }
                stats.withLock { $0.entitlements = owned.values.reduce(0) { $0 + $1.count } }
            case .partitionsRevoked(let partitions), .partitionsLost(let partitions):
                for partition in partitions where partition.topic == topics.requests { owned[partition.partition] = nil }
            case .messages(let batch):
                let started = ContinuousClock.now
                try await process(batch.filter { owned[$0.partition] != nil }, owned: &owned)
                metrics.processed(batch.count, since: started)
            }
        }
        try? await gracefulShutdown()
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

    private func process(_ batch: [KafkaMessage], owned: inout [Int32: [String: Entitlement]]) async throws {
        guard !batch.isEmpty else { return }
        var states: [KafkaProducerMessage] = []
        var pending: [Pending] = []
        var poison: [(KafkaMessage, PoisonReason)] = []
        var accepted = 0
        var rejected = 0
        var skipped = 0
        for message in batch {
            if let mismatch = message.schemaMismatch(expected: EntitlementRequest.protoMessageName) {
                poison.append((message, mismatch))
                continue
            }
            let request: EntitlementRequest
            do {
                request = try EntitlementRequest(serializedBytes: message.valueBytes ?? [])
            } catch {
                poison.append((message, PoisonReason("not a decodable \(EntitlementRequest.protoMessageName): \(error)")))
                continue
            }
            var reply = EntitlementReply()
            reply.requestID = request.requestID
            reply.entitlementID = request.entitlementID
            let command: LedgerCommand
            do {
                command = try LedgerJSON.decode(LedgerCommand.self, from: Array(request.commandJson.utf8))
            } catch {
                // The sender waits for an answer: tell it, and keep the record for inspection.
                poison.append((message, PoisonReason("command_json is not a ledger command: \(error)")))
                reply.ok = false
                reply.outcomeJson = Self.json(LedgerRejection(code: .invalid, message: "command_json is not a ledger command: \(error)"))
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
                reply.ok = false
                reply.outcomeJson = Self.json(rejection)
                pending.append(Pending(reply: reply, events: []))
            case .success(let result):
                // The events are the sender's (stamped with its clock), completed here: checked
                // before the new state is kept, so an invalid one refuses the command instead of
                // stopping the ledger.
                let events = Self.complete(request.events, with: result, entitlement: next ?? current)
                if let violation = events.lazy.compactMap({ Self.eventValidator.violations(of: $0).first }).first {
                    rejected += 1
                    reply.ok = false
                    reply.outcomeJson = Self.json(LedgerRejection(code: .invalid, message: "an event of the request is invalid: \(violation)"))
                    pending.append(Pending(reply: reply, events: []))
                    continue
                }
                accepted += 1
                if next != current, var changed = next {
                    changed.appliedRequestOffset = message.offset
                    next = changed
                    owned[message.partition, default: [:]][request.entitlementID] = changed
                    states.append(
                        KafkaProducerMessage(
                            topic: topics.entitlements, key: Array(request.entitlementID.utf8), value: try LedgerJSON.encode(changed),
                            headers: [KafkaHeader(name: TriageHeader.contentType, string: TriageHeader.jsonContentType)],
                            partition: message.partition
                        )
                    )
                }
                reply.ok = true
                reply.outcomeJson = Self.json(result)
                var newlyOpened: Set<String> = []
                if case .opened(_, let charged, _) = result { newlyOpened = Set(charged) }
                pending.append(
                    Pending(
                        reply: reply, events: events, trace: message.header(TriageHeader.traceparent)?.stringValue.flatMap(TraceContext.init(traceparent:)),
                        newlyOpened: newlyOpened
                    )
                )
            }
        }
        // Events (and directory entries) first, then the states, then the answers: a stored state
        // means its command's events are out, which is what lets a redelivered command be skipped.
        let publisher = IncidentEventPublisher(producer: producer, topic: topics.incidentEvents, validator: Self.eventValidator)
        var records: [KafkaProducerMessage] = []
        var directory: [KafkaProducerMessage] = []
        var origins: [(pending: Int, event: IncidentEvent)] = []
        for index in pending.indices {
            for event in pending[index].events {
                records.append(try publisher.record(for: event, traceparent: pending[index].trace?.child().traceparent))
                origins.append((index, event))
                if case .opened = event.event, pending[index].newlyOpened.contains(event.incidentID) {
                    directory.append(
                        KafkaProducerMessage(topic: topics.directory, key: Array(event.incidentID.utf8), value: try event.serializedBytes())
                    )
                }
            }
        }
        // One round trip for the whole batch's events (in order) and their directory entries.
        let reports = try await producer.sendAll(records + directory)
        for (report, origin) in zip(reports, origins) {
            var position = EventPosition()
            position.incidentID = origin.event.incidentID
            position.eventID = origin.event.eventID
            position.partition = report.partition
            position.offset = report.offset
            pending[origin.pending].reply.events.append(position)
        }
        try await producer.sendAll(states)
        try await producer.sendAll(
            try pending.map { KafkaProducerMessage(topic: topics.replies, key: Array($0.reply.requestID.utf8), value: try $0.reply.serializedBytes()) }
        )
        if !poison.isEmpty {
            let deadLetters = DeadLetterQueue(producer: producer, topic: topics.deadLetter)
            for (message, reason) in poison { try await deadLetters.send(message, reason: reason) }
        }
        try consumer.storeOffsets(batch)
        let count = owned.values.reduce(0) { $0 + $1.count }
        stats.withLock {
            $0.commands += batch.count
            $0.accepted += accepted
            $0.rejected += rejected
            $0.deadLettered += poison.count
            $0.skipped += skipped
            $0.entitlements = count
        }
        metrics.deadLettered(poison.count)
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

    static func json(_ value: some Encodable) -> String {
        (try? LedgerJSON.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    private func restore(_ partitions: [Int32]) async throws -> [Int32: [String: Entitlement]] {
        health.beginRestore("entitlements \(partitions)")
        defer { health.endRestore(status: "running") }
        let started = ContinuousClock.now
        let sink = EntitlementSink()
        _ = try await KafkaPartitionReader.readToEnd(topic: topics.entitlements, partitions: partitions, client: client, logger: logger) { record in
            sink.add(record)
        }
        var result = Dictionary(uniqueKeysWithValues: partitions.map { ($0, [String: Entitlement]()) })
        for (partition, entitlements) in sink.byPartition.withLock({ $0 }) where result[partition] != nil { result[partition] = entitlements }
        let elapsed = (ContinuousClock.now - started).components
        stats.withLock { $0.lastRestoreSeconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18 }
        let unreadable = sink.unreadable.load(ordering: .relaxed)
        if unreadable > 0 { logger.error("entitlement records that could not be read were skipped", metadata: ["count": "\(unreadable)"]) }
        logger.info("entitlements restored", metadata: ["partitions": "\(partitions)", "entitlements": "\(result.values.reduce(0) { $0 + $1.count })"])
        return result
    }
}

/// Collects entitlement records read back from the compacted topic (latest per key wins).
final class EntitlementSink: Sendable {
    let byPartition = Mutex<[Int32: [String: Entitlement]]>([:])
    let unreadable = Atomic<Int>(0)

    func add(_ record: borrowing KafkaRecordView) {
        guard let key = record.key else { return }
        let id = String(decoding: key, as: UTF8.self)
        guard let value = record.value else {
            byPartition.withLock { _ = $0[record.partition]?.removeValue(forKey: id) }
            return
        }
        guard let entitlement = try? LedgerJSON.decode(Entitlement.self, from: Array(value)) else {
            unreadable.add(1, ordering: .relaxed)
            return
        }
        byPartition.withLock { $0[record.partition, default: [:]][id] = entitlement }
    }
}
