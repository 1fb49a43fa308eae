public import Foundation
public import Logging
import SwiftProtobuf
import Synchronization
public import TriageKafka
public import TriageSchema

/// Reads the analytics records of `triage.analytics` back, for reports (`triage report sla`)
/// and consoles: every partition from the first record at or after an instant up to the high
/// watermarks at the start of the read, so a read of a topic being written to still ends.
///
/// Records are read outside any consumer group (nothing is committed) on a dedicated thread,
/// parsed there (the protobuf JSON mapping, unknown fields ignored), and never on the
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

    /// The topic. Default ``TriageTopic/analytics``.
    public var topic: String
    public var client: KafkaClientConfiguration
    /// How often ``read(since:progress:)`` reports progress, in records. Default 10,000.
    public var progressInterval: Int
    /// Longest wait for the cluster without any record arriving. Default 120 s.
    public var timeout: Duration
    private let logger: Logger

    public init(
        client: KafkaClientConfiguration, topic: String = TriageTopic.analytics, progressInterval: Int = 10_000,
        timeout: Duration = .seconds(120), logger: Logger
    ) {
        self.client = client
        self.topic = topic
        self.progressInterval = max(1, progressInterval)
        self.timeout = timeout
        self.logger = logger
    }

    /// Reads the records from the first one whose Kafka timestamp is at or after `since`
    /// (from the beginning when `nil`) up to the end of every partition as of the call.
    /// `progress` is called from the reading thread every ``progressInterval`` records and once
    /// at the end. Throws when the topic does not exist or the cluster cannot be reached.
    public func read(since: Date?, progress: @escaping @Sendable (Progress) -> Void = { _ in }) async throws -> Contents {
        let range = try await KafkaTopicRange.lookUp(topic: topic, since: since, client: client, logger: logger)
        let total = range.count
        let interval = progressInterval
        let state = Mutex((records: [AnalyticsRecord](), read: 0, unreadable: 0))
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = true
        let decoding = options
        progress(Progress(read: 0, total: total, unreadable: 0))
        _ = try await KafkaPartitionReader.readToEnd(
            topic: topic, partitions: range.partitionsToRead, from: range.starts, until: range.ends, client: client, logger: logger,
            timeout: timeout
        ) { record in
            let parsed = record.value.flatMap { value in try? AnalyticsRecord(jsonUTF8Bytes: Array(value), options: decoding) }
            let report = state.withLock { state -> Progress? in
                state.read += 1
                if let parsed { state.records.append(parsed) } else { state.unreadable += 1 }
                return state.read % interval == 0 ? Progress(read: state.read, total: total, unreadable: state.unreadable) : nil
            }
            if let report { progress(report) }
        }
        let (records, read, unreadable) = state.withLock { ($0.records, $0.read, $0.unreadable) }
        progress(Progress(read: read, total: total, unreadable: unreadable))
        if unreadable > 0 {
            logger.warning("skipped records that are not analytics records", metadata: ["topic": "\(topic)", "count": "\(unreadable)"])
        }
        return Contents(records: records, unreadable: unreadable, range: range)
    }
}
