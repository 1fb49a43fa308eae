import Foundation
import Logging
import ServiceLifecycle
import SwiftProtobuf
import Synchronization
import TriageKafka
import TriageNotification
import TriageOps
import TriageSchema
import TriageStreams

/// The delivery tasks of a notifier and what they share: the ledger, the keys being
/// delivered, the endpoints' gates, the statistics.
final class Deliveries: Sendable {
    private let producer: KafkaProducer
    private let rules: NotificationRules
    private let deliverer: Deliverer
    private let topics: NotifierTopics
    private let logger: Logger
    private let state: Mutex<SharedState>
    private let metrics = WorkerMetrics(worker: "notifier")
    private let gates: [String: EndpointGate]
    private let now: @Sendable () -> Date
    let readAhead: ReadAhead

    init(
        producer: KafkaProducer, rules: NotificationRules, deliverer: Deliverer, topics: NotifierTopics, logger: Logger,
        readAhead: Int, now: @escaping @Sendable () -> Date
    ) {
        self.readAhead = ReadAhead(limit: readAhead)
        self.producer = producer
        self.rules = rules
        self.deliverer = deliverer
        self.topics = topics
        self.logger = logger
        self.now = now
        self.state = Mutex(SharedState(ledger: DeliveryLedger(window: rules.dedupeWindow)))
        self.gates = rules.endpoints.mapValues {
            EndpointGate(limit: $0.maxConcurrency, breaker: CircuitBreaker(configuration: rules.circuitBreaker))
        }
    }

    var statistics: NotifierStatistics {
        var statistics = state.withLock { $0.statistics }
        statistics.mostInHand = readAhead.mostInHand
        return statistics
    }

    func shutdown() async { await deliverer.shutdown() }

    func countDeadLettered(_ count: Int) { state.withLock { $0.statistics.deadLettered += count } }

    /// Ledger records read back; those older than the dedupe window are left out.
    func restore(_ records: some Sequence<DeliveryLedger.Record>) {
        let cutoff = now().addingTimeInterval(-rules.dedupeWindow)
        state.withLock { state in
            for record in records where record.deliveredAt >= cutoff { state.ledger.restore(record) }
        }
    }

    /// Stops the jobs of `partitions` where they only wait, and waits for the attempts in flight.
    func stopJobs(of partitions: Set<TopicPartition>) async {
        let jobs = state.withLock { state in partitions.flatMap { (state.jobs[$0] ?? [:]).values.flatMap { $0 } } }
        for job in jobs { job.stop() }
        for job in jobs { await job.finished() }
        state.withLock { state in for partition in partitions { state.jobs[partition] = nil } }
    }

    // MARK: Records

