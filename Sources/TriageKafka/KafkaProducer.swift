internal import CRdKafka
import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization

/// Counters of a producer since it was created.
public struct KafkaProducerStatistics: Sendable, Hashable {
    /// Records acknowledged by the broker.
    public var delivered: Int
    /// Records that failed for good (after librdkafka's retries, or purged on close).
    public var failed: Int
    /// Records handed to librdkafka and not yet acknowledged or failed.
    public var inFlight: Int
}

/// A Kafka producer backed by librdkafka.
///
/// - ``send(_:)`` suspends until the broker acknowledged the record and returns where it was
///   stored, or throws a ``KafkaError``.
/// - ``enqueue(_:)`` is fire-and-forget for throughput: it returns as soon as librdkafka accepted
///   the record. Failures are logged and counted in ``statistics``.
///
/// Both wait (suspend, never spin and never drop) while librdkafka's queue is full, and resume
/// as soon as deliveries free room; a waiting task that is cancelled stops waiting and throws
/// ``KafkaError/Code/queueFull`` (its record was not handed over). Delivery reports arrive as events on the main queue, read in
/// batches by a dedicated thread that librdkafka wakes through its queue-event callback; that
/// thread is the only one that serves them, so waiters for room are woken whoever else waits
/// (``flush(timeout:)`` only waits for the count of undelivered records to reach zero).
///
/// As a `Service`, `run()` waits for graceful shutdown and then flushes (up to
/// ``KafkaProducerConfiguration/flushTimeout``) and closes.
public final class KafkaProducer: Service, Sendable {
    private let core: ProducerCore

    /// Creates the producer; fails with a ``KafkaError`` naming the key if the configuration is invalid.
    public init(configuration: KafkaProducerConfiguration, logger: Logger) throws(KafkaError) {
        core = try ProducerCore(configuration: configuration, logger: logger)
    }

    deinit {
        core.beginClose()
    }

    /// Produces `message` and waits for the broker's acknowledgement.
    public func send(_ message: KafkaProducerMessage) async throws(KafkaError) -> KafkaDeliveryReport {
        while true {
            let epoch = core.space.epoch
            let outcome: Result<KafkaDeliveryReport, KafkaError>? = await withCheckedContinuation { continuation in
                let box = Unmanaged.passRetained(DeliveryBox { continuation.resume(returning: $0) }).toOpaque()
                switch core.produce(message, opaque: box) {
                case .enqueued:
                    break  // the delivery report resumes the continuation
                case .queueFull:
                    Unmanaged<DeliveryBox>.fromOpaque(box).release()
                    continuation.resume(returning: nil)
                case .failed(let error):
                    Unmanaged<DeliveryBox>.fromOpaque(box).release()
                    continuation.resume(returning: .failure(error))
                }
            }
            if let outcome { return try outcome.get() }
            try await core.space.wait(whileEpochIs: epoch, for: "produce to '\(message.topic)'")
        }
    }

    /// Produces `messages` in the given order (records of one partition keep it) and waits until
    /// every one is acknowledged; returns where each was stored, in the order given. Throws the
    /// first failure after all have completed. Cheaper than one `send` per record: one suspension
    /// for the whole batch.
    @discardableResult
    public func sendAll(_ messages: [KafkaProducerMessage]) async throws(KafkaError) -> [KafkaDeliveryReport] {
        guard !messages.isEmpty else { return [] }
        let batch = BatchDelivery(count: messages.count)
        await enqueue(messages, into: batch)
        return try await batch.wait()
    }

    /// Produces `messages` in the given order (records of one partition keep it) and waits until
    /// each was acknowledged or failed; returns each record's outcome, in the order given. One
    /// record's failure does not fail the others: for bulk publishing that reports every record.
    public func sendEach(_ messages: [KafkaProducerMessage]) async -> [Result<KafkaDeliveryReport, KafkaError>] {
        guard !messages.isEmpty else { return [] }
        let batch = BatchDelivery(count: messages.count, keepingOutcomes: true)
        await enqueue(messages, into: batch)
        return await batch.outcomes()
    }

