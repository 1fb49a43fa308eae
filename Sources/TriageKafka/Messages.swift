public import Foundation

/// A Kafka record header. Names may repeat; a `nil` value is Kafka's null header.
public struct KafkaHeader: Sendable, Hashable {
    public var name: String
    public var value: [UInt8]?

    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }

    public init(name: String, string: String) {
        self.init(name: name, value: Array(string.utf8))
    }

    /// The value decoded as UTF-8, if present.
    public var stringValue: String? { value.map { String(decoding: $0, as: UTF8.self) } }
}

/// One partition of one topic.
public struct TopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }

    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
}

/// A record to produce.
public struct KafkaProducerMessage: Sendable {
    public var topic: String
    /// The partitioning key; records with equal keys land in the same partition, in order.
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [KafkaHeader]
    /// An explicit partition; `nil` lets the partitioner choose from the key.
    public var partition: Int32?
    /// The record timestamp; `nil` means "now" (set by librdkafka).
    public var timestamp: Date?

    public init(
        topic: String,
        key: [UInt8]? = nil,
        value: [UInt8]?,
        headers: [KafkaHeader] = [],
        partition: Int32? = nil,
        timestamp: Date? = nil
    ) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.partition = partition
        self.timestamp = timestamp
    }

    public init(topic: String, key: String?, value: String, headers: [KafkaHeader] = []) {
        self.init(topic: topic, key: key.map { Array($0.utf8) }, value: Array(value.utf8), headers: headers)
    }
}

/// Where a produced record was stored.
public struct KafkaDeliveryReport: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// Broker or producer timestamp of the record, when known.
    public var timestamp: Date?
}

/// What a consumed record's timestamp means.
public enum KafkaTimestampType: Sendable, Hashable {
    /// Set by the producer (or by librdkafka when the record was produced): the topic's
    /// `message.timestamp.type=CreateTime`, Kafka's default.
    case createTime
    /// Set by the broker when it appended the record (`message.timestamp.type=LogAppendTime`).
    case logAppendTime
}

/// The bytes of every key and value of one fetched batch, copied once from librdkafka into one
/// buffer. Records of the batch refer to ranges of it, so a batch costs one allocation instead of
/// one per key and value. Set on the consumer's thread when the batch is handed over (the
/// records are made before), and immutable after that.
final class BatchBytes: @unchecked Sendable {
    var bytes: [UInt8] = []
}

/// Key or value bytes of a consumed record: a range of its batch's buffer, or its own array.
enum RecordBytes: Sendable {
    case owned([UInt8])
    case shared(BatchBytes, Range<Int>)

    var slice: ArraySlice<UInt8> {
        switch self {
        case .owned(let bytes): bytes[...]
        case .shared(let batch, let range): batch.bytes[range]
        }
    }
}

/// A consumed record.
///
/// Keys and values of records fetched together share one buffer; ``valueBytes`` and ``keyBytes``
/// read them without copying, ``value`` and ``key`` copy them into arrays of their own.
public struct KafkaMessage: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var headers: [KafkaHeader]
    public var timestamp: Date?
    /// Whose clock ``timestamp`` is; `nil` when the record has none (or was built in code).
    public var timestampType: KafkaTimestampType?
    var keyStorage: RecordBytes?
    var valueStorage: RecordBytes?

    public init(
        topic: String,
        partition: Int32,
        offset: Int64,
        key: [UInt8]?,
        value: [UInt8]?,
        headers: [KafkaHeader],
        timestamp: Date?
    ) {
        self.init(
            topic: topic, partition: partition, offset: offset,
            keyStorage: key.map(RecordBytes.owned), valueStorage: value.map(RecordBytes.owned),
            headers: headers, timestamp: timestamp
        )
    }

    init(
        topic: String,
        partition: Int32,
        offset: Int64,
        keyStorage: RecordBytes?,
        valueStorage: RecordBytes?,
        headers: [KafkaHeader],
        timestamp: Date?,
        timestampType: KafkaTimestampType? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestampType = timestampType
        self.keyStorage = keyStorage
        self.valueStorage = valueStorage
        self.headers = headers
        self.timestamp = timestamp
    }

    /// The key without copying; `nil` for a null key.
    public var keyBytes: ArraySlice<UInt8>? { keyStorage?.slice }
    /// The value without copying; `nil` for a null value (a tombstone).
    public var valueBytes: ArraySlice<UInt8>? { valueStorage?.slice }

    /// The key, copied into its own array.
    public var key: [UInt8]? {
        get { keyBytes.map(Array.init) }
        set { keyStorage = newValue.map(RecordBytes.owned) }
    }

    /// The value, copied into its own array.
    public var value: [UInt8]? {
        get { valueBytes.map(Array.init) }
        set { valueStorage = newValue.map(RecordBytes.owned) }
    }

    public var topicPartition: TopicPartition { TopicPartition(topic, partition) }
    /// The first header named `name`.
    public func header(_ name: String) -> KafkaHeader? { headers.first { $0.name == name } }
    public var keyString: String? { keyBytes.map { String(decoding: $0, as: UTF8.self) } }
    public var valueString: String? { valueBytes.map { String(decoding: $0, as: UTF8.self) } }

    public static func == (lhs: KafkaMessage, rhs: KafkaMessage) -> Bool {
        lhs.topic == rhs.topic && lhs.partition == rhs.partition && lhs.offset == rhs.offset
            && lhs.keyBytes == rhs.keyBytes && lhs.valueBytes == rhs.valueBytes
            && lhs.headers == rhs.headers && lhs.timestamp == rhs.timestamp
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(topic)
        hasher.combine(partition)
        hasher.combine(offset)
        hasher.combine(keyBytes)
        hasher.combine(valueBytes)
    }
}
