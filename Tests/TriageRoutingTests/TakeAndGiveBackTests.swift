import Testing
import TriageCore
import TriageRouting

/// What a person asks of the desk through a staff tool: an agent takes a waiting incident
/// ("take next"), a lead gives an incident to a named agent, an agent gives one back.
@Suite struct TakeAndGiveBackTests {
    /// ada is away (takes no pushed work) with room; the queue holds work nobody online can take.
    func awayAdaWithAQueue() -> Bench {
        var bench = Bench()
        bench.online(agent("ada", products: ["billing", "ledger"]))
        bench.apply(.presence(agent: "ada", .away))
        bench.open(incident("c1", product: "ledger"))
        bench.open(incident("a1", .a))
        bench.open(incident("c2"))
        return bench
    }

    @Test func takeNextIsTheFirstWaitingIncidentInServiceOrderTheAgentQualifiesFor() {
        var bench = awayAdaWithAQueue()
        #expect(bench.queue == ["a1", "c1", "c2"])
        #expect(bench.desk.nextTakeable(by: "ada", policy: bench.policy) == "a1", "severity A first")
        bench.online(agent("bob", products: ["ledger"], capacity: 1))  // takes c1 at once
        #expect(bench.queue == ["a1", "c2"])
        bench.apply(.presence(agent: "bob", .away))
        bench.open(incident("c3", product: "ledger"))
        #expect(bench.desk.nextTakeable(by: "bob", policy: bench.policy) == nil, "bob is full and has no billing")
        #expect(bench.desk.nextTakeable(by: "nobody", policy: bench.policy) == nil)

        var heavy = Bench()
        heavy.online(agent("cy", capacity: 2))
        heavy.apply(.presence(agent: "cy", .away))
        heavy.open(incident("a1", .a))
        heavy.open(incident("c1"))
        #expect(heavy.desk.nextTakeable(by: "cy", policy: heavy.policy) == "c1", "a1 weighs 3 and does not fit a capacity of 2")
    }

    @Test func anAwayAgentTakesAWaitingIncidentOnceAndTheFirstOfTwoTakersWins() throws {
        var bench = awayAdaWithAQueue()
        let decisions = bench.apply(.assignRequested(incident: "a1", agent: "ada", onlyIfWaiting: true))
        #expect(decisions.count == 1)
        guard case .assigned("a1", "ada", let reason) = decisions.first else {
            Issue.record("expected a1 assigned to ada, got \(decisions)")
            return
        }
        #expect(reason.cause == "taken" && reason.candidatesConsidered == 1 && reason.loadBefore == 0 && reason.loadAfter == 3)
        #expect(bench.queue == ["c1", "c2"])
        #expect(bench.apply(.assignRequested(incident: "a1", agent: "ada", onlyIfWaiting: true)).isEmpty, "a repeat changes nothing")

        bench.online(agent("bob", products: ["other"]))
        bench.apply(.presence(agent: "bob", .away))
        bench.apply(.profile(agent("bob")))  // bob now has billing, still away
        #expect(
            bench.apply(.assignRequested(incident: "a1", agent: "bob", onlyIfWaiting: true)).isEmpty, "ada holds it: bob cannot take it")
        #expect(bench.holder("a1") == "ada")
    }

    @Test func takingNeedsTheProductTheLanguageAndRoom() {
        var bench = Bench()
        bench.online(agent("ada", capacity: 2))
        bench.apply(.presence(agent: "ada", .away))
        bench.open(incident("ledger", product: "ledger"))
        bench.open(incident("german", language: "de-AT"))
        bench.open(incident("heavy", .a))
        for id in ["ledger", "german", "heavy", "unknown"] {
            #expect(bench.apply(.assignRequested(incident: id, agent: "ada", onlyIfWaiting: true)).isEmpty, "\(id)")
        }
        #expect(bench.apply(.assignRequested(incident: "german", agent: "nobody", onlyIfWaiting: true)).isEmpty)
        #expect(bench.queue.count == 3)
    }

    @Test func aLeadGivesAHeldIncidentToANamedAgentWhateverTheirPresence() throws {
        var bench = Bench()
        bench.online(agent("ada"), agent("bob"))
        bench.open(incident("i1"))
        let holder = try #require(bench.holder("i1"))
        let other = holder == "ada" ? "bob" : "ada"
        bench.apply(.presence(agent: other, .offline))
        let decisions = bench.apply(.assignRequested(incident: "i1", agent: other, onlyIfWaiting: false))
        guard case .reassigned("i1", holder, other, let reason) = decisions.first, decisions.count == 1 else {
            Issue.record("expected i1 moved from \(holder) to \(other), got \(decisions)")
            return
        }
        #expect(reason.cause == "requested" && reason.candidatesConsidered == 1)
        #expect(bench.apply(.assignRequested(incident: "i1", agent: other, onlyIfWaiting: false)).isEmpty, "already theirs")
        bench.online(agent("cy", capacity: 0))
        #expect(bench.apply(.assignRequested(incident: "i1", agent: "cy", onlyIfWaiting: false)).isEmpty, "no room")
        #expect(bench.holder("i1") == other)
    }

    @Test func aLeadGivesAWaitingIncidentToANamedAgent() {
        var bench = awayAdaWithAQueue()
        let decisions = bench.apply(.assignRequested(incident: "c2", agent: "ada", onlyIfWaiting: false))
        guard case .assigned("c2", "ada", let reason) = decisions.first, decisions.count == 1 else {
            Issue.record("expected c2 assigned to ada, got \(decisions)")
            return
        }
        #expect(reason.cause == "requested")
        #expect(bench.queue == ["a1", "c1"])
    }

    @Test func givenBackItGoesToAnotherEligibleAgent() {
        var bench = Bench()
        bench.online(agent("ada"), agent("bob"))
        bench.open(incident("i1"))
        let holder = bench.holder("i1")!
        let decisions = bench.apply(.returnRequested(incident: "i1"))
        guard case .reassigned("i1", holder, let to, let reason) = decisions.first, decisions.count == 1 else {
            Issue.record("expected i1 moved on from \(holder), got \(decisions)")
            return
        }
        #expect(to != holder && reason.cause == "returned")
    }

    @Test func givenBackWithNobodyElseItWaitsUntilTheNextInputWithoutThatAgent() {
        var bench = Bench()
        bench.online(agent("ada"))
        bench.open(incident("i1"))
        bench.open(incident("i2"))
        bench.apply(.acknowledged(incident: "i1"))
        let decisions = bench.apply(.returnRequested(incident: "i1"))
        #expect(decisions == [.unassigned(incident: "i1", from: "ada", cause: "returned"), .queued(incident: "i1", position: 1)])
        #expect(bench.queue == ["i1"])
        #expect(!bench.desk.isAcknowledged("i1"))
        // The next input places it by the usual rules: ada is the only one, so it comes back to her.
        let later = bench.apply(.clock)
        #expect(later.map(\.incident) == ["i1"])
        #expect(bench.holder("i1") == "ada" && reason(later)?.cause == "capacity_freed")
        #expect(!bench.desk.isAcknowledged("i1"), "she has to acknowledge it again")
    }
}
