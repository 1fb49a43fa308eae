import Foundation
import Testing
import TriageCore
import TriageRouting

@Suite("Routing: moving incidents between agents")
struct ReassignmentTests {
    @Test func goingOfflineBeforeAcknowledgingMovesTheIncident() {
        var bench = Bench()
        bench.online(agent("ada"), agent("bob"))
        bench.open(incident("i1"))
        #expect(bench.holder("i1") == "ada")
        let decisions = bench.apply(.presence(agent: "ada", .offline))
        #expect(
            decisions == [
                .reassigned(
                    incident: "i1", from: "ada", to: "bob",
                    reason: .init(
                        cause: "agent_offline", matchedSkills: ["billing"], loadBefore: 0, loadAfter: 1, capacity: 6,
                        candidatesConsidered: 1)
                )
            ]
        )
        #expect(bench.desk.load(of: "ada") == 0)
        #expect(!bench.desk.isAcknowledged("i1"), "bob has not acknowledged it")
    }

    @Test func afterAcknowledgingTheIncidentStaysWithAnAgentWhoGoesOffline() {
        var bench = Bench()
        bench.online(agent("ada"), agent("bob"))
        bench.open(incident("i1"))
        bench.open(incident("i2"))
        #expect(bench.desk.assignments == ["i1": "ada", "i2": "bob"])
        bench.apply(.acknowledged(incident: "i1"))
        bench.online(agent("cy"))
        bench.open(incident("i3"))  // cy
        bench.apply(.presence(agent: "ada", .online))
        #expect(bench.apply(.presence(agent: "ada", .offline)).isEmpty)
        #expect(bench.holder("i1") == "ada")
        #expect(bench.desk.load(of: "ada") == 1)
        // Offline ada gets nothing new.
        bench.open(incident("i4"))
        #expect(bench.holder("i4") != "ada")
    }

    @Test func awayAgentsKeepTheirWorkAcknowledgedOrNot() {
        var bench = Bench()
        bench.online(agent("ada"), agent("bob"))
        bench.open(incident("i1"))
        #expect(bench.apply(.presence(agent: "ada", .away)).isEmpty)
        #expect(bench.holder("i1") == "ada")
        bench.open(incident("i2"))
        #expect(bench.holder("i2") == "bob")
    }

    @Test func withNobodyElseAnOfflineAgentsIncidentGoesBackToTheQueue() {
        var bench = Bench()
        bench.online(agent("ada", capacity: 2))
        bench.open(incident("i1"))
        bench.open(incident("i2", .a))  // does not fit
        bench.open(incident("i3"))
        #expect(bench.queue == ["i2"])
        #expect(bench.desk.assignments == ["i1": "ada", "i3": "ada"])
        bench.apply(.acknowledged(incident: "i3"))
        let decisions = bench.apply(.presence(agent: "ada", .offline))
        #expect(
            decisions == [.unassigned(incident: "i1", from: "ada", cause: "agent_offline"), .queued(incident: "i1", position: 2)],
            "the A incident i2 stays first")
        #expect(bench.queue == ["i2", "i1"])
        #expect(bench.holder("i3") == "ada", "acknowledged")

        // ada is back and the only candidate: i1 returns to her (she is the agent it left, but nobody else qualifies).
        let back = bench.apply(.presence(agent: "ada", .online))
        #expect(back.map(\.incident) == ["i1"])
        #expect(reason(back)?.cause == "capacity_freed")
        #expect(bench.holder("i1") == "ada")
    }

    @Test func displacedIncidentsAreReplacedInServiceOrderAlongsideTheQueue() {
        var bench = Bench()
        bench.online(agent("ada", capacity: 4))
        bench.open(incident("c1", .c))
        bench.open(incident("a1", .a))
        bench.open(incident("b1", .b))  // queued: 4 + 2 > 4
        #expect(bench.queue == ["b1"])
        bench.online(agent("bob", products: ["billing"], capacity: 3))
        #expect(bench.holder("b1") == "bob")
        bench.online(agent("cy", capacity: 3))
        // ada leaves: a1 (A) goes first and takes cy's room; c1 fits at bob.
        let decisions = bench.apply(.removed(agent: "ada"))
        #expect(decisions.count == 2)
        #expect(
            decisions.contains {
                if case .reassigned("a1", "ada", "cy", let reason) = $0 { reason.cause == "agent_removed" } else { false }
            })
        #expect(
            decisions.contains {
                if case .reassigned("c1", "ada", "bob", let reason) = $0 { reason.cause == "agent_removed" } else { false }
            })
        #expect(decisions.first?.incident == "a1")
        #expect(bench.desk.profile(of: "ada") == nil)
    }

    @Test func aRemovedAgentsIncidentsAllMoveAcknowledgedOrNot() {
        var bench = Bench()
        bench.online(agent("ada"))
        bench.open(incident("i1"))
        bench.open(incident("i2"))
        bench.apply(.acknowledged(incident: "i1"))
        bench.online(agent("bob"))
        let decisions = bench.apply(.removed(agent: "ada"))
        #expect(decisions.map(\.incident) == ["i1", "i2"])
        #expect(bench.desk.assignments == ["i1": "bob", "i2": "bob"])
        #expect(bench.apply(.removed(agent: "ada")).isEmpty)
        #expect(bench.desk.presence(of: "ada") == nil)

        // A profile for another team takes bob off this desk the same way; with nobody left, back to the queue.
        let moved = bench.apply(.profile(agent("bob", team: "tier-2")))
        #expect(
            moved == [
                .unassigned(incident: "i1", from: "bob", cause: "agent_removed"), .queued(incident: "i1", position: 1),
                .unassigned(incident: "i2", from: "bob", cause: "agent_removed"), .queued(incident: "i2", position: 2),
            ]
        )
        #expect(bench.desk.agents.isEmpty)
    }

    @Test(arguments: ["sla_breach", "requested"])
    func aReassignmentRequestMovesTheIncidentToSomeoneElse(_ cause: String) {
        var bench = Bench()
        bench.online(agent("ada"), agent("bob", capacity: 3))
        bench.open(incident("i1"))
        bench.apply(.acknowledged(incident: "i1"))
        let decisions = bench.apply(.reassignRequested(incident: "i1", cause: cause))
        #expect(
            decisions == [
                .reassigned(
                    incident: "i1", from: "ada", to: "bob",
                    reason: .init(
                        cause: cause, matchedSkills: ["billing"], loadBefore: 0, loadAfter: 1, capacity: 3, candidatesConsidered: 1)
                )
            ],
            "ada is never a candidate for what she is leaving, even acknowledged and least loaded"
        )
        #expect(bench.desk.load(of: "ada") == 0)
        #expect(bench.apply(.reassignRequested(incident: "missing", cause: cause)).isEmpty)
    }

    @Test func aRequestWithNobodyElseEligibleLeavesTheIncidentWhereItIs() {
        var bench = Bench()
        bench.online(agent("ada"), agent("bob", products: ["api"]))
        bench.open(incident("i1"))
        let before = bench.desk
        #expect(bench.apply(.reassignRequested(incident: "i1", cause: "sla_breach")).isEmpty)
        #expect(bench.desk == before)
        // A queued incident is not anybody's to move.
        bench.open(incident("q1", product: "mobile"))
        #expect(bench.apply(.reassignRequested(incident: "q1", cause: "requested")).isEmpty)
        #expect(bench.queue == ["q1"])
    }

    @Test func anIncidentDoesNotGoBackToTheAgentItLeftWhileSomeoneElseQualifies() {
        var bench = Bench()
        bench.online(agent("ada"), agent("bob"), agent("cara", products: ["billing", "cara-only"]))
        bench.open(incident("busy", product: "cara-only"))  // cara: load 1
        bench.open(incident("i1"))
        #expect(bench.holder("i1") == "ada")
        bench.apply(.reassignRequested(incident: "i1", cause: "requested"))
        #expect(bench.holder("i1") == "bob", "ada is left; bob (0) beats cara (1)")
        // From bob: ada (0) would win on load, but i1 just left her; cara qualifies.
        let decisions = bench.apply(.reassignRequested(incident: "i1", cause: "sla_breach"))
        #expect(bench.holder("i1") == "cara")
        #expect(reason(decisions)?.candidatesConsidered == 1)
        // From cara: bob is the one it left now; ada is fine again.
        bench.apply(.reassignRequested(incident: "i1", cause: "requested"))
        #expect(bench.holder("i1") == "ada")
    }

    @Test func theAgentItLeftTakesItBackWhenNobodyElseQualifies() {
        var bench = Bench()
        bench.online(agent("ada"), agent("bob"))
        bench.open(incident("i1"))
        bench.apply(.reassignRequested(incident: "i1", cause: "requested"))
        #expect(bench.holder("i1") == "bob")
        let decisions = bench.apply(.presence(agent: "bob", .offline))
        #expect(decisions.count == 1)
        #expect(decisions.first == .reassigned(incident: "i1", from: "bob", to: "ada", reason: reason(decisions)!))
        #expect(reason(decisions)?.cause == "agent_offline")
    }
}
