public import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization
public import TriageKafka
public import TriageOps
public import TriageSLA
import TriageSLAEvents
public import TriageSchema
import TriageStreams

/// Topics the escalator reads and writes.
public struct EscalatorTopics: Sendable, Hashable {
    /// Lifecycle events in; SlaWarning and Escalated out (same partition as the incident).
    public var incidentEvents = TriageTopic.incidentEvents
    /// Compacted SLA state per incident, co-partitioned with ``incidentEvents``.
    public var changelog = TriageTopic.slaState
    public var notificationRequests = TriageTopic.notificationRequests
    public var deadLetter = TriageTopic.deadLetter

    public init() {}
}

/// Figures the escalator keeps while it runs.
public struct EscalatorStatistics: Sendable, Hashable {
    /// Partitions owned (state restored).
    public var partitions = 0
    public var tracked = 0
    public var eventsApplied = 0
    public var warnings = 0
    public var escalations = 0
    public var deadLettered = 0
    public var restoredRecords = 0
    /// Duration of the last changelog restore, in seconds.
    public var lastRestoreSeconds: Double = 0
    /// Detection lag (SLA time from due to published) of the last escalation, in seconds.
    public var lastLagSeconds: Double = 0
}

/// The SLA escalator: tracks every open incident's clocks from the lifecycle topic and
/// publishes SlaWarning / Escalated events and notification requests when they fall due.
///
/// Runs on ``StreamWorker`` (one writer per process, its timer a punctuation): per assigned
/// partition it keeps an ``SlaBook`` (incidents + timer heap), restored from the compacted
/// changelog before the partition's first record is processed and dropped on revocation.
/// Every step writes its events and notifications first and the changelog records once those
/// are acknowledged; the input offsets are stored after both (at-least-once). Emitted events
/// carry deterministic ids and the escalator reads its own events back as "done" markers, so a
/// replay after a crash does not fire twice.
///
/// In a `ServiceGroup` list: producer, escalator, consumer (shutdown runs in reverse).
public final class Escalator: Service, Sendable {
    public let health: WorkerHealth
    private let worker: StreamWorker<EscalatorProcessor>
    private let figures: EscalatorFigures

    /// `consumer` must subscribe to `topics.incidentEvents` with manual offset storing (the
    /// binding's default); `client` is used to read changelog partitions back.
    public init(
        consumer: KafkaConsumer,
        producer: KafkaProducer,
        client: KafkaClientConfiguration,
        policy: SlaPolicy,
        clock: any SlaTimeSource = ScaledClock.system,
        topics: EscalatorTopics = .init(),
        health: WorkerHealth = .init(),
        logger: Logger,
        recipients: (@Sendable (_ name: String, _ at: Date) -> String)? = nil,
        onEmit: (@Sendable (IncidentEvent) -> Void)? = nil
    ) {
        let figures = EscalatorFigures()
        self.figures = figures
        self.health = health
        let processor = EscalatorProcessor(
            rules: SlaRules(policy), clock: clock, topics: topics, figures: figures, logger: logger, recipients: recipients, onEmit: onEmit)
        worker = StreamWorker(
            processor: processor, consumer: consumer, producer: producer,
            configuration: StreamWorkerConfiguration(
                worker: "escalator", client: client, deadLetterTopic: topics.deadLetter,
                restoreObserver: { records, seconds in
                    figures.value.withLock {
                        $0.restoredRecords += records
                        $0.lastRestoreSeconds = seconds
                    }
                }
            ),
            health: health, logger: logger
        )
    }

    public var statistics: EscalatorStatistics { figures.value.withLock { $0 } }

    /// Checks that the changelog exists with as many partitions as the lifecycle topic (they
    /// must be co-partitioned). Call at start-up for a clear error instead of a stuck restore.
    public static func checkTopics(_ topics: EscalatorTopics, client: KafkaClientConfiguration, logger: Logger) async throws {
        try await checkCoPartitioned(
            input: topics.incidentEvents, companions: [CoPartitionedTopic(topics.changelog, configs: ["cleanup.policy=compact"])],
            client: client,
            logger: logger
        )
    }

    public func run() async throws {
        try await worker.run()
    }
}

/// The escalator's figures, shared by the facade and its processor.
final class EscalatorFigures: Sendable {
    let value = Mutex(EscalatorStatistics())
}

/// One partition's SLA state as the changelog restores it.
struct SlaPartition: ChangelogState {
    var book = SlaBook()
    mutating func restore(_ value: IncidentSla, key: String) { book.restore(key, state: value) }
    mutating func forget(key: String) { book.remove(key) }
}

