import Foundation
import Testing
import TriageCore
import TriageRouting

private func overflowing(_ after: [SupportSeverity: TimeInterval], to: String = "tier-2") -> RoutingPolicy {
    RoutingPolicy(teams: [deskTeam: TeamSettings(overflow: .init(to: to, after: after))])
}

private func teamChanges(_ decisions: [RoutingDecision]) -> [(incident: String, to: String, cause: String, detail: String)] {
    decisions.compactMap {
        if case .teamChanged(let incident, _, let to, let cause, let detail) = $0 { (incident, to, cause, detail) } else { nil }
    }
}

@Suite("Routing: overflow")
struct OverflowTests {
    /// An incident overflows when it has waited its severity's threshold — at that instant
    /// exactly, never a second before — and the desk's next deadline is that instant.
    @Test(arguments: [1, 5, 11, 99, 2026])
    func overflowFiresAtTheThresholdAndNeverBefore(seed: UInt64) {
        var generator = SeededGenerator(state: seed)
        for _ in 0..<40 {
            let severity = [SupportSeverity.a, .b, .c].randomElement(using: &generator)!
            let threshold = TimeInterval(Int.random(in: 1...240, using: &generator) * 60)
            var bench = Bench(policy: overflowing([severity: threshold]))
            bench.apply(.profile(agent("ada")))  // offline: everything waits
            bench.open(incident("i1", severity))
            let queuedAt = bench.now
            #expect(bench.desk.nextDeadline(after: queuedAt, policy: bench.policy) == queuedAt + threshold)
            for _ in 0..<5 {
                bench.now = queuedAt + TimeInterval.random(in: 0..<threshold, using: &generator)
                #expect(teamChanges(bench.apply(.clock)).isEmpty, "before \(threshold) s")
                #expect(bench.desk.queue == ["i1"])
            }
            bench.now = queuedAt + threshold
            let moved = teamChanges(bench.apply(.clock))
            #expect(moved.map(\.incident) == ["i1"] && moved.first?.to == "tier-2" && moved.first?.cause == TeamChangeCause.overflow)
            #expect(bench.desk.queue.isEmpty && bench.desk.incident("i1") == nil)
            #expect(bench.desk.nextDeadline(after: bench.now, policy: bench.policy) == nil)
            #expect(teamChanges(bench.apply(.clock)).isEmpty, "only once")
        }
    }

    @Test func theDetailSaysWhyAndSeveritiesLeftOutStay() {
        var bench = Bench(policy: overflowing([.b: 30 * 60]))
        bench.apply(.profile(agent("ada")))
        bench.open(incident("b1", .b))
        bench.open(incident("c1", .c))
        bench.now += 30 * 60 + 20
        let moved = teamChanges(bench.apply(.clock))
        #expect(moved.map(\.incident) == ["b1"])
        #expect(moved.first?.detail == "waited 30m in tier-1's queue (overflow after 30m for severity B)")
        bench.now += 86_400
        #expect(teamChanges(bench.apply(.clock)).isEmpty)
        #expect(bench.desk.queue == ["c1"], "severity C is left out: it never overflows")
    }

    @Test func anIncidentSomeoneCanTakeIsAssignedNotMoved() {
        var bench = Bench(policy: overflowing([.c: 600]))
        bench.apply(.profile(agent("ada")))
        bench.open(incident("i1"))
        bench.now += 600
        // Ada comes online at the threshold: the queue is placed before overflows are looked at.
        let decisions = bench.apply(.presence(agent: "ada", .online))
        #expect(teamChanges(decisions).isEmpty)
        #expect(bench.holder("i1") == "ada")
    }

    @Test func theWaitCountsFromEnteringThisQueue() {
        var bench = Bench(policy: overflowing([.c: 600]))
        bench.online(agent("ada"))
        bench.open(incident("i1"))
        bench.now += 3_600
        bench.apply(.presence(agent: "ada", .offline))  // unacknowledged: back to the queue now
        #expect(bench.desk.queue == ["i1"])
        bench.now += 599
        #expect(teamChanges(bench.apply(.clock)).isEmpty)
        bench.now += 1
        #expect(teamChanges(bench.apply(.clock)).map(\.incident) == ["i1"])
    }

    @Test func theOtherTeamQueuesItInItsPlaceAndSaysWhyItWasAssigned() {
        var other = Bench()
        other.desk = TeamDesk(team: "tier-2")
        let bob = agent("bob", team: "tier-2")
        other.apply(.profile(bob))
        other.open(incident("local", team: "tier-2"))  // opened after the moved one
        let moved = incident("i1", openedAt: monday10 - 3_600, team: "tier-2")
        other.apply(.transferred(moved))
        #expect(other.desk.queue == ["i1", "local"], "the original openedAt keeps its place")
        let decisions = other.apply(.presence(agent: "bob", .online))
        #expect(reason(decisions)?.cause == AssignmentReason.Cause.capacityFreed)
        var fresh = Bench()
        fresh.desk = TeamDesk(team: "tier-2")
        fresh.online(bob)
        #expect(reason(fresh.apply(.transferred(moved)))?.cause == AssignmentReason.Cause.teamChanged)
        #expect(fresh.apply(.transferred(moved)).isEmpty, "a repeat changes nothing")
    }

    @Test func anOverflowTeamWithoutItsOwnOverflowKeepsTheIncident() {
        var policy = overflowing([.c: 60])
        policy.teams["tier-2"] = TeamSettings()
        var bench = Bench(policy: policy)
        bench.desk = TeamDesk(team: "tier-2")
        bench.apply(.transferred(incident("i1", team: "tier-2")))
        bench.now += 86_400
        #expect(teamChanges(bench.apply(.clock)).isEmpty)
        #expect(bench.desk.queue == ["i1"])
    }
}
