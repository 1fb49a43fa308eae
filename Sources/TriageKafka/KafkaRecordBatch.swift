internal import CRdKafka
import Foundation
import Synchronization

/// Records fetched together, still in librdkafka's fetch buffers: nothing was copied or built
/// per record. Read them with ``forEach(_:)`` (views valid inside the call) or copy them out
/// with ``makeMessages()`` when they must outlive the batch.
///
/// A batch keeps its consumer's librdkafka instance alive: a consumer that was closed is
/// destroyed only once every batch it handed out is released. Do not keep batches longer than
/// the records are needed; each pins the fetch buffers its records came from.
public final class KafkaRecordBatch: @unchecked Sendable {
    // Mutated only before the batch is handed to the application (by the consumer's thread, or
    // under the hand-off's lock when waiting batches merge or a seek purges them).
    private var records: [UnsafeMutablePointer<rd_kafka_message_t>]
    private let keeper: ConsumerHandleKeeper

    init(records: [UnsafeMutablePointer<rd_kafka_message_t>], keeper: ConsumerHandleKeeper) {
        self.records = records
        self.keeper = keeper
    }

    deinit {
        for record in records { rd_kafka_message_destroy(record) }
    }

    /// Number of records.
    public var count: Int { records.count }
    public var isEmpty: Bool { records.isEmpty }

    /// Calls `body` with every record, in order (offset order per partition). The view and its
    /// buffers are valid only inside the call.
    public func forEach<E: Error>(_ body: (borrowing KafkaRecordView) throws(E) -> Void) throws(E) {
        for record in records {
            try body(KafkaRecordView(record))
        }
    }

    /// Copies every record into a ``KafkaMessage`` of its own (one buffer for the batch's keys
    /// and values).
    public func makeMessages() -> [KafkaMessage] {
        var byteCount = 0
        for record in records { byteCount += record.pointee.key_len + record.pointee.len }
        var builder = BatchBuilder(capacity: records.count, byteCount: byteCount)
        for record in records { builder.add(record) }
        return builder.finish()
    }

    /// The next offset to commit per partition: the highest offset in the batch + 1.
    var nextOffsets: [TopicPartition: Int64] {
        // Keyed by topic handle (a pointer compare per record); names are read once per partition.
        let highest = highestOffsets(
            records.lazy.map { (topic: $0.pointee.rkt, partition: $0.pointee.partition, offset: $0.pointee.offset) })
        return Dictionary(
            highest.map { (TopicPartition($0.topic.map { String(cString: rd_kafka_topic_name($0)) } ?? "", $0.partition), $0.offset + 1) },
            uniquingKeysWith: max
        )
    }

    // MARK: Before hand-out

    /// A batch of this batch's records followed by `other`'s; both are left empty.
    func merged(with other: KafkaRecordBatch) -> KafkaRecordBatch {
        let combined = KafkaRecordBatch(records: records + other.records, keeper: keeper)
        records = []
        other.records = []
        return combined
    }

    /// Destroys the records of `partition`; returns how many are left.
    func removeRecords(of partition: TopicPartition) -> Int {
        records.destroyRecords(of: partition)
        return records.count
    }
}

/// The highest offset per (topic, partition) of `records`. A batch spans few partitions, in runs:
/// a linear scan beats hashing per record.
func highestOffsets<Topic: Equatable>(
    _ records: some Sequence<(topic: Topic, partition: Int32, offset: Int64)>
) -> [(topic: Topic, partition: Int32, offset: Int64)] {
    var result: [(topic: Topic, partition: Int32, offset: Int64)] = []
    var last = -1
    for record in records {
        if last < 0 || result[last].partition != record.partition || result[last].topic != record.topic {
            last = result.firstIndex { $0.partition == record.partition && $0.topic == record.topic } ?? -1
            if last < 0 {
                result.append(record)
                last = result.count - 1
                continue
            }
        }
        result[last].offset = max(result[last].offset, record.offset)
    }
    return result
}

extension [UnsafeMutablePointer<rd_kafka_message_t>] {
    /// Removes and destroys the records of `partition` (after a seek, before they are handed out).
    mutating func destroyRecords(of partition: TopicPartition) {
        removeAll { record in
            guard record.pointee.partition == partition.partition, let topic = record.pointee.rkt,
                String(cString: rd_kafka_topic_name(topic)) == partition.topic
            else { return false }
            rd_kafka_message_destroy(record)
            return true
        }
    }
}

/// Owns a consumer's `rd_kafka_t` for the consumer and for every ``KafkaRecordBatch`` it handed
/// out, whose records live in that instance's buffers: the instance is destroyed when the
/// consumer closed and the last of them is released.
final class ConsumerHandleKeeper: @unchecked Sendable {
    /// What became of a consumer's librdkafka instance (observable by tests).
    enum Fate: Int { case open, destroyed, leftToProcessExit }

