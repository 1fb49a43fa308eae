import Foundation
public import Logging
import Metrics
import Synchronization
public import TriageKafka

/// The state of one partition as a compacted changelog restores it: the latest value per key,
/// a tombstone (null value) forgetting the key.
public protocol ChangelogState: Sendable {
    /// A changelog record's decoded value.
    associatedtype Value
    /// An empty state (a partition with no changelog records yet).
    init()
    /// The latest record of `key` says `value`.
    mutating func restore(_ value: Value, key: String)
    /// `key` was deleted (a tombstone).
    mutating func forget(key: String)
}

/// A state with no changelog: for processors whose partitions start empty.
public struct NoPartitionState: ChangelogState {
    public init() {}
    public mutating func restore(_ value: Never, key: String) {}
    public mutating func forget(key: String) {}
}

/// A plain key → value map restored from a changelog.
public struct KeyedState<Value: Sendable>: ChangelogState {
    public var values: [String: Value] = [:]
    public init() {}
    public mutating func restore(_ value: Value, key: String) { values[key] = value }
    public mutating func forget(key: String) { values[key] = nil }
}

/// What to do with a changelog record that cannot be decoded.
public enum UnreadableRecordPolicy: Sendable, Hashable {
    /// Skip it (the key keeps its previous value), counted in
    /// `triage_changelog_unreadable_total{worker,topic}` and logged with the count: the state
    /// of that key is rebuilt from the inputs that follow, or lost.
    case skip
    /// Fail the restore: the worker stops with an error naming the topic, partition and offset.
    case fail
}

/// A compacted topic holding a worker's state per key, co-partitioned with its input: read
/// back to the end before a newly assigned partition's first record is processed.
public struct Changelog<State: ChangelogState>: Sendable {
    public var topic: String
    /// Turns a record's value into the state's value; throws for an unreadable record.
    public var decode: @Sendable (UnsafeRawBufferPointer) throws -> State.Value
    public var unreadable: UnreadableRecordPolicy
    /// Whether a takeover fences the partition first and only the fence's writer's records
    /// count (see ``ChangelogFencing``); `nil` (the default): every record counts.
    public var fencing: ChangelogFencing?

    public init(
        topic: String, unreadable: UnreadableRecordPolicy = .skip, fencing: ChangelogFencing? = nil,
        decode: @escaping @Sendable (UnsafeRawBufferPointer) throws -> State.Value
    ) {
        self.topic = topic
        self.unreadable = unreadable
        self.fencing = fencing
        self.decode = decode
    }

    /// What a restore read.
    public struct Summary: Sendable {
        public var records = 0
        /// Records skipped because they could not be decoded.
        public var unreadable = 0
        public var duration: Duration = .zero
        /// Fenced changelogs: records ignored because another writer's fence came before them.
        public var ignored = 0
        /// Fenced changelogs: per partition, the writer the last fence named and the last
        /// offset read (or of this takeover's fence).
        public var writers: [Int32: (writer: String?, through: Int64)] = [:]

        public var seconds: Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
    }

    /// Reads `partitions` of the changelog to their end: each partition's state, and what was
    /// read. A fenced changelog is fenced first with `token` through `producer`.
    public func restore(
        _ partitions: [Int32], client: KafkaClientConfiguration, worker: String, logger: Logger,
        fence: (token: String, producer: KafkaProducer)? = nil
    ) async throws -> (states: [Int32: State], summary: Summary) {
        let reading = Mutex<(states: [Int32: State], unreadable: Int, failure: ChangelogReadError?)>(
            (Dictionary(uniqueKeysWithValues: partitions.map { ($0, State()) }), 0, nil)
        )
        let decode = self.decode
        let policy = self.unreadable
        let topic = self.topic
        // A fence first: from it on, records of whoever wrote these partitions before do not
        // count (a late write of an instance that lost them), and what came before it is read below.
        var fenceOffsets: [Int32: Int64] = [:]
        if let fencing, let fence {
            let reports = try await fence.producer.sendAll(
                partitions.map {
                    KafkaProducerMessage(
                        topic: topic, key: fencing.fenceKey, value: Array(fence.token.utf8),
                        headers: [KafkaHeader(name: fencing.writerHeader, string: fence.token)], partition: $0
                    )
                }
            )
            for report in reports { fenceOffsets[report.partition] = report.offset }
        }
        let logs = Mutex<[Int32: (log: FencedLog, last: Int64)]>(
            fencing.map { fencing in Dictionary(uniqueKeysWithValues: partitions.map { ($0, (FencedLog(fencing: fencing), -1)) }) } ?? [:]
        )
        let writerHeader = fencing?.writerHeader
        let read = try await KafkaPartitionReader.readToEnd(topic: topic, partitions: partitions, client: client, logger: logger) {
            record in
            guard let key = record.key else { return }
            if let writerHeader {
                let writer = record.header(writerHeader).map { String(decoding: $0, as: UTF8.self) }
                let counts = logs.withLock {
                    $0[record.partition]?.last = record.offset
                    return $0[record.partition]?.log.admits(key: key, value: record.value, writer: writer) ?? false
                }
                guard counts else { return }
            }
            let name = String(decoding: key, as: UTF8.self)
            guard let value = record.value else {
                reading.withLock { $0.states[record.partition]?.forget(key: name) }
                return
            }
            do {
                let decoded = try decode(value)
                reading.withLock { $0.states[record.partition]?.restore(decoded, key: name) }
            } catch {
                let failure = ChangelogReadError(
                    topic: topic, partition: record.partition, offset: record.offset, key: name, cause: "\(error)")
                reading.withLock {
                    $0.unreadable += 1
                    if $0.failure == nil { $0.failure = failure }
                }
                if policy == .fail { throw failure }
            }
        }
        let (states, unreadable, failure) = reading.withLock { ($0.states, $0.unreadable, $0.failure) }
        if unreadable > 0 {
            Counter(label: "triage_changelog_unreadable_total", dimensions: [("worker", worker), ("topic", topic)]).increment(
                by: unreadable)
            logger.warning(
                "changelog records that could not be read were skipped",
                metadata: ["topic": "\(topic)", "count": "\(unreadable)", "first": "\(failure.map(\.description) ?? "-")"]
            )
        }
        var summary = Summary(records: read.records, unreadable: unreadable, duration: read.duration)
        for (partition, read) in logs.withLock({ $0 }) {
            summary.ignored += read.log.ignored
            summary.writers[partition] = (read.log.writer, max(read.last, fenceOffsets[partition] ?? -1))
        }
        return (states, summary)
    }
}

/// A changelog record that could not be decoded.
public struct ChangelogReadError: Error, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: String
    public var cause: String

    public var description: String { "\(topic)[\(partition)]@\(offset) (key \(key)): \(cause)" }
}
