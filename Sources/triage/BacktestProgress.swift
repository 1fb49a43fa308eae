import Foundation
import Synchronization
import TriageCore
import TriageSLABacktestLog

/// Progress of a long back-test on standard error: a line every 100,000 records.
final class BacktestProgress: Sendable {
    private let what: String
    private let total: Int64?
    private let read = Atomic<Int>(0)
    static let interval = 100_000

    init(what: String, total: Int64?) {
        self.what = what
        self.total = total
    }

    func step(tracked: Int) {
        let count = read.wrappingAdd(1, ordering: .relaxed).newValue
        if count % Self.interval == 0 { report(count, tracked: tracked) }
    }

    func finish() {
        report(read.load(ordering: .relaxed), tracked: nil)
    }

    /// A line for a read that counts for itself (``BacktestLogReader``'s progress).
    func report(_ progress: BacktestLogReader.Progress, done: Bool) {
        report(progress.read, tracked: done ? nil : progress.tracked, total: progress.total)
    }

    private func report(_ count: Int, tracked: Int?, total: Int64? = nil) {
        let of = (total ?? self.total).map { " of at most \($0)" } ?? ""
        let incidents = tracked.map { ", \($0) incidents tracked" } ?? " records, done"
        Self.warn("\(what): \(count)\(of)\(tracked == nil ? "" : " records")\(incidents)")
    }

    /// One line on standard error (lines of its own kept; control characters from the log
    /// escaped).
    static func warn(_ line: String) {
        FileHandle.standardError.write(Data(("triage sla backtest: " + TerminalText.escaped(line, keepingNewlines: true) + "\n").utf8))
    }
}
