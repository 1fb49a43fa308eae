import Foundation
import Testing
import TriageCore
import TriageSLA

private let monday = instant("2026-03-02T14:00:00Z")  // a Monday, 09:00 in New York

private func at(_ minutes: Double, after start: Date = monday) -> Date { start.addingTimeInterval(minutes * 60) }

private func drainAll(_ state: inout IncidentSla, until end: Date, rules: SlaRules) -> [SlaAction] {
    var actions: [SlaAction] = []
    while let next = state.nextDue, next <= end { actions += state.fire(upTo: next, rules: rules) }
    return actions
}

private func names(_ actions: [SlaAction]) -> [String] {
    actions.map { action in
        switch action.kind {
        case .warning(let percent, _): "\(action.target.rawValue) w\(percent)"
        case .escalation(let level): "\(action.target.rawValue) L\(level.level)"
        }
    }
}

/// First response 2 h, update every 4 h (of the calendar), no resolution target; warnings at
/// 50 % and 75 %, level 1 at the breach, level 2 an hour later.
private func updateRules(calendar: BusinessCalendar = .officeHoursUTC, update: Double = 240) -> SlaRules {
    let targets = SlaTargets(firstResponseMinutes: 120, updateMinutes: update)
    let perSeverity: [SupportSeverity: SlaTargets] = [.a: targets, .b: targets, .c: SlaTargets(firstResponseMinutes: 480)]
    return SlaRules(SlaPolicy(targets: [.twentyFourSeven: perSeverity, .businessHours: perSeverity], defaultCalendar: calendar))
}

@Suite("Update clock: from the first response, restarted by public notes")
struct UpdateClockTests {
    @Test func startsAtTheFirstResponseAndEscalatesLikeFirstResponse() {
        let rules = updateRules()
        var state = IncidentSla(openedAt: monday, severity: .a, coverage: .twentyFourSeven, team: nil, rules: rules)
        #expect(state.update.phase == .off, "off until the first response")
        state.apply(.acknowledged, at: at(30), rules: rules)
        #expect(state.update.phase == .running)
        let actions = drainAll(&state, until: at(10_000), rules: rules)
        #expect(names(actions) == ["update w50", "update w75", "update L1", "update L2"])
        #expect(actions.map(\.due) == [at(30 + 120), at(30 + 180), at(30 + 240), at(30 + 300)])
        #expect(actions.allSatisfy { $0.deadline == at(30 + 240) })
    }

    @Test func aPublicNoteRestartsItWithNewMilestonesAndIds() {
        let rules = updateRules()
        var state = IncidentSla(openedAt: monday, severity: .a, coverage: .twentyFourSeven, team: nil, rules: rules)
        state.apply(.acknowledged, at: at(0), rules: rules)
        let first = state.apply(.publicNote, at: at(200), rules: rules)
        #expect(names(first) == ["update w75"], "the 75 % warning (due +180) fired before the note")
        let later = drainAll(&state, until: at(10_000), rules: rules)
        #expect(names(later) == ["update w50", "update w75", "update L1", "update L2"])
        #expect(later.allSatisfy { $0.deadline == at(200 + 240) })
        let ids = Set((first + later).map { $0.eventID(incident: "INC-1") })
        #expect(ids.count == 5, "a new deadline gives new event ids")
    }

    @Test func internalNotesAndNotesBeforeTheFirstResponseDoNotStartIt() {
        let rules = updateRules()
        var state = IncidentSla(openedAt: monday, severity: .a, coverage: .twentyFourSeven, team: nil, rules: rules)
        state.apply(.publicNote, at: at(10), rules: rules)
        #expect(state.update.phase == .off)
    }

    @Test func stopsOnSolutionAndIsOffAfterAReopenUntilTheNextAcknowledgement() {
        let rules = updateRules()
        var state = IncidentSla(openedAt: monday, severity: .a, coverage: .twentyFourSeven, team: nil, rules: rules)
        state.apply(.acknowledged, at: at(10), rules: rules)
        state.apply(.solutionDelivered, at: at(60), rules: rules)
        #expect(state.update.phase == .stopped)
        state.apply(.publicNote, at: at(70), rules: rules)
        #expect(state.update.phase == .stopped, "a note after the solution does not restart it")
        state.apply(.closed, at: at(80), rules: rules)
        state.apply(.reopened, at: at(90), rules: rules)
        #expect(state.update.phase == .off)
        state.apply(.acknowledged, at: at(100), rules: rules)
        #expect(state.update.phase == .running && state.update.since == at(100).timeIntervalSince1970)
    }

    @Test func scheduledFollowUpPausesItWaitingOnVendorDoesNot() {
        let rules = updateRules()
        var state = IncidentSla(openedAt: monday, severity: .a, coverage: .twentyFourSeven, team: nil, rules: rules)
        state.apply(.acknowledged, at: at(0), rules: rules)
        state.apply(.paused(reason: "waiting_on_vendor", resumeAt: nil), at: at(10), rules: rules)
        #expect(state.update.phase == .running)
        state.apply(.paused(reason: "scheduled_follow_up", resumeAt: at(100)), at: at(40), rules: rules)
        #expect(state.update.phase == .paused)
        let actions = drainAll(&state, until: at(10_000), rules: rules)
        #expect(actions.first { if case .escalation = $0.kind { true } else { false } }?.deadline == at(240 + 60))
    }

    @Test func aSeverityChangeRetargetsAndKeepsUsedTime() {
        let rules = updateRules()
        var state = IncidentSla(openedAt: monday, severity: .c, coverage: .twentyFourSeven, team: nil, rules: rules)
        state.apply(.acknowledged, at: at(0), rules: rules)
        #expect(state.update.phase == .off, "severity C has no update target")
        state.apply(.severityChanged(.a), at: at(30), rules: rules)
        #expect(state.update.phase == .running, "A has one: it starts at the change")
        let actions = drainAll(&state, until: at(10_000), rules: rules)
        #expect(actions.first { $0.target == .update }?.due == at(30 + 120))
    }

