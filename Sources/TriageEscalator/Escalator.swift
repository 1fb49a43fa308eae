import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization
public import TriageKafka
public import TriageSLA
import TriageSLAEvents
public import TriageSchema
public import TriageStreams

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
/// One task owns all state (a single writer): it takes consumer events and timer ticks from
/// one mailbox, so processing, publishing and changelog writes never interleave. Per assigned
/// partition it keeps an ``SlaBook`` (incidents + timer heap), restored from the compacted
/// changelog before the partition's first record is processed and dropped on revocation.
/// Every step publishes its events, notifications and changelog records and waits for their
/// delivery before it stores the input offsets (at-least-once); emitted events carry
/// deterministic ids and the escalator reads its own events back as "done" markers, so a
/// replay after a crash does not fire twice.
///
/// In a `ServiceGroup` list: producer, escalator, consumer (shutdown runs in reverse).
public final class Escalator: Service, Sendable {
    public let health: WorkerHealth
    private let consumer: KafkaConsumer
    private let producer: KafkaProducer
    private let client: KafkaClientConfiguration
    private let rules: SlaRules
    private let clock: any SlaTimeSource
    private let topics: EscalatorTopics
    private let logger: Logger
    private let decoder: IncidentEventDecoder
    private let stats = Mutex(EscalatorStatistics())
    let metrics = WorkerMetrics(worker: "escalator")
    private let onEmit: (@Sendable (IncidentEvent) -> Void)?

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
        onEmit: (@Sendable (IncidentEvent) -> Void)? = nil
    ) {
        self.consumer = consumer
        self.producer = producer
        self.client = client
        self.rules = SlaRules(policy)
        self.clock = clock
        self.topics = topics
        self.health = health
        self.logger = logger
        self.onEmit = onEmit
        // "In the future" is judged by SLA time (a scaled clock runs ahead of the wall clock).
        self.decoder = IncidentEventDecoder(validator: .init(now: { clock.now() }))
    }

    public var statistics: EscalatorStatistics { stats.withLock { $0 } }

    /// Checks that the changelog exists with as many partitions as the lifecycle topic (they
    /// must be co-partitioned). Call at start-up for a clear error instead of a stuck restore.
    public static func checkTopics(_ topics: EscalatorTopics, client: KafkaClientConfiguration, logger: Logger) async throws {
        try await checkCoPartitioned(
            input: topics.incidentEvents, companions: [CoPartitionedTopic(topics.changelog, configs: ["cleanup.policy=compact"])], client: client,
            logger: logger
        )
    }

    private enum Input: Sendable {
        case kafka(KafkaConsumerEvent, CheckedContinuation<Void, Never>)
        case tick
        case failed(any Error)
    }

    public func run() async throws {
        let (mailbox, inbox) = AsyncStream<Input>.makeStream()
        // The pump hands one consumer event at a time and asks for the next only after it was
        // processed, so the consumer's revocation handshake sees the state handed over.
        let consumer = self.consumer
        let pump = Task {
            do {
                for try await event in consumer.events {
                    await withCheckedContinuation { continuation in inbox.yield(.kafka(event, continuation)) }
                }
            } catch {
                inbox.yield(.failed(error))
            }
            inbox.finish()
        }
        var loop = Loop(owner: self, inbox: inbox)
        health.markRunning(true, status: "running")
        var failure: (any Error)?
        for await input in mailbox {
            do {
                switch input {
                case .kafka(let event, let processed):
                    defer { processed.resume() }
                    try await loop.handle(event)
                case .tick:
                    loop.timerDue = nil
                    try await loop.fireDue()
                case .failed(let error):
                    throw error
                }
            } catch {
                failure = error
                break
            }
            loop.reschedule()
        }
        loop.timer?.cancel()
        pump.cancel()
        health.markRunning(false, status: "stopped")
        if let failure { throw failure }
        logger.info("escalator stopped", metadata: ["tracked": "\(statistics.tracked)"])
        // Wait for our own signal (the consumer ended first because it stops first).
        try? await gracefulShutdown()
    }

    /// Everything the single writer owns.
    private struct Loop {
        let owner: Escalator
        let inbox: AsyncStream<Input>.Continuation
        var books: [Int32: SlaBook] = [:]
        var timer: Task<Void, Never>?
        var timerDue: Date?

        init(owner: Escalator, inbox: AsyncStream<Input>.Continuation) {
            self.owner = owner
            self.inbox = inbox
        }

        mutating func handle(_ event: KafkaConsumerEvent) async throws {
            switch event {
            case .partitionsAssigned(let partitions):
                try await restore(partitions.filter { $0.topic == owner.topics.incidentEvents }.map(\.partition))
                owner.health.markAssigned()
            case .partitionsRevoked(let partitions), .partitionsLost(let partitions):
                // Every step already waited for its deliveries; the binding commits the stored
                // offsets when we ask for the next event.
                for partition in partitions where partition.topic == owner.topics.incidentEvents {
                    books[partition.partition] = nil
                }
                owner.logger.info("SLA state handed over", metadata: ["partitions": "\(partitions.map(\.partition))"])
                updateTracked()
            case .messages(let batch):
                let started = ContinuousClock.now
                try await process(batch)
                owner.metrics.processed(batch.count, since: started)
            }
        }

        mutating func process(_ batch: [KafkaMessage]) async throws {
            var outcomes: [Int32: SlaBook.Outcome] = [:]
            var poison: [(KafkaMessage, PoisonReason)] = []
            var applied = 0
            for message in batch {
                guard books[message.partition] != nil else { continue }
                switch owner.decoder.decode(message) {
                case .failure(let reason):
                    poison.append((message, reason))
                case .success(let event):
                    guard let input = SlaInput(event) else { continue }
                    let outcome = books[message.partition]!.apply(
                        input, to: event.incidentID, at: event.occurredAt.date, position: message.offset, rules: owner.rules
                    )
                    outcomes[message.partition, default: .init()].merge(outcome)
                    applied += 1
                    // The trace of the request that opened the incident, kept with its state.
                    if case .opened = event.event, let header = message.header(TriageHeader.traceparent)?.stringValue,
                        let context = TraceContext(traceparent: header), let trace = SlaTraceID(hex: context.traceID)
                    {
                        books[message.partition]!.setTrace(trace, of: event.incidentID)
                    }
                }
            }
            let now = owner.clock.now()
            for partition in books.keys {
                outcomes[partition, default: .init()].merge(books[partition]!.fire(upTo: now, rules: owner.rules))
            }
            try await publish(outcomes, now: now)
            if !poison.isEmpty {
                let deadLetters = DeadLetterQueue(producer: owner.producer, topic: owner.topics.deadLetter)
                for (message, reason) in poison {
                    owner.logger.warning("dead-lettered a record", metadata: ["offset": "\(message.offset)", "reason": "\(reason)"])
                    try await deadLetters.send(message, reason: reason)
                }
            }
            // Only partitions we own (records of a partition lost meanwhile are not ours to commit).
            try owner.consumer.storeOffsets(batch.filter { books[$0.partition] != nil })
            owner.stats.withLock {
                $0.eventsApplied += applied
                $0.deadLettered += poison.count
            }
            owner.metrics.deadLettered(poison.count)
            updateTracked()
        }

        mutating func fireDue() async throws {
            let now = owner.clock.now()
            var outcomes: [Int32: SlaBook.Outcome] = [:]
            for partition in books.keys {
                let outcome = books[partition]!.fire(upTo: now, rules: owner.rules)
                if !outcome.isEmpty { outcomes[partition] = outcome }
            }
            try await publish(outcomes, now: now)
            updateTracked()
        }

        /// Publishes actions (events + notifications) and changelog records, and waits until
        /// every one of them is stored.
        func publish(_ outcomes: [Int32: SlaBook.Outcome], now: Date) async throws {
            var records: [KafkaProducerMessage] = []
            var warnings = 0
            var escalations = 0
            var lag: Double?
            for (partition, outcome) in outcomes where !outcome.isEmpty {
                for (incident, action) in outcome.actions {
                    let event = action.incidentEvent(incident: incident)
                    // Records caused by this milestone continue the incident's trace.
                    let trace = books[partition]?[incident]?.trace.map { TraceContext(traceID: $0.hex, spanID: "0000000000000001").child() }
                    records.append(
                        KafkaProducerMessage(
                            topic: owner.topics.incidentEvents,
                            key: Array(incident.utf8),
                            value: try event.serializedBytes(),
                            headers: event.kafkaHeaders(traceparent: trace?.traceparent).map { KafkaHeader(name: $0.name, string: $0.value) },
                            partition: partition
                        )
                    )
                    for request in action.notificationRequests(incident: incident, requestedAt: now) {
                        records.append(
                            KafkaProducerMessage(
                                topic: owner.topics.notificationRequests,
                                key: Array(request.recipient.utf8),
                                value: try request.serializedBytes(),
                                headers: [
                                    KafkaHeader(name: TriageHeader.contentType, string: TriageHeader.protobufContentType),
                                    KafkaHeader(name: TriageHeader.schema, string: "\(NotificationRequest.protoMessageName); v=\(TriageHeader.schemaVersion)"),
                                    KafkaHeader(name: TriageHeader.idempotencyKey, string: request.idempotencyKey),
                                ] + (trace.map { [KafkaHeader(name: TriageHeader.traceparent, string: $0.child().traceparent)] } ?? [])
                            )
                        )
                    }
                    switch action.kind {
                    case .warning: warnings += 1
                    case .escalation:
                        escalations += 1
                        lag = now.timeIntervalSince(action.due)
                    }
                    owner.onEmit?(event)
                    owner.logger.info(
                        "SLA \(action)",
                        metadata: ["incident": "\(incident)", "event_id": "\(event.eventID)", "trace_id": "\(trace?.traceID ?? "-")"]
                    )
                }
                let book = books[partition]
                var written = Set<String>()
                for incident in outcome.changed where written.insert(incident).inserted {
                    guard let state = book?[incident] else { continue }
                    records.append(
                        KafkaProducerMessage(
                            topic: owner.topics.changelog, key: Array(incident.utf8),
                            value: IncidentSlaCodec.encode(state, rules: owner.rules), partition: partition
                        )
                    )
                }
                for incident in outcome.forgotten {
                    records.append(KafkaProducerMessage(topic: owner.topics.changelog, key: Array(incident.utf8), value: nil, partition: partition))
                }
            }
            guard !records.isEmpty else { return }
            // Events and notification requests first, the state only once they are acknowledged:
            // they are in other topics (other partitions, maybe other brokers), so sent together
            // the state could land alone before a crash and the restored state would hold a
            // warning or escalation that was never published.
            try await owner.producer.sendAll(records.filter { $0.topic != owner.topics.changelog })
            try await owner.producer.sendAll(records.filter { $0.topic == owner.topics.changelog })
            owner.stats.withLock {
                $0.warnings += warnings
                $0.escalations += escalations
                if let lag { $0.lastLagSeconds = lag }
            }
        }

        mutating func restore(_ partitions: [Int32]) async throws {
            guard !partitions.isEmpty else { return }
            owner.health.beginRestore("partitions \(partitions)")
            defer { owner.health.endRestore(status: "running") }
            let sink = RestoreSink(partitions: partitions, rules: owner.rules)
            let summary = try await KafkaPartitionReader.readToEnd(
                topic: owner.topics.changelog, partitions: partitions, client: owner.client, logger: owner.logger
            ) { record in sink.add(record) }
            let books = sink.books.withLock { $0 }
            for (partition, book) in books { self.books[partition] = book }
            let seconds = Double(summary.duration.components.seconds) + Double(summary.duration.components.attoseconds) / 1e18
            owner.stats.withLock {
                $0.restoredRecords += summary.records
                $0.lastRestoreSeconds = seconds
            }
            owner.logger.info(
                "SLA state restored",
                metadata: [
                    "partitions": "\(partitions)",
                    "records": "\(summary.records)",
                    "incidents": "\(books.values.reduce(0) { $0 + $1.count })",
                    "seconds": "\(String(format: "%.2f", seconds))",
                    "unreadable": "\(sink.unreadable.load(ordering: .relaxed))",
                ]
            )
            updateTracked()
            // Anything that fell due while nobody owned these partitions fires now.
            try await fireDue()
        }

        func updateTracked() {
            let tracked = books.values.reduce(0) { $0 + $1.count }
            let partitions = books.count
            owner.stats.withLock {
                $0.tracked = tracked
                $0.partitions = partitions
            }
        }

        /// Points the timer at the earliest due instant of all books.
        mutating func reschedule() {
            var next: Date?
            for partition in books.keys {
                if let due = books[partition]!.nextDue(), next.map({ due < $0 }) ?? true { next = due }
            }
            guard next != timerDue else { return }
            timer?.cancel()
            timerDue = next
            guard let next else {
                timer = nil
                return
            }
            let delay = owner.clock.realDelay(until: next)
            let inbox = self.inbox
            timer = Task {
                if delay > .zero {
                    do { try await Task.sleep(for: delay) } catch { return }
                }
                if !Task.isCancelled { inbox.yield(.tick) }
            }
        }
    }
}

/// Collects changelog records on the reader's thread.
private final class RestoreSink: Sendable {
    let books: Mutex<[Int32: SlaBook]>
    let unreadable = Atomic<Int>(0)
    let rules: SlaRules

    init(partitions: [Int32], rules: SlaRules) {
        self.books = Mutex(Dictionary(uniqueKeysWithValues: partitions.map { ($0, SlaBook()) }))
        self.rules = rules
    }

    func add(_ record: borrowing KafkaRecordView) {
        guard let key = record.key else { return }
        let incident = String(decoding: key, as: UTF8.self)
        guard let value = record.value else {
            books.withLock { $0[record.partition]?.remove(incident) }
            return
        }
        do {
            let state = try IncidentSlaCodec.decode(value, rules: rules)
            books.withLock { $0[record.partition]?.restore(incident, state: state) }
        } catch {
            unreadable.add(1, ordering: .relaxed)
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
