import Foundation
import SwiftProtobuf
import Testing
import TriageAnalytics
import TriageDashboard
import TriageRouterWorker
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

        func row(_ id: String) throws -> DashboardSnapshot.Incident { try #require(rows.first { $0.id == id }) }
        let soon = try #require(try row("INC-SOON").sla)
        #expect(!soon.paused && !soon.breached && soon.deadline == Floor.at(300))
        #expect(abs(soon.seconds - 150 * 60) < 0.001)

        let wait = try #require(try row("INC-WAIT").sla)
        #expect(try row("INC-WAIT").status == "waiting_on_customer" && row("INC-WAIT").isPaused)
        #expect(wait.paused && wait.deadline == nil && !wait.breached)
        #expect(abs(wait.seconds - 110 * 60) < 0.001)  // 120 min target, 10 used before the pause
        #expect(try row("INC-WAIT").waitingSince == Floor.at(110) && row("INC-WAIT").firstResponse == nil)

        // Waited, the customer responded: the clock runs again with the 10 minutes used before.
        let back = try row("INC-BACK")
        #expect(!back.isPaused && back.waitingSince == nil && back.sla?.paused == false)
        #expect(abs((back.sla?.seconds ?? 0) - (480 - 10 - 90) * 60) < 0.001)

        // Acknowledged: no clock runs (no resolution target in the default policy), the first
        // response is told instead; INC-7F3A9C01D2E4B658 then waits on the customer, paused without a clock.
        let acked = try row("INC-ACKED")
        #expect(acked.status == "acknowledged" && acked.sla == nil && !acked.isPaused)
        #expect(acked.firstResponse == .init(minutes: 10, targetMinutes: 480, met: true, at: Floor.at(30)))
        let hold = try row("INC-7F3A9C01D2E4B658")
        #expect(hold.isPaused && hold.sla == nil && hold.waitingSince == Floor.at(130))
        #expect(hold.firstResponse == .init(minutes: 10, targetMinutes: 240, met: true, at: Floor.at(80)))
        #expect(try row("INC-LATE").firstResponse == nil)

        // The countdown follows the SLA clock; the paused one does not move.
        let later = board.rows(now: Floor.at(200), limit: 100)
        #expect(abs((later.first { $0.id == "INC-SOON" }?.sla?.seconds ?? 0) - 100 * 60) < 0.001)
        #expect(abs((later.first { $0.id == "INC-WAIT" }?.sla?.seconds ?? 0) - 110 * 60) < 0.001)
        #expect(board.rows(now: Floor.now, limit: 2).map(\.id) == ["INC-LATE", "INC-Q1"])

        // A close removes the incident; so does a tombstone.
        var closed = try #require(Floor.finalSnapshots().first { $0.incidentID == "INC-SOON" })
        closed.status = .closedResolved
        board.apply(closed)
        board.remove("INC-WAIT")
        #expect(board.rows(now: Floor.now, limit: 100).map(\.id) == Floor.openInOrder.filter { $0 != "INC-SOON" && $0 != "INC-WAIT" })
        #expect(board.count == 6)
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
        #expect(window.opened == [0, 9, 0, 1])
        #expect(window.closed == [0, 1, 0, 0])
        #expect(series.totals == [2, 1, 1, 10, 1])

        // At +30 s the window moved on: the earlier buckets are forgotten, not just hidden, and
        // a late event for a bucket outside the window is not charted.
        series.record(.closed, at: base.addingTimeInterval(30))
        let moved = series.series(endingAt: base.addingTimeInterval(30))
        #expect(moved.opened == [0, 0, 0, 0] && moved.closed == [0, 0, 0, 1])
        series.record(.opened, at: base)
        #expect(series.series(endingAt: base.addingTimeInterval(14)).opened == [0, 0, 0, 0])
        #expect(series.totals[EventSeries.Kind.opened.rawValue] == 11)  // totals keep counting
    }

    @Test func agentsCombineProfilesPresenceAndTheirTeamsDesk() {
        var board = AgentBoard()
        for event in Floor.agentEvents() { board.apply(event) }
        let before = board.rows()
        #expect(before.map(\.id) == ["ana", "bo", "cy"])
        #expect(before.allSatisfy { $0.load == 0 && $0.assigned == 0 })

        board.apply(desk: Floor.desk(), team: "tier-1")
        let rows = board.rows()
        let ana = rows[0]
        let bo = rows[1]
        let cy = rows[2]
        // Load is in units (A 3 + B 2), beside the incidents held and their severities.
        #expect(
            ana
                == .init(
                    id: "ana", name: "Ana", team: "tier-1", presence: "online", capacity: 6, load: 5, assigned: 2,
                    assignedBySeverity: .init(a: 1, b: 1)))
        #expect(bo == .init(id: "bo", name: "Bo", team: "tier-1", presence: "away", capacity: 4, load: 0, assigned: 0))
        #expect(cy == .init(id: "cy", name: "Cy", team: "tier-2-enterprise-emea", presence: "offline", capacity: 3, load: 0, assigned: 0))

        board.apply(desk: nil, team: "tier-1")
        #expect(board.rows()[0].load == 0)
    }

    @Test func anIncidentIsQueuedSinceItsOpeningOrSinceTheRouterHandedItBack() {
        var times = QueueTimes()
        for event in Floor.events { times.apply(event) }
        #expect(times["INC-Q1"] == Floor.at(130))
        // Assigned at 11, handed back by the router (ReturnedToQueue) at 140.
        #expect(times["INC-Q2"] == Floor.at(140))
        #expect(times["INC-LATE"] == nil && times["INC-7F3A9C01D2E4B658"] == nil && times["INC-DONE"] == nil)

        // The form routers used before ReturnedToQueue (a Reassigned without a target) counts from
        // the router only: from anyone else it is a request, not a move.
        var request = Floor.event("INC-LATE", "ask", 151) {
            $0.reassigned = .with {
                $0.fromAgentID = "ana"; $0.toAgentID = ""
            }
        }
        times.apply(request)
        #expect(times["INC-LATE"] == nil)
        request.producer = "router"
        times.apply(request)
        #expect(times["INC-LATE"] == Floor.at(151))
        times.apply(
            Floor.event("INC-LATE", "move", 152, producer: "router") {
                $0.reassigned = .with {
                    $0.fromAgentID = ""; $0.toAgentID = "bo"
                }
            })
        #expect(times["INC-LATE"] == nil)
        times.apply(Floor.event("INC-Q1", "close", 153) { $0.closedUnresolved = .with { $0.closedBy = "ana" } })
        #expect(times["INC-Q1"] == nil)
        times.apply(Floor.event("INC-Q1", "reopen", 154) { $0.reopened = .init() })
        #expect(times["INC-Q1"] == Floor.at(154))
    }

    @Test func queuesComeFromTheDesksQueueRecordsBehindTheLastFence() throws {
        var board = DeskBoard()
        // The core of tier-1 (nothing queued), a fence by w-2 in partition 1, tier-2's records.
        var changes = [board.add(partition: 0, key: Array("tier-1".utf8), value: Array(try Floor.deskSnapshotJSON()), writer: nil)]
        #expect(board.add(partition: 1, key: DeskLog.fenceKey, value: Array("w-2".utf8), writer: "w-2") == .none)
        for record in try Floor.deskRecords(Floor.queueDesk()) {
            changes.append(board.add(partition: 1, key: record.key, value: record.value, writer: "w-2"))
        }
        #expect(
            changes == [
                .core(team: "tier-1", desk: Floor.desk()), .core(team: "tier-2-enterprise-emea", desk: Floor.queueDesk().core),
                .queue(team: "tier-2-enterprise-emea"), .queue(team: "tier-2-enterprise-emea"),
            ])
        // A late write of w-1 after w-2's fence is ignored; garbage is reported.
        let stale = DashboardSnapshot.QueuedIncident(id: "INC-STALE", severity: "A", openedAt: Floor.t0, queuedSince: Floor.t0)
        var staleDesk = Floor.queueDesk()
        _ = staleDesk.apply(
            .opened(
                RoutingIncident(
                    id: stale.id, team: "tier-2-enterprise-emea", severity: .a, product: "billing", language: "en", openedAt: Floor.t0)),
            at: Floor.t0,
            policy: RoutingPolicy())
        let staleEntry = try #require(
            try Floor.deskRecords(staleDesk).first { $0.key == DeskRecords.queueKey(team: "tier-2-enterprise-emea", incident: stale.id) })
        #expect(board.add(partition: 1, key: staleEntry.key, value: staleEntry.value, writer: "w-1") == .none)
        #expect(board.fencedOff == 1)
        #expect(
            board.add(
                partition: 1, key: DeskRecords.queueKey(team: "tier-2-enterprise-emea", incident: "INC-X"), value: Array("{".utf8),
                writer: "w-2") == .undecodable)

        // In service order INC-Q1 (A) comes first; by opening INC-Q2 is older; by the time in
        // the queue (INC-Q2 was handed back at 140) INC-Q1 has waited longest.
        var queues = board.queues()
        #expect(queues.map(\.team) == ["tier-1", "tier-2-enterprise-emea"] && queues.map(\.depth) == [0, 2])
        #expect(queues[0].oldest == nil)
        #expect(queues[1].oldest == .init(id: "INC-Q2", severity: "C", openedAt: Floor.at(10), queuedSince: Floor.at(10)))
        var times = QueueTimes()
        for event in Floor.events { times.apply(event) }
        queues = board.queues { times[$0] }
        #expect(queues[1].oldest == .init(id: "INC-Q1", severity: "A", openedAt: Floor.at(130), queuedSince: Floor.at(130)))

        // A queue record the core holds as assigned is not queued (the router's reassembly);
        // a queue tombstone takes the incident out; a core tombstone leaves the stored queue.
        var core = Floor.queueDesk()
        _ = core.apply(.presence(agent: "cy", .online), at: Floor.at(150), policy: RoutingPolicy())
        #expect(core.queue == ["INC-Q2"])  // cy (capacity 3) took INC-Q1 (A: 3 units)
        let coreRecord = try #require(try Floor.deskRecords(core).first)
        #expect(
            board.add(partition: 1, key: coreRecord.key, value: coreRecord.value, writer: "w-2")
                == .core(team: "tier-2-enterprise-emea", desk: core.core))
        #expect(board.queues()[1].depth == 1 && board.queues()[1].oldest?.id == "INC-Q2")
        #expect(
            board.add(
                partition: 1, key: DeskRecords.queueKey(team: "tier-2-enterprise-emea", incident: "INC-Q2"), value: nil, writer: "w-2")
                == .queue(team: "tier-2-enterprise-emea"))
        #expect(board.queues()[1].depth == 0)
    }

    @Test func snapshotJSONUsesSnakeCaseAndMillisecondInstantsAndRoundTrips() throws {
        let snapshot = DashboardSnapshot(
            now: Date(timeIntervalSince1970: 1_800_000_000.25), wallClock: Date(timeIntervalSince1970: 1_700_000_000.5),
            incidents: [
                .init(
                    id: "I-1", title: "t", severity: "A", status: "open", team: "x", assignedAgent: "", openedAt: nil,
                    sla: .init(
                        target: "first_response", paused: false, deadline: Date(timeIntervalSince1970: 1_800_000_100), seconds: 99.75)),
                .init(
                    id: "I-2", title: "w", severity: "B", status: "waiting_on_customer", team: "x", assignedAgent: "ana", openedAt: nil,
                    sla: nil,
                    firstResponse: .init(minutes: 12.5, targetMinutes: 240, met: true, at: Date(timeIntervalSince1970: 1_799_999_000)),
                    waitingSince: Date(timeIntervalSince1970: 1_799_999_500)),
            ],
            incidentTotal: 2,
            agents: [
                .init(
                    id: "ana", name: "Ana", team: "x", presence: "online", capacity: 6, load: 5, assigned: 2,
                    assignedBySeverity: .init(a: 1, b: 1))
            ],
            loadWeights: .init(a: 3, b: 2, c: 1),
            queues: [
                .init(
                    team: "x", depth: 1,
                    oldest: .init(
                        id: "I-3", severity: "C", openedAt: Date(timeIntervalSince1970: 1_799_990_000),
                        queuedSince: Date(timeIntervalSince1970: 1_799_995_000)))
            ],
            series: EventSeries().series(endingAt: Date(timeIntervalSince1970: 1_700_000_000)), lag: [], figures: .init()
        )
        let json = String(decoding: try DashboardSnapshot.encoder.encode(snapshot), as: UTF8.self)
        #expect(json.contains(#""now":"2027-01-15T08:00:00.250Z""#))
        #expect(json.contains(#""incident_total":2"#) && json.contains(#""assigned_agent":"""#) && json.contains(#""bucket_seconds":5"#))
        // What the page reads: severities as lower-case keys, snake_case everywhere.
        #expect(json.contains(#""load_weights":{"a":3,"b":2,"c":1}"#) && json.contains(#""assigned_by_severity":{"a":1,"b":1,"c":0}"#))
        #expect(json.contains(#""first_response":{"at":"#) && json.contains(#""target_minutes":240"#) && json.contains(#""queued_since":"#))
        let decoded = try DashboardSnapshot.decoder.decode(DashboardSnapshot.self, from: Data(json.utf8))
        #expect(decoded == snapshot)
        #expect(decoded.series.starts.count == 60)
    }
}
