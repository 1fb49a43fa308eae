import Foundation
import Testing
import TriageCore
import TriageRouting

@Suite("Routing: severity changes and capacity")
struct SeverityTests {
    @Test func severityChangesReweighTheAgentsLoad() {
        var bench = Bench()
        bench.online(agent("ada"))
        bench.open(incident("i1", .c))
        #expect(bench.desk.load(of: "ada") == 1)
        #expect(bench.apply(.severityChanged(incident: "i1", to: .a)).isEmpty)
        #expect(bench.desk.load(of: "ada") == 3)
        #expect(bench.desk.incident("i1")?.severity == .a)
        #expect(bench.apply(.severityChanged(incident: "i1", to: .b)).isEmpty)
        #expect(bench.desk.load(of: "ada") == 2)
        bench.apply(.released(incident: "i1"))
        #expect(bench.desk.load(of: "ada") == 0)
    }

    @Test func anUpgradeThatNoLongerFitsMovesAnUnacknowledgedIncident() {
        var bench = Bench()
        bench.online(agent("ada", capacity: 3))
        bench.open(incident("i1", .c))
        bench.open(incident("i2", .b))
        bench.online(agent("bob", capacity: 3))
        let decisions = bench.apply(.severityChanged(incident: "i1", to: .a))
        #expect(
            decisions == [
                .reassigned(
                    incident: "i1", from: "ada", to: "bob",
                    reason: .init(
                        cause: "severity_changed", matchedSkills: ["billing"], loadBefore: 0, loadAfter: 3, capacity: 3,
                        candidatesConsidered: 1)
                )
            ]
        )
        #expect(bench.desk.load(of: "ada") == 2)
        #expect(bench.desk.load(of: "bob") == 3)
    }

    @Test func anUpgradeWithNowhereToGoStaysAndIsToleratedAboveCapacity() {
        var bench = Bench()
        bench.online(agent("ada", capacity: 3))
        bench.open(incident("i1", .c))
        bench.open(incident("i2", .b))
        #expect(bench.apply(.severityChanged(incident: "i1", to: .a)).isEmpty)
        #expect(bench.desk.load(of: "ada") == 5, "above capacity 3, and checkInvariants accepts it")
        // No new work until she is back within capacity.
        bench.open(incident("i3", .c))
        #expect(bench.queue == ["i3"])
        bench.apply(.released(incident: "i2"))
        #expect(bench.desk.load(of: "ada") == 3)
        #expect(bench.queue == ["i3"], "3 + 1 does not fit")
        // A downgrade frees room.
        let decisions = bench.apply(.severityChanged(incident: "i1", to: .b))
        #expect(decisions.map(\.incident) == ["i3"])
        #expect(bench.desk.load(of: "ada") == 3)
    }

    @Test func anAcknowledgedIncidentStaysWithItsAgentOnAnUpgrade() {
        var bench = Bench()
        bench.online(agent("ada", capacity: 3))
        bench.open(incident("i1", .c))
        bench.open(incident("i2", .b))
        bench.apply(.acknowledged(incident: "i1"))
        bench.online(agent("bob", capacity: 3))
        #expect(bench.apply(.severityChanged(incident: "i1", to: .a)).isEmpty)
        #expect(bench.holder("i1") == "ada")
        #expect(bench.desk.load(of: "ada") == 5)
    }

    @Test func aQueuedIncidentsUpgradeMovesItAheadInTheQueue() {
        var bench = Bench()
        bench.open(incident("c1", openedAt: monday10))
        bench.open(incident("c2", openedAt: monday10 + 60))
        #expect(bench.apply(.severityChanged(incident: "c2", to: .a)).isEmpty)
        #expect(bench.queue == ["c2", "c1"])
        bench.apply(.severityChanged(incident: "c2", to: .b))
        #expect(bench.queue == ["c1", "c2"])
        bench.online(agent("ada", capacity: 2))
        #expect(bench.desk.assignments == ["c1": "ada"], "c2 now weighs 2 and no longer fits")
    }

    @Test func loweringCapacityBelowTheLoadIsToleratedUntilWorkIsReleased() {
        var bench = Bench()
        bench.online(agent("ada", capacity: 4))
        for id in ["i1", "i2", "i3", "i4"] { bench.open(incident(id)) }
        #expect(bench.apply(.profile(agent("ada", capacity: 2))).isEmpty, "nothing is taken away")
        #expect(bench.desk.load(of: "ada") == 4)
        bench.open(incident("i5"))
        bench.apply(.released(incident: "i1"))
        bench.apply(.released(incident: "i2"))
        #expect(bench.queue == ["i5"], "load 2 of capacity 2: no room yet")
        let decisions = bench.apply(.released(incident: "i3"))
        #expect(decisions.map(\.incident) == ["i5"])
        #expect(bench.desk.load(of: "ada") == 2)
    }

    @Test func checkInvariantsReportsAnAgentAboveCapacityWithoutTolerance() throws {
        // Forge a state through Codable: ada holds 2 units with capacity 1 and no tolerance.
        var bench = Bench()
        bench.online(agent("ada", capacity: 2))
        bench.open(incident("i1", .b))
        let json = String(decoding: try JSONEncoder().encode(bench.desk), as: UTF8.self)
        let forged = json.replacingOccurrences(of: "\"capacity\":2", with: "\"capacity\":1")
        #expect(forged != json)
        let desk = try JSONDecoder().decode(TeamDesk.self, from: Data(forged.utf8))
        let problems = desk.checkInvariants(policy: bench.policy)
        #expect(problems == ["agent ada has load 2 above capacity 1"])
    }
}
