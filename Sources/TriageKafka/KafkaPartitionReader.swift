internal import CRdKafka
public import Foundation
public import Logging

/// One record as seen by a ``KafkaPartitionReader`` or ``KafkaTopicFollower`` callback: views
/// into librdkafka's buffers, valid only during the call.
///
/// Non-copyable, and callbacks borrow it: the compiler refuses to store it, return it or capture
/// it in an escaping closure, so it cannot outlive the message it points into. Copy what must
/// outlive the call (`Array(record.value!)`); `key`, `value` and ``header(_:)`` are raw pointers
/// and just as short-lived.
public struct KafkaRecordView: ~Copyable {
    public let partition: Int32
    public let offset: Int64
    /// `nil` for a null key.
    public let key: UnsafeRawBufferPointer?
    /// `nil` for a null value (a tombstone on a compacted topic).
    public let value: UnsafeRawBufferPointer?
    /// The record's timestamp (creation or log-append time); `nil` when it has none.
    public let timestamp: Date?
    /// Whose clock ``timestamp`` is; `nil` when the record has none.
    public let timestampType: KafkaTimestampType?
    private let message: UnsafePointer<rd_kafka_message_t>?

    init(
        partition: Int32, offset: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        message: UnsafePointer<rd_kafka_message_t>? = nil
    ) {
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.message = message
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let milliseconds = message.map { rd_kafka_message_timestamp($0, &type) } ?? -1
        timestamp = milliseconds >= 0 ? Date(timeIntervalSince1970: Double(milliseconds) / 1000) : nil
        timestampType = milliseconds >= 0 ? KafkaTimestampType(type) : nil
    }

    /// The record's topic (empty when unknown).
    public var topic: String {
        guard let topic = message?.pointee.rkt else { return "" }
        return String(cString: rd_kafka_topic_name(topic))
    }

    /// The value of the record's last header named `name` (valid inside the callback only);
    /// `nil` when there is none, or it has a null value.
    public func header(_ name: String) -> UnsafeRawBufferPointer? {
        guard let message else { return nil }
        var headers: OpaquePointer?
        guard rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else { return nil }
        var value: UnsafeRawPointer?
        var size = 0
        guard rd_kafka_header_get_last(headers, name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR, let value else { return nil }
        return UnsafeRawBufferPointer(start: value, count: size)
    }
}

/// Reads whole partitions from their beginning to their end as of the read, outside any
/// consumer group: what a worker does to restore state from a compacted changelog.
///
/// Records are handed to a callback on a dedicated thread without copying (views into
/// librdkafka's buffers), in offset order per partition. The read ends when every partition
/// reported its end (`enable.partition.eof`).
public enum KafkaPartitionReader {
    /// Figures of one read.
    public struct Summary: Sendable, Hashable {
        public var records: Int
        public var bytes: Int
        public var duration: Duration
    }

    /// Reads `partitions` of `topic` from the start (or from `offsets[partition]`, to catch up
    /// from where an earlier read ended) to the end and calls `body` for every record. With
    /// `until[partition]`, that partition's read stops before that offset (a high watermark
    /// looked up earlier, ``KafkaTopicRange``), even if records were appended since; a
    /// partition whose start is already there is not read at all.
    /// Throws if the topic does not exist, the brokers cannot be reached within `timeout`, or
    /// `body` throws (which stops the read).
    public static func readToEnd(
        topic: String,
        partitions: [Int32],
        from offsets: [Int32: Int64] = [:],
        until ends: [Int32: Int64] = [:],
        client: KafkaClientConfiguration,
        logger: Logger,
        timeout: Duration = .seconds(120),
        body: @escaping @Sendable (borrowing KafkaRecordView) throws -> Void
    ) async throws -> Summary {
        let partitions = partitions.filter { partition in
            guard let end = ends[partition] else { return true }
            return end > 0 && (offsets[partition] ?? 0) < end
        }
        guard !partitions.isEmpty else { return Summary(records: 0, bytes: 0, duration: .zero) }
        let properties = RDKafkaClient.mergeForGrouplessConsumer(
            try client.properties() + [
                ("group.id", "triage-partition-reader"),
                ("enable.auto.commit", "false"),
                ("enable.auto.offset.store", "false"),
                ("enable.partition.eof", "true"),
                ("auto.offset.reset", "earliest"),
                ("fetch.wait.max.ms", String(client.effectiveFetchWait.milliseconds)),
                ("queued.max.messages.kbytes", "65536"),
            ],
            overrides: client.librdkafkaOverrides
        )
        let context = RDKafkaCallbackContext(logger: logger)
        let owned = OwnedHandle(
            pointer: try RDKafkaClient.makeHandle(kind: .consumer, properties: properties, context: context, metrics: client.metricsFactory)
        )
        let result: Result<Summary, any Error> = await withCheckedContinuation { continuation in
            let thread = Thread {
                triage_set_current_thread_name("triage-restore")
                let outcome = Result<Summary, any Error> {
                    try read(
                        handle: owned.pointer, topic: topic, partitions: partitions, offsets: offsets, ends: ends, timeout: timeout,
                        body: body)
                }
                rd_kafka_destroy(owned.pointer)
                _ = context  // kept alive until the handle is gone
                continuation.resume(returning: outcome)
            }
            thread.start()
        }
        return try result.get()
    }

