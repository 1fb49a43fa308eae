public import Foundation
public import Logging
import SwiftProtobuf
import Synchronization
public import TriageKafka
public import TriageSchema
public import TriageStreams

/// Reads the analytics records of `triage.analytics` back, for reports (`triage report sla`)
/// and consoles: every partition from the first record at or after an instant up to the high
/// watermarks at the start of the read, so a read of a topic being written to still ends.
///
/// Records are read by a ``TopicHistoryReader``: outside any consumer group (nothing is
/// committed) on a dedicated thread, parsed there (the protobuf JSON mapping, unknown fields ignored), and never on the
/// cooperative pool. A record that is not an analytics record (not JSON, a null value) is
/// skipped and counted in ``Contents/unreadable``.
///
/// ```swift
/// let history = AnalyticsHistory(client: client, logger: logger)
/// let contents = try await history.read(since: march1) { progress in print(progress.read, "of", progress.total) }
/// let report = SlaComplianceReport(records: contents.records, window: march, groupBy: .team, asOf: Date())
/// ```
public struct AnalyticsHistory: Sendable {
    /// How far a read is.
    public struct Progress: Sendable, Hashable {
        /// Records read so far (unreadable ones included).
        public var read: Int
        /// Offsets in the range (an upper bound of the records: compaction and transaction
        /// markers leave gaps).
        public var total: Int64
        public var unreadable: Int
    }

    /// What a read found.
    public struct Contents: Sendable {
        /// In read order: offset order per partition (an incident's records are in one partition,
        /// in the order the feed published them).
        public var records: [AnalyticsRecord]
        /// Records skipped because they are not analytics records.
        public var unreadable: Int
        /// What was read.
        public var range: KafkaTopicRange
    }

    /// The read: the topic (default ``TriageTopic/analytics``), the cluster, how often
    /// ``read(since:progress:)`` reports progress (default every 10,000 records) and the longest wait
    /// for the cluster without any record arriving (default 120 s).
    public var reader: TopicHistoryReader
    private let logger: Logger

    public init(
        client: KafkaClientConfiguration, topic: String = TriageTopic.analytics, progressInterval: Int = 10_000,
        timeout: Duration = .seconds(120), logger: Logger
    ) {
        self.reader = TopicHistoryReader(topic: topic, client: client, progressInterval: progressInterval, timeout: timeout, logger: logger)
        self.logger = logger
    }

    /// Reads the records from the first one whose Kafka timestamp is at or after `since`
    /// (from the beginning when `nil`) up to the end of every partition as of the call.
    /// `progress` is called from the reading thread every ``progressInterval`` records and once
    /// at the end. Throws when the topic does not exist or the cluster cannot be reached.
    public func read(since: Date?, progress: @escaping @Sendable (Progress) -> Void = { _ in }) async throws -> Contents {
        let records = Mutex([AnalyticsRecord]())
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = true
        let decoding = options
        let summary = try await reader.read(since: since) { read in
            progress(Progress(read: read.read, total: read.total, unreadable: read.unreadable))
        } take: { record in
            guard let parsed = record.value.flatMap({ try? AnalyticsRecord(jsonUTF8Bytes: Array($0), options: decoding) }) else {
                return false
            }
            records.withLock { $0.append(parsed) }
            return true
        }
        let unreadable = summary.progress.unreadable
        if unreadable > 0 {
            logger.warning(
                "skipped records that are not analytics records", metadata: ["topic": "\(reader.topic)", "count": "\(unreadable)"])
        }
        return Contents(records: records.withLock { $0 }, unreadable: unreadable, range: summary.range)
    }
}
