import ArgumentParser
import Foundation
import TriageReports

/// What differs between the commands that read a window of history (`triage sla backtest`,
/// `triage sla staffing`, `triage report sla`): what their options mean, and where their read
/// of the topic starts by default.
protocol HistoryWindowDefaults {
    /// What `--from` means.
    static var fromHelp: String { get }
    /// What `--to` means.
    static var toHelp: String { get }
    /// What `--file` and the topic hold (`lifecycle events`).
    static var records: String { get }
    /// The default `--scan-from`, in words. Default `--from`.
    static var scanFromDefault: String { get }
    /// How long before `--from` the read of the topic starts without `--scan-from`. Default 0.
    static var scanLead: TimeInterval { get }
}

extension HistoryWindowDefaults {
    static var scanFromDefault: String { "--from" }
    static var scanLead: TimeInterval { 0 }
}

/// `--from`, `--to`, `--format`, `--file` and `--scan-from`: the window of history a command
/// reads, how it prints, and where the history comes from (a file, or the topic from an
/// instant) — declared, documented and validated once. Each command keeps its own meaning and
/// default `--scan-from` through `Defaults`.
struct HistoryWindowOptions<Defaults: HistoryWindowDefaults>: ParsableArguments {
    @Option(help: ArgumentHelp(Defaults.fromHelp, valueName: "DATE"))
    var from: String

    @Option(help: ArgumentHelp(Defaults.toHelp, valueName: "DATE"))
    var to: String

    @Option(help: "table, csv (with a header) or json.")
    var format: ReportFormat = .table

    @Option(
        help: ArgumentHelp(
            "Read \(Defaults.records) as JSON lines (as triage tail writes them) from this file ('-': standard input) instead of the topic.",
            valueName: "PATH"))
    var file: String?

    @Option(
        help: ArgumentHelp(
            "Read the topic from the records published at this DATE, or 'beginning'. Default: \(Defaults.scanFromDefault).",
            valueName: "DATE"))
    var scanFrom: String?

    func validate() throws {
        _ = try window()
        if let scanFrom, scanFrom != "beginning" { _ = try ReportDateOption.parse(scanFrom, option: "--scan-from") }
        if file != nil, scanFrom != nil { throw ValidationError("--scan-from reads the topic; it does not go with --file") }
    }

    /// [--from, --to).
    func window() throws -> DateInterval {
        let start = try ReportDateOption.parse(from, option: "--from")
        let end = try ReportDateOption.parse(to, option: "--to")
        guard start < end else { throw ValidationError("--to (\(to)) must be after --from (\(from))") }
        return DateInterval(start: start, end: end)
    }

    /// Where the read of the topic starts (`nil`: at the beginning), as a DATE of the window.
    func scanStart() throws -> Date? {
        switch scanFrom {
        case "beginning": nil
        case let text?: try ReportDateOption.parse(text, option: "--scan-from")
        case nil: try window().start.addingTimeInterval(-Defaults.scanLead)
        }
    }
}
