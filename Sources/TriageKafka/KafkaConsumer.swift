internal import CRdKafka
import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization

/// What a consumer hands to the application, in order.
public enum KafkaConsumerEvent: Sendable {
    /// Records, in offset order per partition.
    case messages([KafkaMessage])
    /// Partitions newly assigned to this member. Records of these partitions follow this event.
    case partitionsAssigned([TopicPartition])
    /// Partitions being taken away in an orderly rebalance. Every record of these partitions
    /// that was handed out came before this event; the revocation completes (stored offsets are
    /// committed, the partitions are handed over) only when the application asks for the next
    /// event, so it can commit and hand over per-partition state here.
    case partitionsRevoked([TopicPartition])
    /// Partitions lost without an orderly revocation (session timeout, fenced). Their offsets can
    /// no longer be committed; another member may already process them.
    case partitionsLost([TopicPartition])
}

/// A consumer-group member backed by librdkafka.
///
/// Delivery is at-least-once: offsets are stored only when the application says a record was
/// processed (``storeOffset(_:)``/``storeOffsets(_:)``) and committed in the background, on every
/// revocation and on close. Use exactly one of ``events``, ``batches`` or ``messages``, from one task.
///
/// Fetched records are served by a dedicated thread that librdkafka wakes through its
/// queue-event callback; the application reads them as an `AsyncSequence`. Assignment is
/// cooperative-sticky by default. As a `Service`, `run()` waits for graceful shutdown, then stops
/// fetching, lets the application finish what it holds, commits, leaves the group and ends the
/// sequence.
///
/// In a `ServiceGroup`, list the service that iterates the consumer *before* the consumer (shutdown
/// runs in reverse order, so the consumer stops first), and let that service wait for its own
/// signal (`try await gracefulShutdown()`) after its loop ends.
public final class KafkaConsumer: Service, Sendable {
    let core: ConsumerCore

    /// Creates the consumer and subscribes. Fails with a ``KafkaError`` naming the key if the
    /// configuration is invalid.
    public init(configuration: KafkaConsumerConfiguration, logger: Logger) throws(KafkaError) {
        core = try ConsumerCore(configuration: configuration, logger: logger)
    }

    deinit {
        core.beginClose()
    }

    /// Positions the broker no longer had that librdkafka moved (``KafkaPositionReset``), and
    /// the records those moves skipped unread (deleted by retention), since the consumer started.
    public var offsetResets: (resets: Int, skippedRecords: Int) {
        (core.context.offsetResets.load(ordering: .relaxed), core.context.recordsSkippedByOffsetResets.load(ordering: .relaxed))
    }

    /// Everything, including rebalance events (see ``KafkaConsumerEvent``).
    public var events: KafkaConsumerEvents { KafkaConsumerEvents(handoff: core.handoff) }
    /// Records in batches that still live in librdkafka's buffers (no copy, nothing built per
    /// record): the fastest way to read. Rebalance events are handled as for ``batches``.
    public var recordBatches: KafkaRecordBatches { KafkaRecordBatches(handoff: core.handoff) }
    /// Records in batches of up to ``KafkaConsumerConfiguration/maximumBatchSize``; rebalance
    /// events are handled for you (offsets stored so far are committed on revocation).
    public var batches: KafkaMessageBatches { KafkaMessageBatches(handoff: core.handoff) }
    /// Records one by one. Leaving the loop in the middle of a batch drops the rest of that batch
    /// for this instance (their offsets are not stored, so the group re-delivers them after a
    /// rebalance or restart); use ``events`` or ``batches`` to stop and resume without that.
    public var messages: KafkaMessages { KafkaMessages(handoff: core.handoff) }

    /// Marks `message` as processed: its offset + 1 is committed with the next commit.
    public func storeOffset(_ message: KafkaMessage) throws(KafkaError) {
        try core.storeOffsets([TopicPartition(message.topic, message.partition): message.offset + 1])
    }

    /// Marks every record of `messages` as processed (the highest offset per partition counts).
    /// Records of partitions no longer assigned here are skipped (their new owner reads them again).
    public func storeOffsets(_ messages: [KafkaMessage]) throws(KafkaError) {
        let next = highestOffsets(messages.lazy.map { (topic: $0.topic, partition: $0.partition, offset: $0.offset) })
        try core.storeOffsets(Dictionary(next.map { (TopicPartition($0.topic, $0.partition), $0.offset + 1) }, uniquingKeysWith: max))
    }

    /// Marks each partition's records before its offset in `next` as processed (`next` is the
    /// offset to read from after a restart). Partitions no longer assigned here are skipped.
    public func storeOffsets(next: [TopicPartition: Int64]) throws(KafkaError) {
        try core.storeOffsets(next)
    }

    /// Marks every record of `batch` as processed (the highest offset per partition counts).
    public func storeOffsets(_ batch: KafkaRecordBatch) throws(KafkaError) {
        try core.storeOffsets(batch.nextOffsets)
    }

