/// How one SLA clock of an incident ended in a replay.
public enum BacktestVerdict: String, Sendable, Hashable, Codable {
    /// The policy sets no such target for the incident.
    case none
    /// Still running (or paused) under its target at the end of the window: not measured.
    case open
    /// Stopped before reaching its target.
    case withinTarget = "within_target"
    /// Reached its target (before it stopped, or by the end of the window).
    case breached
}
