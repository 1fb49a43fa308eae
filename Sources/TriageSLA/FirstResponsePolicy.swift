public import TriageCore

/// First-response targets and warning thresholds.
///
/// Defaults: A 120, B 240, C 480 minutes of the contract's calendar (wall-clock minutes for
/// 24x7 coverage, business minutes otherwise); warnings at 50 % and 75 % of the target.
public struct FirstResponsePolicy: Sendable, Hashable {
    public var targetMinutes: [SupportSeverity: Double]
    /// Percentages of the target at which a warning is due, ascending, each in 1...99.
    public var warningPercents: [Int]

    public init(targetMinutes: [SupportSeverity: Double] = [.a: 120, .b: 240, .c: 480], warningPercents: [Int] = [50, 75]) {
        self.targetMinutes = targetMinutes
        self.warningPercents = warningPercents.sorted()
    }

    public func target(for severity: SupportSeverity) -> Double { targetMinutes[severity] ?? 480 }
}
