import Foundation
import TriageCore
import TriageRouting
import TriageSLA
import TriageStaffing

/// Monday 2026-03-02 08:00 UTC.
let monday8 = Date(timeIntervalSince1970: 1_772_438_400)

/// SplitMix64, so that property tests are reproducible (as in TriageRoutingTests).
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A 24x7 SLA policy (first response A 2 h, B 4 h, C 8 h of wall-clock time), so that tests
/// need no business calendar.
let roundTheClock: SlaPolicy = {
    var policy = SlaPolicy()
    policy.defaultCalendar = .twentyFourSeven
    return policy
}()

func agent(_ id: String, team: String = "tier-1", products: Set<String> = ["billing"], capacity: Int = 3) -> Agent {
    Agent(id: id, team: team, skills: products, capacity: capacity)
}

/// A roster whose agents are all online.
func roster(_ agents: [Agent], teams: [String: TeamSettings] = [:]) -> Roster {
    Roster(
        agents: agents, policy: RoutingPolicy(teams: teams),
        initialPresence: Dictionary(uniqueKeysWithValues: agents.map { ($0.id, Presence.online) }))
}

/// An incident of a made-up history: opened at `openedAt`, acknowledged `acknowledgedAfter`
/// and closed by its agent `closedAfter` after it is assigned.
struct IncidentSpec {
    var id: String
    var openedAt: Date
    var severity: SupportSeverity = .b
    var product = "billing"
    var team = "tier-1"
    var acknowledgedAfter: TimeInterval = 300
    var closedAfter: TimeInterval = 3_600

    var opening: StaffingFact.Opening {
        StaffingFact.Opening(team: team, severity: severity, product: product, coverage: .twentyFourSeven)
    }
}

/// History as the router would have written it under `roster`: the pure desks driven the way
/// the router drives them (the roster's profiles and presence first, each Opened at its
/// instant, Acknowledged and the close at their instants after the assignment), as lifecycle
/// facts in time order, with the agent and instant of each incident's first assignment.
struct RecordedWindow {
    var facts: [StaffingFact] = []
    var firstAgent: [String: String] = [:]
    var assignedAt: [String: Date] = [:]

    init(roster: Roster, incidents: [IncidentSpec]) {
        var policy = roster.policy
        policy.closedIncidentMemory = 0
        var desks: [String: TeamDesk] = [:]
        let start = incidents.map(\.openedAt).min() ?? monday8
        for team in roster.teams {
            var desk = TeamDesk(team: team)
            for input in roster.inputs(team: team) { _ = desk.apply(input, at: start, policy: policy) }
            desks[team] = desk
        }
        // (instant, order, what): openings, then acknowledgements and closes as they fall due.
        var agenda: [(at: Date, order: Int, incident: IncidentSpec, kind: Int)] = incidents.enumerated().map {
            ($0.element.openedAt, $0.offset, $0.element, 0)
        }
        var order = incidents.count
        while !agenda.isEmpty {
            agenda.sort { ($0.at, $0.order) < ($1.at, $1.order) }
            let next = agenda.removeFirst()
            let spec = next.incident
            let input: RoutingInput
            switch next.kind {
            case 0:
                facts.append(StaffingFact(incident: spec.id, at: next.at, kind: .opened(spec.opening)))
                input = .opened(
                    RoutingIncident(id: spec.id, team: spec.team, severity: spec.severity, product: spec.product, openedAt: next.at))
            case 1:
                facts.append(StaffingFact(incident: spec.id, at: next.at, kind: .acknowledged))
                input = .acknowledged(incident: spec.id)
            default:
                facts.append(StaffingFact(incident: spec.id, at: next.at, kind: .closedByAgent))
                input = .released(incident: spec.id)
            }
            let decisions = desks[spec.team, default: TeamDesk(team: spec.team)].apply(input, at: next.at, policy: policy)
            for case .assigned(let id, let agent, _) in decisions where firstAgent[id] == nil {
                firstAgent[id] = agent
                assignedAt[id] = next.at
                facts.append(StaffingFact(incident: id, at: next.at, kind: .assigned))
                let assigned = incidents.first { $0.id == id }!
                agenda.append((next.at.addingTimeInterval(assigned.acknowledgedAfter), order, assigned, 1))
                agenda.append((next.at.addingTimeInterval(assigned.closedAfter), order + 1, assigned, 2))
                order += 2
            }
        }
    }
}

/// Replays `facts` under both rosters, every incident listed.
func replay(
    _ facts: [StaffingFact], baseline: Roster, candidate: Roster, sla: SlaPolicy = roundTheClock, until end: Date
) -> StaffingComparison {
    var replay = StaffingReplay(
        baseline: baseline, candidate: candidate, sla: sla, configuration: .init(defaultTeam: "tier-1", listsEveryIncident: true))
    for fact in facts { replay.add(fact) }
    return replay.finish(at: end)
}

/// A random window: `count` incidents over a few hours, of `products`, with handling durations
/// from minutes to hours. Instants are random to the millisecond, so that no two inputs fall on
/// the same instant (where the order of equal instants would decide).
func randomIncidents(
    count: Int, products: [String] = ["billing", "api"], severities: [SupportSeverity] = SupportSeverity.allCases,
    using generator: inout SeededGenerator
) -> [IncidentSpec] {
    var at = monday8
    func milliseconds(_ range: ClosedRange<Int>) -> TimeInterval { Double(Int.random(in: range, using: &generator)) / 1_000 }
    return (0..<count).map { index in
        at = at.addingTimeInterval(milliseconds(0...900_000))
        let acknowledged = milliseconds(0...1_800_000)
        return IncidentSpec(
            id: "inc-\(index)", openedAt: at, severity: severities.randomElement(using: &generator)!,
            product: products.randomElement(using: &generator)!, acknowledgedAfter: acknowledged,
            closedAfter: acknowledged + milliseconds(60_000...14_400_000))
    }
}

/// A random team of agents of the two products (or of one product only).
func randomAgents(
    count: Int, prefix: String, products: [Set<String>] = [["billing"], ["api"], ["billing", "api"]], using generator: inout SeededGenerator
) -> [Agent] {
    (0..<count).map { index in
        agent("\(prefix)\(index)", products: products.randomElement(using: &generator)!, capacity: Int.random(in: 2...6, using: &generator))
    }
}
