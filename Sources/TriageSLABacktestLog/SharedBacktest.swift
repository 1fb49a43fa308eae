import Synchronization
public import TriageSLABacktest

/// A back-test fed from a reading thread (a partition reader's callback, a file's reader) and
/// finished from anywhere.
public final class SharedBacktest: Sendable {
    private let state: Mutex<SlaBacktest>

    public init(_ backtest: SlaBacktest) { state = Mutex(backtest) }

    /// Replays `record`; returns the incidents tracked (for progress lines).
    public func replay(_ record: BacktestRecord) -> Int {
        state.withLock { backtest in
            backtest.replay(record)
            return backtest.tracked
        }
    }

    public func finish() -> SlaBacktestResult { state.withLock { $0.finish() } }
}
