/// The figures of a group of incidents under one roster (a row's half of a
/// ``StaffingComparison``).
public struct StaffingFigures: Sendable, Hashable {
    /// Openings and reopenings replayed.
    public var incidents = 0
    /// Of those, how many waited in a queue at all (a second or more, or never assigned).
    public var waited = 0
    /// Never assigned by the close or the end of the window (their wait counts up to then).
    public var neverAssigned = 0
    /// Queue waits of every incident (0 for those assigned at once).
    public var waits = WaitDistribution()
    /// First responses by outcome.
    public var withinTarget = 0
    public var breached = 0
    public var unanswered = 0
    public var open = 0
    /// Incidents moved to another team (overflow, follow-the-sun) at least once.
    public var movedTeams = 0

    public init() {}

    public mutating func add(_ outcome: StaffingOutcome) {
        incidents += 1
        if outcome.waited { waited += 1 }
        if !outcome.assigned { neverAssigned += 1 }
        waits.add(outcome.queueWait)
        switch outcome.firstResponse {
        case .withinTarget: withinTarget += 1
        case .breached: breached += 1
        case .unanswered: unanswered += 1
        case .open: open += 1
        }
        if outcome.teamChanges > 0 { movedTeams += 1 }
    }

    /// First responses within target out of those within target or breached, in percent;
    /// `nil` when there are none.
    public var withinTargetPercent: Double? {
        let decided = withinTarget + breached
        return decided == 0 ? nil : Double(withinTarget) * 100 / Double(decided)
    }
}
