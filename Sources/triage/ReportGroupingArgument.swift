import ArgumentParser
import TriageReports

/// `--by` of `triage report sla`: the report's rows.
enum ReportGroupingArgument: String, ExpressibleByArgument, CaseIterable {
    case team
    case severity
    case customer
    case month

    var grouping: ReportGrouping {
        switch self {
        case .team: .team
        case .severity: .severity
        case .customer: .customer
        case .month: .month
        }
    }
}
