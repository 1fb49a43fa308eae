import Foundation
import Testing
import TriageCore
import TriageRouting

private func roundRobin() -> RoutingPolicy {
    RoutingPolicy(teams: [deskTeam: TeamSettings(choice: .roundRobin)])
}

@Suite("Routing: round robin")
struct RoundRobinTests {
    /// Over many assignments among equal eligible agents with room, nobody gets more than one
    /// incident more than anybody else, and every reason names the policy.
    @Test(arguments: [1, 2, 3, 7, 42, 2026])
    func equalAgentsGetTurnsInRotation(seed: UInt64) {
        var generator = SeededGenerator(state: seed)
        var bench = Bench(policy: roundRobin())
        let names = (0..<Int.random(in: 2...8, using: &generator)).map { "agent-\($0)" }
        for name in names.shuffled(using: &generator) { bench.online(agent(name, capacity: 10_000)) }
        var counts: [String: Int] = Dictionary(uniqueKeysWithValues: names.map { ($0, 0) })
        let total = Int.random(in: 50...300, using: &generator)
        var open: [String] = []
        for number in 0..<total {
            let decisions = bench.open(incident("i\(number)", [SupportSeverity.a, .b, .c].randomElement(using: &generator)!))
            guard case .assigned(_, let chosen, let reason) = decisions.first else {
                Issue.record("i\(number) was not assigned: \(decisions)")
                return
            }
            #expect(reason.choice == .roundRobin)
            #expect(reason.cause == AssignmentReason.Cause.initial)
            counts[chosen, default: 0] += 1
            open.append("i\(number)")
            // Closing incidents on the way changes loads, never whose turn it is.
            if Int.random(in: 0..<3, using: &generator) == 0, let closing = open.randomElement(using: &generator) {
                bench.apply(.released(incident: closing))
                open.removeAll { $0 == closing }
            }
            let spread = counts.values.max()! - counts.values.min()!
            #expect(spread <= 1, "after \(number + 1) assignments: \(counts)")
        }
    }

    @Test func anAgentWithoutRoomIsSkippedAndKeepsNoTurn() {
        var bench = Bench(policy: roundRobin())
        bench.online(agent("ada", capacity: 1), agent("bob"), agent("cy"))
        let chosen = (1...5).map { number -> String? in
            bench.open(incident("i\(number)"))
            return bench.holder("i\(number)")
        }
        #expect(chosen == ["ada", "bob", "cy", "bob", "cy"])
    }

    @Test func leastLoadedStaysTheDefault() {
        var bench = Bench()
        bench.online(agent("ada"), agent("bob"))
        bench.open(incident("i1"))
        let reason = reason(bench.open(incident("i2")))
        #expect(reason?.choice == .leastLoaded)
        #expect(bench.holder("i1") != bench.holder("i2"))
    }

    @Test func theRotationSurvivesASnapshotAndOldSnapshotsWithoutItAreRead() throws {
        var bench = Bench(policy: roundRobin())
        bench.online(agent("ada", capacity: 100), agent("bob", capacity: 100), agent("cy", capacity: 100))
        bench.open(incident("i1"))
        bench.open(incident("i2"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(bench.desk)
        var writer = DeskJSONWriter()
        bench.desk.writeJSON(into: &writer)
        #expect(try JSONDecoder().decode(TeamDesk.self, from: Data(writer.bytes)) == bench.desk)
        var restored = bench
        restored.desk = try JSONDecoder().decode(TeamDesk.self, from: data)
        #expect(restored.desk == bench.desk)
        bench.open(incident("i3"))
        restored.open(incident("i3"))
        #expect(bench.holder("i3") == "cy" && restored.holder("i3") == "cy")

        // A snapshot written before round robin existed has no rotation: the turn starts over.
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["rotation"] as? String == "bob")
        object["rotation"] = nil
        var old = bench
        old.desk = try JSONDecoder().decode(TeamDesk.self, from: try JSONSerialization.data(withJSONObject: object))
        old.open(incident("i4"))
        #expect(old.holder("i4") == "ada")
    }
}
