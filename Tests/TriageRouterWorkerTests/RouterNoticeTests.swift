import Foundation
import Testing
import TriageKafkaTesting
import TriageRouterWorker
import TriageRouting
import TriageSchema

@Suite("Router on the embedded broker: notices for agents and customers")
struct RouterNoticeTests {
    @Test func agentAndCustomerNoticesCarryTheirPayloadsAndKeepTheirKeysAfterARestart() async throws {
        let fixture = try await TeamFixture(policy: RoutingPolicy(), agents: ["bo": "tier-2"])
        try await fixture.open("N-1", team: "tier-2", severity: .a)
        try await eventually("N-1 assigned to bo, and bo told", timeout: .seconds(30)) {
            fixture.requests("N-1").contains { $0.recipient == "agent:bo" }
        }
        let assigned = try #require(fixture.events("N-1").first { if case .assigned = $0.event { true } else { false } })
        let agentNotice = try #require(fixture.requests("N-1").first { $0.recipient == "agent:bo" })
        #expect(agentNotice.template == "assigned")
        #expect(agentNotice.idempotencyKey == "\(assigned.eventID)/agent:bo")
        #expect(agentNotice.urgent, "severity A")
        #expect(
            agentNotice.payload == [
                "incident_id": "N-1", "agent": "bo", "cause": "initial", "severity": "A", "product": "billing", "customer": "acme",
                "team": "tier-2",
            ])

        try await fixture.publish("ack-N-1", "N-1") { $0.acknowledged = .with { $0.agentID = "bo" } }
        try await fixture.publish("sol-N-1", "N-1") {
            $0.solutionDelivered = .with {
                $0.agentID = "bo"; $0.summary = "restarted the billing run"
            }
        }
        try await fixture.publish("close-N-1", "N-1") { $0.closedResolved = .with { $0.closedBy = "bo" } }
        try await eventually("three customer updates", timeout: .seconds(30)) {
            fixture.requests("N-1").filter { $0.recipient == "customer:acme" }.count == 3
        }
        let updates = fixture.requests("N-1").filter { $0.recipient == "customer:acme" }
        #expect(updates.map { $0.payload["event"] } == ["acknowledged", "solution_delivered", "closed_resolved"])
        #expect(updates.map(\.idempotencyKey) == ["ack-N-1/customer:acme", "sol-N-1/customer:acme", "close-N-1/customer:acme"])
        for update in updates {
            #expect(update.template == "customer-update" && !update.urgent)
            #expect(update.payload["language"] == "de-CH" && update.payload["customer_time_zone"] == "Europe/Zurich")
            #expect(update.payload["customer"] == "acme" && update.payload["team"] == "tier-2" && update.payload["severity"] == "A")
            #expect(update.payload["agent"] == "bo", "named by the event, or the holder the router saw")
            #expect(update.payload["occurred_at"]?.hasSuffix("Z") == true)
        }
        #expect(updates[1].payload["summary"] == "restarted the billing run")
        #expect(updates[0].payload["summary"] == nil)

        // An event about an incident the router never saw: an agent notice, no customer notice.
        try await fixture.publish("assign-ghost", "GHOST") {
            $0.producer = "router";
            $0.assigned = .with {
                $0.agentID = "bo"; $0.reason.cause = "requested"
            }
        }
        try await fixture.publish("ack-ghost", "GHOST") { $0.acknowledged = .with { $0.agentID = "bo" } }
        try await eventually("the ghost's agent notice", timeout: .seconds(30)) { !fixture.requests("GHOST").isEmpty }
        try await Task.sleep(for: .seconds(1))
        #expect(fixture.requests("GHOST").map(\.recipient) == ["agent:bo"])
        #expect(fixture.requests("GHOST").first?.payload == ["incident_id": "GHOST", "agent": "bo", "cause": "requested"])

        // A router of a new group reads everything again: the same notices under the same keys.
        let before = Set(fixture.notices.all.withLock { $0.map(\.idempotencyKey) })
        let count = fixture.notices.all.withLock { $0.count }
        try await fixture.first.stop()
        let again = try await TeamFixture.startRouter(
            cluster: fixture.cluster, topics: fixture.topics, policy: fixture.policy, group: uniqueName("router-again"))
        try await eventually("every notice asked for again", timeout: .seconds(40)) {
            fixture.notices.all.withLock { $0.count } >= 2 * count
        }
        let after = fixture.notices.all.withLock { $0.map(\.idempotencyKey) }
        #expect(Set(after) == before, "no new keys: the notifier sends each once")
        #expect(!fixture.notices.all.withLock { $0 }.contains { $0.template == "MISMATCHED KEY OR HEADER" })
        try await again.stop()
        await fixture.stopWatching()
    }
}
