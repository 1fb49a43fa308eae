import Foundation

/// What history says about one incident, kept while it may still matter to the replay: its
/// routing attributes (severity as last changed) and, per opening or reopening ("spell"), when
/// it was first assigned, acknowledged and closed by its agent.
struct IncidentHistory {
    struct Spell {
        /// The first historical assignment of the spell.
        var assignedAt: Date?
        /// The spell's first acknowledgement, wherever it came from.
        var acknowledgedAt: Date?
        /// The agent's close of the spell.
        var closedAt: Date?

        /// Whether a fact at `instant` was handling by an assigned agent (it came at or after
        /// the first historical assignment), decided by instants, not by the order facts arrive
        /// in: the router stamps an Assigned with the instant it decided but may publish it
        /// after a quick acknowledgement.
        func isHandling(at instant: Date) -> Bool {
            assignedAt.map { $0 <= instant } ?? false
        }

        /// Acknowledged this long after ``assignedAt``; `nil` when that is not known (yet), or
        /// the acknowledgement came from the queue.
        var acknowledgedAfter: TimeInterval? { duration(to: acknowledgedAt) }
        /// Closed by its agent this long after ``assignedAt``.
        var closedAfter: TimeInterval? { duration(to: closedAt) }

        private func duration(to instant: Date?) -> TimeInterval? {
            guard let assignedAt, let instant, assignedAt <= instant else { return nil }
            return instant.timeIntervalSince(assignedAt)
        }
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
