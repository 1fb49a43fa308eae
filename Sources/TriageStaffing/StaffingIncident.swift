public import Foundation
public import TriageCore

/// One incident (one opening or reopening) replayed under both rosters.
public struct StaffingIncident: Sendable, Hashable {
    public var incident: String
    /// 0 for the opening, 1 for the first reopening, ...
    public var spell: Int
    /// The team it was opened (or reopened) in.
    public var team: String
    /// Its severity when opened (or reopened).
    public var severity: SupportSeverity
    /// When it was opened (or reopened).
    public var startedAt: Date
    public var baseline: StaffingOutcome
    public var candidate: StaffingOutcome

    public init(
        incident: String, spell: Int, team: String, severity: SupportSeverity, startedAt: Date, baseline: StaffingOutcome,
        candidate: StaffingOutcome
    ) {
        self.incident = incident
        self.spell = spell
        self.team = team
        self.severity = severity
        self.startedAt = startedAt
        self.baseline = baseline
        self.candidate = candidate
    }

    /// The first-response outcome differs, or the queue wait differs by a second or more.
    public var isChanged: Bool {
        baseline.firstResponse != candidate.firstResponse || baseline.assigned != candidate.assigned
            || abs(baseline.queueWait - candidate.queueWait) >= 1
    }
}
