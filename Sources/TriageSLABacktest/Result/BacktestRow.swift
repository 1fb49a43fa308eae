/// One group of a back-test: both policies' figures side by side.
public struct BacktestRow: Sendable, Hashable, Codable {
    /// The group (a team, `A`, a customer account, `2026-11`), or `total`.
    public var group: String
    /// Incidents whose result (a verdict, a count, an escalation) differs between the policies.
    public var changed: Int
    /// Incidents whose only difference is a deadline that moved.
    public var deadlineMoved: Int
    public var baseline: BacktestFigures
    public var candidate: BacktestFigures

    public init(
        group: String, changed: Int = 0, deadlineMoved: Int = 0, baseline: BacktestFigures = .init(), candidate: BacktestFigures = .init()
    ) {
        self.group = group
        self.changed = changed
        self.deadlineMoved = deadlineMoved
        self.baseline = baseline
        self.candidate = candidate
    }
}
