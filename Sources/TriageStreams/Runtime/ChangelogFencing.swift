import Foundation
import Logging
import Synchronization
import TriageKafka

/// Who may write a partition of a changelog: Kafka's producer fencing done with plain records,
/// because the embedded broker has no transactions.
///
/// A worker that takes a partition over first appends a *fence* naming itself (a token unique
/// to that takeover), then reads the partition to its end. From that fence on, only records
/// carrying the same writer token (in ``writerHeader``) count: a record by anybody else after
/// it is a late write of an instance that lost the partition without knowing it yet (starved
/// past its session timeout, cut off from the coordinator) and every later restore ignores it.
/// The writer checks after each of its writes that no other fence came before them (the
/// runtime does, see ``StreamOutput/write(_:phase:on:)``), so outputs written on behalf of a
/// partition are produced only by the instance whose view of it was complete.
public struct ChangelogFencing: Sendable, Hashable {
    /// The key of fence records. Default: U+001F then `fence` (no state key starts with U+001F).
    public var fenceKey: [UInt8]
    /// The header naming a record's writer.
    public var writerHeader: String

    public init(fenceKey: [UInt8] = [0x1F] + Array("fence".utf8), writerHeader: String) {
        self.fenceKey = fenceKey
        self.writerHeader = writerHeader
    }

    public func isFence(key: some Collection<UInt8>) -> Bool { key.elementsEqual(fenceKey) }

    /// Whether a record is a fence by another writer than `me`.
    public func isForeignFence(key: some Collection<UInt8>, value: UnsafeRawBufferPointer?, me: String) -> Bool {
        isFence(key: key) && value.map { String(decoding: $0, as: UTF8.self) } != me
    }
}

/// One partition of a fenced changelog read in offset order: which records count (the latest
/// accepted value per key), which writer the last fence named, and what was ignored.
public struct FencedLog: Sendable {
    public let fencing: ChangelogFencing
    /// The latest accepted value per key (`nil`: a tombstone); fences excluded.
    public private(set) var latest: [[UInt8]: [UInt8]?] = [:]
    /// The writer named by the last fence read; `nil` before any fence.
    public private(set) var writer: String?
    /// Records ignored because someone else's fence came before them.
    public private(set) var ignored = 0
    public private(set) var fences = 0

    public init(fencing: ChangelogFencing) { self.fencing = fencing }

    /// Takes the next record of the partition and keeps its value if it counts.
    public mutating func add(key: [UInt8], value: [UInt8]?, writer recordWriter: String?) {
        if admits(key: key, value: value, writer: recordWriter) { latest[key] = .some(value) }
    }

    /// Takes the next record of the partition without keeping values: whether it counts (it
    /// is not a fence, and no other writer's fence came before it).
    public mutating func admits(key: some Collection<UInt8>, value: UnsafeRawBufferPointer?, writer recordWriter: String?) -> Bool {
        if fencing.isFence(key: key) {
            fences += 1
            writer = value.map { String(decoding: $0, as: UTF8.self) } ?? recordWriter
            return false
        }
        if let writer, recordWriter != writer {
            ignored += 1
            return false
        }
        return true
    }

    public mutating func admits(key: some Collection<UInt8>, value: [UInt8]?, writer recordWriter: String?) -> Bool {
        guard let value else { return admits(key: key, value: UnsafeRawBufferPointer?.none, writer: recordWriter) }
        return value.withUnsafeBytes { admits(key: key, value: $0, writer: recordWriter) }
    }
}

/// The writer's side of fencing, shared by the worker loop (takeovers) and the writer task
/// (checks after each write): per owned changelog partition, this instance's token and how far
/// the partition is accounted for.
final class FenceBook: Sendable {
    private struct Partition {
        var writer: String
        /// Every offset up to here is this instance's or was read and held no other fence.
        var verifiedThrough: Int64
        /// Offsets above `verifiedThrough` this instance wrote (acknowledged, not yet verified).
        var ours: Set<Int64> = []
    }

    private struct State {
        var partitions: [Int32: Partition] = [:]
        /// Partitions where another writer's fence was found; cleared by the next takeover.
        var fenced: Set<Int32> = []
    }

    let topic: String
    let fencing: ChangelogFencing
    private let client: KafkaClientConfiguration
    private let logger: Logger
    private let state = Mutex(State())

    init(topic: String, fencing: ChangelogFencing, client: KafkaClientConfiguration, logger: Logger) {
        self.topic = topic
        self.fencing = fencing
        self.client = client
        self.logger = logger
    }