    /// Commits the stored offsets now and waits for the broker's answer.
    public func commit() async throws(KafkaError) {
        let handle = core.handle
        try await BlockingCalls.run { () throws(KafkaError) in
            try handle.lease { pointer throws(KafkaError) in
                let result = rd_kafka_commit(pointer, nil, 0)
                if result == RD_KAFKA_RESP_ERR__NO_OFFSET { return }  // nothing new to commit
                try throwIfError(result, context: "commit")
            }
        }
    }

    /// Stops fetching `partitions` until ``resume(_:)``. Records already handed to the sequence
    /// (at most one buffer) are still delivered; librdkafka drops what it had fetched ahead of
    /// them and fetches it again on resuming. (librdkafka waits for each partition's broker
    /// thread: the call runs off the cooperative pool.)
    public func pause(_ partitions: [TopicPartition]) async throws(KafkaError) {
        let core = self.core
        try await BlockingCalls.run { () throws(KafkaError) in
            try core.withPartitionList(partitions) { pointer, list throws(KafkaError) in
                try throwIfError(rd_kafka_pause_partitions(pointer, list), context: "pause")
            }
        }
    }

    /// Resumes fetching `partitions` (from the next record to hand out).
    public func resume(_ partitions: [TopicPartition]) async throws(KafkaError) {
        let core = self.core
        try await BlockingCalls.run { () throws(KafkaError) in
            try core.withPartitionList(partitions) { pointer, list throws(KafkaError) in
                try throwIfError(rd_kafka_resume_partitions(pointer, list), context: "resume")
            }
        }
    }

    /// Moves the fetch position of an assigned partition to `offset`. When it returns, no record
    /// of `partition` fetched before the seek is handed out any more (those already buffered are
    /// dropped); the next one is the record at `offset`.
    public func seek(_ partition: TopicPartition, to offset: Int64, timeout: Duration = .seconds(10)) async throws(KafkaError) {
        try await core.seek(partition, to: offset, timeout: timeout)
    }

    /// The group's committed offsets (the next record to read) for `partitions`; `nil` where none.
    public func committedOffsets(
        for partitions: [TopicPartition],
        timeout: Duration = .seconds(10)
    ) async throws(KafkaError) -> [TopicPartition: Int64] {
        let core = self.core
        return try await BlockingCalls.run { () throws(KafkaError) in
            try core.withPartitionList(partitions) { pointer, list throws(KafkaError) in
                try throwIfError(rd_kafka_committed(pointer, list, Int32(clamping: timeout.milliseconds)), context: "committed")
                return ConsumerCore.offsets(in: list)
            }
        }
    }

    /// The fetch positions (next offset to hand out) of `partitions`; absent where unknown.
    public func positions(for partitions: [TopicPartition]) throws(KafkaError) -> [TopicPartition: Int64] {
        try core.withPartitionList(partitions) { pointer, list throws(KafkaError) in
            try throwIfError(rd_kafka_position(pointer, list), context: "position")
            return ConsumerCore.offsets(in: list)
        }
    }

    /// The partitions currently assigned to this member.
    public func assignment() throws(KafkaError) -> [TopicPartition] {
        try core.handle.lease { pointer throws(KafkaError) in
            var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
            try throwIfError(rd_kafka_assignment(pointer, &list), context: "assignment")
            defer { rd_kafka_topic_partition_list_destroy(list) }
            return ConsumerCore.partitions(in: list).sorted()
        }
    }

    /// Records not yet consumed per assigned partition: high watermark minus fetch position
    /// (or committed offset, or low watermark, where the position is still unknown). Watermarks
    /// are asked from the partition leaders (one round trip per partition), not taken from the
    /// cache, which goes stale on paused partitions. Throws ``KafkaError/Code/timedOut`` when
    /// they do not answer within `timeout`.
    public func lag(timeout: Duration = .seconds(5)) async throws(KafkaError) -> [TopicPartition: Int64] {
        let assigned = try assignment()
        guard !assigned.isEmpty else { return [:] }
        var base = try positions(for: assigned)
        let unknown = assigned.filter { base[$0] == nil }
        if !unknown.isEmpty {
            for (partition, offset) in try await committedOffsets(for: unknown) { base[partition] = offset }
        }
        let watermarks = try await watermarks(for: assigned, timeout: timeout)
        var result: [TopicPartition: Int64] = [:]
        for (partition, bounds) in watermarks {
            result[partition] = max(0, bounds.high - (base[partition] ?? max(bounds.low, 0)))
        }
        return result
    }

