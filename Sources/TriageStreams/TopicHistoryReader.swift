public import Foundation
public import Logging
import Synchronization
public import TriageKafka

/// Reads the history of a topic once, for reports and replays (`triage report sla`, `triage
/// sla backtest`, `triage sla staffing`, the console): every partition from the first record at
/// or after an instant up to the high watermarks at the start of the read, so a read of a
/// topic being written to still ends.
///
/// Records are read outside any consumer group (nothing is committed) on the dedicated thread
/// of ``KafkaPartitionReader``, handed to `take` there, never on the cooperative pool; `take`
/// says whether it could use a record, and the others are counted as unreadable.
///
/// ```swift
/// let reader = TopicHistoryReader(topic: TriageTopic.analytics, client: client, logger: logger)
/// let read = try await reader.read(since: march1) { record in record.value != nil }
/// print(read.progress.read, "records,", read.progress.unreadable, "unreadable")
/// ```
public struct TopicHistoryReader: Sendable {
    /// How far a read is.
    public struct Progress: Sendable, Hashable {
        /// Records read so far (unreadable ones included).
        public var read: Int
        /// Offsets in the range (an upper bound of the records: compaction and transaction
        /// markers leave gaps).
        public var total: Int64
        /// Records `take` could not use.
        public var unreadable: Int
    }

    /// What a read did: its last progress and the range it read.
    public struct Summary: Sendable {
        public var progress: Progress
        public var range: KafkaTopicRange
    }

    public var topic: String
    public var client: KafkaClientConfiguration
    /// How often ``read(since:progress:take:)`` reports progress, in records. Default 10,000.
    public var progressInterval: Int
    /// Longest wait for the cluster without any record arriving. Default 120 s.
    public var timeout: Duration
    private let logger: Logger

    public init(
        topic: String, client: KafkaClientConfiguration, progressInterval: Int = 10_000, timeout: Duration = .seconds(120),
        logger: Logger
    ) {
        self.topic = topic
        self.client = client
        self.progressInterval = max(1, progressInterval)
        self.timeout = timeout
        self.logger = logger
    }

    /// Hands `take` every record from the first one whose Kafka timestamp is at or after
    /// `since` (from the beginning when `nil`) up to the end of every partition as of the call.
    /// `progress` is called from the reading thread at the start, every ``progressInterval``
    /// records and at the end. Throws when the topic does not exist or the cluster cannot be
    /// reached.
    @discardableResult
    public func read(
        since: Date?, progress: @escaping @Sendable (Progress) -> Void = { _ in },
        take: @escaping @Sendable (borrowing KafkaRecordView) -> Bool
    ) async throws -> Summary {
        let range = try await KafkaTopicRange.lookUp(topic: topic, since: since, client: client, logger: logger)
        let total = range.count
        let interval = progressInterval
        let state = Mutex(Progress(read: 0, total: total, unreadable: 0))
        progress(state.withLock { $0 })
        _ = try await KafkaPartitionReader.readToEnd(
            topic: topic, partitions: range.partitionsToRead, from: range.starts, until: range.ends, client: client, logger: logger,
            timeout: timeout
        ) { record in
            let readable = take(record)
            let report = state.withLock { state -> Progress? in
                state.read += 1
                if !readable { state.unreadable += 1 }
                return state.read % interval == 0 ? state : nil
            }
            if let report { progress(report) }
        }
        let last = state.withLock { $0 }
        progress(last)
        return Summary(progress: last, range: range)
    }
}
