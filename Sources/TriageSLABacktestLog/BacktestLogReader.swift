public import Foundation
public import Logging
import Synchronization
public import TriageKafka
import TriageSLABacktest
public import TriageSchema
public import TriageStreams

/// Reads `triage.incident-events` into a back-test (``SharedBacktest``), for `triage sla
/// backtest` and the console's back-test page: every partition from the first record at or
/// after an instant up to the high watermarks at the start of the read, so a read of a topic
/// being written to still ends.
///
/// Records are read by a ``TopicHistoryReader`` (as ``AnalyticsHistory`` reads
/// `triage.analytics`): outside any consumer group on a dedicated thread, parsed and replayed
/// there, never on the cooperative pool. A record that is not a lifecycle event is
/// skipped and counted.
///
/// ```swift
/// let reader = BacktestLogReader(client: client, logger: logger)
/// let backtest = SharedBacktest(SlaBacktest(baseline: current, candidate: candidate, window: november, grouping: .team))
/// let read = try await reader.read(into: backtest, since: nil, slaInstant: { clock.slaInstant(of: $0) })
/// print(backtest.finish().table())
/// ```
public struct BacktestLogReader: Sendable {
    /// How far a read is.
    public struct Progress: Sendable, Hashable {
        /// Records read so far (unreadable ones included).
        public var read: Int
        /// Offsets in the range (an upper bound of the records: compaction and transaction
        /// markers leave gaps).
        public var total: Int64
        /// Incidents the back-test tracks now (open, or closed within the reopen window).
        public var tracked: Int
        public var unreadable: Int

        public init(read: Int, total: Int64, tracked: Int, unreadable: Int) {
            self.read = read
            self.total = total
            self.tracked = tracked
            self.unreadable = unreadable
        }
    }

    /// The read: the topic (default ``TriageTopic/incidentEvents``), the cluster, how often
    /// ``read(into:since:slaInstant:progress:)`` reports progress (default every 10,000
    /// records) and the longest wait for the cluster without any record arriving (default 120 s).
    public var reader: TopicHistoryReader
    private let logger: Logger

    public init(
        client: KafkaClientConfiguration, topic: String = TriageTopic.incidentEvents, progressInterval: Int = 10_000,
        timeout: Duration = .seconds(120), logger: Logger
    ) {
        self.reader = TopicHistoryReader(topic: topic, client: client, progressInterval: progressInterval, timeout: timeout, logger: logger)
        self.logger = logger
    }

    /// Replays into `backtest` the records from the first one whose Kafka timestamp is at or
    /// after `since` (real time; from the beginning when `nil`) up to the end of every
    /// partition as of the call.
    ///
    /// - Parameters:
    ///   - slaInstant: the SLA instant of a record's timestamp (the escalator's clock; identity
    ///     on the system clock). `nil`: replay each event when it occurred (``BacktestRecord/seenAt``
    ///     `nil`), for a log loaded after the fact.
    ///   - progress: called from the reading thread every ``progressInterval`` records and once
    ///     at the end.
    /// - Returns: the last progress (records read, unreadable ones).
    /// - Throws: when the topic does not exist or the cluster cannot be reached.
    @discardableResult
    public func read(
        into backtest: SharedBacktest, since: Date?, slaInstant: (@Sendable (Date) -> Date)?,
        progress: @escaping @Sendable (Progress) -> Void = { _ in }
    ) async throws -> Progress {
        let tracked = Atomic<Int>(0)
        let summary = try await reader.read(since: since) { read in
            progress(Progress(read: read.read, total: read.total, tracked: tracked.load(ordering: .relaxed), unreadable: read.unreadable))
        } take: { record in
            guard let value = record.value, let event = try? IncidentEvent(serializedBytes: Array(value)) else { return false }
            let seen = slaInstant.flatMap { map in record.timestamp.map(map) }
            let now = backtest.replay(BacktestRecord(event: event, partition: record.partition, position: record.offset, seenAt: seen))
            tracked.store(now, ordering: .relaxed)
            return true
        }
        let read = summary.progress
        let last = Progress(read: read.read, total: read.total, tracked: tracked.load(ordering: .relaxed), unreadable: read.unreadable)
        if last.unreadable > 0 {
            logger.warning(
                "skipped records that are not lifecycle events", metadata: ["topic": "\(reader.topic)", "count": "\(last.unreadable)"])
        }
        return last
    }
}