    /// Records not yet processed per assigned partition: the high watermark minus the offset
    /// the application last stored as processed (`storeOffsets`), else the group's
    /// committed offset — never counting records below the low watermark. Unlike ``lag(timeout:)``
    /// it counts records fetched and handed out but not finished (a worker holding a read-ahead
    /// of stuck deliveries is behind, not caught up). Throws ``KafkaError/Code/timedOut`` when
    /// the leaders or the coordinator do not answer within `timeout`.
    public func unprocessed(timeout: Duration = .seconds(5)) async throws(KafkaError) -> [TopicPartition: Int64] {
        let assigned = try assignment()
        guard !assigned.isEmpty else { return [:] }
        var base = core.processedOffsets(of: assigned)
        let unknown = assigned.filter { base[$0] == nil }
        if !unknown.isEmpty {
            for (partition, offset) in try await committedOffsets(for: unknown, timeout: timeout) { base[partition] = offset }
        }
        let watermarks = try await watermarks(for: assigned, timeout: timeout)
        var result: [TopicPartition: Int64] = [:]
        for (partition, bounds) in watermarks {
            let low = max(bounds.low, 0)
            result[partition] = max(0, bounds.high - max(base[partition] ?? low, low))
        }
        return result
    }

    /// The first and the next offset of each of `partitions`, asked of their leaders (cached
    /// watermarks go stale on paused or idle partitions); on the blocking-call queue. Throws
    /// ``KafkaError/Code/timedOut`` when the leaders do not answer within `timeout` (a broker
    /// that went away).
    public func watermarks(
        for partitions: [TopicPartition], timeout: Duration = .seconds(5)
    ) async throws(KafkaError) -> [TopicPartition: (low: Int64, high: Int64)] {
        let handle = core.handle
        return try await BlockingCalls.run { () throws(KafkaError) in
            try handle.lease { pointer throws(KafkaError) in
                try Watermarks.query(pointer, partitions: partitions, timeout: timeout)
            }
        }
    }

    /// Stops fetching, waits until the application took everything handed out and finished with
    /// a final revocation, commits, leaves the group and ends the sequences. Safe to call twice.
    ///
    /// Called from the task that reads the consumer (inside its loop), the final revocation does
    /// not wait for that task: it cannot come back for the event while it waits here.
    public func close() async {
        core.handoff.readerIsClosingIfCurrent()
        core.beginClose()
        await core.driver.waitUntilFinished()
    }

    /// Runs until graceful shutdown (or cancellation), then closes.
    public func run() async throws {
        let core = self.core
        await core.driver.runUntilFinished(beginClose: { core.beginClose() })
    }
}

// MARK: - Sequences

/// All consumer events; see ``KafkaConsumerEvent``.
public struct KafkaConsumerEvents: AsyncSequence, Sendable {
    public typealias Element = KafkaConsumerEvent
    let handoff: Handoff<ConsumerDelivery>

    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: HandoffReader
        public mutating func next() async throws -> KafkaConsumerEvent? { try await reader.handoff.next()?.event }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: HandoffReader(handoff)) }
}

/// Records in batches; rebalance events are consumed silently.
public struct KafkaMessageBatches: AsyncSequence, Sendable {
    public typealias Element = [KafkaMessage]
    let handoff: Handoff<ConsumerDelivery>

    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: HandoffReader
        public mutating func next() async throws -> [KafkaMessage]? {
            while let delivery = try await reader.handoff.next() {
                if case .records(let batch) = delivery { return batch.makeMessages() }
            }
            return nil
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: HandoffReader(handoff)) }
}

/// Records one at a time; rebalance events are consumed silently.
public struct KafkaMessages: AsyncSequence, Sendable {
    public typealias Element = KafkaMessage
    let handoff: Handoff<ConsumerDelivery>

    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: HandoffReader
        var batch: [KafkaMessage] = []
        var index = 0

        public mutating func next() async throws -> KafkaMessage? {
            while index == batch.count {
                guard let delivery = try await reader.handoff.next() else { return nil }
                if case .records(let records) = delivery {
                    batch = records.makeMessages()
                    index = 0
                }
            }
            defer { index += 1 }
            return batch[index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: HandoffReader(handoff)) }
}

/// Record batches without copies; rebalance events are consumed silently.
public struct KafkaRecordBatches: AsyncSequence, Sendable {
    public typealias Element = KafkaRecordBatch
    let handoff: Handoff<ConsumerDelivery>

    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: HandoffReader
        public mutating func next() async throws -> KafkaRecordBatch? {
            while let delivery = try await reader.handoff.next() {
                if case .records(let batch) = delivery { return batch }
            }
            return nil
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: HandoffReader(handoff)) }
}

/// What the consumer's thread hands to the reading task: records as fetched (each sequence turns
/// them into what it yields, on the reader's side) or a rebalance event.
enum ConsumerDelivery: Sendable {
    case records(KafkaRecordBatch)
    case rebalance(KafkaConsumerEvent)

    var event: KafkaConsumerEvent {
        switch self {
        case .records(let batch): .messages(batch.makeMessages())
        case .rebalance(let event): event
        }
    }
}

