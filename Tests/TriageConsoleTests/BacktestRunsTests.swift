import Foundation
import Logging
import Synchronization
import Testing
import TriageKafkaTesting
import TriageSLA
import TriageSLABacktest
import TriageSLABacktestLog

@testable import TriageConsole

/// A reader tests hold back: it counts reads at once and waits until opened.
private final class HeldRead: Sendable {
    private let state = Mutex((open: false, reading: 0, most: 0, reads: 0))

    var most: Int { state.withLock { $0.most } }
    var reads: Int { state.withLock { $0.reads } }
    func open() { state.withLock { $0.open = true } }

    func read(_ progress: @Sendable (BacktestLogReader.Progress) -> Void) async throws {
        state.withLock {
            $0.reading += 1
            $0.reads += 1
            $0.most = max($0.most, $0.reading)
        }
        defer { state.withLock { $0.reading -= 1 } }
        progress(BacktestLogReader.Progress(read: 5, total: 10, tracked: 1, unreadable: 0))
        while !state.withLock({ $0.open }) { try await Task.sleep(for: .milliseconds(10)) }
    }
}

/// The console's back-test runs: one read of the topic at a time, progress while it reads, the
/// same request sharing a run, a full queue refused.
@Suite("Console: back-test runs")
struct BacktestRunsTests {
    static func request(_ key: String) -> BacktestRequest {
        BacktestRequest(
            window: DateInterval(start: Date(timeIntervalSince1970: 1_790_000_000), duration: 86_400), fromText: "a", toText: "b",
            grouping: .team, baseline: SlaPolicy(), baselineName: "the policy in force", candidate: SlaPolicy(),
            candidateName: "the built-in defaults", key: key)
    }

    @Test func oneReadAtATimeAndTheSameRequestSharesARun() async throws {
        let held = HeldRead()
        let runs = BacktestRuns(read: { _, progress in try await held.read(progress) }, maximumQueued: 2, logger: Logger(label: "test"))
        let first = try await runs.submit(Self.request("first"), by: "lee", at: Date())
        let second = try await runs.submit(Self.request("second"), by: "kim", at: Date())
        #expect(try await runs.submit(Self.request("first"), by: "kim", at: Date()) === first, "asking again joins the pending run")
        // Generous waits: in the main test run the runs' tasks shared two cores with hundreds of
        // tests, and a run that fails at once took over 30 s to be seen failing (CI, stop 36).
        try await eventually("the first run reads and says how far", timeout: .seconds(120)) {
            if case .reading(let progress) = first.state { return progress.read == 5 && progress.total == 10 }
            return false
        }
        guard case .queued = second.state else {
            Issue.record("the second run waits for the first: \(second.state)")
            return
        }
        #expect(await runs.ahead(of: second) == 1)
        let busy = await #expect(throws: BacktestRuns.Busy.self) { try await runs.submit(Self.request("third"), by: "lee", at: Date()) }
        // One reads, one waits: not "2 waiting" (outside attack on issue 25).
        #expect(busy?.message == "1 back-test running, 1 waiting; try again when they are done.", "\(String(describing: busy))")

        held.open()
        try await eventually("both runs are done", timeout: .seconds(120)) { first.result != nil && second.result != nil }
        #expect(held.most == 1, "never two reads of the topic at once")
        #expect(held.reads == 2)
        #expect(try await runs.submit(Self.request("first"), by: "lee", at: Date()) === first, "a fresh result is reused")
        #expect(await runs.run(first.id) === first && second.id != first.id)
    }

    @Test func aFailedReadSaysSoAndIsNotReused() async throws {
        struct Unreachable: Error {}
        let runs = BacktestRuns(read: { _, _ in throw Unreachable() }, logger: Logger(label: "test"))
        let run = try await runs.submit(Self.request("x"), by: "lee", at: Date())
        try await eventually("the run failed", timeout: .seconds(120)) { !run.isPending }
        guard case .failed(let message) = run.state else {
            Issue.record("\(run.state)")
            return
        }
        #expect(message.contains("could not be read"))
        #expect(try await runs.submit(Self.request("x"), by: "lee", at: Date()) !== run, "a failed run is tried again")
    }

    @Test func aRunStillReadingSaysHowFarAndReloads() {
        let run = BacktestRun(request: Self.request("k"), startedBy: "lee", submittedAt: Date())
        run.set(.reading(BacktestLogReader.Progress(read: 1200, total: 5000, tracked: 40, unreadable: 0)))
        let lead = StaffAccount(username: "lee", displayName: "Lee", role: .lead, passwordHash: "x")
        let context = PageContext(account: lead, csrf: "token", flash: nil, now: Date(), liveIntervalMilliseconds: 2000)
        let html = BacktestPage.renderRun(run, ahead: 0, context: context)
        #expect(html.contains("data-state=\"reading\" data-read=\"1200\" data-total=\"5000\" data-tracked=\"40\""))
        #expect(html.contains("Still working: read 1200 of at most 5000 records of the lifecycle topic, 40 incidents being replayed."))
        #expect(html.contains("location.reload()"))
        #expect(!html.contains("backtest-table"))
    }
}

@Suite("Console back-test form")
struct BacktestFormTests {
    /// A `to` years ahead held the one back-test runner for hours (the replay runs every clock up
    /// to it): the form refuses a `to` more than ``BacktestForm/maximumDaysAhead`` days after now.
    @Test func aWindowEndingFarAfterNowIsRefusedNamingTo() throws {
        let now = try Date("2026-12-06T00:00:00Z", strategy: .iso8601)
        func problem(to: String) -> BacktestForm.Problem? {
            let form = BacktestForm(fields: ["from": "2026-11-01", "to": to, "candidate": "defaults"])
            if case .failure(let problem) = form.request(inForce: SlaPolicy(), now: now) { return problem }
            return nil
        }
        let far = try #require(problem(to: "9999-12-31"))
        #expect(far.field == "to" && far.message.contains("at most \(BacktestForm.maximumDaysAhead) days after now"), "\(far)")
        #expect(problem(to: "2027-01-31") == nil, "the end of next month is a window a lead picks")
    }
}
