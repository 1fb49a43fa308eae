public import Foundation

/// How far after now a back-test's window may end: the replay runs every clock up to the end
/// of the window, past the end of the log too (about 1.7 s per replayed year), so a `to` years
/// ahead held a runner for hours (outside attack on issue 25). The console's form and `triage
/// sla backtest` refuse such a window alike.
public enum BacktestHorizon {
    /// Days after now a window may end. 92.
    public static let maximumDaysAhead = 92

    /// Why the replay stops at the end of the window, for the refusal's message.
    public static let reason = "the replay runs the SLA clocks up to it"

    /// Whether a window ending at `end` may be replayed at `now` (SLA time).
    public static func allows(end: Date, now: Date) -> Bool {
        end <= now.addingTimeInterval(Double(maximumDaysAhead) * 86_400)
    }
}