    private static func read(
        handle: OpaquePointer,
        topic: String,
        partitions: [Int32],
        offsets: [Int32: Int64],
        ends: [Int32: Int64],
        timeout: Duration,
        body: @Sendable (borrowing KafkaRecordView) throws -> Void
    ) throws -> Summary {
        let started = ContinuousClock.now
        let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in partitions {
            rd_kafka_topic_partition_list_add(list, topic, partition)!.pointee.offset =
                offsets[partition] ?? Int64(RD_KAFKA_OFFSET_BEGINNING)
        }
        // The partitions' leaders first: assigned before the topic's metadata is in, every
        // partition's start-offset lookup backs off 500 ms in librdkafka (no leader yet), which
        // took longer than reading a small changelog. On failure the read goes on as before.
        if let topicHandle = rd_kafka_topic_new(handle, topic, nil) {
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let wait = Int32(clamping: min(timeout, .seconds(10)).milliseconds)
            if rd_kafka_metadata(handle, 0, topicHandle, &metadata, wait) == RD_KAFKA_RESP_ERR_NO_ERROR {
                rd_kafka_metadata_destroy(metadata)
            }
            rd_kafka_topic_destroy(topicHandle)
        }
        try throwIfError(rd_kafka_assign(handle, list), context: "assign \(topic) \(partitions)")
        defer { _ = rd_kafka_assign(handle, nil) }
        let queue = rd_kafka_queue_get_consumer(handle)!
        defer { rd_kafka_queue_destroy(queue) }

        var remaining = Set(partitions)
        var records = 0
        var bytes = 0
        var idleSince = ContinuousClock.now
        let capacity = 1_024
        let buffer = UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        while !remaining.isEmpty {
            serveMainQueue(handle)
            // Waits the whole timeout unless the buffer fills: a short one, so a partition's end
            // (one event) is seen at once rather than after 100 ms.
            let count = rd_kafka_consume_batch_queue(queue, 10, buffer, capacity)
            if count < 0 { throw KafkaError(responseCode: rd_kafka_last_error(), context: "restore read of \(topic)") }
            if count == 0 {
                if ContinuousClock.now - idleSince > timeout {
                    throw KafkaError(
                        code: .timedOut,
                        message:
                            "no end of \(topic) partitions \(remaining.sorted()) within \(timeout); is the topic there and the cluster reachable?"
                    )
                }
                continue
            }
            idleSince = ContinuousClock.now
            var failure: (any Error)?
            for index in 0..<count {
                let message = buffer[index]!
                defer { rd_kafka_message_destroy(message) }
                guard failure == nil else { continue }
                let record = message.pointee
                switch record.err {
                case RD_KAFKA_RESP_ERR_NO_ERROR:
                    let end = ends[record.partition]
                    if let end, record.offset >= end { continue }
                    if let end, record.offset + 1 >= end { remaining.remove(record.partition) }
                    records += 1
                    bytes += record.len + record.key_len
                    let view = KafkaRecordView(
                        partition: record.partition,
                        offset: record.offset,
                        key: record.key.map { UnsafeRawBufferPointer(start: $0, count: record.key_len) },
                        value: record.payload.map { UnsafeRawBufferPointer(start: $0, count: record.len) },
                        message: UnsafePointer(message)
                    )
                    do { try body(view) } catch { failure = error }
                case RD_KAFKA_RESP_ERR__PARTITION_EOF:
                    remaining.remove(record.partition)
                case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
                    failure = KafkaError(responseCode: record.err, context: "restore read of \(topic)[\(record.partition)]")
                default:
                    // Transient fetch errors are retried by librdkafka.
                    continue
                }
            }
            if let failure { throw failure }
        }
        return Summary(records: records, bytes: bytes, duration: ContinuousClock.now - started)
    }
}

/// A handle used by exactly one thread at a time (created here, used and destroyed there).
private struct OwnedHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}
