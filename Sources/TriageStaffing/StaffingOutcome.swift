public import Foundation

/// What became of one incident (one opening or reopening) under one roster in a
/// ``StaffingReplay``.
public struct StaffingOutcome: Sendable, Hashable {
    /// How the first response went, as the SLA report counts it (breached when the business
    /// minutes used reach the target).
    public enum FirstResponse: String, Sendable, Hashable, CaseIterable {
        /// Acknowledged with fewer business minutes used than the target.
        case withinTarget = "within_target"
        /// Acknowledged late, or not acknowledged by the close or the end of the window with the
        /// target used up.
        case breached
        /// Closed without a first response, before the target was used up.
        case unanswered
        /// Still without a first response at the end of the window, target not used up.
        case open
    }

    /// Seconds from the opening (or reopening) to the first assignment; for an incident never
    /// assigned, to its close or the end of the window (then ``assigned`` is `false`).
    public var queueWait: TimeInterval
    /// Whether any agent got it.
    public var assigned: Bool
    /// The first agent who got it.
    public var firstAgent: String?
    /// The team of that agent (differs from the incident's team after an overflow).
    public var firstAgentTeam: String?
    public var firstResponse: FirstResponse
    /// Business minutes of the SLA calendar used until the first response; `nil` without one.
    public var firstResponseMinutes: Double?
    /// Moves to another team (overflow, follow-the-sun) while open.
    public var teamChanges: Int

    public init(
        queueWait: TimeInterval, assigned: Bool, firstAgent: String? = nil, firstAgentTeam: String? = nil,
        firstResponse: FirstResponse, firstResponseMinutes: Double? = nil, teamChanges: Int = 0
    ) {
        self.queueWait = queueWait
        self.assigned = assigned
        self.firstAgent = firstAgent
        self.firstAgentTeam = firstAgentTeam
        self.firstResponse = firstResponse
        self.firstResponseMinutes = firstResponseMinutes
        self.teamChanges = teamChanges
    }

    /// Whether it waited in a queue at all (a whole second or more, or never assigned).
    public var waited: Bool { !assigned || queueWait >= 1 }
}
