import Foundation
import Logging
import Synchronization
import TriageAnalyticsFeed
import TriageSchema

/// The analytics records the reports page computes from: `triage.analytics` read from the
/// beginning up to its end (``AnalyticsHistory``, on its own thread), kept for ``freshness`` so
/// that paging through groupings and windows reads the topic once. One read at a time; a page
/// asked for while one runs waits for it.
///
/// From the beginning, not from the window's start: librdkafka's mock cluster (`triage dev`)
/// cannot look offsets up by time. The whole topic is held in memory while a report is computed,
/// which is fine for a console's months of records and not for years (`triage report sla
/// --scan-from` reads a window from a real cluster).
actor AnalyticsRecordCache {
    private let history: AnalyticsHistory
    private let freshness: Duration
    private var cached: (at: ContinuousClock.Instant, records: [AnalyticsRecord], unreadable: Int)?
    /// The read under way: an actor method that awaits lets others in, so without it two pages
    /// asked for at once would each read the whole topic.
    private var reading: Task<(records: [AnalyticsRecord], unreadable: Int), any Error>?

    init(history: AnalyticsHistory, freshness: Duration = .seconds(30)) {
        self.history = history
        self.freshness = freshness
    }

    /// The records, read again when the last read is older than ``freshness``.
    func records() async throws -> (records: [AnalyticsRecord], unreadable: Int) {
        if let cached, ContinuousClock.now - cached.at < freshness { return (cached.records, cached.unreadable) }
        if let reading { return try await reading.value }
        let history = self.history
        let read = Task { () async throws -> (records: [AnalyticsRecord], unreadable: Int) in
            let contents = try await history.read(since: nil)
            return (contents.records, contents.unreadable)
        }
        reading = read
        defer { reading = nil }
        let result = try await read.value
        cached = (ContinuousClock.now, result.records, result.unreadable)
        return result
    }
}
