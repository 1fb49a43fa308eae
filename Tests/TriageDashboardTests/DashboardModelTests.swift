import Foundation
import SwiftProtobuf
import Testing
import TriageAnalytics
import TriageDashboard
import TriageRouting
import TriageSLA
import TriageSchema

@Suite("Dashboard model (pure)")
struct DashboardModelTests {
    @Test func openIncidentsAreListedMostUrgentFirstWithCountdownsInSlaTime() throws {
        var board = IncidentBoard(rules: Floor.rules)
        for snapshot in Floor.finalSnapshots() { board.apply(snapshot) }
        let rows = board.rows(now: Floor.now, limit: 100)
        #expect(rows.map(\.id) == Floor.openInOrder)
        #expect(!rows.contains { $0.id == Floor.closed })

        let late = rows[0]
        #expect(late.severity == "A" && late.status == "assigned" && late.team == "tier-1" && late.assignedAgent == "ana")
        #expect(late.openedAt == Floor.at(0))
        let lateSla = try #require(late.sla)
        #expect(lateSla.target == "first_response" && !lateSla.paused && lateSla.breached)
        #expect(lateSla.deadline == Floor.at(120))
        #expect(abs(lateSla.seconds - -30 * 60) < 0.001)

        let soon = try #require(rows[1].sla)
        #expect(!soon.paused && !soon.breached && soon.deadline == Floor.at(300))
        #expect(abs(soon.seconds - 150 * 60) < 0.001)

        let wait = try #require(rows[2].sla)
        #expect(rows[2].status == "waiting_on_customer")
        #expect(wait.paused && wait.deadline == nil && !wait.breached)
        #expect(abs(wait.seconds - 110 * 60) < 0.001)  // 120 min target, 10 used before the pause

        #expect(rows[3].status == "acknowledged" && rows[3].sla == nil)  // no resolution target in the default policy

        // The countdown follows the SLA clock; the paused one does not move.
        let later = board.rows(now: Floor.at(200), limit: 100)
        #expect(abs((later.first { $0.id == "INC-SOON" }?.sla?.seconds ?? 0) - 100 * 60) < 0.001)
        #expect(abs((later.first { $0.id == "INC-WAIT" }?.sla?.seconds ?? 0) - 110 * 60) < 0.001)
        #expect(board.rows(now: Floor.now, limit: 2).map(\.id) == ["INC-LATE", "INC-SOON"])

        // A close removes the incident; so does a tombstone.
        var closed = try #require(Floor.finalSnapshots().first { $0.incidentID == "INC-SOON" })
        closed.status = .closedResolved
        board.apply(closed)
        board.remove("INC-WAIT")
        #expect(board.rows(now: Floor.now, limit: 100).map(\.id) == ["INC-LATE", "INC-ACKED"])
        #expect(board.count == 2)
    }