    /// Hands `messages` to librdkafka in the given order (waiting for queue space) and returns
    /// once all are queued; `whenDone` is called once, when every record was acknowledged or
    /// failed, with each record's outcome in the order given. It runs on the producer's thread
    /// and must not block. The pipelined form of ``sendEach(_:)``: the caller hands over its next
    /// batch while this one is in flight, and batches keep their order.
    public func submitEach(
        _ messages: [KafkaProducerMessage], whenDone: @escaping @Sendable ([Result<KafkaDeliveryReport, KafkaError>]) -> Void
    ) async {
        guard !messages.isEmpty else { return whenDone([]) }
        await enqueue(messages, into: BatchDelivery(count: messages.count, keepingOutcomes: true, whenDone: { whenDone($0.outcomes) }))
    }

    /// Hands `messages` to librdkafka in the given order (waiting for queue space, like
    /// ``sendAll(_:)``) and returns once all are queued, without waiting for acknowledgements.
    /// `whenDelivered` is called once, when every record was acknowledged or failed, with the
    /// first failure (`nil`: all stored); it runs on the producer's thread and must not block.
    /// Lets a stage hand over its next batch while the previous one is still in flight.
    public func submit(_ messages: [KafkaProducerMessage], whenDelivered: @escaping @Sendable (KafkaError?) -> Void) async {
        guard !messages.isEmpty else { return whenDelivered(nil) }
        await enqueue(messages, into: BatchDelivery(count: messages.count, whenDone: { whenDelivered($0.error) }))
    }

    /// ``submit(_:whenDelivered:)`` that hands over where each record was stored (in the order
    /// given) once all were acknowledged, or the first failure.
    public func submit(
        _ messages: [KafkaProducerMessage], whenStored: @escaping @Sendable (Result<[KafkaDeliveryReport], KafkaError>) -> Void
    ) async {
        guard !messages.isEmpty else { return whenStored(.success([])) }
        await enqueue(messages, into: BatchDelivery(count: messages.count, keepingReports: true, whenDone: { whenStored($0.reports) }))
    }

    private func enqueue(_ messages: [KafkaProducerMessage], into batch: BatchDelivery) async {
        for (index, message) in messages.enumerated() {
            while true {
                let epoch = core.space.epoch
                let box = Unmanaged.passRetained(DeliveryBox { batch.complete($0, at: index) }).toOpaque()
                let outcome = core.produce(message, opaque: box)
                if case .enqueued = outcome { break }
                Unmanaged<DeliveryBox>.fromOpaque(box).release()
                if case .failed(let error) = outcome {
                    batch.complete(.failure(error), at: index)
                    break
                }
                do throws(KafkaError) {
                    // Queue full: wait, keep the order.
                    try await core.space.wait(whileEpochIs: epoch, for: "produce to '\(message.topic)'")
                } catch {
                    // Cancelled: this record and the ones after it were not handed over.
                    for rest in index..<messages.count { batch.complete(.failure(error), at: rest) }
                    return
                }
            }
        }
    }

    /// Hands `message` to librdkafka without waiting for the acknowledgement; suspends only
    /// while librdkafka's queue is full. Inlined into the caller: with room in the queue it is
    /// one synchronous call, no suspension point and no async frame.
    /// `nonisolated(nonsending)`: it runs on the caller's executor, so the fast path costs no
    /// executor hop (measured: a hop per record was ~1 % of a produce loop's CPU).
    @inlinable
    nonisolated(nonsending) public func enqueue(_ message: KafkaProducerMessage) async throws(KafkaError) {
        if try enqueueIfRoom(message) { return }
        try await enqueueWhenRoom(message)
    }

    /// Hands `message` to librdkafka if its queue has room and returns `true`; returns `false`
    /// and does nothing when the queue is full (``enqueue(_:)`` waits instead). Never suspends.
    public func enqueueIfRoom(_ message: KafkaProducerMessage) throws(KafkaError) -> Bool {
        switch core.produce(message, opaque: nil) {
        case .enqueued: return true
        case .failed(let error): throw error
        case .queueFull: return false
        }
    }

