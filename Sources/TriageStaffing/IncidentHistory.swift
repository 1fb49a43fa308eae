import Foundation

/// What history says about one incident, kept while it may still matter to the replay: its
/// routing attributes (severity as last changed) and, per opening or reopening ("spell"), when
/// it was first assigned and how long after that it was acknowledged and closed by its agent.
struct IncidentHistory {
    struct Spell {
        /// The first historical assignment of the spell.
        var assignedAt: Date?
        /// Acknowledged this long after ``assignedAt``.
        var acknowledgedAfter: TimeInterval?
        /// Closed by its agent this long after ``assignedAt``.
        var closedAfter: TimeInterval?
    }

    var opening: StaffingFact.Opening
    /// The current spell (index into ``spells``).
    var spell = 0
    var spells = [Spell()]
    var closed = false

    init(opening: StaffingFact.Opening) {
        self.opening = opening
    }
}