    @Test func theDeadlineOfARunningClockWithoutARecordedBreachComesFromTheCalendar() throws {
        // Business hours: Sev B (240 business minutes) opened Friday 16:00 UTC under the default
        // Mon–Fri 09–17 calendar: 60 min on Friday, 180 on Monday → Monday 12:00.
        var facts = IncidentFacts(rules: Floor.rules)
        var opened = Floor.opened("INC-BH", 360, severity: .b, title: "business hours")
        opened.opened.coverage = .businessHours
        _ = facts.apply(opened)
        var board = IncidentBoard(rules: Floor.rules)
        board.apply(try #require(facts["INC-BH"]))
        let sla = try #require(board.rows(now: Floor.at(360), limit: 10).first?.sla)
        #expect(sla.deadline == ISO8601DateFormatter().date(from: "2026-11-23T12:00:00Z"))
    }

    @Test func seriesCountPerBucketDropRepeatsAndForgetOldBuckets() {
        var series = EventSeries(bucket: .seconds(5), count: 4)
        let base = Date(timeIntervalSince1970: 1_000_000)  // a bucket boundary
        let events = Floor.events
        for event in events { series.record(event, at: base) }
        #expect(series.record(events.first { $0.eventID == "INC-LATE-level1" }!, at: base) == false)  // repeat
        #expect(series.record(events.first { $0.eventID == "INC-LATE-assign" }!, at: base) == false)  // not charted
        series.record(Floor.opened("INC-NEXT", 151, severity: .c, title: "next"), at: base.addingTimeInterval(12))

        let window = series.series(endingAt: base.addingTimeInterval(14))
        #expect(window.bucketSeconds == 5)
        #expect(window.starts == [base.addingTimeInterval(-5), base, base.addingTimeInterval(5), base.addingTimeInterval(10)])
        #expect(window.warnings == [0, 2, 0, 0])
        #expect(window.breaches == [0, 1, 0, 0])
        #expect(window.escalations == [0, 1, 0, 0])
        #expect(window.opened == [0, 5, 0, 1])
        #expect(window.closed == [0, 1, 0, 0])
        #expect(series.totals == [2, 1, 1, 6, 1])

        // At +30 s the window moved on: the earlier buckets are forgotten, not just hidden, and
        // a late event for a bucket outside the window is not charted.
        series.record(.closed, at: base.addingTimeInterval(30))
        let moved = series.series(endingAt: base.addingTimeInterval(30))
        #expect(moved.opened == [0, 0, 0, 0] && moved.closed == [0, 0, 0, 1])
        series.record(.opened, at: base)
        #expect(series.series(endingAt: base.addingTimeInterval(14)).opened == [0, 0, 0, 0])
        #expect(series.totals[EventSeries.Kind.opened.rawValue] == 7)  // totals keep counting
    }

    @Test func agentsCombineProfilesPresenceAndTheirTeamsDesk() {
        var board = AgentBoard()
        for event in Floor.agentEvents() { board.apply(event) }
        let before = board.rows()
        #expect(before.map(\.id) == ["ana", "bo", "cy"])
        #expect(before.allSatisfy { $0.load == 0 && $0.assigned == 0 })

        board.apply(desk: Floor.desk(), team: "tier-1")
        let rows = board.rows()
        let ana = rows[0], bo = rows[1], cy = rows[2]
        #expect(ana == .init(id: "ana", name: "Ana", team: "tier-1", presence: "online", capacity: 6, load: 3, assigned: 1))
        #expect(bo == .init(id: "bo", name: "Bo", team: "tier-1", presence: "away", capacity: 4, load: 0, assigned: 0))
        #expect(cy == .init(id: "cy", name: "Cy", team: "tier-2", presence: "offline", capacity: 3, load: 0, assigned: 0))

        board.apply(desk: nil, team: "tier-1")
        #expect(board.rows()[0].load == 0)
    }

    @Test func snapshotJSONUsesSnakeCaseAndMillisecondInstantsAndRoundTrips() throws {
        let snapshot = DashboardSnapshot(
            now: Date(timeIntervalSince1970: 1_800_000_000.25), wallClock: Date(timeIntervalSince1970: 1_700_000_000.5),
            incidents: [.init(id: "I-1", title: "t", severity: "A", status: "open", team: "x", assignedAgent: "", openedAt: nil,
                              sla: .init(target: "first_response", paused: false, deadline: Date(timeIntervalSince1970: 1_800_000_100), seconds: 99.75))],
            incidentTotal: 1, agents: [], series: EventSeries().series(endingAt: Date(timeIntervalSince1970: 1_700_000_000)), lag: [], figures: .init()
        )
        let json = String(decoding: try DashboardSnapshot.encoder.encode(snapshot), as: UTF8.self)
        #expect(json.contains(#""now":"2027-01-15T08:00:00.250Z""#))
        #expect(json.contains(#""incident_total":1"#) && json.contains(#""assigned_agent":"""#) && json.contains(#""bucket_seconds":5"#))
        let decoded = try DashboardSnapshot.decoder.decode(DashboardSnapshot.self, from: Data(json.utf8))
        #expect(decoded == snapshot)
        #expect(decoded.series.starts.count == 60)
    }
}
