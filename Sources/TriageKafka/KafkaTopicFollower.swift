internal import CRdKafka
import Foundation
public import Logging
import Synchronization

/// Follows every given partition of a topic outside any consumer group, for as long as it runs:
/// what a process does to keep a local view of a compacted topic (entitlements, a directory),
/// or to hear replies addressed to it.
///
/// No group means no join and no rebalance wait: partitions are assigned directly, from their
/// beginning or their end. Records are handed to a callback on a dedicated thread as views into
/// librdkafka's buffers (valid only during the call), in offset order per partition.
/// ``waitUntilCaughtUp()`` returns once every partition has reached the end it had when the
/// follower started: from then on the view holds every record written before, and a record
/// written later is seen (starting at the end, this is the moment a request may be sent whose
/// reply must not be missed).
public final class KafkaTopicFollower: Sendable {
    /// Where reading starts.
    public enum Start: Sendable {
        case beginning
        case end
    }

    public let topic: String
    private let partitions: [Int32]
    private let start: Start
    private let client: KafkaClientConfiguration
    private let logger: Logger
    private let body: @Sendable (borrowing KafkaRecordView) -> Void
    private let stopping = Atomic<Bool>(false)
    private let state = Mutex(FollowerState())

    private struct FollowerState {
        var caughtUp = false
        var failure: KafkaError?
        var waiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var nextWaiter: UInt64 = 0
    }

    /// `partitions`: the topic's partitions to follow (usually all of them, from
    /// ``KafkaAdmin/describeTopic(_:timeout:)``).
    public init(
        topic: String, partitions: [Int32], start: Start, client: KafkaClientConfiguration, logger: Logger,
        body: @escaping @Sendable (borrowing KafkaRecordView) -> Void
    ) {
        self.topic = topic
        self.partitions = partitions
        self.start = start
        self.client = client
        self.logger = logger
        self.body = body
    }

    /// Whether every partition has reached the end it had at start.
    public var isCaughtUp: Bool { state.withLock { $0.caughtUp } }

    /// Returns once the follower is caught up; throws if it failed before.
    /// Cancelling the waiting task ends the wait with `CancellationError` (the follower reads on).
    public func waitUntilCaughtUp() async throws {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resume: Result<Void, any Error>? = state.withLock { state in
                    if let failure = state.failure { return .failure(failure) }
                    if state.caughtUp { return .success(()) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let resume { continuation.resume(with: resume) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(throwing: CancellationError())
        }
    }

    /// Stops reading; ``run()`` returns shortly after.
    public func stop() { stopping.store(true, ordering: .releasing) }

    /// Reads until ``stop()`` or cancellation. Throws if the topic does not exist or the handle
    /// cannot be made.
    public func run() async throws {
        let properties = RDKafkaClient.mergeForGrouplessConsumer(
            try client.properties() + [
                ("group.id", "triage-topic-follower"),
                ("enable.auto.commit", "false"),
                ("enable.auto.offset.store", "false"),
                ("enable.partition.eof", "true"),
                ("fetch.wait.max.ms", String(client.effectiveFetchWait.milliseconds)),
            ],
            overrides: client.librdkafkaOverrides
        )
        let context = RDKafkaCallbackContext(logger: logger)
        let owned = FollowerHandle(
            pointer: try RDKafkaClient.makeHandle(kind: .consumer, properties: properties, context: context, metrics: client.metricsFactory)
        )
        let result: Result<Void, KafkaError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let thread = Thread {
                    triage_set_current_thread_name("triage-follow")
                    let outcome = Result<Void, KafkaError> { () throws(KafkaError) in try self.read(handle: owned.pointer) }
                    rd_kafka_destroy(owned.pointer)
                    _ = context
                    continuation.resume(returning: outcome)
                }
                thread.start()
            }
        } onCancel: {
            stop()
        }
        let waiters = state.withLock { state in
            if case .failure(let error) = result {
                state.failure = error
            } else if !state.caughtUp {
                state.failure = KafkaError(code: .timedOut, message: "follower of \(topic) stopped before it caught up")
            }
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        let failure = state.withLock { $0.failure }
        for waiter in waiters {
            if let failure { waiter.resume(throwing: failure) } else { waiter.resume() }
        }
        try result.get()
    }

    private func read(handle: OpaquePointer) throws(KafkaError) {
        let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let offset = start == .beginning ? Int64(RD_KAFKA_OFFSET_BEGINNING) : Int64(RD_KAFKA_OFFSET_END)
        for partition in partitions { rd_kafka_topic_partition_list_add(list, topic, partition)!.pointee.offset = offset }
        try throwIfError(rd_kafka_assign(handle, list), context: "assign \(topic) \(partitions)")
        defer { _ = rd_kafka_assign(handle, nil) }
        let queue = rd_kafka_queue_get_consumer(handle)!
        defer { rd_kafka_queue_destroy(queue) }

        var remaining = Set(partitions)
        if remaining.isEmpty { markCaughtUp() }
        let capacity = 1_024
        let buffer = UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        while !stopping.load(ordering: .acquiring) {
            serveMainQueue(handle)
            // Blocks until one record arrives or 100 ms pass (then checks whether to stop), then
            // takes whatever else is ready without waiting: `rd_kafka_consume_batch_queue` alone
            // would hold the first record until the batch is full or the timeout has passed,
            // which is 100 ms on every reply a caller waits for.
            guard let first = rd_kafka_consume_queue(queue, 100) else { continue }
            buffer[0] = first
            let more = rd_kafka_consume_batch_queue(queue, 0, buffer + 1, capacity - 1)
            let count = 1 + max(more, 0)
            var failure: KafkaError?
            for index in 0..<count {
                let message = buffer[index]!
                defer { rd_kafka_message_destroy(message) }
                let record = message.pointee
                switch record.err {
                case RD_KAFKA_RESP_ERR_NO_ERROR:
                    body(
                        KafkaRecordView(
                            partition: record.partition,
                            offset: record.offset,
                            key: record.key.map { UnsafeRawBufferPointer(start: $0, count: record.key_len) },
                            value: record.payload.map { UnsafeRawBufferPointer(start: $0, count: record.len) },
                            message: UnsafePointer(message)
                        )
                    )
                case RD_KAFKA_RESP_ERR__PARTITION_EOF:
                    if remaining.remove(record.partition) != nil, remaining.isEmpty { markCaughtUp() }
                case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
                    failure = KafkaError(responseCode: record.err, context: "follow \(topic)[\(record.partition)]")
                default:
                    continue  // transient fetch errors are retried by librdkafka
                }
            }
            if let failure { throw failure }
        }
    }

    private func markCaughtUp() {
        let waiters = state.withLock { state in
            state.caughtUp = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        logger.debug("caught up", metadata: ["topic": "\(topic)"])
        for waiter in waiters { waiter.resume() }
    }
}

/// A handle used by exactly one thread (made here, used and destroyed there).
private struct FollowerHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}
