import Foundation
import Logging
import NIOPosix
import TriageSLA
import TriageSLABacktest
import TriageSLABacktestLog

/// The console's back-tests: run one at a time, each reading `triage.incident-events` from the
/// beginning (``BacktestLogReader``, on its own thread) — librdkafka's mock cluster (`triage
/// dev`) cannot look offsets up by time.
///
/// A page never waits for a replay: a request becomes a ``BacktestRun`` that pages look at (its
/// progress while it reads, its result after). Two leads asking at once queue behind each
/// other instead of reading the topic twice at the same time; asking for exactly what is
/// pending, or finished within ``freshness``, gets that run.
actor BacktestRuns {
    /// Why a request was not taken.
    struct Busy: Error, Sendable {
        var message: String
    }

    /// Replays the log into a back-test, reporting progress (``BacktestLogReader`` in the
    /// console; tests give a reader they control).
    typealias Read = @Sendable (SharedBacktest, @escaping @Sendable (BacktestLogReader.Progress) -> Void) async throws -> Void

    private let read: Read
    private let logger: Logger
    /// A finished run is reused for the same request this long. Default 30 s.
    let freshness: Duration
    /// Runs waiting at most (beyond, a request is refused). Default 4.
    let maximumQueued: Int
    /// Runs kept (finished ones are dropped oldest first). Default 20.
    let maximumKept: Int
    /// Changed incidents listed per run. Default 1,000.
    let changedListLimit: Int
    private var runs: [BacktestRun] = []
    private var queue: [BacktestRun] = []
    private var working = false

    /// Runs that read `triage.incident-events` from the beginning with `reader`, record
    /// timestamps mapped to SLA time by `slaInstant`.
    init(reader: BacktestLogReader, slaInstant: @escaping @Sendable (Date) -> Date, logger: Logger) {
        self.init(
            read: { backtest, progress in try await reader.read(into: backtest, since: nil, slaInstant: slaInstant, progress: progress) },
            logger: logger)
    }

    init(
        read: @escaping Read, freshness: Duration = .seconds(30), maximumQueued: Int = 4, maximumKept: Int = 20,
        changedListLimit: Int = 1_000, logger: Logger
    ) {
        self.read = read
        self.freshness = freshness
        self.maximumQueued = max(1, maximumQueued)
        self.maximumKept = max(1, maximumKept)
        self.changedListLimit = changedListLimit
        self.logger = logger
    }

    /// The run for `request`: one pending or fresh for the same request, or a new one queued.
    func submit(_ request: BacktestRequest, by username: String, at now: Date) throws(Busy) -> BacktestRun {
        let fresh = ContinuousClock.now
        if let same = runs.last(where: { run in
            guard run.request.key == request.key else { return false }
            if case .done(_, let finishedAt) = run.state { return fresh - finishedAt < freshness }
            return run.isPending
        }) {
            return same
        }
        guard queue.count < maximumQueued else {
            // The queue holds the run being replayed too (its first).
            let running = working && !queue.isEmpty ? 1 : 0
            throw Busy(
                message: "\(running) back-test running, \(queue.count - running) waiting; try again when they are done.")
        }
        let run = BacktestRun(request: request, startedBy: username, submittedAt: now)
        runs.append(run)
        while runs.count > maximumKept, let index = runs.firstIndex(where: { !$0.isPending }) { runs.remove(at: index) }
        queue.append(run)
        logger.info(
            "back-test queued",
            metadata: [
                "run": "\(run.id)", "username": "\(username)", "from": "\(request.fromText)", "to": "\(request.toText)",
                "candidate": "\(request.candidateName)",
            ])
        if !working {
            working = true
            Task { await self.work() }
        }
        return run
    }

    /// A run by id.
    func run(_ id: String) -> BacktestRun? { runs.first { $0.id == id } }

    /// Runs ahead of `run` in the queue (0: it is next or running).
    func ahead(of run: BacktestRun) -> Int { queue.firstIndex { $0 === run } ?? 0 }

    /// Runs the queue one at a time; the actor is free while a run reads.
    private func work() async {
        while !queue.isEmpty {
            let run = queue[0]
            await Self.execute(run, read: read, changedListLimit: changedListLimit, logger: logger)
            queue.removeFirst()
        }
        working = false
    }

    private static func execute(
        _ run: BacktestRun, read: Read, changedListLimit: Int, logger: Logger
    ) async {
        let request = run.request
        let started = ContinuousClock.now
        do {
            // Compiling the policies and finishing the replay are CPU work: off the cooperative pool.
            let backtest = try await NIOThreadPool.singleton.runIfActive {
                SharedBacktest(
                    SlaBacktest(
                        baseline: SlaRules(request.baseline), candidate: SlaRules(request.candidate), window: request.window,
                        grouping: request.grouping, changedListLimit: changedListLimit, baselineName: request.baselineName,
                        candidateName: request.candidateName))
            }
            run.set(.reading(BacktestLogReader.Progress(read: 0, total: 0, tracked: 0, unreadable: 0)))
            try await read(backtest) { progress in run.set(.reading(progress)) }
            run.set(.finishing)
            let result = try await NIOThreadPool.singleton.runIfActive { backtest.finish() }
            run.set(.done(result, finishedAt: .now))
            logger.info(
                "back-test done",
                metadata: [
                    "run": "\(run.id)", "records": "\(result.recordsRead)", "changed": "\(result.changedCount)",
                    "seconds": "\((ContinuousClock.now - started).components.seconds)",
                ])
        } catch {
            logger.warning("back-test failed", metadata: ["run": "\(run.id)", "error": "\(error)"])
            run.set(.failed("The lifecycle topic could not be read (\(error)); try again in a moment."))
        }
    }
}
