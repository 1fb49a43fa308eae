import Foundation
import Testing
import TriageCore
import TriageRouting

@Suite("Routing: which eligible agent is chosen")
struct ChoiceTests {
    /// ada and bob both support billing; each also has a product only they support, used to
    /// give them a load.
    static func pair(adaCapacity: Int, bobCapacity: Int) -> Bench {
        var bench = Bench()
        bench.online(
            agent("ada", products: ["billing", "ada-only"], capacity: adaCapacity),
            agent("bob", products: ["billing", "bob-only"], capacity: bobCapacity)
        )
        return bench
    }

    @Test func theLowestLoadRatioWinsOverTheLowestLoad() {
        var bench = Self.pair(adaCapacity: 10, bobCapacity: 4)
        bench.open(incident("a-1", .b, product: "ada-only"))
        bench.open(incident("a-2", .b, product: "ada-only"))
        bench.open(incident("b-1", .b, product: "bob-only"))
        // ada 4 / 10 = 0.4, bob 2 / 4 = 0.5: ada, although her load is higher.
        let decisions = bench.open(incident("i1"))
        #expect(
            decisions == [
                .assigned(
                    incident: "i1", agent: "ada",
                    reason: .init(
                        cause: "initial", matchedSkills: ["billing"], loadBefore: 4, loadAfter: 5, capacity: 10, candidatesConsidered: 2)
                )
            ]
        )
    }

    @Test func equalRatiosGoToTheLowerLoad() {
        var bench = Self.pair(adaCapacity: 8, bobCapacity: 4)
        bench.open(incident("a-1", .b, product: "ada-only"))
        bench.open(incident("a-2", .b, product: "ada-only"))
        bench.open(incident("b-1", .b, product: "bob-only"))
        // ada 4 / 8 = bob 2 / 4: bob has fewer units.
        #expect(bench.open(incident("i1")).map(\.incident) == ["i1"])
        #expect(bench.holder("i1") == "bob")
    }

    @Test func equalLoadsGoToTheLongestIdle() {
        var bench = Self.pair(adaCapacity: 6, bobCapacity: 6)
        bench.open(incident("i1"))  // ada (never assigned, smaller id)
        bench.now += 60
        bench.open(incident("i2"))  // bob (lower load)
        #expect([bench.holder("i1"), bench.holder("i2")] == ["ada", "bob"])
        bench.apply(.released(incident: "i1"))
        bench.apply(.released(incident: "i2"))
        // Both idle at load 0; ada's last assignment is the older one.
        bench.now += 60
        bench.open(incident("i3"))
        #expect(bench.holder("i3") == "ada")
        bench.apply(.released(incident: "i3"))
        bench.open(incident("i4"))
        #expect(bench.holder("i4") == "bob")
    }

    @Test func neverAssignedAgentsComeFirstThenTheSmallerId() {
        var bench = Bench()
        bench.online(agent("ada"))
        bench.open(incident("i1"))
        bench.apply(.released(incident: "i1"))
        bench.online(agent("zoe"), agent("carl"))
        bench.open(incident("i2"))
        #expect(bench.holder("i2") == "carl", "carl and zoe were never assigned; carl's id is smaller")
        bench.apply(.released(incident: "i2"))
        bench.open(incident("i3"))
        #expect(bench.holder("i3") == "zoe", "zoe is the only one never assigned")
        #expect(bench.desk.eligibleAgents(for: incident("x"), at: bench.now, policy: bench.policy) == ["ada", "carl", "zoe"], "best first")
    }

    @Test func theReasonNamesTheCandidatesAndTheChosenAgentsLoad() {
        var bench = Bench()
        bench.online(
            agent("ada", languages: ["de"], capacity: 5), agent("bob", languages: ["de-CH"], capacity: 5),
            agent("cy", languages: ["en"], capacity: 5), agent("di", products: ["api"], languages: ["de"], capacity: 5)
        )
        bench.apply(.presence(agent: "bob", .away))
        let decisions = bench.open(incident("i1", .a, language: "de-DE"))
        #expect(
            reason(decisions)
                == .init(
                    cause: "initial", matchedSkills: ["billing", "de"], loadBefore: 0, loadAfter: 3, capacity: 5, candidatesConsidered: 1),
            "only ada: bob is away, cy speaks no German, di lacks billing"
        )
    }
}
