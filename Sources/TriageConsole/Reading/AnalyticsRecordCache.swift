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

    init(history: AnalyticsHistory, freshness: Duration = .seconds(30)) {
        self.history = history
        self.freshness = freshness
    }

    /// The records, read again when the last read is older than ``freshness``.
    func records() async throws -> (records: [AnalyticsRecord], unreadable: Int) {
        if let cached, ContinuousClock.now - cached.at < freshness { return (cached.records, cached.unreadable) }
        let contents = try await history.read(since: nil)
        cached = (ContinuousClock.now, contents.records, contents.unreadable)
        return (contents.records, contents.unreadable)
    }
}
