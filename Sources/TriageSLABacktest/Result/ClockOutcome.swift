public import Foundation

/// One clock of one incident under one policy: its verdict and its deadline (the last one in
/// force while the clock ran; `nil` when it never ran).
public struct ClockOutcome: Sendable, Hashable, Codable {
    public var verdict: BacktestVerdict
    public var deadline: Date?

    public init(verdict: BacktestVerdict, deadline: Date?) {
        self.verdict = verdict
        self.deadline = deadline
    }
}
