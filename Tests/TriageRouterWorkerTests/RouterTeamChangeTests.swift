import Foundation
import Testing
import TriageKafkaTesting
import TriageRouterWorker
import TriageRouting
import TriageSchema

@Suite("Router on the embedded broker: overflow and queue alerts")
struct RouterTeamChangeTests {
    /// Tier-1 has nobody: its incident alerts the lead once after 1 s and overflows to tier-2
    /// after 15 s, whose desk assigns it. (With 3 s, then 6 s, a desk timer late on a loaded CI
    /// machine saw both due at once: the incident left the queue and there was nothing to alert.)
    @Test func anOverflowedIncidentIsAssignedByTheOtherTeamAndAQueueAlertGoesOutOnce() async throws {
        let policy = RoutingPolicy(teams: [
            "tier-1": TeamSettings(queueAlert: .init(after: 1, notify: ["team-lead"]), overflow: .init(to: "tier-2", after: [.b: 15]))
        ])
        let fixture = try await TeamFixture(policy: policy, agents: ["bo": "tier-2"])
        try await fixture.open("O-1", team: "tier-1")
        try await eventually("O-1 assigned by tier-2", timeout: .seconds(60)) {
            fixture.events("O-1").contains { if case .assigned = $0.event { true } else { false } }
        }
        let events = fixture.events("O-1")
        let moved = try #require(events.first { if case .teamChanged = $0.event { true } else { false } })
        #expect(moved.teamChanged.fromTeam == "tier-1" && moved.teamChanged.toTeam == "tier-2")
        #expect(moved.teamChanged.cause == "overflow")
        #expect(moved.teamChanged.detail.hasSuffix("in tier-1's queue (overflow after 15s for severity B)"), "\(moved.teamChanged.detail)")
        let assigned = try #require(events.first { if case .assigned = $0.event { true } else { false } })
        #expect(assigned.assigned.agentID == "bo" && assigned.assigned.reason.cause == "team_changed")
        #expect(events.firstIndex(of: moved)! < events.firstIndex(of: assigned)!)
        // The agent is told, and the customer notices now say tier-2.
        try await eventually("bo told", timeout: .seconds(20)) { fixture.requests("O-1").contains { $0.recipient == "agent:bo" } }
        #expect(fixture.requests("O-1").first { $0.recipient == "agent:bo" }?.payload["team"] == "tier-2")

        try await eventually("the queue alert", timeout: .seconds(20)) {
            fixture.requests("O-1").contains { $0.template == "queue-waiting" }
        }
        try await Task.sleep(for: .seconds(2))
        let alerts = fixture.requests("O-1").filter { $0.template == "queue-waiting" }
        #expect(alerts.count == 1, "one queue alert: \(alerts)")
        let alert = try #require(alerts.first)
        #expect(alert.recipient == "team-lead" && alert.idempotencyKey == "queue-waiting/tier-1/O-1/0/team-lead")
        #expect(alert.payload["team"] == "tier-1" && alert.payload["depth"] == "1" && alert.payload["threshold_minutes"] == "0")
        #expect(alert.payload["customer"] == "acme" && alert.payload["severity"] == "B" && alert.payload["product"] == "billing")
        #expect(fixture.first.router.statistics.teamChanged == 1)
        try await fixture.first.stop()
        await fixture.stopWatching()
    }

    /// The desk remembers the alert fired: a restarted router (same group, desks restored from
    /// their log) does not ask again for the same wait.
    @Test func aQueueAlertIsNotAskedForAgainAfterARestart() async throws {
        let policy = RoutingPolicy(teams: ["tier-1": TeamSettings(queueAlert: .init(after: 1, notify: ["team-lead", "agent:lee"]))])
        let fixture = try await TeamFixture(policy: policy, agents: ["bo": "tier-2"])
        try await fixture.open("Q-1", team: "tier-1", severity: .a)
        try await eventually("the alert for Q-1", timeout: .seconds(30)) {
            fixture.requests("Q-1").filter { $0.template == "queue-waiting" }.count == 2
        }
        let alerts = fixture.requests("Q-1").filter { $0.template == "queue-waiting" }
        #expect(Set(alerts.map(\.recipient)) == ["team-lead", "agent:lee"])
        #expect(alerts.allSatisfy { $0.urgent && $0.payload["severity"] == "A" })
        try await fixture.first.stop()
        let again = try await TeamFixture.startRouter(
            cluster: fixture.cluster, topics: fixture.topics, policy: policy, group: fixture.routerGroup)
        try await eventually("the restarted router owns the desks", timeout: .seconds(30)) { again.router.statistics.partitions == 2 }
        try await fixture.open("Q-2", team: "tier-1", severity: .c)
        // Q-2 is not the oldest: nothing new may come; Q-1 must not be asked for again.
        try await Task.sleep(for: .seconds(3))
        #expect(fixture.requests("Q-1").filter { $0.template == "queue-waiting" }.count == 2)
        #expect(fixture.requests("Q-2").isEmpty)
        try await again.stop()
        await fixture.stopWatching()
    }
}