/// Tells the hand-off while an iterator exists, so a revocation never waits for a reader that
/// is gone (records it left behind wait for the next iterator).
final class HandoffReader: Sendable {
    let handoff: Handoff<ConsumerDelivery>
    init(_ handoff: Handoff<ConsumerDelivery>) {
        self.handoff = handoff
        handoff.attachReader()
    }
    deinit { handoff.detachReader() }
}

// MARK: - Core

/// The answer to ``ConsumerCore/commitResetPositions()``'s commit, served on the driver thread.
private let resetCommitCallback:
    @convention(c) (OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?)
        -> Void = { handle, code, list, _ in
            guard let context = RDKafkaCallbackContext.from(handle) as? ConsumerContext, let core = context.core else { return }
            var offsets: [TopicPartition: Int64?] = [:]
            if let list {
                for index in 0..<Int(list.pointee.cnt) {
                    let element = list.pointee.elems[index]
                    offsets[TopicPartition(String(cString: element.topic), element.partition)] =
                        element.err == RD_KAFKA_RESP_ERR_NO_ERROR ? element.offset : nil
                }
            }
            core.resetPositionsCommitted(code, offsets)
        }

final class ConsumerContext: RDKafkaCallbackContext, @unchecked Sendable {
    weak var core: ConsumerCore?

    override func positionWasReset(_ reset: KafkaPositionReset) { core?.commitPosition(after: reset) }
}

final class ConsumerCore: @unchecked Sendable {
    let handle: LeasedHandle
    let driver: QueueDriver
    let handoff: Handoff<ConsumerDelivery>
    /// Destroys the instance after close, once no batch refers to its buffers (driver thread).
    private var keeper: ConsumerHandleKeeper?
    /// What became of the librdkafka instance (for tests).
    let instanceFate: ConsumerHandleKeeper.FateRecord
    let context: ConsumerContext
    private let consumerQueue: OpaquePointer
    private let maximumBatchSize: Int
    private let revocationTimeout: Duration
    /// `partition.assignment.strategy` as configured (overrides included).
    private let assignmentStrategy: String
    private let closeStarted = Atomic<Bool>(false)
    /// Set on the first assignment callback (driver thread only).
    private var wasAssigned = false
    // Touched only on the driver thread:
    /// Records polled for the next batch, not yet handed over (driver thread only).
    private var pending: [UnsafeMutablePointer<rd_kafka_message_t>] = []
    /// An error that ends consumption (driver thread only): a fatal error, an offset reset
    /// configured to fail, an authorization failure.
    private var failure: KafkaError?
    /// ``KafkaConsumerConfiguration/startOffsets``, and the partitions started there (driver thread).
    private let startOffsets: [TopicPartition: Int64]
    private var started: Set<TopicPartition> = []
    /// Partitions whose position librdkafka reset, until the new position is committed
    /// (``commitPosition(after:)``); what the application stored for them meanwhile.
    private let resetCommits = Mutex<[TopicPartition: ResetCommit]>([:])
    /// The offset the application last stored as processed, per assigned partition (the next
    /// to process); forgotten when the partition leaves the member.
    private let processed = Mutex<[TopicPartition: Int64]>([:])
    /// Whether `resetCommits` has anything, read on every offset store.
    private let hasResetCommits = Atomic<Bool>(false)
    struct ResetCommit {
        var start: Int64
        var stored: Int64?
        var inFlight = false
        var nextTry = ContinuousClock.now
        var failures = 0
        var offset: Int64 { max(start, stored ?? start) }
    }

    init(configuration: KafkaConsumerConfiguration, logger: Logger) throws(KafkaError) {
        let properties = RDKafkaClient.merge(
            try configuration.properties(),
            overrides: configuration.client.librdkafkaOverrides
        )
        let context = ConsumerContext(logger: logger)
        // Log lines arrive on the consumer queue (the main queue is forwarded to it) and are
        // logged by the driver thread inside `consumer_poll`, not by librdkafka's threads.
        let pointer = try RDKafkaClient.makeHandle(
            kind: .consumer, properties: properties, context: context, metrics: configuration.client.metricsFactory, logQueue: true
        ) { conf in
            rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback)
        }
        self.context = context
        self.handle = LeasedHandle(pointer, what: "consumer")
        let maximumBatchSize = configuration.maximumBatchSize
        let driver = QueueDriver()
        self.driver = driver
        self.handoff = Handoff(capacity: configuration.bufferedBatches, roomAvailable: { driver.wake() }) { waiting, next in
            // Records waiting for a busy application join the last waiting batch (up to the batch
            // size); rebalance events never merge, so nothing crosses an assignment change.
            guard case .records(let first) = waiting, case .records(let second) = next,
                first.count + second.count <= maximumBatchSize
            else { return nil }
            return .records(first.merged(with: second))
        }
        self.maximumBatchSize = configuration.maximumBatchSize
        self.revocationTimeout = configuration.revocationTimeout
        self.startOffsets = configuration.startOffsets
        self.assignmentStrategy = properties.last { $0.0 == "partition.assignment.strategy" }?.1 ?? "range,roundrobin"
        // Everything (errors, rebalances, records) arrives on the consumer queue.
        rd_kafka_poll_set_consumer(pointer)
        self.consumerQueue = rd_kafka_queue_get_consumer(pointer)
        let keeper = ConsumerHandleKeeper(pointer, context: context)
        self.keeper = keeper
        self.instanceFate = keeper.fate
        context.core = self

