/// One group of a ``StaffingComparison`` (a team, a severity, or everything) under both rosters.
public struct StaffingRow: Sendable, Hashable {
    /// The team or severity (`A`, `B`, `C`); `nil` for the total.
    public var group: String?
    public var baseline = StaffingFigures()
    public var candidate = StaffingFigures()
    /// Incidents whose outcome changes (``StaffingIncident/isChanged``).
    public var changed = 0

    public init(group: String?) { self.group = group }

    mutating func add(_ incident: StaffingIncident) {
        baseline.add(incident.baseline)
        candidate.add(incident.candidate)
        if incident.isChanged { changed += 1 }
    }
}
