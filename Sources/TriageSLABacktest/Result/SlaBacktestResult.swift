public import Foundation

/// A back-test's answer, ready to print (``table()``, ``csv()``, ``json()``) or to render (a
/// console page): rows per group with both policies' figures, the total, and the incidents
/// that change.
public struct SlaBacktestResult: Sendable, Hashable, Codable {
    /// Incidents opened in [from, to) were replayed, up to `to`.
    public var from: Date
    public var to: Date
    public var grouping: BacktestGrouping
    /// What each policy is, for people (a file name, or `built-in defaults`).
    public var baselineName: String
    public var candidateName: String
    /// Records read, and lifecycle events applied (of incidents opened in the window).
    public var recordsRead: Int
    public var eventsApplied: Int
    /// The escalator's own SlaWarning / Escalated events in the log, not applied (the replay
    /// fires its own), and records the escalator would refuse (invalid events).
    public var escalatorEventsIgnored: Int
    public var invalidEvents: Int
    /// Records read again (at or before the last position read of their partition: a log given
    /// twice, overlapping files): skipped. A file without offsets numbers its lines instead,
    /// so its repeats cannot be told.
    public var repeatedEvents: Int
    /// Events of incidents opened in the window read before their incident's Opened (the input
    /// is not in log order): not applied, so those incidents' results are wrong. Counted for at
    /// most ``SlaBacktest/outOfOrderTrackingLimit`` incidents.
    public var eventsBeforeOpened: Int
    public var incidentsReadOutOfOrder: Int
    /// The baseline replay's warnings and escalations against the escalator's own in the log.
    public var baselineAgainstLog: BaselineAgainstLog
    /// The latest `occurred_at` read: before ``to``, the log ends inside the window, and
    /// incidents open then are replayed as if nothing happened to them until ``to``.
    public var lastEventAt: Date?
    /// Sorted by group.
    public var rows: [BacktestRow]
    public var total: BacktestRow
    /// Incidents whose result or a deadline differs, at most ``changedListLimit``: those whose
    /// result changes first, then those whose deadline only moved, each by opening instant
    /// (``ChangedIncident/listingOrder``); ``changedCount`` counts them all.
    public var changed: [ChangedIncident]
    public var changedCount: Int
    public var changedListLimit: Int
}
