import Foundation
import Testing
import TriageSLA
import TriageSLABacktest
import TriageSLAEvents
import TriageSchema

/// The replay fed as the escalator is: milestones fire one due instant at a time, events apply
/// at their `occurred_at` once everything due before the record was seen has fired, and the
/// escalator's own events in the log are ignored.
@Suite("SLA replay: the escalator's firing, record by record")
struct SlaReplayTests {
    static let start = instant("2026-11-02T10:00:00Z")
    /// 24x7 A: first response 2 h (warnings at 1 h and 1 h 30 m), level 1 at the breach, level 2
    /// an hour later; no resolution target.
    static let rules = SlaRules(SlaPolicy(targets: [.twentyFourSeven: [.a: SlaTargets(firstResponseMinutes: 120)]]))

    func minutes(_ value: Double) -> Date { Self.start.addingTimeInterval(value * 60) }

    func record(_ event: IncidentEvent, _ position: Int64, seen: Date? = nil) -> BacktestRecord {
        BacktestRecord(event: event, partition: 0, position: position, seenAt: seen ?? event.occurredAt.date)
    }

    @Test func eachMilestoneFiresAtItsDueInstantWithTheEscalatorsEventID() {
        var replay = SlaReplay(rules: Self.rules)
        var fired = replay.replay(record(opened("INC-1", at: minutes(0)), 0))
        fired += replay.finish(at: minutes(600)).actions
        #expect(fired.map(\.due) == [minutes(60), minutes(90), minutes(120), minutes(180)])
        // The very state the escalator keeps, fired at each due instant, gives the same ids.
        var state = IncidentSla(openedAt: minutes(0), severity: .a, coverage: .twentyFourSeven, team: "tier-1", rules: Self.rules)
        var expected: [SlaAction] = []
        for due in [60.0, 90, 120, 180] { expected += state.fire(upTo: minutes(due), rules: Self.rules) }
        #expect(fired.map(\.eventID) == expected.map { $0.eventID(incident: "INC-1") })
    }

    @Test func aRecordSeenLateFiresWhatFellDueBeforeItIsApplied() {
        // The acknowledgement happened at 50 min but reached the topic at 70 min: the escalator's
        // timer had fired the 50 % warning (due at 60 min) by then.
        var replay = SlaReplay(rules: Self.rules)
        var fired = replay.replay(record(opened("INC-1", at: minutes(0)), 0))
        fired += replay.replay(record(acknowledged("INC-1", at: minutes(50)), 1, seen: minutes(70)))
        fired += replay.finish(at: minutes(600)).actions
        #expect(fired.map(\.due) == [minutes(60)])
        // Seen when it happened, nothing fires.
        var prompt = SlaReplay(rules: Self.rules)
        var none = prompt.replay(record(opened("INC-1", at: minutes(0)), 0))
        none += prompt.replay(record(acknowledged("INC-1", at: minutes(50)), 1))
        none += prompt.finish(at: minutes(600)).actions
        #expect(none.isEmpty)
    }

    @Test func anOpenedPublishedLateFiresOnlyItsHighestOverdueWarningAsTheEscalatorDoes() {
        var replay = SlaReplay(rules: Self.rules)
        let fired = replay.replay(record(opened("INC-1", at: minutes(0)), 0, seen: minutes(100)))
        guard case .warning(let percent, _) = fired.first?.action.kind else {
            Issue.record("expected a warning, got \(fired)")
            return
        }
        #expect(fired.count == 1 && percent == 75 && fired[0].due == minutes(90))
    }

    @Test func theEscalatorsOwnEventsInTheLogAreIgnored() {
        var replay = SlaReplay(rules: Self.rules)
        var fired = replay.replay(record(opened("INC-1", at: minutes(0)), 0))
        fired += replay.finish(at: minutes(600)).actions
        // The log as the escalator left it: its events interleaved with the lifecycle.
        var again = SlaReplay(rules: Self.rules)
        var replayed: [ReplayedAction] = again.replay(record(opened("INC-1", at: minutes(0)), 0))
        for (index, action) in fired.enumerated() {
            replayed += again.replay(record(action.event, Int64(index + 1), seen: action.due.addingTimeInterval(0.5)))
        }
        replayed += again.finish(at: minutes(600)).actions
        #expect(replayed == fired)
    }

    @Test func partitionsKeepTheirOwnTimeline() {
        // Partition 1's records come after partition 0's in the read, with earlier timestamps:
        // its acknowledgement at 50 min must not find its warnings fired by partition 0's time.
        var replay = SlaReplay(rules: Self.rules)
        var fired = replay.replay(BacktestRecord(event: opened("INC-0", at: minutes(0)), partition: 0, position: 0, seenAt: minutes(0)))
        fired += replay.replay(
            BacktestRecord(event: acknowledged("INC-0", at: minutes(300)), partition: 0, position: 1, seenAt: minutes(300)))
        fired += replay.replay(BacktestRecord(event: opened("INC-1", at: minutes(0)), partition: 1, position: 0, seenAt: minutes(0)))
        fired += replay.replay(
            BacktestRecord(event: acknowledged("INC-1", at: minutes(50)), partition: 1, position: 1, seenAt: minutes(50)))
        fired += replay.finish(at: minutes(600)).actions
        #expect(Set(fired.map(\.incident)) == ["INC-0"])
        #expect(fired.count == 4)
    }

    @Test func closedIncidentsAreForgottenAfterTheReopenWindowSoMemoryFollowsOpenIncidents() throws {
        let rules = SlaRules(try policy("reopen_window: 1h"))
        var replay = SlaReplay(rules: rules)
        var position: Int64 = 0
        var peak = 0
        var outcomes = 0
        for index in 0..<2_000 {
            let at = minutes(Double(index))
            let id = "INC-\(index)"
            _ = replay.replay(record(opened(id, at: at), position))
            _ = replay.replay(record(acknowledged(id, at: at.addingTimeInterval(60)), position + 1))
            _ = replay.replay(record(event(id, "closed", at: at.addingTimeInterval(120)) { $0.closedResolved = .init() }, position + 2))
            position += 3
            peak = max(peak, replay.tracked)
            outcomes += replay.takeFinished().count
        }
        #expect(peak <= 70, "closed incidents are forgotten an hour after the close")
        outcomes += replay.finish(at: minutes(3_000)).outcomes.count
        #expect(outcomes == 2_000)
    }
}