    /// The slow path of ``enqueue(_:)``: waits for room, then hands the record over.
    @usableFromInline
    func enqueueWhenRoom(_ message: KafkaProducerMessage) async throws(KafkaError) {
        while true {
            let epoch = core.space.epoch
            switch core.produce(message, opaque: nil) {
            case .enqueued: return
            case .failed(let error): throw error
            case .queueFull: try await core.space.wait(whileEpochIs: epoch, for: "produce to '\(message.topic)'")
            }
        }
    }

    /// Waits until every record handed over so far was delivered or failed, or `timeout` passed.
    public func flush(timeout: Duration = .seconds(30)) async throws(KafkaError) {
        let handle = core.handle
        try await BlockingCalls.run { () throws(KafkaError) in
            try handle.lease { pointer throws(KafkaError) in
                try throwIfError(rd_kafka_flush(pointer, Int32(clamping: timeout.milliseconds)), context: "flush")
            }
        }
    }

    /// Counters since creation.
    public var statistics: KafkaProducerStatistics { core.statistics }

    /// Flushes outstanding records (up to the configured budget), fails what is left, and releases
    /// librdkafka. Safe to call more than once.
    public func close() async {
        core.beginClose()
        await core.driver.waitUntilFinished()
    }

    /// Runs until graceful shutdown (or cancellation), then closes.
    public func run() async throws {
        let core = self.core
        await core.driver.runUntilFinished(beginClose: { core.beginClose() })
    }
}

/// Holds what to do with one record's delivery report until it arrives.
private final class DeliveryBox {
    let complete: @Sendable (Result<KafkaDeliveryReport, KafkaError>?) -> Void
    init(_ complete: @escaping @Sendable (Result<KafkaDeliveryReport, KafkaError>?) -> Void) {
        self.complete = complete
    }
}

/// Counts the delivery reports of a ``KafkaProducer/sendAll(_:)`` batch.
private final class BatchDelivery: Sendable {
    private struct State {
        var remaining: Int
        var firstError: KafkaError?
        var reports: [KafkaDeliveryReport?]
        /// Every record's outcome, kept only for ``KafkaProducer/sendEach(_:)``.
        var outcomes: [Result<KafkaDeliveryReport, KafkaError>?]
        var waiter: CheckedContinuation<KafkaError?, Never>?
    }
    private let state: Mutex<State>
    /// What a finished batch hands to ``KafkaProducer/submit(_:whenDelivered:)``'s callback.
    struct Outcome {
        var error: KafkaError?
        /// Kept only when asked for.
        var stored: [KafkaDeliveryReport]
        /// Every record's outcome in order; kept only with `keepingOutcomes`.
        var outcomes: [Result<KafkaDeliveryReport, KafkaError>]
        var reports: Result<[KafkaDeliveryReport], KafkaError> { error.map { .failure($0) } ?? .success(stored) }
    }
    /// Called once when the last report arrived.
    private let whenDone: (@Sendable (Outcome) -> Void)?

    init(count: Int, keepingReports: Bool = false, keepingOutcomes: Bool = false, whenDone: (@Sendable (Outcome) -> Void)? = nil) {
        state = Mutex(
            State(
                remaining: count,
                reports: Array(repeating: nil, count: (whenDone == nil && !keepingOutcomes) || keepingReports ? count : 0),
                outcomes: Array(repeating: nil, count: keepingOutcomes ? count : 0)))
        self.whenDone = whenDone
    }

    func complete(_ result: Result<KafkaDeliveryReport, KafkaError>?, at index: Int) {
        let resume: (waiter: CheckedContinuation<KafkaError?, Never>?, outcome: Outcome)? = state.withLock { state in
            if case .failure(let error) = result, state.firstError == nil { state.firstError = error }
            if case .success(let report) = result, index < state.reports.count { state.reports[index] = report }
            if index < state.outcomes.count, let result { state.outcomes[index] = result }
            state.remaining -= 1
            guard state.remaining == 0 else { return nil }
            let waiter = state.waiter
            state.waiter = nil
            let outcome = Outcome(
                error: state.firstError, stored: whenDone == nil ? [] : state.reports.compactMap { $0 },
                outcomes: whenDone == nil ? [] : Self.everyOutcome(state.outcomes))
            return (waiter, outcome)
        }
        guard let resume else { return }
        resume.waiter?.resume(returning: resume.outcome.error)
        whenDone?(resume.outcome)
    }