        let topics = rd_kafka_topic_partition_list_new(Int32(configuration.topics.count))
        defer { rd_kafka_topic_partition_list_destroy(topics) }
        for topic in configuration.topics {
            rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA)
        }
        let subscribed = rd_kafka_subscribe(pointer, topics)
        if subscribed != RD_KAFKA_RESP_ERR_NO_ERROR {
            rd_kafka_queue_destroy(consumerQueue)
            rd_kafka_destroy(pointer)
            throw KafkaError(responseCode: subscribed, context: "subscribe to \(configuration.topics)")
        }
        driver.enableWakeups(on: consumerQueue)
        // librdkafka counts `max.poll.interval.ms` from the application's last poll of the
        // consumer queue, and this driver polls when the queue wakes it. A member whose topics
        // stay quiet would be thrown out of its group every interval, so while the application
        // holds nothing (it waits for records, able to process them) an idle driver polls anyway.
        // While the application is inside its loop body with a record it does not: a handler
        // that really stalls still leaves, which is what the interval is for.
        let keepalive = min(Duration.seconds(1), configuration.maximumPollInterval / 4)
        driver.start(
            name: "triage-consumer",
            drain: { [self] in drain() },
            idle: (keepalive, { [self] in if handoff.readerHoldsNothing { drain() } }),
            shutdown: { [self] in shutdown() }
        )
    }

    func beginClose() {
        guard closeStarted.exchange(true, ordering: .acquiringAndReleasing) == false else { return }
        driver.requestStop()
        handoff.poke()  // a revocation waiting for the application checks for jobs
    }

    /// Runs `body` on the driver's thread (between polls, or while a revocation waits for the
    /// application) and returns its result; fails if the consumer closed first.
    func onDriver<T: Sendable>(_ what: String, _ body: @escaping @Sendable () throws(KafkaError) -> T) async throws(KafkaError) -> T {
        let result: Result<T, KafkaError> = await withCheckedContinuation { continuation in
            driver.perform { open in
                guard open else {
                    return continuation.resume(
                        returning: .failure(KafkaError(code: .shuttingDown, message: "\(what): the consumer is closed")))
                }
                do throws(KafkaError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            handoff.poke()
        }
        return try result.get()
    }

    /// Seeks on the driver thread, the only one that polls: every record polled before is
    /// pre-seek and dropped (from the batch being built and from the hand-off's buffer), every
    /// record polled after is past the seek (librdkafka discards outdated fetches itself).
    func seek(_ partition: TopicPartition, to offset: Int64, timeout: Duration) async throws(KafkaError) {
        try await onDriver("seek \(partition)") { [self] () throws(KafkaError) in
            try withPartitionList([partition], offsets: [partition: offset]) { pointer, list throws(KafkaError) in
                try throwIfError(rd_kafka_seek_partitions(pointer, list, Int32(clamping: timeout.milliseconds)), context: "seek")
                try Self.checkPartitionErrors(list, context: "seek")
            }
            purge(partition)
        }
    }

    /// Drops records of `partition` that were fetched but not handed out (driver thread only).
    private func purge(_ partition: TopicPartition) {
        pending.destroyRecords(of: partition)
        handoff.filterBuffered { delivery in
            guard case .records(let batch) = delivery else { return delivery }
            return batch.removeRecords(of: partition) == 0 ? nil : delivery
        }
    }

    // MARK: Driver thread

    private func drain() {
        let pointer = handle.pointer
        commitResetPositions()
        while !driver.isStopRequested && failure == nil {
            driver.runJobs()
            // No room for another batch: stop fetching until the application takes one (the
            // hand-off wakes the driver). What librdkafka prefetched waits in its queue.
            if pending.isEmpty && !handoff.hasRoom { break }
            guard let message = rd_kafka_consumer_poll(pointer, 0) else {
                // Served only callbacks (or nothing): anything left means keep going.
                if rd_kafka_queue_length(consumerQueue) > 0 { continue }
                break
            }
            if message.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                handleConsumerError(message)
                rd_kafka_message_destroy(message)
                continue
            }
            // The batch owns the record from here: nothing is copied on this thread.
            pending.append(message)
            if pending.count >= maximumBatchSize { flushPending() }
        }
        flushPending()
        if let failure = context.fatalError.withLock({ $0 }) ?? failure {
            handoff.finish(throwing: failure)
        }
    }

    private func flushPending() {
        guard !pending.isEmpty, let keeper else { return }
        handoff.send(.records(KafkaRecordBatch(records: pending, keeper: keeper)))
        pending.removeAll(keepingCapacity: true)
    }

    /// An error delivered on the consumer queue. For a consumer librdkafka raises a fatal error
    /// as a `_FATAL` message here (not through `error_cb`): it, an offset reset configured to
    /// fail (`auto.offset.reset=error`) and authorization failures end the record stream with
    /// the error; anything else is transient and logged.
    private func handleConsumerError(_ message: UnsafeMutablePointer<rd_kafka_message_t>) {
        let code = message.pointee.err
        let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        let reason = rd_kafka_message_errstr(message).map { context.redacted(String(cString: $0)) } ?? ""
        switch code {
        case RD_KAFKA_RESP_ERR__FATAL:
            let error = KafkaError.fatalError(of: handle.pointer)
            context.fatalError.withLock { $0 = $0 ?? error }
            context.hasFatalError.store(true, ordering: .releasing)
            context.logger.critical("consumer fatal error: \(error)")
            failure = error
        case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
            RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
            let error = KafkaError(responseCode: code, context: "consuming \(topic) [\(message.pointee.partition)]: \(reason)")
            context.logger.error("consumer stopped: \(error)")
            failure = error
        default:
            context.logger.warning(
                "consumer error",
                metadata: [
                    "topic": "\(topic)", "partition": "\(message.pointee.partition)", "error": "\(KafkaError(responseCode: code))",
                    "reason": "\(reason)",
                ]
            )
        }
    }

    private func shutdown() {
        let pointer = handle.pointer
        flushPending()
        // librdkafka 2.0.2 asserts (rd_kafka_sticky_assignor_state_destroy) when a consumer with
        // the (cooperative-)sticky assignor is destroyed after a JoinGroup answer chose the
        // assignor but before its first assignment set the assignor's state. Asked before closing
        // (the group refuses questions once closed): "NONE" means no JoinGroup was answered, and
        // none is acted on once closing started, so destroying is safe. (An answer handled in the
        // microseconds between this question and the close would still meet the assert.)
        let assignorWithoutState = !wasAssigned && rd_kafka_rebalance_protocol(pointer).map { String(cString: $0) } != "NONE"
        // Leaves the group; the final revocation goes through rebalanced() on this thread.
        let closed = rd_kafka_consumer_close(pointer)
        if closed != RD_KAFKA_RESP_ERR_NO_ERROR {
            context.logger.warning("consumer close: \(KafkaError(responseCode: closed))")
        }
        handoff.finish()
        handle.closeAndWaitForLeases()
        driver.disableWakeups(on: consumerQueue)
        rd_kafka_queue_destroy(consumerQueue)
        guard var keeper = self.keeper else { return }
        self.keeper = nil
        if assignorWithoutState {
            // The instance (and the callback context it refers to) is left to the process exit
            // instead of crashing it. Only a consumer closed in the moment between its JoinGroup
            // and SyncGroup answers gets here.
            keeper.leaveToProcessExit()
            context.logger.debug(
                "consumer closed between joining its group and its first assignment; librdkafka handle not destroyed (2.0.2 assignor bug)")
            return
        }
        if isKnownUniquelyReferenced(&keeper) {
            keeper.destroy()  // no batch holds records: destroy now, on this thread
        } else {
            keeper.closed()  // the last batch released destroys it
        }
    }

    /// After librdkafka moved an out-of-range position to the partition's start (driver thread,
    /// inside `consumer_poll`, before any record from there is handed out): commits that start.
    /// Otherwise the group's committed offset stays at the lost position — librdkafka commits a
    /// stored offset only when it is above the committed one — so a position past the end (a
    /// recreated topic) was reset, reported and read again after every crash; one deleted by
    /// retention was reported again. A commit refused (the group rebalancing, as members start
    /// together) is tried again every second while the partition stays here, at the start or
    /// at what the application stored since, whichever is further.
    fileprivate func commitPosition(after reset: KafkaPositionReset) {
        guard let start = reset.logStart, reset.to == "BEGINNING" else { return }
        resetCommits.withLock { $0[TopicPartition(reset.topic, reset.partition)] = ResetCommit(start: start) }
        hasResetCommits.store(true, ordering: .releasing)
        commitResetPositions()
    }

    /// Commits the due entries of `resetCommits` (driver thread); the answer comes to
    /// ``resetPositionsCommitted(_:_:)`` through the consumer queue.
    private func commitResetPositions() {
        guard hasResetCommits.load(ordering: .acquiring) else { return }
        let now = ContinuousClock.now
        let due: [TopicPartition: Int64] = resetCommits.withLock { commits in
            var due: [TopicPartition: Int64] = [:]
            for (partition, commit) in commits where !commit.inFlight && commit.nextTry <= now {
                due[partition] = commit.offset
                commits[partition]!.inFlight = true
            }
            return due
        }
        guard !due.isEmpty, let list = rd_kafka_topic_partition_list_new(Int32(due.count)) else { return }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (partition, offset) in due {
            rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition).pointee.offset = offset
        }
        let queued = rd_kafka_commit_queue(handle.pointer, list, consumerQueue, resetCommitCallback, nil)
        if queued != RD_KAFKA_RESP_ERR_NO_ERROR { resetPositionsCommitted(queued, due) }
    }

    /// The answer to a commit of reset positions (driver thread): done, or tried again in a second.
    fileprivate func resetPositionsCommitted(_ code: rd_kafka_resp_err_t, _ offsets: [TopicPartition: Int64?]) {
        let retry = ContinuousClock.now + .seconds(1)
        resetCommits.withLock { commits in
            for (partition, result) in offsets {
                guard var commit = commits[partition] else { continue }
                commit.inFlight = false
                // Committed: from here librdkafka's own commits take what is stored above it.
                if code == RD_KAFKA_RESP_ERR_NO_ERROR, result != nil {
                    commits[partition] = nil
                    continue
                }
                commit.failures += 1
                commit.nextTry = retry
                commits[partition] = commit
                if commit.failures == 1 || commit.failures % 60 == 0 {
                    context.logger.warning(
                        "committing the position after an offset reset failed; trying again every second",
                        metadata: [
                            "topic": "\(partition.topic)", "partition": "\(partition.partition)", "offset": "\(commit.offset)",
                            "error": "\(KafkaError(responseCode: code))", "attempts": "\(commit.failures)",
                        ])
                }
            }
            hasResetCommits.store(!commits.isEmpty, ordering: .releasing)
        }
    }

    /// Partitions that left this member: their new owner meets the same position and resets it.
    private func forgetResetCommits(_ partitions: [TopicPartition]) {
        guard hasResetCommits.load(ordering: .acquiring) else { return }
        resetCommits.withLock { commits in
            for partition in partitions { commits[partition] = nil }
            hasResetCommits.store(!commits.isEmpty, ordering: .releasing)
        }
    }

    /// Called by librdkafka on the driver thread, inside `consumer_poll` or `consumer_close`.
    fileprivate func rebalanced(
        _ code: rd_kafka_resp_err_t,
        _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
    ) {
        let pointer = handle.pointer
        let cooperative = Self.isCooperative(
            reported: rd_kafka_rebalance_protocol(pointer).map { String(cString: $0) }, configuredStrategy: assignmentStrategy)
        let partitions = Self.partitions(in: list).sorted()
        switch code {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            wasAssigned = true
            if !startOffsets.isEmpty, let list {
                for index in 0..<Int(list.pointee.cnt) {
                    let element = list.pointee.elems[index]
                    let partition = TopicPartition(String(cString: element.topic), element.partition)
                    guard let offset = startOffsets[partition], started.insert(partition).inserted else { continue }
                    list.pointee.elems[index].offset = offset
                }
            }
            if cooperative {
                logIfError(rd_kafka_incremental_assign(pointer, list), "incremental assign")
            } else {
                logIfError(rd_kafka_assign(pointer, list), "assign")
            }
            context.logger.info("partitions assigned", metadata: ["partitions": "\(partitions)"])
            RDKafkaClient.createPositionResetCounters(for: partitions, context: context)
            flushPending()
            handoff.send(.rebalance(.partitionsAssigned(partitions)))

        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let lost = rd_kafka_assignment_lost(pointer) != 0
            context.logger.info(
                lost ? "partitions lost" : "partitions revoked",
                metadata: ["partitions": "\(partitions)"]
            )
            flushPending()
            // While the application works on the revocation it may seek, or commit: jobs sent to
            // the driver meanwhile run here.
            let processed = handoff.send(
                .rebalance(lost ? .partitionsLost(partitions) : .partitionsRevoked(partitions)),
                awaitProcessing: Date().addingTimeInterval(revocationTimeout.seconds),
                whileWaiting: { [driver] in driver.runJobs() }
            )
            if !processed && !handoff.isFinished {  // finished: the stream ended with an error, nobody reads
                context.logger.warning("the application did not finish with revoked partitions in time; handing them over")
            }
            forgetResetCommits(partitions)
            self.processed.withLock { processed in for partition in partitions { processed[partition] = nil } }
            if !lost {
                let committed = rd_kafka_commit(pointer, nil, 0)
                if committed != RD_KAFKA_RESP_ERR_NO_ERROR && committed != RD_KAFKA_RESP_ERR__NO_OFFSET {
                    context.logger.warning("commit on revocation failed: \(KafkaError(responseCode: committed))")
                }
            }
            if cooperative {
                logIfError(rd_kafka_incremental_unassign(pointer, list), "incremental unassign")
            } else {
                logIfError(rd_kafka_assign(pointer, nil), "unassign")
            }

        default:
            context.logger.error("rebalance failed: \(KafkaError(responseCode: code))")
            if cooperative {
                logIfError(rd_kafka_incremental_unassign(pointer, list), "incremental unassign")
            } else {
                logIfError(rd_kafka_assign(pointer, nil), "unassign")
            }
        }
    }

    /// Whether the group rebalances incrementally: the protocol librdkafka reports, or, when it
    /// reports none (`rd_kafka_rebalance_protocol` returns NULL when the group cannot answer; a
    /// consumer closing on a loaded machine got it inside a rebalance callback, and reading it as
    /// a C string crashed the process), what the configured assignors imply: cooperative only if
    /// every one is cooperative, as librdkafka requires.
    static func isCooperative(reported: String?, configuredStrategy: String) -> Bool {
        if let reported { return reported == "COOPERATIVE" }
        let assignors = configuredStrategy.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return !assignors.isEmpty && assignors.allSatisfy { $0 == "cooperative-sticky" }
    }

    private func logIfError(_ error: OpaquePointer?, _ what: String) {
        if let error { context.logger.error("\(what) failed: \(KafkaError(consuming: error))") }
    }

    private func logIfError(_ code: rd_kafka_resp_err_t, _ what: String) {
        if code != RD_KAFKA_RESP_ERR_NO_ERROR { context.logger.error("\(what) failed: \(KafkaError(responseCode: code))") }
    }

    // MARK: Partition lists

    func storeOffsets(_ offsets: [TopicPartition: Int64]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        if hasResetCommits.load(ordering: .acquiring) {
            resetCommits.withLock { commits in
                for (partition, offset) in offsets where commits[partition] != nil {
                    commits[partition]!.stored = max(commits[partition]!.stored ?? offset, offset)
                }
            }
        }
        let partitions = Array(offsets.keys)
        try withPartitionList(partitions, offsets: offsets) { pointer, list throws(KafkaError) in
            // _STATE: the partition is no longer assigned here (revoked or handed over while the
            // batch was processed). Nothing to store: its new owner reads those records again,
            // as at-least-once promises; failing the worker for it would only restart it.
            // (_UNKNOWN_PARTITION: never assigned here at all.)
            let notAssigned = [RD_KAFKA_RESP_ERR__STATE, RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION]
            let result = rd_kafka_offsets_store(pointer, list)
            if !notAssigned.contains(result) { try throwIfError(result, context: "store offsets") }
            try Self.checkPartitionErrors(list, context: "store offsets", ignoring: notAssigned)
            // The list holds `partitions` in their order.
            processed.withLock { processed in
                for (index, partition) in partitions.enumerated() where list.pointee.elems[index].err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    let offset = offsets[partition]!
                    processed[partition] = max(processed[partition] ?? offset, offset)
                }
            }
        }
    }

    /// What the application stored as processed for `partitions` (absent: nothing yet).
    func processedOffsets(of partitions: [TopicPartition]) -> [TopicPartition: Int64] {
        processed.withLock { processed in
            var result: [TopicPartition: Int64] = [:]
            for partition in partitions { result[partition] = processed[partition] }
            return result
        }
    }

    func withPartitionList<T>(
        _ partitions: [TopicPartition],
        offsets: [TopicPartition: Int64] = [:],
        _ body: (OpaquePointer, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws(KafkaError) -> T
    ) throws(KafkaError) -> T {
        try handle.lease { pointer throws(KafkaError) in
            let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))!
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for partition in partitions {
                let element = rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)!
                if let offset = offsets[partition] { element.pointee.offset = offset }
            }
            return try body(pointer, list)
        }
    }

    static func partitions(in list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> [TopicPartition] {
        guard let list, list.pointee.cnt > 0 else { return [] }
        return (0..<Int(list.pointee.cnt)).map { index in
            let element = list.pointee.elems[index]
            return TopicPartition(String(cString: element.topic), element.partition)
        }
    }

    static func offsets(in list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [TopicPartition: Int64] {
        var result: [TopicPartition: Int64] = [:]
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            if element.offset >= 0 { result[TopicPartition(String(cString: element.topic), element.partition)] = element.offset }
        }
        return result
    }

    static func checkPartitionErrors(
        _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>,
        context: String,
        ignoring ignored: [rd_kafka_resp_err_t] = []
    ) throws(KafkaError) {
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            if element.err != RD_KAFKA_RESP_ERR_NO_ERROR && !ignored.contains(element.err) {
                throw KafkaError(
                    responseCode: element.err,
                    context: "\(context) for \(String(cString: element.topic))[\(element.partition)]"
                )
            }
        }
    }
}

private let rebalanceCallback:
    @convention(c) (
        OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?
    ) -> Void = { _, code, list, opaque in
        guard let opaque else { return }
        let context = Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue() as! ConsumerContext
        context.core?.rebalanced(code, list)
    }

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

extension KafkaTimestampType {
    init?(_ type: rd_kafka_timestamp_type_t) {
        switch type {
        case RD_KAFKA_TIMESTAMP_CREATE_TIME: self = .createTime
        case RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME: self = .logAppendTime
        default: return nil
        }
    }
}