    /// The request in `message` and the targets to deliver it to, or why it cannot be delivered.
    func resolve(_ message: KafkaMessage) -> Result<(OutboundNotification, [(DeliveryTarget, DeliveryAttempts)]), PoisonReason> {
        if let mismatch = message.schemaMismatch(expected: NotificationRequest.protoMessageName) { return .failure(mismatch) }
        guard let value = message.valueBytes, let request = try? NotificationRequest(serializedBytes: Array(value)) else {
            return .failure(PoisonReason("not a triage.v1.NotificationRequest (undecodable protobuf)"))
        }
        // The key names the notification for dedupe: requests without one would all share the
        // ledger key of their endpoint, and every one after the first would be dropped as a repeat.
        guard !request.idempotencyKey.isEmpty else {
            return .failure(PoisonReason("idempotency_key is empty: every request needs one (it names the notification for dedupe)"))
        }
        // It travels as a header (HTTP and e-mail): a line break or another control character
        // would be refused by one channel and rewritten by the other. Not quoted: it is hostile.
        guard request.idempotencyKey.utf8.count <= 1024,
            request.idempotencyKey.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F })
        else {
            return .failure(
                PoisonReason(
                    "idempotency_key has control characters (such as a line break) or is over 1024 bytes: it is sent as a header"))
        }
        guard request.requestedAt.isInProtobufRange else {
            return .failure(PoisonReason("requested_at is outside the Timestamp range (years 1 to 9999, nanos 0 to 999999999)"))
        }
        let notification = OutboundNotification(request)
        let attempts: DeliveryAttempts?
        do {
            // A first request carries none of the retry headers: no dictionary to build.
            let retried = message.headers.contains { DeliveryAttempts.Header.owned.contains($0.name) }
            attempts =
                retried
                ? try DeliveryAttempts.decode(headers: Dictionary(message.headers.map { ($0.name, $0.stringValue ?? "") }) { $1 }) : nil
        } catch {
            return .failure(PoisonReason("unreadable retry headers: \(error)"))
        }
        do {
            if let attempts { return .success((notification, [(try rules.target(for: notification, resuming: attempts), attempts)])) }
            return .success(
                (notification, try rules.deliveries(for: notification).map { ($0, DeliveryAttempts(first: $0, notBefore: now())) }))
        } catch {
            return .failure(PoisonReason(error.description))
        }
    }

    /// Starts a task per target; `completion` runs when the last one is done with.
    func start(
        _ notification: OutboundNotification, targets: [(DeliveryTarget, DeliveryAttempts)], message: KafkaMessage,
        completion: RecordCompletion
    ) {
        let partition = TopicPartition(message.topic, message.partition)
        let remaining = Remaining(targets.count)
        for (target, attempts) in targets {
            let job = DeliveryJob(readAhead: readAhead)
            state.withLock { $0.jobs[partition, default: [:]][message.offset, default: []].append(job) }
            job.start { [self] in
                // A job that did not complete (cancelled while it waited, or failed) leaves its
                // record unfinished: its offset is not stored and the next owner reads it again.
                guard await self.run(notification, target: target, attempts: attempts, message: message, job: job) else { return }
                if remaining.finishOne() {
                    state.withLock { _ = $0.jobs[partition]?.removeValue(forKey: message.offset) }
                    completion()
                }
            }
        }
    }

    /// One target: wait until due (and awake), check the ledger and the breaker, wait for a slot
    /// of the endpoint, attempt, then record, re-queue or dead-letter. Returns whether the
    /// target is done with (`false`: stopped or failed; the record must be read again).
    private func run(
        _ notification: OutboundNotification, target: DeliveryTarget, attempts: DeliveryAttempts, message: KafkaMessage, job: DeliveryJob
    ) async -> Bool {
        do {
            let gate = gates[target.endpoint.name]!
            var notBefore = attempts.notBefore
            while true {
                let due: Date
                switch rules.schedule(notification, recipient: target.recipient, at: notBefore) {
                case .suppressed(let window):
                    // Dropped on purpose: done with, nothing delivered, nothing recorded.
                    state.withLock { $0.statistics.suppressed += 1 }
                    logger.info(
                        "notification suppressed by a maintenance window",
                        metadata: [
                            "incident_id": "\(notification.incidentID)", "recipient": "\(target.recipient)", "window": "\(window)",
                            "template": "\(notification.template)",
                        ])
                    return true
                case .at(let instant, let window):
                    due = max(notBefore, instant)
                    if let window, due > now() {
                        logger.debug(
                            "notification delayed by a maintenance window",
                            metadata: [
                                "incident_id": "\(notification.incidentID)", "window": "\(window)", "until": "\(due.formatted(.iso8601))",
                            ])
                    }
                }
                let wait = due.timeIntervalSince(now())
                guard wait > 0 else { break }
                if due > notBefore {
                    state.withLock { $0.statistics.held += 1 }
                } else if attempts.heldByCircuitBreaker {
                    // Turned away by the open breaker: go as soon as a probe's success closes it
                    // (then check the recipient's hours again from now), at notBefore at the latest.
                    guard try await job.wait(seconds: wait, orUntilClosed: gate) else { break }
                    notBefore = now()
                    continue
                }
                try await job.wait(seconds: wait)
                break
            }
            // One delivery per key at a time: a duplicate request waits for the first to finish,
            // then finds its key in the ledger.
            guard await claim(target.ledgerKey) else {
                state.withLock { $0.statistics.duplicatesSkipped += 1 }
                return true
            }
            defer { release(target.ledgerKey) }
            // Queued behind the endpoint's max_concurrency: only waiting, so stopping may cancel it
            // (a busy notifier on a slow endpoint held thousands of records here and took minutes
            // to stop, past its revocation timeout, while the next owner delivered them again).
            guard try await job.waitingFor({ await gate.acquire() }) else { throw CancellationError() }
            // Stopped as the slot came: not attempted, so no delivery goes past max_concurrency
            // while a cancelled one may still be answered (the record is read again).
            if Task.isCancelled {
                gate.giveBack()
                return false
            }
            // The breaker is asked with the slot in hand: one that opened while this delivery
            // queued turns it away too (queued deliveries used to go to a hanging endpoint one
            // slot after another after its breaker had opened, holding the read-ahead up).
            switch gate.admit(at: now()) {
            case .refused(let until):
                gate.giveBack()
                // The endpoint's breaker is open: come back when it closes, or when it may probe
                // at the latest; no attempt spent.
                var later = attempts
                later.notBefore = until
                later.heldByCircuitBreaker = true
                try await requeue(message, attempts: later)
                state.withLock { $0.statistics.held += 1 }
                return true
            case .allowed, .probe:
                break
            }
            let trace = message.header(TriageHeader.traceparent)?.stringValue.flatMap(TraceContext.init(traceparent:))?.child()
            let outcome = await deliverer.deliver(notification, to: target, now: now(), traceparent: trace?.traceparent)
            gate.release(outcome, at: now())
            if Task.isCancelled && !outcome.isDelivered { return false }  // stopping: the record is read again
            switch attempts.after(outcome, at: now(), policy: rules.retry) {
            case .delivered:
                let at = now()
                state.withLock {
                    $0.ledger.record(target.ledgerKey, at: at)
                    $0.statistics.delivered += 1
                }
                let record = DeliveryLedger.Record(key: target.ledgerKey, deliveredAt: at)
                _ = try await producer.send(
                    KafkaProducerMessage(
                        topic: topics.ledger, key: Array(target.ledgerKey.utf8), value: record.encoded(), partition: message.partition)
                )
            case .retry(let next):
                try await requeue(message, attempts: next)
                state.withLock { $0.statistics.retried += 1 }
                metrics.failed()
                logger.info(
                    "delivery failed; retrying",
                    metadata: [
                        "incident_id": "\(notification.incidentID)", "trace_id": "\(trace?.traceID ?? "-")",
                        "endpoint": "\(target.endpoint.name)",
                        "outcome": "\(outcome)",
                        "next_attempt": "\(next.attempt)", "not_before": "\(next.notBefore.formatted(.iso8601))",
                    ]
                )
            case .deadLetter(let reason):
                try await deadLetter(message, reason: reason, attempts: attempts)
            }
        } catch is CancellationError {
            return false  // revoked while held: the next owner reads the record again
        } catch {
            logger.error("notification could not be handled; it will be read again", metadata: ["error": "\(error)"])
            return false
        }
        return true
    }

    /// True when this task may deliver `key` (not in the ledger, not being delivered by another
    /// task); waits while another task delivers it.
    private func claim(_ key: String) async -> Bool {
        // Most keys are neither delivered nor being delivered: no suspension for them.
        let verdict: Bool? = state.withLock { state in
            if state.ledger.contains(key, at: now()) { return false }
            guard state.delivering[key] == nil else { return nil }
            state.delivering[key] = []
            return true
        }
        if let verdict { return verdict }
        while true {
            let verdict: Bool? = await withCheckedContinuation { (continuation: CheckedContinuation<Bool?, Never>) in
                let immediate: Bool?? = state.withLock { state in
                    if state.ledger.contains(key, at: now()) { return .some(false) }
                    if state.delivering[key] == nil {
                        state.delivering[key] = []
                        return .some(true)
                    }
                    state.delivering[key]!.append(continuation)
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
            if let verdict { return verdict }
        }
    }

    private func release(_ key: String) {
        let waiters = state.withLock { $0.delivering.removeValue(forKey: key) ?? [] }
        for waiter in waiters { waiter.resume(returning: nil) }  // they look again
    }

    /// Re-queues the request (its value unchanged) on the retry topic, same partition number.
    private func requeue(_ message: KafkaMessage, attempts: DeliveryAttempts) async throws {
        let kept = message.headers.filter { header in !DeliveryAttempts.Header.owned.contains(header.name) }
        _ = try await producer.send(
            KafkaProducerMessage(
                topic: topics.retry, key: message.key, value: message.value,
                headers: kept + attempts.headers.map { KafkaHeader(name: $0.name, string: $0.value) }, partition: message.partition
            )
        )
    }

    private func deadLetter(_ message: KafkaMessage, reason: String, attempts: DeliveryAttempts? = nil) async throws {
        var message = message
        if let attempts {
            message.headers =
                message.headers.filter { !DeliveryAttempts.Header.owned.contains($0.name) }
                + attempts.headers.map { KafkaHeader(name: $0.name, string: $0.value) }
        }
        try await DeadLetterQueue(producer: producer, topic: topics.deadLetter, worker: "notifier").send(
            message, reason: PoisonReason(reason))
        state.withLock { $0.statistics.deadLettered += 1 }
        metrics.deadLettered()
        logger.warning(
            "notification dead-lettered", metadata: ["reason": "\(reason)", "topic": "\(message.topic)", "offset": "\(message.offset)"])
    }
}

/// What the delivery tasks share.
struct SharedState {
    var ledger: DeliveryLedger
    /// Keys being delivered now, with the tasks waiting for them.
    var delivering: [String: [CheckedContinuation<Bool?, Never>]] = [:]
    /// Delivery tasks by input partition and record offset.
    var jobs: [TopicPartition: [Int64: [DeliveryJob]]] = [:]
    var statistics = NotifierStatistics()
}

extension OutboundNotification {
    init(_ request: NotificationRequest) {
        let channel: NotificationChannel? =
            switch request.channel {
            case .webhook: .webhook
            case .email: .email
            case .chat: .chat
            default: nil
            }
        self.init(
            idempotencyKey: request.idempotencyKey, incidentID: request.incidentID, requestedAt: request.requestedAt.date,
            recipient: request.recipient, channel: channel, template: request.template, payload: request.payload, urgent: request.urgent
        )
    }
}