/// The escalator's logic: lifecycle events in, SLA actions and changelog records out.
struct EscalatorProcessor: StreamProcessor {
    let input: String
    let stateName = "SLA state"
    let changelog: Changelog<SlaPartition>?
    let rules: SlaRules
    let clock: any SlaTimeSource
    let topics: EscalatorTopics
    let figures: EscalatorFigures
    let logger: Logger
    let decoder: IncidentEventDecoder
    let onEmit: (@Sendable (IncidentEvent) -> Void)?
    /// Resolves recipient names chosen when an action falls due (`oncall:<team>`); `nil`: names as written.
    let recipients: (@Sendable (_ name: String, _ at: Date) -> String)?
    var books: [Int32: SlaBook] = [:]

    /// Events and notification requests first; the state once they are acknowledged: they are
    /// in other topics (other partitions, maybe other brokers), so written together the state
    /// could land alone before a crash and the restored state would hold a warning or
    /// escalation that was never published.
    static let actionsPhase = 0
    static let statePhase = 1

    init(
        rules: SlaRules, clock: any SlaTimeSource, topics: EscalatorTopics, figures: EscalatorFigures, logger: Logger,
        recipients: (@Sendable (_ name: String, _ at: Date) -> String)? = nil, onEmit: (@Sendable (IncidentEvent) -> Void)?
    ) {
        self.input = topics.incidentEvents
        self.changelog = Changelog(topic: topics.changelog) { bytes in try IncidentSlaCodec.decode(bytes, rules: rules) }
        self.rules = rules
        self.clock = clock
        self.topics = topics
        self.figures = figures
        self.logger = logger
        self.onEmit = onEmit
        self.recipients = recipients
        // "In the future" is judged by SLA time (a scaled clock runs ahead of the wall clock).
        self.decoder = IncidentEventDecoder(validator: .init(now: { clock.now() }))
    }

    mutating func assigned(_ states: [Int32: SlaPartition], output: inout StreamOutput) throws {
        for (partition, state) in states { books[partition] = state.book }
        updateTracked()
        // Anything that fell due while nobody owned these partitions fires now.
        try punctuate(output: &output)
    }

    mutating func revoked(_ partitions: [Int32]) {
        for partition in partitions { books[partition] = nil }
        updateTracked()
    }

    mutating func process(_ records: [KafkaMessage], output: inout StreamOutput) throws {
        var outcomes: [Int32: SlaBook.Outcome] = [:]
        var applied = 0
        var poisoned = 0
        for message in records {
            switch decoder.decode(message) {
            case .failure(let reason):
                output.deadLetter(message, reason: reason)
                poisoned += 1
            case .success(let event):
                guard let input = SlaInput(event) else { continue }
                if case .paused(let reason, _) = input, rules.pauseReasonIndex(named: reason) == nil {
                    // Never dead-lettered: the event is valid, the policy just does not name the reason.
                    logger.warning(
                        "unknown pause reason: paused as \(SlaPolicy.waitingOnCustomer) (every clock); add it under pause_reasons in the SLA policy",
                        metadata: ["incident": "\(event.incidentID)", "pause_reason": "\(reason)", "event_id": "\(event.eventID)"])
                }
                let outcome = books[message.partition]!.apply(
                    input, to: event.incidentID, at: event.occurredAt.date, position: message.offset, rules: rules)
                outcomes[message.partition, default: .init()].merge(outcome)
                applied += 1
                // Product, customer and team for the notification payloads (maintenance windows
                // match on them); a repeated Opened may carry a new team.
                if case .opened(let opened) = event.event,
                    books[message.partition]!.setParties(
                        product: opened.product, customer: opened.customerAccount, team: opened.team, of: event.incidentID),
                    !outcome.changed.contains(event.incidentID)
                {
                    outcomes[message.partition, default: .init()].changed.append(event.incidentID)
                }
                // The trace of the request that opened the incident, kept with its state.
                if case .opened = event.event, let header = message.header(TriageHeader.traceparent)?.stringValue,
                    let context = TraceContext(traceparent: header), let trace = SlaTraceID(hex: context.traceID)
                {
                    books[message.partition]!.setTrace(trace, of: event.incidentID)
                }
            }
        }
        let now = clock.now()
        // Over a copy of the keys: iterating `books.keys` while a book is mutated keeps a second
        // reference to the storage, and every book would be copied whole (profiled: 22 % of the
        // escalator's CPU, and most of its breach lag).
        for partition in Array(books.keys) {
            outcomes[partition, default: .init()].merge(books[partition]!.fire(upTo: now, rules: rules))
        }
        try write(outcomes, now: now, into: &output)
        let figures = self.figures
        figures.value.withLock {
            $0.eventsApplied += applied
            $0.deadLettered += poisoned
        }
        updateTracked()
    }