    @Test func readBackOfAnEscalationBeforeTheRestartIsIgnored() {
        let rules = updateRules()
        var state = IncidentSla(openedAt: monday, severity: .a, coverage: .twentyFourSeven, team: nil, rules: rules)
        state.apply(.acknowledged, at: at(0), rules: rules)
        _ = drainAll(&state, until: at(240), rules: rules)
        state.apply(.publicNote, at: at(250), rules: rules)
        let before = state
        state.apply(.escalationEmitted(target: .update, level: 1, deadline: at(240)), at: at(251), rules: rules)
        #expect(state.update == before.update, "the old deadline's escalation is not this clock's")
    }

    /// Across DST (New York business hours every day) with random pauses and notes: the update
    /// deadline is exactly the target's minutes of calendar after the last restart, not counting
    /// time paused for a reason that pauses the update clock; replaying the inputs through a
    /// book fires nothing twice, and a restart never fires an escalation already published.
    @Test func theDeadlineIsTheTargetAfterTheLastRestartPlusPauses() throws {
        let nyc = try officeHours(newYork, days: 1...7)
        var random = SeededGenerator(state: 2324)
        let starts = [instant("2026-03-06T15:00:00Z"), instant("2026-10-30T15:00:00Z")]
        for round in 0..<200 {
            let coverage: SlaCoverage = round % 3 == 0 ? .twentyFourSeven : .businessHours
            let rules = updateRules(calendar: nyc)
            let calendar = rules.calendars[coverage == .twentyFourSeven ? 0 : 1]
            let opened = starts[round % 2].addingTimeInterval(Double(Int.random(in: 0..<(2 * 24 * 60), using: &random)) * 60)
            var inputs: [(Date, SlaInput)] = [(opened, .opened(severity: .a, coverage: coverage, team: nil))]
            var now = opened.addingTimeInterval(Double(Int.random(in: 1...60, using: &random)) * 60)
            inputs.append((now, .acknowledged))
            var lastRestart = now
            var pausedSince: Date?
            var pausedMinutes = 0.0  // of the calendar, since the last restart, by reasons pausing update
            for _ in 0..<Int.random(in: 0...6, using: &random) {
                now = now.addingTimeInterval(Double(Int.random(in: 1...400, using: &random)) * 60)
                switch Int.random(in: 0..<3, using: &random) {
                case 0:
                    inputs.append((now, .publicNote))
                    lastRestart = now
                    pausedMinutes = 0
                    if pausedSince != nil { pausedSince = now }
                case 1 where pausedSince == nil:
                    inputs.append((now, .paused(reason: "scheduled_follow_up", resumeAt: nil)))
                    pausedSince = now
                default:
                    if let since = pausedSince {
                        inputs.append((now, .customerResponded))
                        pausedMinutes += calendar.businessMinutes(from: since, to: now)
                        pausedSince = nil
                    }
                }
            }
            if let since = pausedSince {
                now = now.addingTimeInterval(60)
                inputs.append((now, .customerResponded))
                pausedMinutes += calendar.businessMinutes(from: since, to: now)
            }
            var book = SlaBook()
            var actions: [SlaAction] = []
            var applied: [(Int64, Date, SlaInput)] = []
            var position: Int64 = 0
            for (when, input) in inputs {
                position += 1
                applied.append((position, when, input))
                let outcome = book.apply(input, to: "INC-P", at: when, position: position, rules: rules)
                actions += outcome.actions.map(\.action)
                // What the escalator publishes comes back as "done" markers.
                for action in outcome.actions.map(\.action) {
                    guard case .escalation(let level) = action.kind else { continue }
                    position += 1
                    let readBack = SlaInput.escalationEmitted(target: action.target, level: level.level, deadline: action.deadline)
                    applied.append((position, when, readBack))
                    _ = book.apply(readBack, to: "INC-P", at: when, position: position, rules: rules)
                }
            }
            // Replaying the same positions changes nothing.
            let settled = book["INC-P"]
            for (position, when, input) in applied {
                #expect(book.apply(input, to: "INC-P", at: when, position: position, rules: rules).isEmpty)
            }
            #expect(book["INC-P"] == settled)
            let fired = book.fire(upTo: now.addingTimeInterval(120 * 24 * 3600), rules: rules)
            actions += fired.actions.map(\.action)
            let ids = actions.map { $0.eventID(incident: "INC-P") }
            #expect(Set(ids).count == ids.count, "round \(round): an action fired twice")
            let breach = try #require(
                actions.last { if case .escalation(let level) = $0.kind { $0.target == .update && level.level == 1 } else { false } })
            if breach.deadline > now {
                let counted = calendar.businessMinutes(from: lastRestart, to: breach.deadline) - pausedMinutes
                #expect(abs(counted - 240) < 0.01, "round \(round): \(counted) minutes counted between the restart and the deadline")
            }
        }
    }
}

@Suite("Incident SLA state: size")
struct IncidentSlaSizeTests {
    /// 112 bytes before pause reasons and the update clock; the update clock (32), the resume
    /// instant (8) and the shared parties reference (8) bring it to 168. The escalator's budget
    /// is 512 bytes per tracked incident (docs/escalator.md), dictionary entry and heap included.
    @Test func theStateStaysCompact() {
        print("MemoryLayout<IncidentSla>.size = \(MemoryLayout<IncidentSla>.size), stride \(MemoryLayout<IncidentSla>.stride)")
        #expect(MemoryLayout<IncidentSla>.size <= 176)
    }
}
