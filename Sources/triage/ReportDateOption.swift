import ArgumentParser
import Foundation
import TriageReports

/// A `DATE` option of `triage report` (``TriageReports/ReportDate``), refused naming the option.
enum ReportDateOption {
    /// Parses `text` for `option`; a ``ValidationError`` naming the option and the accepted forms.
    static func parse(_ text: String, option: String) throws -> Date {
        guard let date = ReportDate.parse(text) else {
            throw ValidationError("\(option) '\(text)' is not a date: use \(ReportDate.accepted)")
        }
        return date
    }
}
