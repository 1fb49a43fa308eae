/// How a report splits incidents into rows. Every incident falls into exactly one group.
///
/// The attributes come from the incident's latest analytics record (see ``SlaComplianceReport``),
/// so `severity` is the current severity after any change, the one whose target the breach is
/// measured against.
public enum ReportGrouping: String, Sendable, Hashable, CaseIterable {
    /// The routing team (`team`); empty when the producer did not know it.
    case team
    /// The current severity, spelled as in the record (`SEVERITY_A`, ...).
    case severity
    /// The customer account (`customer_account`).
    case customer
    /// The UTC calendar month of the incident's Opened, `YYYY-MM`.
    case month
}
