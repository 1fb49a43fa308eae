public import Foundation

/// What a ``StaffingReplay`` found: per team, per severity and in total, the queue waits and
/// first responses under the baseline and the candidate roster, and the incidents whose
/// outcome changes.
public struct StaffingComparison: Sendable, Hashable {
    /// The replayed window (its start is the first fact's instant when none was given).
    public var window: DateInterval
    /// By the team the incident was opened (or reopened) in, sorted.
    public var byTeam: [StaffingRow]
    /// By severity at the opening (or reopening): A, B, C.
    public var bySeverity: [StaffingRow]
    public var total: StaffingRow
    /// Incidents whose outcome changes, in order of opening (then id).
    public var changes: [StaffingIncident]
    /// Every replayed incident, when ``StaffingReplay/Configuration/listsEveryIncident`` is set.
    public var incidents: [StaffingIncident]
    /// Facts read.
    public var facts: Int
    /// Facts ignored: about incidents the window never saw opened (e.g. opened before it), and
    /// an Opened repeated for an incident already open (as the router ignores it).
    public var ignoredFacts: Int
    /// Facts that arrived later than the look-ahead allows and were applied at the replay's
    /// current instant instead of their own.
    public var lateFacts: Int

    public init(
        window: DateInterval, byTeam: [StaffingRow], bySeverity: [StaffingRow], total: StaffingRow, changes: [StaffingIncident],
        incidents: [StaffingIncident], facts: Int, ignoredFacts: Int, lateFacts: Int
    ) {
        self.window = window
        self.byTeam = byTeam
        self.bySeverity = bySeverity
        self.total = total
        self.changes = changes
        self.incidents = incidents
        self.facts = facts
        self.ignoredFacts = ignoredFacts
        self.lateFacts = lateFacts
    }
}
