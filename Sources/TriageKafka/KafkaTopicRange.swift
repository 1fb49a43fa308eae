internal import CRdKafka
public import Foundation
public import Logging

/// Where a bounded read of a topic starts and stops, per partition: from the first record at or
/// after an instant (librdkafka's `rd_kafka_offsets_for_times`, a ListOffsets by timestamp) up to
/// the high watermarks at the lookup. Read it with
/// ``KafkaPartitionReader/readToEnd(topic:partitions:from:until:client:logger:timeout:body:)``
/// (`from: range.starts, until: range.ends`): records appended after the lookup are not read,
/// so the read ends even on a topic that is being written to.
///
/// Timestamps are the records' (their producer's clock under `CreateTime`). librdkafka's mock
/// cluster (the embedded broker) does not look offsets up by time — it answers "no such offset",
/// the same answer as for an instant after the last record — so there a lookup with a `since`
/// finds nothing to read; use `since: nil` (from the beginning) against it.
public struct KafkaTopicRange: Sendable, Hashable {
    /// One partition's bounds.
    public struct Partition: Sendable, Hashable {
        public var partition: Int32
        /// The first offset to read.
        public var start: Int64
        /// The high watermark at the lookup: the offset after the last record to read.
        public var end: Int64
        /// Records (offsets) between the bounds.
        public var count: Int64 { max(0, end - start) }

        public init(partition: Int32, start: Int64, end: Int64) {
            self.partition = partition
            self.start = start
            self.end = end
        }
    }

    public var topic: String
    /// Every partition of the topic, sorted by partition.
    public var partitions: [Partition]

    public init(topic: String, partitions: [Partition]) {
        self.topic = topic
        self.partitions = partitions.sorted { $0.partition < $1.partition }
    }

    /// Offsets between the bounds, summed over the partitions (an upper bound of the records:
    /// compaction and transaction markers leave gaps).
    public var count: Int64 { partitions.reduce(0) { $0 + $1.count } }
    /// The partitions with something to read.
    public var partitionsToRead: [Int32] { partitions.filter { $0.count > 0 }.map(\.partition) }
    public var starts: [Int32: Int64] { Dictionary(uniqueKeysWithValues: partitions.map { ($0.partition, $0.start) }) }
    public var ends: [Int32: Int64] { Dictionary(uniqueKeysWithValues: partitions.map { ($0.partition, $0.end) }) }

    /// Looks up the range of every partition of `topic`: from the earliest record whose
    /// timestamp is at or after `since` (the low watermark when `since` is `nil`; the high one
    /// when every record is older) to the high watermark now. Runs on the blocking-call queue,
    /// never on the cooperative pool. Throws ``KafkaError/Code/unknownTopicOrPartition`` when the
    /// topic does not exist, or a timeout when the cluster does not answer within `timeout`.
    public static func lookUp(
        topic: String, since: Date?, client: KafkaClientConfiguration, logger: Logger, timeout: Duration = .seconds(10)
    ) async throws(KafkaError) -> KafkaTopicRange {
        let properties = RDKafkaClient.mergeForGrouplessConsumer(
            try client.properties() + [
                ("group.id", "triage-range-lookup"),
                ("enable.auto.commit", "false"),
                ("enable.auto.offset.store", "false"),
            ],
            overrides: client.librdkafkaOverrides
        )
        let milliseconds = Int32(clamping: timeout.milliseconds)
        return try await BlockingCalls.run { () throws(KafkaError) in
            let context = RDKafkaCallbackContext(logger: logger)
            let handle = try RDKafkaClient.makeHandle(kind: .consumer, properties: properties, context: context)
            defer {
                rd_kafka_destroy(handle)
                withExtendedLifetime(context) {}
            }
            let partitions = try partitionIDs(of: topic, handle: handle, timeout: milliseconds)
            let watermarks = try Watermarks.query(handle, partitions: partitions.map { TopicPartition(topic, $0) }, timeout: timeout)
            var lows: [Int32: Int64] = [:]
            var highs: [Int32: Int64] = [:]
            for (partition, bounds) in watermarks {
                lows[partition.partition] = max(bounds.low, 0)
                highs[partition.partition] = max(bounds.high, 0)
            }
            var starts = lows
            if let since, !partitions.isEmpty {
                let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))!
                defer { rd_kafka_topic_partition_list_destroy(list) }
                let instant = Int64((since.timeIntervalSince1970 * 1000).rounded(.down))
                for partition in partitions { rd_kafka_topic_partition_list_add(list, topic, partition)!.pointee.offset = instant }
                try throwIfError(rd_kafka_offsets_for_times(handle, list, milliseconds), context: "offsets of \(topic) at \(since)")
                for index in 0..<Int(list.pointee.cnt) {
                    let element = list.pointee.elems[index]
                    try throwIfError(element.err, context: "offset of \(topic)[\(element.partition)] at \(since)")
                    // -1 (RD_KAFKA_OFFSET_END): no record at or after the instant.
                    let high = highs[element.partition] ?? 0
                    starts[element.partition] = element.offset < 0 ? high : min(max(element.offset, lows[element.partition] ?? 0), high)
                }
            }
            return KafkaTopicRange(
                topic: topic, partitions: partitions.map { Partition(partition: $0, start: starts[$0] ?? 0, end: highs[$0] ?? 0) })
        }
    }

    /// The partition ids of `topic` from the whole cluster's metadata (naming the topic in the
    /// request could auto-create it).
    private static func partitionIDs(of topic: String, handle: OpaquePointer, timeout: Int32) throws(KafkaError) -> [Int32] {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        try throwIfError(rd_kafka_metadata(handle, 1, nil, &metadata, timeout), context: "metadata")
        defer { rd_kafka_metadata_destroy(metadata) }
        guard let metadata else { throw KafkaError(code: .unknownTopicOrPartition, message: "topic '\(topic)' does not exist") }
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let entry = metadata.pointee.topics[index]
            guard String(cString: entry.topic) == topic else { continue }
            try throwIfError(entry.err, context: "topic '\(topic)'")
            return (0..<Int(entry.partition_cnt)).map { entry.partitions[$0].id }.sorted()
        }
        throw KafkaError(code: .unknownTopicOrPartition, message: "topic '\(topic)' does not exist")
    }
}
