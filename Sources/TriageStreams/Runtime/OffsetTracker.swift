import Synchronization
import TriageKafka

/// Which offsets of each input partition may be stored: a step's records once its outputs are
/// acknowledged, except that nothing at or past a record finished later
/// (``StreamOutput/completeLater(_:)``) is stored before that record is done.
final class OffsetTracker: Sendable {
    private struct Partition {
        /// The highest offset whose step is finished.
        var finishedThrough: Int64 = -1
        /// Records finished later and not done yet, in offset order.
        var pending: [Int64] = []
        /// The offset stored last (the next offset to read minus one).
        var stored: Int64 = -1

        /// `offset`, finished later, is done: the offset through which everything is done, if
        /// that moved past what was stored.
        mutating func done(_ offset: Int64) -> Int64? {
            var low = 0
            var high = pending.count
            while low < high {
                let middle = (low + high) / 2
                if pending[middle] < offset { low = middle + 1 } else { high = middle }
            }
            guard low < pending.count, pending[low] == offset else { return nil }
            pending.remove(at: low)
            return advance()
        }

        /// The offset through which everything is done, if it moved past what was stored.
        mutating func advance() -> Int64? {
            let through = min(finishedThrough, (pending.first ?? .max) - 1)
            guard through > stored else { return nil }
            stored = through
            return through
        }
    }

    private let consumer: KafkaConsumer
    private let state = Mutex<[TopicPartition: Partition]>([:])

    init(consumer: KafkaConsumer) { self.consumer = consumer }

    /// `message` is finished later.
    func `defer`(_ message: KafkaMessage) {
        state.withLock { $0[TopicPartition(message.topic, message.partition), default: Partition()].pending.append(message.offset) }
    }

    /// The steps of `messages` are finished.
    func finished(_ messages: [KafkaMessage]) throws {
        let next = state.withLock { partitions -> [TopicPartition: Int64] in
            var next: [TopicPartition: Int64] = [:]
            for message in messages {
                let key = TopicPartition(message.topic, message.partition)
                var partition = partitions[key] ?? Partition()
                partition.finishedThrough = max(partition.finishedThrough, message.offset)
                partitions[key] = partition
            }
            for key in Set(messages.map { TopicPartition($0.topic, $0.partition) }) {
                if let through = partitions[key]!.advance() { next[key] = through + 1 }
            }
            return next
        }
        try consumer.storeOffsets(next: next)
    }

    /// A record finished later is done.
    func done(_ message: KafkaMessage) {
        let key = TopicPartition(message.topic, message.partition)
        let next = state.withLock { partitions -> Int64? in
            // In place: a copy of the partition would make removing from its pending offsets
            // copy all of them (thousands when the worker reads far ahead), once per record.
            guard let index = partitions.index(forKey: key) else { return nil }
            return partitions.values[index].done(message.offset).map { $0 + 1 }
        }
        // A partition no longer assigned here is skipped by the consumer; nothing else can fail
        // that the next commit would not report.
        if let next { try? consumer.storeOffsets(next: [key: next]) }
    }

    /// Forgets `partitions` (handed over, or read again from the committed offset).
    func forget(_ partitions: some Sequence<TopicPartition>) {
        state.withLock { for partition in partitions { $0[partition] = nil } }
    }
}
