public import TriageCore
public import TriageSLA
public import TriageSchema

// The contract's severity and coverage as the SLA and routing domains name them.

extension SupportSeverity {
    public init?(_ severity: Severity) {
        switch severity {
        case .a: self = .a
        case .b: self = .b
        case .c: self = .c
        default: return nil
        }
    }
}

extension SlaCoverage {
    /// Unspecified coverage counts as business hours (the stricter reading for the customer is
    /// 24x7, but business hours is what a contract without a 24x7 clause buys).
    public init(_ coverage: Coverage) {
        self = coverage == .coverage24X7 ? .twentyFourSeven : .businessHours
    }
}
