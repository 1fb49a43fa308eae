import Foundation
import Testing
import TriageCore
import TriageRouting

private func handingOff(to team: String = "americas") throws -> RoutingPolicy {
    RoutingPolicy(calendars: ["emea-day": try weekdayShift()], teams: [deskTeam: TeamSettings(followTheSun: .init(to: team))])
}

/// Monday 2 March 2026, 17:00 London (GMT): the weekday shift ends.
private let shiftEnd = instant("2026-03-02T17:00:00Z")

@Suite("Routing: follow-the-sun")
struct FollowTheSunTests {
    @Test func acknowledgedIncidentsOfAnAgentGoingOffShiftMoveTheOthersStay() throws {
        var bench = Bench(policy: try handingOff())
        bench.online(agent("ada", shift: "emea-day"))
        bench.open(incident("i1"))
        bench.open(incident("i2"))
        bench.apply(.acknowledged(incident: "i1"))
        #expect(bench.holder("i1") == "ada" && bench.holder("i2") == "ada")
        #expect(bench.desk.nextShiftChange(after: bench.now, policy: bench.policy) == shiftEnd)
        bench.now = shiftEnd
        let decisions = bench.apply(.clock)
        #expect(
            decisions == [
                .teamChanged(
                    incident: "i1", from: deskTeam, to: "americas", cause: TeamChangeCause.followTheSun,
                    detail: "ada's shift (emea-day) ended at 2026-03-02T17:00:00Z; acknowledged incidents go to americas")
            ])
        #expect(bench.desk.incident("i1") == nil)
        #expect(bench.holder("i2") == "ada", "unacknowledged: kept, as when any shift ends")
        #expect(bench.desk.load(of: "ada") == 1)
        bench.now += 3_600
        #expect(bench.apply(.clock).isEmpty, "once per shift end")
    }

    @Test func offByDefault() throws {
        var bench = Bench(policy: RoutingPolicy(calendars: ["emea-day": try weekdayShift()]))
        bench.online(agent("ada", shift: "emea-day"))
        bench.open(incident("i1"))
        bench.apply(.acknowledged(incident: "i1"))
        bench.now = shiftEnd
        #expect(bench.apply(.clock).isEmpty)
        #expect(bench.holder("i1") == "ada")
    }

    /// Random agents (with and without the shift), incidents and acknowledgements: at the
    /// shift end exactly the acknowledged incidents of agents whose shift ended move.
    @Test(arguments: [3, 8, 21, 404, 2026])
    func onlyAcknowledgedIncidentsOfAgentsGoingOffShiftMove(seed: UInt64) throws {
        var generator = SeededGenerator(state: seed)
        var bench = Bench(policy: try handingOff())
        var shifted: Set<String> = []
        for number in 0..<Int.random(in: 2...8, using: &generator) {
            let onShift = Bool.random(using: &generator)
            if onShift { shifted.insert("a\(number)") }
            bench.online(agent("a\(number)", capacity: 4, shift: onShift ? "emea-day" : nil))
        }
        var acknowledged: Set<String> = []
        for number in 0..<Int.random(in: 5...40, using: &generator) {
            bench.open(incident("i\(number)"))
            if bench.holder("i\(number)") != nil, Bool.random(using: &generator) {
                bench.apply(.acknowledged(incident: "i\(number)"))
                acknowledged.insert("i\(number)")
            }
        }
        let holders = bench.desk.assignments
        let expected = Set(holders.filter { shifted.contains($0.value) && acknowledged.contains($0.key) }.keys)
        bench.now = shiftEnd
        let decisions = bench.apply(.clock)
        var moved: Set<String> = []
        for decision in decisions {
            if case .teamChanged(let incident, _, "americas", TeamChangeCause.followTheSun, _) = decision { moved.insert(incident) }
        }
        #expect(moved == expected)
        for (incident, holder) in holders where !expected.contains(incident) {
            #expect(bench.desk.assignments[incident] == holder)
            #expect(bench.desk.incident(incident) != nil, "\(incident) stays on the desk")
        }
        for incident in expected { #expect(bench.desk.incident(incident) == nil) }
    }

    @Test func aDeskSnapshotKeepsWhoWasOnShift() throws {
        var bench = Bench(policy: try handingOff())
        bench.online(agent("ada", shift: "emea-day"))
        bench.open(incident("i1"))
        bench.apply(.acknowledged(incident: "i1"))
        var writer = DeskJSONWriter()
        bench.desk.writeJSON(into: &writer)
        var restored = bench
        restored.desk = try JSONDecoder().decode(TeamDesk.self, from: Data(writer.bytes))
        #expect(restored.desk == bench.desk)
        restored.now = shiftEnd
        #expect(restored.apply(.clock).count == 1, "the restored desk still sees the shift end")
    }
}