    final class FateRecord: Sendable {
        private let value = Atomic<Int>(Fate.open.rawValue)
        var current: Fate { Fate(rawValue: value.load(ordering: .acquiring)) ?? .open }
        func set(_ fate: Fate) { value.store(fate.rawValue, ordering: .releasing) }
    }

    let pointer: OpaquePointer
    let fate = FateRecord()
    /// librdkafka's callbacks refer to it until the instance is destroyed.
    private let context: RDKafkaCallbackContext
    /// Set when the consumer closed and the instance may be destroyed.
    private let destroyWhenReleased = Atomic<Bool>(false)

    init(_ pointer: OpaquePointer, context: RDKafkaCallbackContext) {
        self.pointer = pointer
        self.context = context
    }

    /// The consumer closed: destroy the instance once nothing refers to it any more.
    func closed() { destroyWhenReleased.store(true, ordering: .releasing) }

    /// Destroys the instance now (the consumer's thread, nothing else refers to it).
    func destroy() {
        rd_kafka_destroy(pointer)
        fate.set(.destroyed)
    }

    /// Never destroyed: librdkafka would crash (see the consumer's shutdown).
    func leaveToProcessExit() {
        fate.set(.leftToProcessExit)
        _ = Unmanaged.passRetained(self)
    }

    deinit {
        guard destroyWhenReleased.load(ordering: .acquiring) else { return }
        // The last batch was released, on whatever thread the application used: destroying
        // joins librdkafka's threads, which must not block the cooperative pool.
        nonisolated(unsafe) let pointer = self.pointer
        let fate = self.fate
        Thread.detachNewThread {
            rd_kafka_destroy(pointer)
            fate.set(.destroyed)
        }
    }
}

extension KafkaRecordView {
    init(_ message: UnsafeMutablePointer<rd_kafka_message_t>) {
        let record = message.pointee
        self.init(
            partition: record.partition, offset: record.offset,
            key: record.key.map { UnsafeRawBufferPointer(start: $0, count: record.key_len) },
            value: record.payload.map { UnsafeRawBufferPointer(start: $0, count: record.len) },
            message: UnsafePointer(message)
        )
    }
}

/// Copies records into ``KafkaMessage``s. Keys and values are copied once into one buffer per
/// batch, which the batch's records share.
struct BatchBuilder {
    private(set) var messages: [KafkaMessage] = []
    /// Key and value bytes of `messages`; moved into `storage` by ``finish()``.
    private var bytes: [UInt8] = []
    /// What the records refer to (given `bytes` by ``finish()``).
    private var storage = BatchBytes()
    private var topicNames: [OpaquePointer: String] = [:]
    private var lastTopic: (handle: OpaquePointer, name: String)?

    init(capacity: Int, byteCount: Int) {
        messages.reserveCapacity(capacity)
        bytes.reserveCapacity(byteCount)
    }

    /// The records gathered; their keys and values are in place.
    consuming func finish() -> [KafkaMessage] {
        storage.bytes = bytes
        return messages
    }

    /// Adds a copy of `message`.
    mutating func add(_ message: UnsafeMutablePointer<rd_kafka_message_t>) {
        let record = message.pointee
        var topic = ""
        if let rkt = record.rkt {
            if let lastTopic, lastTopic.handle == rkt {
                topic = lastTopic.name
            } else if let cached = topicNames[rkt] {
                topic = cached
                lastTopic = (rkt, topic)
            } else {
                topic = String(cString: rd_kafka_topic_name(rkt))
                topicNames[rkt] = topic
                lastTopic = (rkt, topic)
            }
        }
        let key = copy(record.key, record.key_len)
        let value = copy(record.payload, record.len)
        var headers: [KafkaHeader] = []
        var list: OpaquePointer?
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            let count = rd_kafka_header_cnt(list)
            headers.reserveCapacity(count)
            var name: UnsafePointer<CChar>?
            var bytes: UnsafeRawPointer?
            var size = 0
            for index in 0..<count where rd_kafka_header_get_all(list, index, &name, &bytes, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                headers.append(
                    KafkaHeader(
                        name: name.map { String(cString: $0) } ?? "",
                        value: bytes.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
                    )
                )
            }
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let milliseconds = rd_kafka_message_timestamp(message, &timestampType)
        messages.append(
            KafkaMessage(
                topic: topic,
                partition: record.partition,
                offset: record.offset,
                keyStorage: key,
                valueStorage: value,
                headers: headers,
                timestamp: milliseconds >= 0 ? Date(timeIntervalSince1970: Double(milliseconds) / 1000) : nil,
                timestampType: KafkaTimestampType(timestampType)
            )
        )
    }

    private mutating func copy(_ pointer: UnsafeMutableRawPointer?, _ count: Int) -> RecordBytes? {
        guard let pointer else { return nil }
        let start = bytes.count
        bytes.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: count))
        return .shared(storage, start..<(start + count))
    }
}
