import Foundation
import Testing
import TriageCore
import TriageRouting

@Suite("Routing: the team queue")
struct QueueTests {
    @Test func severityAJumpsTheQueueThenOpeningOrderThenId() {
        var bench = Bench()
        let opened = instant("2026-03-02T09:00:00Z")
        var positions: [RoutingDecision] = []
        for (id, severity, offset) in [
            ("c1", SupportSeverity.c, 0.0), ("b1", .b, 1), ("a1", .a, 2), ("c2", .c, 3), ("a2", .a, 4), ("a0", .a, 4),
        ] {
            positions += bench.open(incident(id, severity, openedAt: opened + offset))
        }
        #expect(
            positions == [
                .queued(incident: "c1", position: 1), .queued(incident: "b1", position: 2), .queued(incident: "a1", position: 1),
                .queued(incident: "c2", position: 4), .queued(incident: "a2", position: 2), .queued(incident: "a0", position: 2),
            ]
        )
        #expect(bench.queue == ["a1", "a0", "a2", "c1", "b1", "c2"], "B is not ahead of C: only A jumps")

        bench.online(agent("ada", capacity: 3))
        #expect(bench.desk.assignments == ["a1": "ada"])
        bench.online(agent("bob", capacity: 5))
        #expect(
            bench.desk.assignments == ["a1": "ada", "a0": "bob", "c1": "bob", "c2": "bob"],
            "bob (5) fills up in service order: a0 (3), then a2 (3) does not fit, c1 (1) does, b1 (2) does not, c2 (1) does"
        )
        #expect(bench.queue == ["a2", "b1"])
    }

    @Test func anIncidentThatCannotBePlacedDoesNotBlockLaterOnes() {
        var bench = Bench()
        bench.open(incident("billing-1", .a))
        bench.open(incident("api-1", product: "api", openedAt: monday10 + 1))
        bench.open(incident("german-1", language: "de", openedAt: monday10 + 2))
        bench.open(incident("api-2", product: "api", openedAt: monday10 + 3))
        #expect(bench.queue == ["billing-1", "api-1", "german-1", "api-2"])
        let decisions = bench.apply(.profile(agent("ana", products: ["api", "billing"], capacity: 2)))
        #expect(decisions.isEmpty)
        let online = bench.apply(.presence(agent: "ana", .online))
        #expect(online.map(\.incident) == ["api-1", "api-2"], "billing-1 (A, 3 units) does not fit, german-1 needs German; neither blocks")
        #expect(online.allSatisfy { reason([$0])?.cause == "capacity_freed" })
        #expect(bench.queue == ["billing-1", "german-1"])
    }

    enum Trigger: String, CaseIterable, CustomStringConvertible {
        case released, downgraded, reassignedAway, agentOnline, capacityGained, skillGained, shiftStarted
        var description: String { rawValue }
    }

    /// ada (capacity 3, English and German) holds b1 (B, German) and c2; c3 waits. Each
    /// trigger frees room for c3 somewhere, and c3 is placed by the same input.
    @Test(arguments: Trigger.allCases)
    func freeingCapacityDrainsTheQueue(_ trigger: Trigger) throws {
        var bench = Bench(policy: RoutingPolicy(calendars: ["emea-day": try weekdayShift()]))
        bench.now = instant("2026-03-02T08:30:00Z")
        bench.online(agent("ada", languages: ["en", "de"], capacity: 3))
        bench.open(incident("b1", .b, language: "de"))
        bench.open(incident("c2", language: "en"))
        #expect(bench.open(incident("c3", language: "en")) == [.queued(incident: "c3", position: 1)])
        // Agents who cannot take c3 yet.
        bench.online(agent("gus", languages: ["de"], capacity: 2))  // German only
        bench.apply(.profile(agent("ola", languages: ["en"], capacity: 2)))  // offline
        bench.online(agent("sam", products: ["api"], capacity: 2))  // no billing
        bench.online(agent("eve", languages: ["en"], capacity: 2, shift: "emea-day"))  // shift starts at 09:00
        bench.online(agent("cal", languages: ["en"], capacity: 0))  // no capacity
        #expect(bench.queue == ["c3"])
        #expect(bench.desk.assignments == ["b1": "ada", "c2": "ada"])

        let decisions: [RoutingDecision]
        let expected: String
        switch trigger {
        case .released:
            decisions = bench.apply(.released(incident: "b1"))
            expected = "ada"
        case .downgraded:
            decisions = bench.apply(.severityChanged(incident: "b1", to: .c))
            #expect(bench.holder("b1") == "ada")
            expected = "ada"
        case .reassignedAway:
            decisions = bench.apply(.reassignRequested(incident: "b1", cause: "requested"))
            #expect(decisions.first == .reassigned(incident: "b1", from: "ada", to: "gus", reason: reason(decisions)!))
            expected = "ada"
        case .agentOnline:
            decisions = bench.apply(.presence(agent: "ola", .online))
            expected = "ola"
        case .capacityGained:
            decisions = bench.apply(.profile(agent("cal", languages: ["en"], capacity: 1)))
            expected = "cal"
        case .skillGained:
            decisions = bench.apply(.profile(agent("sam", products: ["api", "billing"], languages: ["en"], capacity: 2)))
            expected = "sam"
        case .shiftStarted:
            bench.now = instant("2026-03-02T09:00:00Z")
            decisions = bench.apply(.clock)
            expected = "eve"
        }
        #expect(bench.holder("c3") == expected)
        #expect(bench.queue.isEmpty)
        let placed = decisions.first { $0.incident == "c3" }
        guard case .assigned(_, let agent, let reason) = placed else {
            Issue.record("c3 was not assigned: \(decisions)")
            return
        }
        #expect(agent == expected)
        #expect(reason.cause == "capacity_freed")
    }
}
