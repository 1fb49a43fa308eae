import Foundation
import SwiftProtobuf
import Testing
import TriageAnalytics
import TriageSLA
import TriageSchema

@Suite("Analytics records of whole incident stories")
struct StoryTests {
    /// Severity B under New York business hours, opened Friday 16:00 EST: one business hour on
    /// Friday, then the weekend (and the switch to daylight saving time on Sunday, 8 March 2026)
    /// count for nothing. The customer is waited on from Friday 16:30 to Monday 09:30, so the
    /// clock, 30 minutes used, runs again from Monday 09:30 EDT: the 4-hour target is reached at
    /// 13:00 EDT, when the escalator escalates; the acknowledgement at 13:45 is 285 business minutes.
    @Test func severityBBusinessHoursStoryAcrossTheWeekend() throws {
        var script = Script()
        let opened = script.add(.opened(.b, .businessHours), at: at("2026-03-06T16:00:00-05:00"))
        _ = script.add(.assigned("agent-7"), at: at("2026-03-06T16:10:00-05:00"))
        _ = script.add(.waitingOnCustomer, at: at("2026-03-06T16:30:00-05:00"))
        _ = script.add(.customerResponded, at: at("2026-03-09T09:30:00-04:00"))
        // What the escalator publishes for this lifecycle until the acknowledgement.
        let escalator = escalatorEvents(for: script.events, until: at("2026-03-09T13:45:00-04:00"))
        #expect(escalator.map(\.analyticsEventType) == ["sla_warning", "sla_warning", "escalated"])
        #expect(escalator.map(\.occurredAt.date) == ["11:00", "12:00", "13:00"].map { at("2026-03-09T\($0):00-04:00") })
        #expect(escalator.last?.escalated.breachedDeadline.date == at("2026-03-09T17:00:00Z"))
        for event in escalator { script.add(event) }
        _ = script.add(.acknowledged("agent-7"), at: at("2026-03-09T13:45:00-04:00"))
        _ = script.add(.solutionDelivered, at: at("2026-03-09T16:00:00-04:00"))
        _ = script.add(.closedResolved, at: at("2026-03-10T10:00:00-04:00"))

        let weekendWait = 64.0 * 60  // Friday 16:30 EST to Monday 09:30 EDT, wall-clock
        let expected: [ExpectedRecord] = [
            .init(eventType: "opened"),
            .init(eventType: "assigned", agent: "agent-7"),
            .init(eventType: "waiting_on_customer", agent: "agent-7"),
            .init(eventType: "customer_responded", agent: "agent-7", waiting: weekendWait),
            .init(eventType: "sla_warning", agent: "agent-7", waiting: weekendWait, slaTarget: "first_response"),
            .init(eventType: "sla_warning", agent: "agent-7", waiting: weekendWait, slaTarget: "first_response"),
            .init(
                eventType: "escalated", agent: "agent-7", breached: true, breachedBy: 0, waiting: weekendWait, escalationLevel: 1,
                slaTarget: "first_response"),
            .init(eventType: "acknowledged", agent: "agent-7", firstResponse: 285, breached: true, breachedBy: 45, waiting: weekendWait),
            .init(
                eventType: "solution_delivered", agent: "agent-7", firstResponse: 285, breached: true, breachedBy: 45, waiting: weekendWait),
            .init(
                eventType: "closed_resolved", agent: "agent-7", firstResponse: 285, breached: true, breachedBy: 45, waiting: weekendWait,
                outcome: "resolved"),
        ]
        var snapshot = IncidentSnapshot(incidentID: "INC-1")
        var statuses: [IncidentStatus] = []
        for (event, want) in zip(script.events, expected) {
            let applied = snapshot.apply(event, rules: rules)
            let record = try #require(applied)
            #expect(record == want.record(for: event), "\(event.analyticsEventType)")
            statuses.append(snapshot.status)
        }
        #expect(script.events.count == expected.count)
        #expect(
            statuses == [
                .open, .assigned, .waitingOnCustomer, .assigned, .assigned, .assigned, .assigned, .acknowledged, .solutionDelivered,
                .closedResolved,
            ])
        #expect(snapshot.openedAt == opened.occurredAt.date)
        #expect(snapshot.acknowledgedAt == at("2026-03-09T17:45:00Z"))
        #expect(snapshot.closedAt == at("2026-03-10T14:00:00Z"))
        // Resolution: 30 minutes on Friday, 09:30–16:00 on Monday; stopped by the solution.
        #expect(
            snapshot.resolution
                == SlaMeasure(
                    targetBusinessMinutes: 1_920, usedBusinessMinutes: 420, breached: false, breachedByBusinessMinutes: nil, isFinal: true))
        #expect(
            snapshot.firstResponse
                == SlaMeasure(
                    targetBusinessMinutes: 240, usedBusinessMinutes: 285, breached: true, breachedByBusinessMinutes: 45, isFinal: true))
        #expect(snapshot.eventCount == 10 && snapshot.waitingSince == nil && snapshot.sla?.calendar == "default")
    }

    /// Severity A under 24x7 coverage, opened Saturday 02:00 UTC: wall-clock time counts, the
    /// weekend included; the 2-hour target is reached at 04:00 exactly.
    @Test func severityA24x7StoryBreachesOnTheMinute() throws {
        var script = Script("INC-A")
        _ = script.add(.opened(.a, .coverage24X7), at: at("2026-03-07T02:00:00Z"))
        _ = script.add(.assigned("agent-3"), at: at("2026-03-07T02:05:00Z"))
        _ = script.add(.note, at: at("2026-03-07T03:59:00Z"))
        _ = script.add(.note, at: at("2026-03-07T04:00:00Z"))
        _ = script.add(.acknowledged("agent-3"), at: at("2026-03-07T04:30:00Z"))
        _ = script.add(.solutionDelivered, at: at("2026-03-07T05:00:00Z"))
        _ = script.add(.closedUnresolved(refunded: true), at: at("2026-03-07T06:00:00Z"))

        let base = ExpectedRecord(eventType: "", agent: "agent-3", severity: .a, coverage: .coverage24X7)
        func row(_ type: String, _ change: (inout ExpectedRecord) -> Void = { _ in }) -> ExpectedRecord {
            var row = base
            row.eventType = type
            change(&row)
            return row
        }
        let late = { (row: inout ExpectedRecord) in (row.firstResponse, row.breached, row.breachedBy) = (150, true, 30) }
        let expected: [ExpectedRecord] = [
            row("opened") { $0.agent = "" },
            row("assigned"),
            row("note_added"),
            row("note_added") { ($0.breached, $0.breachedBy) = (true, 0) },
            row("acknowledged", late),
            row("solution_delivered", late),
            row("closed_unresolved") {
                late(&$0)
                $0.outcome = "unresolved"
            },
        ]
        var snapshot = IncidentSnapshot(incidentID: "INC-A")
        let records = fold(script.events, into: &snapshot)
        let want: [AnalyticsRecord?] = zip(script.events, expected).map { $1.record(for: $0) }
        #expect(records == want)
        #expect(snapshot.status == .closedUnresolved && snapshot.creditRefunded && snapshot.closedBy == "agent-7")
        #expect(snapshot.resolution.usedBusinessMinutes == 180 && snapshot.resolution.targetBusinessMinutes == 480)
        #expect(snapshot.sla?.calendar == "24x7")
    }
}