    /// This instance took `partition` over with `writer`; everything up to `through` is read.
    func take(_ partition: Int32, writer: String, through: Int64) {
        state.withLock {
            $0.partitions[partition] = Partition(writer: writer, verifiedThrough: through)
            $0.fenced.remove(partition)
        }
    }

    /// `partition` is not this instance's any more (revoked, or found fenced at a takeover).
    func release(_ partition: Int32, fenced: Bool = false) {
        state.withLock {
            $0.partitions[partition] = nil
            if fenced { $0.fenced.insert(partition) }
        }
    }

    func isFenced(_ partition: Int32) -> Bool { state.withLock { $0.fenced.contains(partition) } }

    var fencedPartitions: Set<Int32> { state.withLock { $0.fenced } }

    /// Advances `partition` over this instance's own records and returns where the first offset
    /// up to `through` that is not known to be its own starts (someone else may have written
    /// there: the partition must be read from there), or `nil` when every offset up to `through`
    /// is accounted for.
    ///
    /// Only offsets up to `through` (the last record being checked) count: records of later,
    /// pipelined steps can be acknowledged before an earlier step's records in other partitions
    /// complete that step, and a hole below them is filled by the step in between, which is
    /// checked when its turn comes. Counting them made a step read the partition for nothing,
    /// holding the writer (and every later step's events) for 0.1 to 1 s on the embedded broker.
    func gap(in partition: Int32, through: Int64) -> (from: Int64, writer: String)? {
        state.withLock { state -> (from: Int64, writer: String)? in
            guard var entry = state.partitions[partition] else { return nil }
            while entry.ours.remove(entry.verifiedThrough + 1) != nil { entry.verifiedThrough += 1 }
            state.partitions[partition] = entry
            return entry.verifiedThrough >= through ? nil : (entry.verifiedThrough + 1, entry.writer)
        }
    }

    /// `records` with this instance's writer token on those that go to an owned partition of the changelog.
    func mark(_ records: [KafkaProducerMessage]) -> [KafkaProducerMessage] {
        let writers = state.withLock { $0.partitions.mapValues(\.writer) }
        return records.map { record in
            guard record.topic == topic, let partition = record.partition, let writer = writers[partition] else { return record }
            var record = record
            record.headers.append(KafkaHeader(name: fencing.writerHeader, string: writer))
            return record
        }
    }

    /// Where this instance's records landed (called as soon as they are acknowledged, so that
    /// records of pipelined steps are known before an earlier step's check reads past them).
    func stored(_ reports: some Sequence<KafkaDeliveryReport>) {
        state.withLock { state in
            for report in reports where report.topic == topic {
                guard var partition = state.partitions[report.partition], report.offset > partition.verifiedThrough else { continue }
                partition.ours.insert(report.offset)
                state.partitions[report.partition] = partition
            }
        }
    }

    /// Checks the changelog partitions written in `reports`: those where another instance's
    /// fence came before this instance's records are released and returned. Reads a partition
    /// only where its records since the last check are not all this instance's own.
    func verify(_ reports: some Sequence<KafkaDeliveryReport>) async throws -> Set<Int32> {
        var written: [Int32: Int64] = [:]
        for report in reports where report.topic == topic {
            written[report.partition] = max(written[report.partition] ?? -1, report.offset)
        }
        var fenced: Set<Int32> = []
        for (partition, through) in written.sorted(by: { $0.key < $1.key }) {
            guard let gap = gap(in: partition, through: through) else { continue }
            let fencing = self.fencing
            let seen = Mutex<(foreign: Bool, last: Int64)>((false, gap.from - 1))
            _ = try await KafkaPartitionReader.readToEnd(
                topic: topic, partitions: [partition], from: [partition: gap.from], client: client, logger: logger
            ) { record in
                let foreign = record.key.map { fencing.isForeignFence(key: $0, value: record.value, me: gap.writer) } ?? false
                seen.withLock {
                    if foreign { $0.foreign = true }
                    $0.last = max($0.last, record.offset)
                }
            }
            let (foreign, last) = seen.withLock { $0 }
            let lost = state.withLock { state -> Bool in
                guard var entry = state.partitions[partition] else { return false }
                if foreign {
                    state.partitions[partition] = nil
                    state.fenced.insert(partition)
                    return true
                }
                entry.verifiedThrough = max(entry.verifiedThrough, last)
                entry.ours = entry.ours.filter { $0 > entry.verifiedThrough }
                state.partitions[partition] = entry
                return false
            }
            if lost { fenced.insert(partition) }
        }
        return fenced
    }
}
