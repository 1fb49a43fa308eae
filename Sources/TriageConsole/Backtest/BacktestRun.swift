import Foundation
import Synchronization
import TriageSLABacktest
import TriageSLABacktestLog

/// One back-test the console runs (``BacktestRuns``): what was asked, by whom, and how far it is.
/// Its state is written by the reading thread (progress) and read by pages.
final class BacktestRun: Sendable {
    enum State: Sendable {
        /// Waiting for the runs before it (one reads the topic at a time).
        case queued
        /// Reading the lifecycle topic.
        case reading(BacktestLogReader.Progress)
        /// Read; firing what is still due and putting the result together.
        case finishing
        case done(SlaBacktestResult, finishedAt: ContinuousClock.Instant)
        /// The topic could not be read: a sentence for the page.
        case failed(String)
    }

    /// Random, unguessable: the page's address (`/reports/backtest/ID`).
    let id: String
    let request: BacktestRequest
    let startedBy: String
    let submittedAt: Date
    private let current = Mutex(State.queued)

    init(request: BacktestRequest, startedBy: String, submittedAt: Date) {
        id = ActionRequestID.nonce()
        self.request = request
        self.startedBy = startedBy
        self.submittedAt = submittedAt
    }

    var state: State { current.withLock { $0 } }

    func set(_ state: State) { current.withLock { $0 = state } }

    var result: SlaBacktestResult? {
        if case .done(let result, _) = state { return result }
        return nil
    }

    /// Queued, reading or finishing.
    var isPending: Bool {
        switch state {
        case .queued, .reading, .finishing: true
        case .done, .failed: false
        }
    }
}
