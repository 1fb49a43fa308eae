import ArgumentParser

/// How `triage report` prints a report.
enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    /// Aligned columns for a terminal.
    case table
    /// RFC 4180 CSV with a header line.
    case csv
    /// One JSON object (its shape is documented in docs/analytics.md).
    case json
}
