import Foundation
import Testing
import TriageSLA
import TriageSLABacktest
import TriageSchema

@Suite("SLA back-test: the result's formats")
struct SlaBacktestResultTests {
    static let window = DateInterval(start: instant("2026-11-01T00:00:00Z"), end: instant("2026-12-01T00:00:00Z"))

    /// Two incidents: INC-1 answered after 3 h (a breach of the default 2 h, within a 4 h
    /// candidate), INC-2 never answered (breached under both).
    func result() throws -> SlaBacktestResult {
        let start = instant("2026-11-02T10:00:00Z")
        let records = [
            opened("INC-1", at: start), opened("INC-2", at: start, team: "tier-2"),
            acknowledged("INC-1", at: start.addingTimeInterval(3 * 3600)),
        ].enumerated().map { BacktestRecord(event: $1, position: Int64($0), seenAt: $1.occurredAt.date) }
        let candidate = try policy(
            "targets: { 24x7: { A: { first_response: 4h, resolution: off } }, business_hours: { A: { resolution: off } } }")
        var baseline = SlaPolicy()
        baseline.targets[.twentyFourSeven]![.a]!.resolutionMinutes = nil
        return backtest(records, baseline: baseline, candidate: candidate, window: Self.window)
    }

    @Test func theComparisonPerIncidentAndGroup() throws {
        let result = try result()
        #expect(result.total.baseline.firstResponsesBreached == 2 && result.total.candidate.firstResponsesBreached == 1)
        #expect(result.total.baseline.firstResponsesWithinTargetPercent == 0)
        #expect(result.total.candidate.firstResponsesWithinTargetPercent == 50)
        #expect(result.changed.map(\.incident) == ["INC-1", "INC-2"])
        let first = result.changed[0]
        #expect(
            first.outcomeChanged && first.baseline.firstResponse.verdict == .breached
                && first.candidate.firstResponse.verdict == .withinTarget)
        #expect(first.baseline.firstResponse.deadline == instant("2026-11-02T12:00:00Z"))
        #expect(first.candidate.firstResponse.deadline == instant("2026-11-02T14:00:00Z"))
        // INC-2 breaches under both, later under the candidate: its levels are the same, its
        // deadline moves.
        #expect(result.changed[1].outcomeChanged == false)
        #expect(result.total.changed == 1 && result.total.deadlineMoved == 1)
        #expect(result.rows.map(\.group) == ["tier-1", "tier-2"])
    }

    /// A level reached on two clocks under the baseline and on one under the candidate is a
    /// change, and the listing shows it (it showed "L1 → L1").
    @Test func aLevelLostOnOneClockShowsInTheChangedIncidents() throws {
        #expect(
            IncidentOutcome(
                firstResponse: .init(verdict: .none, deadline: nil), resolution: .init(verdict: .none, deadline: nil),
                escalations: [2, 1, 0]
            ).escalationLevels == "L1×2,L2")
        #expect(
            IncidentOutcome(
                firstResponse: .init(verdict: .none, deadline: nil), resolution: .init(verdict: .none, deadline: nil), escalations: [0, 0]
            ).escalationLevels == "none")
        let start = instant("2026-11-02T10:00:00Z")
        let records = [opened("INC-2", at: start)].enumerated().map {
            BacktestRecord(event: $1, position: Int64($0), seenAt: $1.occurredAt.date)
        }
        var candidate = SlaPolicy()
        candidate.targets[.twentyFourSeven]![.a]!.resolutionMinutes = nil
        candidate.targets[.businessHours]![.a]!.resolutionMinutes = nil
        let result = backtest(records, baseline: SlaPolicy(), candidate: candidate, window: Self.window)
        let entry = try #require(result.changed.first)
        #expect(entry.outcomeChanged)
        #expect(entry.baseline.escalations.first == 2 && entry.candidate.escalations.first == 1)
        #expect(entry.baseline.escalationLevels.hasPrefix("L1×2"), "\(entry.baseline.escalationLevels)")
        #expect(result.table().contains("\(entry.baseline.escalationLevels) → \(entry.candidate.escalationLevels)"), "\(result.table())")
    }

    /// A log given out of order (e.g. through `tac`): events before their incident's Opened are
    /// not applied, and the result says so; an incident opened before the window is not such a case.
    @Test func eventsBeforeTheirOpenedAreCountedAndWarnedAbout() throws {
        let start = instant("2026-11-02T10:00:00Z")
        let ordered = [
            opened("INC-0", at: instant("2026-10-30T10:00:00Z")), acknowledged("INC-0", at: start),
            opened("INC-1", at: start), opened("INC-2", at: start, team: "tier-2"),
            acknowledged("INC-1", at: start.addingTimeInterval(3 * 3600)),
        ]
        func records(_ events: [IncidentEvent]) -> [BacktestRecord] {
            events.enumerated().map { BacktestRecord(event: $1, position: Int64($0), seenAt: $1.occurredAt.date) }
        }
        let inOrder = backtest(records(ordered), baseline: SlaPolicy(), candidate: SlaPolicy(), window: Self.window)
        #expect(inOrder.eventsBeforeOpened == 0 && inOrder.outOfOrderWarning == nil)
        #expect(!inOrder.table().contains("warning:"))

        let reversed = backtest(records(ordered.reversed()), baseline: SlaPolicy(), candidate: SlaPolicy(), window: Self.window)
        #expect(reversed.eventsBeforeOpened == 1 && reversed.incidentsReadOutOfOrder == 1)
        #expect(
            reversed.table().contains("warning: 1 event(s) of 1 incident(s) came before their incident's Opened"), "\(reversed.table())")
        let json = try reversed.json()
        #expect(json.contains("\"events_before_opened\""))
        #expect(try SlaBacktestResult.decode(json: Data(json.utf8)).eventsBeforeOpened == 1)
    }

    /// Files given in the wrong order (the later one first), or a log reversed: nothing is a
    /// repeat, the events before their Opened are warned about, and the earlier file is read.
    @Test func filesInTheWrongOrderAreNotRepeats() throws {
        let start = instant("2026-11-02T10:00:00Z")
        let events = [
            opened("INC-1", at: start), acknowledged("INC-1", at: start.addingTimeInterval(600)),
            opened("INC-2", at: start.addingTimeInterval(3_600)), acknowledged("INC-2", at: start.addingTimeInterval(4_200)),
        ]
        let records = events.enumerated().map { BacktestRecord(event: $1, position: Int64($0), seenAt: $1.occurredAt.date) }
        let later = backtest(Array(records[2...] + records[..<2]), baseline: SlaPolicy(), candidate: SlaPolicy(), window: Self.window)
        #expect(later.repeatedEvents == 0 && later.total.baseline.incidents == 2 && later.eventsApplied == 4)
        let reversed = backtest(records.reversed(), baseline: SlaPolicy(), candidate: SlaPolicy(), window: Self.window)
        #expect(reversed.repeatedEvents == 0 && reversed.eventsBeforeOpened == 2)
        // The same position in another partition is another record.
        let elsewhere = records.map { record -> BacktestRecord in
            var record = record
            record.partition = BacktestRecord.linesWithoutPartition
            return record
        }
        let mixed = backtest(
            Array(records[..<2]) + Array(elsewhere[2...]), baseline: SlaPolicy(), candidate: SlaPolicy(), window: Self.window)
        #expect(mixed.repeatedEvents == 0 && mixed.total.baseline.incidents == 2)
    }

    /// The same log twice (overlapping files): the repeated records are skipped and counted, not
    /// counted as applied; the result is the same.
    @Test func aLogReadTwiceIsCountedOnce() throws {
        let once = try result()
        let start = instant("2026-11-02T10:00:00Z")
        let events = [
            opened("INC-1", at: start), opened("INC-2", at: start, team: "tier-2"),
            acknowledged("INC-1", at: start.addingTimeInterval(3 * 3600)),
        ]
        let records = (events + events).enumerated().map {
            BacktestRecord(event: $1, position: Int64($0 % events.count), seenAt: $1.occurredAt.date)
        }
        let candidate = try policy(
            "targets: { 24x7: { A: { first_response: 4h, resolution: off } }, business_hours: { A: { resolution: off } } }")
        var baseline = SlaPolicy()
        baseline.targets[.twentyFourSeven]![.a]!.resolutionMinutes = nil
        let twice = backtest(records, baseline: baseline, candidate: candidate, window: Self.window)
        #expect(twice.eventsApplied == once.eventsApplied && twice.repeatedEvents == events.count)
        #expect(twice.rows == once.rows && twice.total == once.total && twice.changed == once.changed)
        #expect(twice.table().contains("repeated events skipped 3"))
    }

    /// The attack's case: an incident closed longer than the reopen window before the copy is
    /// read was forgotten by the replay, so the copy's Opened started it again (and breached).
    @Test func aLogReadTwiceOverMoreThanTheReopenWindowIsCountedOnce() throws {
        let start = instant("2026-11-02T10:00:00Z")
        let late = instant("2026-11-28T10:00:00Z")
        var policy = SlaPolicy()
        policy.reopenWindowMinutes = 24 * 60
        let events = [
            opened("INC-1", at: start), acknowledged("INC-1", at: start.addingTimeInterval(1_200)),
            event("INC-1", "closed", at: start.addingTimeInterval(3_600)) { $0.closedResolved = .with { $0.closedBy = "ada" } },
            opened("INC-2", at: late), acknowledged("INC-2", at: late.addingTimeInterval(600)),
        ]
        func records(_ copies: Int) -> [BacktestRecord] {
            (0..<copies).flatMap { _ in
                events.enumerated().map { BacktestRecord(event: $1, position: Int64($0), seenAt: $1.occurredAt.date) }
            }
        }
        let once = backtest(records(1), baseline: policy, candidate: policy, window: Self.window)
        let twice = backtest(records(2), baseline: policy, candidate: policy, window: Self.window)
        #expect(once.total.baseline.incidents == 2 && twice.total.baseline.incidents == 2)
        #expect(twice.total == once.total && twice.repeatedEvents == events.count && twice.eventsApplied == once.eventsApplied)
    }

    @Test func jsonRoundTripsAndTableAndCsvShowBothPolicies() throws {
        let result = try result()
        let json = try result.json()
        #expect(json.contains("\"first_responses_within_target_percent\""))
        #expect(json.contains("\"2026-11-02T14:00:00Z\""))
        #expect(try SlaBacktestResult.decode(json: Data(json.utf8)) == result)
        let table = result.table()
        #expect(table.contains("breached → within target"), "\(table)")
        #expect(table.contains("2026-11-02T12:00:00Z → 2026-11-02T14:00:00Z"), "\(table)")
        #expect(table.contains("team-lead 2 → 1"), "\(table)")
        let csv = result.csv().split(separator: "\n")
        #expect(csv.first?.hasPrefix("team,policy,incidents,first_responses_measured,within_target,within_target_percent,breached") == true)
        #expect(csv.count == 1 + 2 * 3)
        #expect(csv.last?.hasPrefix("TOTAL,candidate,2,2,1,50.0,1") == true, "\(csv)")
    }

    /// The log as the escalator left it under the baseline: the baseline replay matches it event
    /// for event; an event the escalator never published under it shows as only in the log.
    @Test func theBaselineIsCheckedAgainstTheEscalatorsEventsInTheLog() throws {
        let start = instant("2026-11-02T10:00:00Z")
        let rules = SlaRules(SlaPolicy())
        var replay = SlaReplay(rules: rules)
        var log = [BacktestRecord(event: opened("INC-1", at: start), position: 0, seenAt: start)]
        var fired = replay.replay(log[0])
        fired += replay.finish(at: Self.window.end).actions
        for action in fired { log.append(BacktestRecord(event: action.event, position: Int64(log.count), seenAt: action.due)) }
        let result = backtest(log, baseline: SlaPolicy(), candidate: SlaPolicy(), window: Self.window)
        #expect(result.baselineAgainstLog == BaselineAgainstLog(same: fired.count, onlyInLog: 0, onlyInReplay: 0))
        #expect(fired.count >= 4)

        var stranger = fired[0].event
        stranger.eventID = "sla-from-another-policy"
        log.append(BacktestRecord(event: stranger, position: Int64(log.count), seenAt: fired[0].due))
        let other = backtest(log, baseline: SlaPolicy(), candidate: SlaPolicy(), window: Self.window)
        #expect(other.baselineAgainstLog == BaselineAgainstLog(same: fired.count, onlyInLog: 1, onlyInReplay: 0))
        #expect(
            other.table().contains(
                "baseline against the escalator's events in the log: \(fired.count) the same (id and instant), 1 only in the log"))
    }

    /// An incident opened in the window whose Opened reached the topic only after it: the
    /// escalator had not read it by then, so it is neither replayed nor kept.
    @Test func anOpenedSeenAfterTheWindowIsNotReplayedNorKept() {
        let opened = opened("INC-LATE", at: instant("2026-11-30T23:00:00Z"))
        var backtest = SlaBacktest(baseline: SlaRules(SlaPolicy()), candidate: SlaRules(SlaPolicy()), window: Self.window, grouping: .team)
        backtest.replay(BacktestRecord(event: opened, position: 0, seenAt: instant("2026-12-01T01:00:00Z")))
        #expect(backtest.tracked == 0 && backtest.eventsApplied == 0)
        #expect(backtest.finish().total.baseline.incidents == 0)
    }
}