    func wait() async throws(KafkaError) -> [KafkaDeliveryReport] {
        let error: KafkaError? = await withCheckedContinuation { continuation in
            let done: KafkaError?? = state.withLock { state in
                if state.remaining == 0 { return .some(state.firstError) }
                state.waiter = continuation
                return .none
            }
            if let done { continuation.resume(returning: done) }
        }
        if let error { throw error }
        return state.withLock { $0.reports.compactMap { $0 } }
    }

    /// Waits for the last record, then returns every record's outcome in order (kept with `keepingOutcomes`).
    func outcomes() async -> [Result<KafkaDeliveryReport, KafkaError>] {
        _ = try? await wait()
        return state.withLock { Self.everyOutcome($0.outcomes) }
    }

    private static func everyOutcome(_ outcomes: [Result<KafkaDeliveryReport, KafkaError>?]) -> [Result<KafkaDeliveryReport, KafkaError>] {
        outcomes.map { $0 ?? .failure(KafkaError(code: .state, message: "no delivery report for this record")) }
    }
}

/// Suspended producers waiting for room in librdkafka's queue. Every served batch of delivery
/// reports advances the epoch; a waiter that saw an older epoch retries at once, so no wake-up is
/// lost between a failed attempt and the wait.
final class QueueSpace: Sendable {
    private let currentEpoch = Atomic<UInt64>(0)
    private struct Waiters {
        var nextID: UInt64 = 0
        var waiting: [(id: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
    }
    private let waiters = Mutex(Waiters())

    /// Lock-free: read before every produce attempt.
    var epoch: UInt64 { currentEpoch.load(ordering: .acquiring) }

    /// Suspends until the epoch moves past `epoch`, or the task is cancelled; then throws
    /// (`queueFull`, naming `what`) if it was cancelled: the record was not handed over.
    func wait(whileEpochIs epoch: UInt64, for what: @autoclosure () -> String) async throws(KafkaError) {
        let id = waiters.withLock { waiters -> UInt64 in
            defer { waiters.nextID &+= 1 }
            return waiters.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // `advance` bumps the epoch before taking the lock, so checking under the lock cannot
                // miss a wake-up; a cancellation that came first is seen here too.
                let resumeNow = waiters.withLock { waiters -> Bool in
                    if currentEpoch.load(ordering: .acquiring) != epoch || Task.isCancelled { return true }
                    waiters.waiting.append((id, continuation))
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let cancelled = waiters.withLock { waiters -> CheckedContinuation<Void, Never>? in
                guard let index = waiters.waiting.firstIndex(where: { $0.id == id }) else { return nil }
                return waiters.waiting.remove(at: index).continuation
            }
            cancelled?.resume()
        }
        if Task.isCancelled {
            throw KafkaError(code: .queueFull, message: "\(what()): cancelled while waiting for room in the producer's queue; not sent")
        }
    }

    func advance() {
        currentEpoch.wrappingAdd(1, ordering: .acquiringAndReleasing)
        let woken = waiters.withLock { waiters -> [CheckedContinuation<Void, Never>] in
            defer { waiters.waiting = [] }
            return waiters.waiting.map(\.continuation)
        }
        for waiter in woken { waiter.resume() }
    }
}

final class ProducerContext: RDKafkaCallbackContext, @unchecked Sendable {
    let delivered = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
}

final class ProducerCore: @unchecked Sendable {
    enum ProduceOutcome {
        case enqueued
        case queueFull
        case failed(KafkaError)
    }

    let handle: LeasedHandle
    let driver = QueueDriver()
    let space = QueueSpace()
    private let context: ProducerContext
    private let mainQueue: OpaquePointer
    private let flushTimeout: Duration
    private let closeStarted = Atomic<Bool>(false)
    /// `rd_kafka_topic_t` handles by topic name, made on first use and destroyed at shutdown.
    /// Producing through a handle (`VTYPE_RKT`) spares librdkafka a name lookup under its
    /// instance-wide write lock on every record, which `VTYPE_TOPIC` takes.
    private let topicHandles = Mutex<[TopicHandle]>([])
    /// The entry used last (an unretained ``TopicHandle``; `topicHandles` keeps every entry alive
    /// until shutdown): a producer writing to one topic finds it without taking the lock.
    private let lastTopicHandle = Atomic<UInt>(0)
    private final class TopicHandle: @unchecked Sendable {  // immutable; librdkafka's topic handles are thread-safe
        let name: String
        let handle: OpaquePointer
        init(name: String, handle: OpaquePointer) {
            self.name = name
            self.handle = handle
        }
    }

    init(configuration: KafkaProducerConfiguration, logger: Logger) throws(KafkaError) {
        let properties = RDKafkaClient.merge(
            try configuration.properties(),
            overrides: configuration.client.librdkafkaOverrides
        )
        let context = ProducerContext(logger: logger)
        let pointer = try RDKafkaClient.makeHandle(
            kind: .producer, properties: properties, context: context, metrics: configuration.client.metricsFactory, logQueue: true
        ) { conf in
            // Delivery reports as events, served in batches by the driver (never by rd_kafka_flush).
            rd_kafka_conf_set_events(conf, Int32(RD_KAFKA_EVENT_DR))
        }
        self.context = context
        self.handle = LeasedHandle(pointer, what: "producer")
        self.mainQueue = rd_kafka_queue_get_main(pointer)
        self.flushTimeout = configuration.flushTimeout
        driver.enableWakeups(on: mainQueue)
        driver.start(
            name: "triage-producer",
            drain: { [self] in drain() },
            shutdown: { [self] in shutdown() }
        )
    }

    var statistics: KafkaProducerStatistics {
        let outstanding = (try? handle.lease { Int(rd_kafka_outq_len($0)) }) ?? 0
        return KafkaProducerStatistics(
            delivered: context.delivered.load(ordering: .relaxed),
            failed: context.failed.load(ordering: .relaxed),
            inFlight: outstanding
        )
    }

    func beginClose() {
        if closeStarted.exchange(true, ordering: .acquiringAndReleasing) == false {
            driver.requestStop()
        }
    }

    /// Reports taken out of one event at a time (driver thread only).
    private var reports = [UnsafePointer<rd_kafka_message_t>?](repeating: nil, count: 256)

    /// Serves every event on the main queue: delivery reports in batches (waking producers that
    /// wait for room once per batch), errors, log lines, and whatever else librdkafka queued.
    private func drain() {
        while let event = rd_kafka_queue_poll(mainQueue, 0) {
            serve(event)
        }
    }

    private func serve(_ event: OpaquePointer) {
        if rd_kafka_event_type(event) == Int32(RD_KAFKA_EVENT_DR) {
            serveDeliveryReports(event)
            // Room in librdkafka's queue is given back when the reported records are destroyed,
            // with the event: waiters woken before that retry into a queue that is still full and
            // wait for a next batch of reports that may never come.
            rd_kafka_event_destroy(event)
            space.advance()
            return
        }
        defer { rd_kafka_event_destroy(event) }
        switch rd_kafka_event_type(event) {
        case Int32(RD_KAFKA_EVENT_LOG):
            var facility: UnsafePointer<CChar>?
            var text: UnsafePointer<CChar>?
            var level: Int32 = 0
            if rd_kafka_event_log(event, &facility, &text, &level) == 0 {
                RDKafkaClient.log(level: level, facility: facility, text: text, context: context)
            }
        case Int32(RD_KAFKA_EVENT_STATS):
            if let json = rd_kafka_event_stats(event) { KafkaStatistics.received(json, length: strlen(json), context: context) }
        case Int32(RD_KAFKA_EVENT_ERROR):
            RDKafkaClient.report(
                rd_kafka_event_error(event), reason: rd_kafka_event_error_string(event).map { String(cString: $0) } ?? "",
                handle: handle.pointer, context: context
            )
        default:
            break
        }
    }

    /// Completes what waits for each record of a delivery-report event, counting them first.
    private func serveDeliveryReports(_ event: OpaquePointer) {
        reports.withUnsafeMutableBufferPointer { buffer in
            while true {
                let count = rd_kafka_event_message_array(event, buffer.baseAddress, buffer.count)
                if count == 0 { break }
                // Counted once per array, before anyone waiting for these records resumes (a
                // `send` that returned sees its record counted); no per-record atomics.
                var failed = 0
                for index in 0..<count where buffer[index]!.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR { failed += 1 }
                if count > failed { context.delivered.add(count - failed, ordering: .relaxed) }
                if failed > 0 { context.failed.add(failed, ordering: .relaxed) }
                for index in 0..<count { deliveryReport(buffer[index]!, context: context) }
            }
        }
    }

    /// Waits (serving events on this thread) until nothing is undelivered or `timeout` passed;
    /// true when everything was delivered or failed.
    private func serveUntilDelivered(within timeout: Duration) -> Bool {
        let pointer = handle.pointer
        let end = ContinuousClock.now + timeout
        _ = rd_kafka_flush(pointer, 0)  // wakes the brokers' threads: linger is over
        while rd_kafka_outq_len(pointer) > 0 {
            let remaining = end - ContinuousClock.now
            if remaining <= .zero { return false }
            if let event = rd_kafka_queue_poll(mainQueue, Int32(clamping: min(remaining, .milliseconds(100)).milliseconds)) {
                serve(event)
            }
        }
        return true
    }

    private func shutdown() {
        let pointer = handle.pointer
        // Let in-progress produce calls return, refuse new ones.
        handle.closeAndWaitForLeases()
        if !serveUntilDelivered(within: flushTimeout) {
            let left = rd_kafka_outq_len(pointer)
            context.logger.warning("producer flush did not finish in \(flushTimeout); failing \(left) undelivered record(s)")
            _ = rd_kafka_purge(pointer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
            // Purged records come back as failed delivery reports; serve them so every `send` returns.
            _ = serveUntilDelivered(within: .seconds(5))
        }
        drain()
        driver.disableWakeups(on: mainQueue)
        rd_kafka_queue_destroy(mainQueue)
        for topic in topicHandles.withLock({ $0 }) { rd_kafka_topic_destroy(topic.handle) }
        rd_kafka_destroy(pointer)
        space.advance()  // waiters retry and learn that the producer is closed
    }

    func produce(_ message: KafkaProducerMessage, opaque: UnsafeMutableRawPointer?) -> ProduceOutcome {
        do throws(KafkaError) {
            return try handle.lease { pointer throws(KafkaError) -> ProduceOutcome in
                if context.hasFatalError.load(ordering: .relaxed), let fatal = context.fatalError.withLock({ $0 }) { throw fatal }
                return Self.produce(message, opaque: opaque, topic: topicHandle(message.topic, on: pointer), on: pointer)
            }
        } catch {
            return .failed(error)
        }
    }

    /// The cached handle of `topic` (made on first use); `nil` if librdkafka refuses the name, in
    /// which case the record goes by name and librdkafka's own error names the problem. Called
    /// under a lease.
    private func topicHandle(_ topic: String, on pointer: OpaquePointer) -> OpaquePointer? {
        if let last = UnsafeRawPointer(bitPattern: lastTopicHandle.load(ordering: .acquiring)),
            let handle = Unmanaged<TopicHandle>.fromOpaque(last)._withUnsafeGuaranteedRef({ $0.name == topic ? $0.handle : nil })
        {
            return handle  // (no retain: `topicHandles` keeps the entry alive)
        }
        let entry = topicHandles.withLock { handles -> TopicHandle? in
            // A producer writes to a handful of topics: a scan beats hashing the name per record.
            for entry in handles where entry.name == topic { return entry }
            guard let handle = rd_kafka_topic_new(pointer, topic, nil) else { return nil }
            let entry = TopicHandle(name: topic, handle: handle)
            handles.append(entry)
            return entry
        }
        guard let entry else { return nil }
        lastTopicHandle.store(UInt(bitPattern: Unmanaged.passUnretained(entry).toOpaque()), ordering: .releasing)
        return entry.handle
    }

    private static func produce(
        _ message: KafkaProducerMessage,
        opaque: UnsafeMutableRawPointer?,
        topic handle: OpaquePointer?,
        on pointer: OpaquePointer
    ) -> ProduceOutcome {
        // Headers are passed as an application-owned list (VTYPE_HEADERS). librdkafka 2.0.2 frees
        // the list it builds itself from VTYPE_HEADER entries twice when partitioning fails; with
        // an application-owned list it takes ownership only on success, so on failure we destroy
        // it exactly once here.
        var headers: OpaquePointer? = nil
        if !message.headers.isEmpty {
            let list = rd_kafka_headers_new(message.headers.count)!
            for header in message.headers {
                if let value = header.value {
                    value.withUnsafeBytes { bytes in
                        _ = rd_kafka_header_add(list, header.name, -1, bytes.baseAddress, bytes.count)
                    }
                } else {
                    _ = rd_kafka_header_add(list, header.name, -1, nil, 0)
                }
            }
            headers = list
        }
        let error: OpaquePointer? = message.topic.withCString { topic in
            withBytes(of: message.key) { key in
                withBytes(of: message.value) { value in
                    withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 8) { values in
                        var count = 0
                        func add(_ type: rd_kafka_vtype_t, _ set: (inout rd_kafka_vu_t) -> Void) {
                            var value = rd_kafka_vu_t()
                            value.vtype = type
                            set(&value)
                            values.initializeElement(at: count, to: value)
                            count += 1
                        }
                        if let handle {
                            add(RD_KAFKA_VTYPE_RKT) { $0.u.rkt = handle }
                        } else {
                            add(RD_KAFKA_VTYPE_TOPIC) { $0.u.cstr = topic }
                        }
                        add(RD_KAFKA_VTYPE_MSGFLAGS) { $0.u.i = RD_KAFKA_MSG_F_COPY }
                        if let value {
                            add(RD_KAFKA_VTYPE_VALUE) {
                                $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress ?? emptyBytes)
                                $0.u.mem.size = value.count
                            }
                        }
                        if let key {
                            add(RD_KAFKA_VTYPE_KEY) {
                                $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress ?? emptyBytes)
                                $0.u.mem.size = key.count
                            }
                        }
                        if let partition = message.partition { add(RD_KAFKA_VTYPE_PARTITION) { $0.u.i32 = partition } }
                        if let timestamp = message.timestamp {
                            add(RD_KAFKA_VTYPE_TIMESTAMP) { $0.u.i64 = Int64((timestamp.timeIntervalSince1970 * 1000).rounded()) }
                        }
                        if let headers { add(RD_KAFKA_VTYPE_HEADERS) { $0.u.headers = headers } }
                        if let opaque { add(RD_KAFKA_VTYPE_OPAQUE) { $0.u.ptr = opaque } }
                        return rd_kafka_produceva(pointer, values.baseAddress, count)
                    }
                }
            }
        }
        guard let error else { return .enqueued }
        if let headers { rd_kafka_headers_destroy(headers) }
        if rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__QUEUE_FULL {
            rd_kafka_error_destroy(error)
            return .queueFull
        }
        return .failed(KafkaError(consuming: error, context: "produce to '\(message.topic)'"))
    }
}

/// A valid address for empty (not null) keys and values: librdkafka reads a NULL pointer as "null".
nonisolated(unsafe) private let emptyBytes = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1))

@inline(__always)
private func withBytes<R>(of bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}

/// One record's delivery report (already counted): completes what waits for it.
private func deliveryReport(_ message: UnsafePointer<rd_kafka_message_t>, context: ProducerContext) {
    let record = message.pointee
    guard let boxPointer = record._private else {
        if record.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let topic = record.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "?"
            context.logger.error(
                "delivery failed",
                metadata: ["topic": "\(topic)", "error": "\(KafkaError(responseCode: record.err))"]
            )
        }
        return
    }
    let box = Unmanaged<DeliveryBox>.fromOpaque(boxPointer).takeRetainedValue()
    let topic = record.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
    if record.err == RD_KAFKA_RESP_ERR_NO_ERROR {
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let milliseconds = rd_kafka_message_timestamp(message, &timestampType)
        box.complete(
            .success(
                KafkaDeliveryReport(
                    topic: topic,
                    partition: record.partition,
                    offset: record.offset,
                    timestamp: milliseconds >= 0 ? Date(timeIntervalSince1970: Double(milliseconds) / 1000) : nil
                )
            )
        )
    } else {
        box.complete(.failure(KafkaError(responseCode: record.err, context: "delivery to '\(topic)'")))
    }
}
