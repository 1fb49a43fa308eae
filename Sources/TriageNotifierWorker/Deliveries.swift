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

/// The deliveries of a notifier and what they share: the ledger, the keys being delivered, the
/// endpoints' queues, the statistics.
final class Deliveries: Sendable {
    private let producer: KafkaProducer
    private let rules: NotificationRules
    private let deliverer: Deliverer
    private let topics: NotifierTopics
    private let logger: Logger
    private let state: Mutex<SharedState>
    private let metrics = WorkerMetrics(worker: "notifier")
    private let queues: [String: EndpointQueue]
    private let now: @Sendable () -> Date
    let readAhead: FetchLimit
    /// Deliveries read from the retry topic and held for later (a retry's not-before time, an
    /// open circuit breaker): at the same limit the notifier stops fetching the retry topic.
    let heldRetries: FetchLimit

    init(
        producer: KafkaProducer, rules: NotificationRules, deliverer: Deliverer, topics: NotifierTopics, logger: Logger,
        readAhead: Int, now: @escaping @Sendable () -> Date
    ) {
        self.readAhead = FetchLimit(limit: readAhead)
        self.heldRetries = FetchLimit(limit: readAhead)
        self.producer = producer
        self.rules = rules
        self.deliverer = deliverer
        self.topics = topics
        self.logger = logger
        self.now = now
        self.state = Mutex(SharedState(ledger: DeliveryLedger(window: rules.dedupeWindow)))
        self.queues = rules.endpoints.mapValues {
            EndpointQueue(limit: $0.maxConcurrency, breaker: CircuitBreaker(configuration: rules.circuitBreaker))
        }
    }

