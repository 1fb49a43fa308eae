import Foundation
import Testing
import TriageCore
import TriageRouting

@Suite("Routing: repeated and stray inputs")
struct IdempotencyTests {
    /// ada and bob online; i1 with ada (acknowledged), i2 with bob, q1 queued.
    static func busyBench() -> Bench {
        var bench = Bench()
        bench.online(agent("ada"), agent("bob"))
        bench.open(incident("i1"))
        bench.open(incident("i2"))
        bench.apply(.acknowledged(incident: "i1"))
        bench.open(incident("q1", product: "mobile"))
        return bench
    }

    static let repeatable: [RoutingInput] = [
        .opened(incident("i3")),
        .opened(incident("q2", product: "mobile")),
        .acknowledged(incident: "i2"),
        .severityChanged(incident: "i2", to: .a),
        .severityChanged(incident: "q1", to: .a),
        .released(incident: "i1"),
        .released(incident: "q1"),
        .reopened(incident("r1")),
        .profile(agent("ada", capacity: 9)),
        .profile(agent("cy")),
        .removed(agent: "bob"),
        .presence(agent: "bob", .offline),
        .presence(agent: "ada", .away),
        .clock,
    ]

    @Test(arguments: repeatable)
    func applyingAnInputTwiceChangesNothingTheSecondTime(_ input: RoutingInput) {
        var bench = Self.busyBench()
        bench.apply(input)
        let once = bench.desk
        #expect(bench.apply(input).isEmpty, "\(input)")
        #expect(bench.desk == once, "\(input)")
    }

    @Test func anOpenedRepeatedAfterTheReleaseIsIgnoredButAReopenedReopens() {
        var bench = Self.busyBench()
        bench.apply(.released(incident: "i2"))
        #expect(bench.apply(.opened(incident("i2"))).isEmpty)
        #expect(bench.desk.incident("i2") == nil)
        let reopened = bench.apply(.reopened(incident("i2", .b)))
        #expect(reopened.map(\.incident) == ["i2"])
        #expect(reason(reopened)?.cause == "initial")
        #expect(bench.desk.incident("i2")?.severity == .b)
        #expect(bench.apply(.reopened(incident("i2", .b))).isEmpty, "already open")
        #expect(bench.apply(.opened(incident("i2"))).isEmpty, "already open")
    }

    @Test func releasedIncidentsAreForgottenAfterTheMemory() {
        var bench = Bench(policy: RoutingPolicy(closedIncidentMemory: 3_600))
        bench.online(agent("ada"))
        bench.open(incident("i1"))
        bench.apply(.released(incident: "i1"))
        bench.now += 1_800
        #expect(bench.apply(.opened(incident("i1"))).isEmpty, "still remembered")
        bench.now += 3_600
        bench.apply(.clock)
        #expect(bench.apply(.opened(incident("i1"))).map(\.incident) == ["i1"], "forgotten: a new incident with an old id")
    }

    @Test func inputsAboutOtherTeamsOrUnknownThingsAreIgnored() {
        var bench = Self.busyBench()
        let before = bench.desk
        let stray: [RoutingInput] = [
            .opened(incident("x1", team: "tier-2")),
            .reopened(incident("x2", team: "tier-2")),
            .acknowledged(incident: "nope"),
            .acknowledged(incident: "q1"),
            .severityChanged(incident: "nope", to: .a),
            .severityChanged(incident: "i1", to: .c),
            .released(incident: "nope"),
            .reassignRequested(incident: "nope", cause: "requested"),
            .profile(agent("zed", team: "tier-2")),
            .removed(agent: "zed"),
            .presence(agent: "zed", .online),
            .presence(agent: "ada", .online),
            .clock,
        ]
        for input in stray {
            #expect(bench.apply(input).isEmpty, "\(input)")
        }
        #expect(bench.desk == before)
        #expect(!bench.desk.isAcknowledged("q1"), "a queued incident has nobody to acknowledge it")
    }
}
