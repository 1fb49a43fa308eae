internal import CRdKafka
import Foundation
public import Logging
import Synchronization

/// How far a consumer group is behind on one topic: its committed offsets against the ends of
/// the topic's partitions, as ``KafkaGroupLagReader`` measured them.
public struct KafkaGroupLag: Sendable, Hashable {
    /// One partition's figures.
    public struct Partition: Sendable, Hashable {
        public var partition: Int32
        /// The group's committed offset (the next record it will read); `nil` when it committed
        /// nothing for this partition.
        public var committed: Int64?
        /// The first offset still in the log (low watermark).
        public var low: Int64
        /// The offset the next record will get (high watermark).
        public var high: Int64
        /// `high − committed`, or `high − low` (every record still there) without a commit.
        public var lag: Int64 {
            max(0, high - (committed ?? low))
        }

        public init(partition: Int32, committed: Int64?, low: Int64, high: Int64) {
            self.partition = partition
            self.committed = committed
            self.low = low
            self.high = high
        }
    }

    public var group: String
    public var topic: String
    /// Sorted by partition.
    public var partitions: [Partition]

    public init(group: String, topic: String, partitions: [Partition]) {
        self.group = group
        self.topic = topic
        self.partitions = partitions.sorted { $0.partition < $1.partition }
    }

    /// Records not yet processed by the group, summed over the partitions.
    public var lag: Int64 { partitions.reduce(0) { $0 + $1.lag } }

    /// The group has committed an offset for at least one partition. When `false` (a worker
    /// that has not started, or has not finished its first batch), ``lag`` is the whole topic.
    public var hasStarted: Bool { partitions.contains { $0.committed != nil } }
}

/// Reads any consumer group's lag without joining the group: what a dashboard or an operator
/// tool needs to see how far each worker is behind.
///
/// librdkafka answers `rd_kafka_committed` (an OffsetFetch to the group's coordinator) from a
/// consumer handle whose `group.id` is that group, as long as the handle never subscribes; so
/// this keeps one such handle per group asked about, with auto-commit off (it never commits
/// anything, and never becomes a member). Watermarks are asked from the partition leaders.
/// Every call blocks a thread of the Kafka blocking-call queue, never the cooperative pool.
/// Call ``close()`` when done (it destroys the handles off the pool; `deinit` does it otherwise).
public final class KafkaGroupLagReader: Sendable {
    private let client: KafkaClientConfiguration
    private let logger: Logger
    private let handles = Mutex<[String: GroupHandle]>([:])

    /// Fails with a ``KafkaError`` naming the key if the client configuration is invalid.
    public init(client: KafkaClientConfiguration, logger: Logger) throws(KafkaError) {
        // Validate now, so a bad configuration shows at start and not at the first poll.
        try RDKafkaClient.validate(RDKafkaClient.mergeForGrouplessConsumer(try client.properties(), overrides: client.librdkafkaOverrides))
        self.client = client
        self.logger = logger
    }

    deinit {
        for handle in handles.withLock({ Array($0.values) }) { handle.destroy() }
    }

    /// The lag of `group` on `partitions` of `topic`. Throws when the coordinator or a leader
    /// does not answer within `timeout`, or a partition is unknown.
    public func lag(group: String, topic: String, partitions: [Int32], timeout: Duration = .seconds(5)) async throws(KafkaError)
        -> KafkaGroupLag
    {
        guard !partitions.isEmpty else { return KafkaGroupLag(group: group, topic: topic, partitions: []) }
        let handle = try await self.handle(for: group)
        let milliseconds = Int32(clamping: timeout.milliseconds)
        return try await BlockingCalls.run { () throws(KafkaError) in
            try handle.leased.lease { pointer throws(KafkaError) in
                // Serve what librdkafka queued for the application (errors, logs): this handle
                // has no other poller.
                _ = rd_kafka_poll(pointer, 0)
                let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))!
                defer { rd_kafka_topic_partition_list_destroy(list) }
                for partition in partitions { _ = rd_kafka_topic_partition_list_add(list, topic, partition) }
                try throwIfError(
                    rd_kafka_committed(pointer, list, milliseconds), context: "committed offsets of group '\(group)' on \(topic)")
                var committed: [Int32: Int64] = [:]
                for index in 0..<Int(list.pointee.cnt) {
                    let element = list.pointee.elems[index]
                    try throwIfError(element.err, context: "committed offset of group '\(group)' on \(topic)[\(element.partition)]")
                    // RD_KAFKA_OFFSET_INVALID (-1001) when the group committed nothing there.
                    if element.offset >= 0 { committed[element.partition] = element.offset }
                }
                // Ask the leaders: cached watermarks go stale on idle partitions.
                let watermarks = try Watermarks.query(
                    pointer, partitions: partitions.map { TopicPartition(topic, $0) }, timeout: timeout)
                let result = partitions.map { partition in
                    let bounds = watermarks[TopicPartition(topic, partition)] ?? (0, 0)
                    return KafkaGroupLag.Partition(
                        partition: partition, committed: committed[partition], low: max(bounds.low, 0), high: max(bounds.high, 0))
                }
                return KafkaGroupLag(group: group, topic: topic, partitions: result)
            }
        }
    }

    /// Destroys the handles (on the blocking-call queue). Later calls fail with a closed-client
    /// error for the groups asked about before, and open new handles for others.
    public func close() async {
        let closing = handles.withLock { handles in
            defer { handles = [:] }
            return Array(handles.values)
        }
        guard !closing.isEmpty else { return }
        _ = try? await BlockingCalls.run { () throws(KafkaError) in
            for handle in closing { handle.destroy() }
        }
    }

    private func handle(for group: String) async throws(KafkaError) -> GroupHandle {
        if let known = handles.withLock({ $0[group] }) { return known }
        let properties = RDKafkaClient.mergeForGrouplessConsumer(
            try client.properties() + [
                ("group.id", group),
                // Never commit, never store: this handle only looks.
                ("enable.auto.commit", "false"),
                ("enable.auto.offset.store", "false"),
            ],
            overrides: client.librdkafkaOverrides
        )
        let logger = self.logger
        // rd_kafka_new starts threads and resolves addresses: not on the cooperative pool.
        let made = try await BlockingCalls.run { () throws(KafkaError) in
            let context = RDKafkaCallbackContext(logger: logger)
            let pointer = try RDKafkaClient.makeHandle(kind: .consumer, properties: properties, context: context)
            return GroupHandle(leased: LeasedHandle(pointer, what: "lag reader of group '\(group)'"), context: context)
        }
        let (kept, surplus) = handles.withLock { handles -> (GroupHandle, GroupHandle?) in
            if let raced = handles[group] { return (raced, made) }
            handles[group] = made
            return (made, nil)
        }
        if let surplus {
            _ = try? await BlockingCalls.run { () throws(KafkaError) in surplus.destroy() }
        }
        return kept
    }
}

/// A group's handle and the callback context it points to (kept alive until destruction).
private struct GroupHandle: Sendable {
    let leased: LeasedHandle
    let context: RDKafkaCallbackContext

    /// Waits for calls in flight, then destroys the handle; a second call does nothing. Blocks.
    func destroy() {
        if leased.closeAndWaitForLeases() {
            rd_kafka_destroy(leased.pointer)
            withExtendedLifetime(context) {}
        }
    }
}
