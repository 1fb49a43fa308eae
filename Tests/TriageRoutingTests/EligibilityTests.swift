import Foundation
import Testing
import TriageCore
import TriageRouting

@Suite("Routing: who may take an incident")
struct EligibilityTests {
    @Test func theProductMustBeOneOfTheAgentsSkills() {
        var bench = Bench()
        bench.online(agent("ada", products: ["api"]))
        #expect(bench.open(incident("i1", product: "billing")) == [.queued(incident: "i1", position: 1)])
        #expect(bench.desk.eligibleAgents(for: incident("x", product: "api"), at: bench.now, policy: bench.policy) == ["ada"])
        // Products match exactly.
        #expect(bench.desk.eligibleAgents(for: incident("x", product: "API"), at: bench.now, policy: bench.policy).isEmpty)
        let decisions = bench.apply(.profile(agent("ada", products: ["api", "billing"])))
        #expect(
            decisions == [
                .assigned(
                    incident: "i1", agent: "ada",
                    reason: .init(
                        cause: "capacity_freed", matchedSkills: ["billing"], loadBefore: 0, loadAfter: 1, capacity: 6,
                        candidatesConsidered: 1)
                )
            ]
        )
    }

    @Test func languagesMatchOnThePrimarySubtag() {
        var bench = Bench()
        bench.online(
            agent("ada", languages: ["en"]), agent("bea", languages: ["de-AT", "fr"]), agent("cem", languages: []),
            agent("dan", languages: ["EN-gb"])
        )
        func eligible(_ language: String?) -> [String] {
            bench.desk.eligibleAgents(for: incident("x", language: language), at: bench.now, policy: bench.policy).sorted()
        }
        #expect(eligible("de-CH") == ["bea"], "de-CH is served by de-AT: the primary subtag matches")
        #expect(eligible("DE") == ["bea"], "tags compare case-insensitively")
        #expect(eligible("de_CH") == ["bea"])
        #expect(eligible("en-US") == ["ada", "dan"])
        #expect(eligible("es").isEmpty)
        #expect(
            eligible(nil) == ["ada", "bea", "cem", "dan"], "without a language anybody with the product qualifies, even cem who lists none")
        #expect(eligible("") == ["ada", "bea", "cem", "dan"], "an empty tag (proto default) is no language")

        let swiss = bench.open(incident("i1", language: "de-CH"))
        #expect(reason(swiss)?.matchedSkills == ["billing", "de-AT"])
        #expect(reason(swiss)?.candidatesConsidered == 1)
        #expect(bench.holder("i1") == "bea")
        #expect(bench.open(incident("i2", language: "es")) == [.queued(incident: "i2", position: 1)])
    }

    @Test func onlyOnlineAgentsTakeNewWork() {
        var bench = Bench()
        bench.apply(.profile(agent("ada")))
        #expect(bench.desk.presence(of: "ada") == .offline, "agents join offline")
        #expect(bench.open(incident("i1")) == [.queued(incident: "i1", position: 1)])
        #expect(bench.apply(.presence(agent: "ada", .away)).isEmpty, "away takes no new work")
        #expect(bench.queue == ["i1"])
        let decisions = bench.apply(.presence(agent: "ada", .online))
        #expect(decisions.count == 1)
        #expect(reason(decisions)?.cause == "capacity_freed")
        #expect(bench.holder("i1") == "ada")
    }

    @Test func agentsTakeWorkOnlyOnShift() throws {
        var bench = Bench(policy: RoutingPolicy(calendars: ["emea-day": try weekdayShift()]))
        bench.now = instant("2026-03-02T08:00:00Z")  // Monday 08:00 in London
        bench.online(agent("ada", shift: "emea-day"), agent("nora", products: ["api"]))
        #expect(bench.open(incident("i1")) == [.queued(incident: "i1", position: 1)])
        #expect(bench.desk.nextShiftChange(after: bench.now, policy: bench.policy) == instant("2026-03-02T09:00:00Z"))

        bench.now = instant("2026-03-02T09:00:00Z")
        let started = bench.apply(.clock)
        #expect(started.map(\.incident) == ["i1"])
        #expect(reason(started)?.cause == "capacity_freed")
        #expect(bench.desk.nextShiftChange(after: bench.now, policy: bench.policy) == instant("2026-03-02T17:00:00Z"))

        // The shift ends: no new work, but what ada holds stays with her.
        bench.now = instant("2026-03-02T17:00:00Z")
        #expect(bench.apply(.clock).isEmpty)
        #expect(bench.open(incident("i2")) == [.queued(incident: "i2", position: 1)])
        #expect(bench.holder("i1") == "ada")
        #expect(
            bench.desk.nextShiftChange(after: instant("2026-03-06T17:00:00Z"), policy: bench.policy) == instant("2026-03-09T09:00:00Z"),
            "Friday evening: the next change is Monday morning"
        )
    }

    @Test func anAgentWithAnUnknownShiftCalendarIsNeverOnShift() {
        var desk = TeamDesk(team: deskTeam)
        let policy = RoutingPolicy()
        _ = desk.apply(.profile(agent("ada", shift: "emea-nights")), at: monday10, policy: policy)
        _ = desk.apply(.presence(agent: "ada", .online), at: monday10, policy: policy)
        #expect(desk.apply(.opened(incident("i1")), at: monday10, policy: policy) == [.queued(incident: "i1", position: 1)])
        let problems = desk.checkInvariants(policy: policy)
        #expect(problems.count == 1)
        #expect(problems.first?.contains("emea-nights") == true)
        #expect(desk.nextShiftChange(after: monday10, policy: policy) == nil)
    }

    @Test func theIncidentsWeightMustFitTheSpareCapacity() {
        var bench = Bench()
        bench.online(agent("ada", capacity: 4))
        #expect(reason(bench.open(incident("a1", .a)))?.loadAfter == 3)
        #expect(reason(bench.open(incident("c1", .c)))?.loadAfter == 4)
        #expect(bench.open(incident("c2", .c)) == [.queued(incident: "c2", position: 1)])
        #expect(bench.desk.load(of: "ada") == 4)

        var heavy = Bench(policy: RoutingPolicy(severityWeights: [.a: 5]))
        heavy.online(agent("ada", capacity: 4))
        #expect(heavy.open(incident("a1", .a)) == [.queued(incident: "a1", position: 1)], "A weighs 5 here: it never fits")
        #expect(heavy.open(incident("b1", .b)).map(\.incident) == ["b1"], "B keeps its default weight 2")
        #expect(heavy.desk.load(of: "ada") == 2)
        #expect(RoutingPolicy(severityWeights: [.c: 0]).weight(of: .c) == 1, "weights are at least 1")
    }
}

extension Bench {
    var queue: [String] { desk.queue }
}
