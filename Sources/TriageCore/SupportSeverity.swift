/// Initial-response urgency of an incident.
public enum SupportSeverity: String, Sendable, Hashable, CaseIterable {
    /// Critical: 2 hours by default.
    case a = "A"
    /// Moderate: 4 business hours by default.
    case b = "B"
    /// Minimum: 8 business hours by default.
    case c = "C"
}