    mutating func nextPunctuation() -> Punctuation? {
        var next: Date?
        for partition in Array(books.keys) {  // a copy: see process(_:output:)
            if let due = books[partition]!.nextDue(), next.map({ due < $0 }) ?? true { next = due }
        }
        return next.map { Punctuation(due: $0, delay: clock.realDelay(until: $0)) }
    }

    mutating func punctuate(output: inout StreamOutput) throws {
        let now = clock.now()
        var outcomes: [Int32: SlaBook.Outcome] = [:]
        for partition in Array(books.keys) {  // a copy: see process(_:output:)
            let outcome = books[partition]!.fire(upTo: now, rules: rules)
            if !outcome.isEmpty { outcomes[partition] = outcome }
        }
        try write(outcomes, now: now, into: &output)
        updateTracked()
    }

    /// The actions (events + notifications) and changelog records of `outcomes`.
    func write(_ outcomes: [Int32: SlaBook.Outcome], now: Date, into output: inout StreamOutput) throws {
        var warnings = 0
        var escalations = 0
        var lag: Double?
        for (partition, outcome) in outcomes where !outcome.isEmpty {
            for (incident, due) in outcome.actions {
                // The on-call of a team is whoever is on call when the level falls due.
                let action = recipients.map { due.resolvingRecipients($0) } ?? due
                let event = action.incidentEvent(incident: incident)
                // Records caused by this milestone continue the incident's trace.
                let trace = books[partition]?[incident]?.trace.map { TraceContext(traceID: $0.hex, spanID: "0000000000000001").child() }
                output.write(
                    KafkaProducerMessage(
                        topic: topics.incidentEvents,
                        key: Array(incident.utf8),
                        value: try event.serializedBytes(),
                        headers: event.kafkaHeaders(traceparent: trace?.traceparent).map { KafkaHeader(name: $0.name, string: $0.value) },
                        partition: partition
                    ),
                    phase: Self.actionsPhase
                )
                for request in action.notificationRequests(
                    incident: incident, requestedAt: now, parties: books[partition]?[incident]?.parties)
                {
                    output.write(
                        KafkaProducerMessage(
                            topic: topics.notificationRequests,
                            key: Array(request.recipient.utf8),
                            value: try request.serializedBytes(),
                            headers: [
                                KafkaHeader(name: TriageHeader.contentType, string: TriageHeader.protobufContentType),
                                KafkaHeader(
                                    name: TriageHeader.schema,
                                    string: "\(NotificationRequest.protoMessageName); v=\(TriageHeader.schemaVersion)"),
                                KafkaHeader(name: TriageHeader.idempotencyKey, string: request.idempotencyKey),
                            ] + (trace.map { [KafkaHeader(name: TriageHeader.traceparent, string: $0.child().traceparent)] } ?? [])
                        ),
                        phase: Self.actionsPhase
                    )
                }
                switch action.kind {
                case .warning: warnings += 1
                case .escalation:
                    escalations += 1
                    lag = now.timeIntervalSince(action.due)
                }
                onEmit?(event)
                logger.info(
                    "SLA \(action)",
                    metadata: ["incident": "\(incident)", "event_id": "\(event.eventID)", "trace_id": "\(trace?.traceID ?? "-")"]
                )
            }
            let book = books[partition]
            var written = Set<String>()
            for incident in outcome.changed where written.insert(incident).inserted {
                guard let state = book?[incident] else { continue }
                output.write(
                    KafkaProducerMessage(
                        topic: topics.changelog, key: Array(incident.utf8), value: IncidentSlaCodec.encode(state, rules: rules),
                        partition: partition),
                    phase: Self.statePhase
                )
            }
            for incident in outcome.forgotten {
                output.write(
                    KafkaProducerMessage(topic: topics.changelog, key: Array(incident.utf8), value: nil, partition: partition),
                    phase: Self.statePhase)
            }
        }
        guard warnings + escalations > 0 else { return }
        let figures = self.figures
        output.whenDelivered { [warnings, escalations, lag] in
            figures.value.withLock {
                $0.warnings += warnings
                $0.escalations += escalations
                if let lag { $0.lastLagSeconds = lag }
            }
        }
    }

    func updateTracked() {
        let tracked = books.values.reduce(0) { $0 + $1.count }
        let partitions = books.count
        figures.value.withLock {
            $0.tracked = tracked
            $0.partitions = partitions
        }
    }
}

extension SlaBook.Outcome {
    mutating func merge(_ other: SlaBook.Outcome) {
        actions += other.actions
        changed += other.changed
        forgotten += other.forgotten
    }
}
