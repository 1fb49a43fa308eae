import Foundation
import Testing
import TriageCore
import TriageRouting

private func alerting(after: TimeInterval = 30 * 60, notify: [String] = ["team-lead"]) -> RoutingPolicy {
    RoutingPolicy(teams: [deskTeam: TeamSettings(queueAlert: .init(after: after, notify: notify))])
}

private func alerts(_ decisions: [RoutingDecision]) -> [QueueWaiting] {
    decisions.compactMap { if case .queueWaiting(let alert) = $0 { alert } else { nil } }
}

@Suite("Routing: queue alerts")
struct QueueAlertTests {
    @Test func theOldestWaitingIncidentAlertsOnceWhenItCrossesTheThreshold() throws {
        var bench = Bench(policy: alerting())
        bench.apply(.profile(agent("ada")))
        bench.open(incident("i1", .b))
        let queuedAt = bench.now
        bench.open(incident("i2", .a))
        #expect(bench.desk.nextDeadline(after: bench.now, policy: bench.policy) == queuedAt + 1_800)
        bench.now = queuedAt + 1_799
        #expect(alerts(bench.apply(.clock)).isEmpty)
        bench.now = queuedAt + 1_800
        let fired = alerts(bench.apply(.clock))
        #expect(
            fired == [
                QueueWaiting(
                    team: deskTeam, incident: "i1", severity: .b, product: "billing", customer: nil, waitedMinutes: 30,
                    thresholdMinutes: 30,
                    depth: 2, notify: ["team-lead"])
            ], "the oldest by waiting time, not the first in service order")
        #expect(fired.first?.idempotencyKey(recipient: "team-lead") == "queue-waiting/tier-1/i1/30/team-lead")
        bench.now += 3_600
        // i2 waited past the threshold as well, but it is not the oldest while i1 waits.
        #expect(alerts(bench.apply(.clock)).isEmpty, "once per incident")

        // A snapshot remembers the alert fired.
        var writer = DeskJSONWriter()
        bench.desk.writeJSON(into: &writer)
        var restored = bench
        restored.desk = try JSONDecoder().decode(TeamDesk.self, from: Data(writer.bytes))
        #expect(restored.desk == bench.desk)
        #expect(alerts(restored.apply(.clock)).isEmpty)

        // Once i1 leaves the queue, i2 is the oldest and has waited long enough.
        // (Any input looks, not only the clock.)
        let next = alerts(bench.apply(.released(incident: "i1")))
        #expect(next.map(\.incident) == ["i2"] && next.first?.depth == 1)
    }

    @Test func noAlertWithoutSettingsOrWhileNothingWaitsLongEnough() {
        var bench = Bench()
        bench.apply(.profile(agent("ada")))
        bench.open(incident("i1"))
        bench.now += 86_400
        #expect(alerts(bench.apply(.clock)).isEmpty)
        #expect(bench.desk.nextDeadline(after: bench.now, policy: bench.policy) == nil)
    }

    /// A late round (the desk's timer was late, or the router restarted) that finds an incident's
    /// queue alert and its overflow both due does what a punctual timer would have done: the
    /// alert first when it came due first, and no alert when the overflow came due at or before it.
    @Test(arguments: [10, 30, 40] as [Int])
    func aLateRoundWithTheAlertAndTheOverflowBothDueKeepsTheirOrder(alertMinutes: Int) {
        let alertAfter = TimeInterval(alertMinutes * 60)
        let overflowAfter: TimeInterval = 30 * 60
        let alerted = alertAfter < overflowAfter
        let settings = TeamSettings(
            queueAlert: .init(after: alertAfter, notify: ["team-lead"]), overflow: .init(to: "tier-2", after: [.b: overflowAfter]))
        var bench = Bench(policy: RoutingPolicy(teams: [deskTeam: settings]))
        bench.apply(.profile(agent("ada")))  // offline: everything waits
        bench.open(incident("i1", .b))
        let queuedAt = bench.now
        bench.open(incident("i2", .c))  // no overflow for C: it stays and becomes the oldest
        bench.now = queuedAt + 3_600  // one late round, both long due
        let decisions = bench.apply(.clock)
        let fired = alerts(decisions)
        let moved = decisions.compactMap { if case .teamChanged(let id, _, let to, _, _) = $0 { "\(id)→\(to)" } else { nil } }
        #expect(moved == ["i1→tier-2"])
        if alerted {
            #expect(fired.map(\.incident) == ["i1", "i2"], "i1 before it left, then i2 as the oldest left waiting")
            #expect(fired.first?.depth == 2 && fired.first?.waitedMinutes == 60 && fired.last?.depth == 1)
            let alertIndex = decisions.firstIndex { if case .queueWaiting = $0 { true } else { false } }
            let moveIndex = decisions.firstIndex { if case .teamChanged = $0 { true } else { false } }
            #expect(alertIndex != nil && moveIndex != nil && alertIndex! < moveIndex!, "the alert is decided before the move")
        } else {
            #expect(fired.map(\.incident) == ["i2"], "i1 left before its alert came due; i2 is then the oldest")
        }
        #expect(alerts(bench.apply(.clock)).isEmpty, "once per incident")
    }

    @Test func anIncidentQueuedAgainAlertsAgain() {
        var bench = Bench(policy: alerting(after: 600))
        bench.apply(.profile(agent("ada")))
        bench.open(incident("i1"))
        bench.now += 600
        #expect(alerts(bench.apply(.clock)).count == 1)
        bench.apply(.presence(agent: "ada", .online))
        #expect(bench.holder("i1") == "ada")
        bench.apply(.presence(agent: "ada", .offline))
        bench.now += 599
        #expect(alerts(bench.apply(.clock)).isEmpty)
        bench.now += 1
        #expect(alerts(bench.apply(.clock)).count == 1, "a new crossing")
    }
}
