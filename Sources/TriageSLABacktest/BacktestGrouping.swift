/// How a back-test splits incidents into rows (as `triage report sla` does). Every incident falls
/// into exactly one group; the attributes come from its events, so both policies group alike.
public enum BacktestGrouping: String, Sendable, Hashable, Codable, CaseIterable {
    /// The team of the latest Opened; `(none)` when the producer did not know it.
    case team
    /// The severity at the end (after any SeverityChanged): `A`, `B` or `C`.
    case severity
    /// The customer account of the latest Opened.
    case customer
    /// The UTC calendar month of the first Opened, `YYYY-MM`.
    case month
}