    var statistics: NotifierStatistics {
        var statistics = state.withLock { $0.statistics }
        statistics.mostInHand = readAhead.mostCounted
        statistics.mostHeldRetries = heldRetries.mostCounted
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
        for job in jobs where job.stop() { finish(job, completed: false) }
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

    /// Starts every target's delivery: queued at its endpoint at once when it is due and its key
    /// is free, else in a task of its own that waits first. `completion` runs when the last
    /// target is done with.
    func start(
        _ notification: OutboundNotification, targets: [(DeliveryTarget, DeliveryAttempts)], message: KafkaMessage,
        completion: RecordCompletion
    ) {
        let partition = TopicPartition(message.topic, message.partition)
        let record = RecordJobs(remaining: Remaining(targets.count), completion: completion)
        for (target, attempts) in targets {
            let job = DeliveryJob(
                notification: notification, target: target, attempts: attempts, message: message, record: record, readAhead: readAhead,
                heldRetries: message.topic == topics.retry ? heldRetries : nil)
            state.withLock { $0.jobs[partition, default: [:]][message.offset, default: []].append(job) }
            begin(job)
        }
    }

    /// What a first look decides, without waiting.
    private enum FirstLook {
        /// Suppressed, or delivered before: done with.
        case doneWith
        /// Due, its key claimed: to its endpoint's queue.
        case ready
        /// Held for later, or its key is being delivered: it waits in a task first.
        case mustWait
    }

    private func begin(_ job: DeliveryJob) {
        let queue = queues[job.target.endpoint.name]!
        switch firstLook(job) {
        case .doneWith:
            finish(job, completed: true)
        case .ready:
            enqueue(job, at: queue)
        case .mustWait:
            waitThenEnqueue(job, notBefore: job.attempts.notBefore, heldByBreaker: job.attempts.heldByCircuitBreaker, at: queue)
        }
    }

    /// Runs the job's waiting part (``prepare(_:notBefore:heldByBreaker:at:)``) in a task of its
    /// own, then queues it at its endpoint.
    private func waitThenEnqueue(_ job: DeliveryJob, notBefore: Date, heldByBreaker: Bool, at queue: EndpointQueue) {
        job.runTask { [self] in
            do {
                guard try await prepare(job, notBefore: notBefore, heldByBreaker: heldByBreaker, at: queue) else {
                    return finish(job, completed: true)
                }
                enqueue(job, at: queue)
            } catch {
                // Stopped while it waited: the next owner reads the record again.
                finish(job, completed: false)
            }
        }
    }

    private func firstLook(_ job: DeliveryJob) -> FirstLook {
        let notBefore = job.attempts.notBefore
        switch rules.schedule(job.notification, recipient: job.target.recipient, at: notBefore) {
        case .suppressed(let window):
            suppressed(job, window: window)
            return .doneWith
        case .at(let instant, _):
            guard max(notBefore, instant) <= now() else { return .mustWait }
        }
        switch tryClaim(job.target.ledgerKey) {
        case false?:
            state.withLock { $0.statistics.duplicatesSkipped += 1 }
            return .doneWith
        case true?:
            job.holdClaim()
            return .ready
        case nil:
            return .mustWait
        }
    }

    private func suppressed(_ job: DeliveryJob, window: String) {
        // Dropped on purpose: done with, nothing delivered, nothing recorded.
        state.withLock { $0.statistics.suppressed += 1 }
        logger.info(
            "notification suppressed by a maintenance window",
            metadata: [
                "incident_id": "\(job.notification.incidentID)", "recipient": "\(job.target.recipient)", "window": "\(window)",
                "template": "\(job.notification.template)",
            ])
    }

    /// The waiting part of a job, in its task: until due (and awake), then until its key is
    /// free. Returns `true` with the key claimed, `false` when the job is done with (suppressed,
    /// or delivered before); throws `CancellationError` when it was stopped meanwhile.
    private func prepare(_ job: DeliveryJob, notBefore: Date, heldByBreaker: Bool, at queue: EndpointQueue) async throws -> Bool {
        let notification = job.notification
        var notBefore = notBefore
        while true {
            let due: Date
            switch rules.schedule(notification, recipient: job.target.recipient, at: notBefore) {
            case .suppressed(let window):
                suppressed(job, window: window)
                return false
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
            } else if heldByBreaker {
                // Turned away by the open breaker: go as soon as a probe's success closes it
                // (then check the recipient's hours again from now), at notBefore at the latest.
                guard try await job.wait(seconds: wait, orUntilClosed: queue) else { break }
                notBefore = now()
                continue
            }
            try await job.wait(seconds: wait)
            break
        }
        // One delivery per key at a time: a duplicate request waits for the first to finish,
        // then finds its key in the ledger.
        // Only waiting meanwhile: a stop ends the wait (the other delivery may be queued behind
        // a slow endpoint, for another partition).
        guard try await job.waitingFor({ try await claim(job.target.ledgerKey) }) else {
            state.withLock { $0.statistics.duplicatesSkipped += 1 }
            return false
        }
        job.holdClaim()
        return true
    }

    /// Queues `job` at its endpoint, and starts a runner there if fewer than its
    /// `max_concurrency` run. A job stopped before it got there ends unattempted.
    private func enqueue(_ job: DeliveryJob, at queue: EndpointQueue) {
        guard job.enterQueue() else { return finish(job, completed: false) }
        if queue.append(job) { Task { await serve(queue) } }
    }

    /// A runner: attempts the endpoint's queued jobs one after another, until none is left.
    private func serve(_ queue: EndpointQueue) async {
        while let job = queue.next() {
            await attempt(job, at: queue)
        }
    }

    /// One attempt, then record, re-queue or dead-letter; the job ends when that is stored.
    private func attempt(_ job: DeliveryJob, at queue: EndpointQueue) async {
        let notification = job.notification
        let target = job.target
        let message = job.message
        // The breaker is asked as the attempt would start: one that opened while this delivery
        // queued turns it away too (queued deliveries used to go to a hanging endpoint one
        // after another after its breaker had opened, holding the read-ahead up).
        switch queue.admit(at: now()) {
        case .refused(let until):
            // The endpoint's breaker is open: come back when it closes, or when it may probe
            // at the latest; no attempt spent.
            state.withLock { $0.statistics.held += 1 }
            if job.isRetry {
                // Read from the retry topic already: held here (bounded with the other retries
                // held, see `heldRetries`) rather than written back. Written back, a dead
                // endpoint's whole backlog went through the retry topic again every time its
                // breaker could probe (100,000 records every `open_for` in an outside attack,
                // past the embedded broker's retention).
                if job.dropClaim() { release(target.ledgerKey) }
                guard job.leaveQueue() else { return finish(job, completed: false) }
                waitThenEnqueue(job, notBefore: until, heldByBreaker: true, at: queue)
                return
            }
            var later = job.attempts
            later.notBefore = until
            later.heldByCircuitBreaker = true
            await requeue(message, attempts: later) { [self] stored in finish(job, completed: stored) }
            return
        case .allowed, .probe:
            break
        }
        let trace = message.header(TriageHeader.traceparent)?.stringValue.flatMap(TraceContext.init(traceparent:))?.child()
        let outcome = await deliverer.deliver(notification, to: target, now: now(), traceparent: trace?.traceparent)
        queue.record(outcome, at: now())
        switch job.attempts.after(outcome, at: now(), policy: rules.retry) {
        case .delivered:
            let at = now()
            state.withLock {
                $0.ledger.record(target.ledgerKey, at: at)
                $0.statistics.delivered += 1
            }
            let ledgerRecord = DeliveryLedger.Record(key: target.ledgerKey, deliveredAt: at)
            // Not awaited: the runner goes on to the next delivery while the ledger record is
            // stored; the job (and its input record) ends when it is.
            await producer.submit(
                [
                    KafkaProducerMessage(
                        topic: topics.ledger, key: Array(target.ledgerKey.utf8), value: ledgerRecord.encoded(), partition: message.partition
                    )
                ]
            ) { [self] error in
                if let error { Self.logNotHandled(error, logger) }
                finish(job, completed: error == nil)
            }
        case .retry(let next):
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
            await requeue(message, attempts: next) { [self] stored in finish(job, completed: stored) }
        case .deadLetter(let reason):
            do {
                try await deadLetter(message, reason: reason, attempts: job.attempts)
                finish(job, completed: true)
            } catch {
                Self.logNotHandled(error, logger)
                finish(job, completed: false)
            }
        }
    }

    /// A delivery's outcome (ledger record, re-queue, dead letter) was not stored: its record's
    /// offset is not stored either, so the next owner of its partition (after a rebalance or a
    /// restart) reads it again.
    private static func logNotHandled(_ error: any Error, _ logger: Logger) {
        logger.error("notification could not be handled; it will be read again", metadata: ["error": "\(error)"])
    }

    /// Ends `job`: lets go of its key, and finishes its record when it was the record's last
    /// target. A job that did not complete (stopped while it waited or queued, or failed) leaves
    /// its record unfinished: its offset is not stored and the next owner reads it again.
    private func finish(_ job: DeliveryJob, completed: Bool) {
        job.finish { claimed in
            if claimed { release(job.target.ledgerKey) }
            guard completed, job.record.remaining.finishOne() else { return }
            let message = job.message
            state.withLock { _ = $0.jobs[TopicPartition(message.topic, message.partition)]?.removeValue(forKey: message.offset) }
            job.record.completion()
        }
    }

    /// True when the caller may deliver `key` (not in the ledger, not being delivered by another
    /// job); waits while another job delivers it. Cancellation ends the wait (`CancellationError`).
    private func claim(_ key: String) async throws -> Bool {
        // Most keys are neither delivered nor being delivered: no suspension for them.
        if let verdict = tryClaim(key) { return verdict }
        while true {
            let id = state.withLock { state in
                state.nextWaiter += 1
                return state.nextWaiter
            }
            let verdict: Bool? = await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Bool?, Never>) in
                    let immediate: Bool?? = state.withLock { state in
                        if Task.isCancelled { return .some(nil) }
                        if state.ledger.contains(key, at: now()) { return .some(false) }
                        if state.delivering[key] == nil {
                            state.delivering[key] = [:]
                            return .some(true)
                        }
                        state.delivering[key]![id] = continuation
                        return .none
                    }
                    if let immediate { continuation.resume(returning: immediate) }
                }
            } onCancel: {
                state.withLock { $0.delivering[key]?.removeValue(forKey: id) }?.resume(returning: nil)
            }
            try Task.checkCancellation()
            if let verdict { return verdict }
        }
    }

    /// `true`: claimed; `false`: delivered within the dedupe window; `nil`: another job delivers it now.
    private func tryClaim(_ key: String) -> Bool? {
        state.withLock { state in
            if state.ledger.contains(key, at: now()) { return false }
            guard state.delivering[key] == nil else { return nil }
            state.delivering[key] = [:]
            return true
        }
    }

    private func release(_ key: String) {
        let waiters = state.withLock { $0.delivering.removeValue(forKey: key) ?? [:] }
        for waiter in waiters.values { waiter.resume(returning: nil) }  // they look again
    }

    /// Re-queues the request (its value unchanged) on the retry topic, same partition number;
    /// `stored` is told whether the broker has it (on the producer's thread).
    private func requeue(_ message: KafkaMessage, attempts: DeliveryAttempts, stored: @escaping @Sendable (Bool) -> Void) async {
        let kept = message.headers.filter { header in !DeliveryAttempts.Header.owned.contains(header.name) }
        await producer.submit(
            [
                KafkaProducerMessage(
                    topic: topics.retry, key: message.key, value: message.value,
                    headers: kept + attempts.headers.map { KafkaHeader(name: $0.name, string: $0.value) }, partition: message.partition
                )
            ]
        ) { [logger] error in
            if let error { Self.logNotHandled(error, logger) }
            stored(error == nil)
        }
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

/// The jobs of one input record and what finishes it.
struct RecordJobs: Sendable {
    let remaining: Remaining
    let completion: RecordCompletion
}

/// What the deliveries share.
struct SharedState {
    var ledger: DeliveryLedger
    /// Keys being delivered now, with the jobs waiting for them.
    var delivering: [String: [UInt64: CheckedContinuation<Bool?, Never>]] = [:]
    var nextWaiter: UInt64 = 0
    /// Delivery jobs by input partition and record offset.
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
