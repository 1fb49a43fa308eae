import Foundation
import Testing
import TriageCore
import TriageRouting

// Shared by the routing tests: instants, agents and incidents with defaults, and a desk that
// checks its invariants after every input.

let deskTeam = "tier-1"
let london = TimeZone(identifier: "Europe/London")!

func instant(_ text: String) -> Date {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.date(from: text)!
}

/// Monday 2 March 2026, 10:00 UTC (London is on GMT then).
let monday10 = instant("2026-03-02T10:00:00Z")

func agent(
    _ id: String, products: Set<String> = ["billing"], languages: Set<String> = ["en"], capacity: Int = 6, shift: String? = nil,
    team: String = deskTeam
) -> Agent {
    Agent(id: id, team: team, skills: products, languages: languages, capacity: capacity, shiftCalendar: shift)
}

func incident(
    _ id: String, _ severity: SupportSeverity = .c, product: String = "billing", language: String? = nil, openedAt: Date = monday10,
    team: String = deskTeam
) -> RoutingIncident {
    RoutingIncident(id: id, team: team, severity: severity, product: product, language: language, openedAt: openedAt)
}

/// Monday to Friday 09:00–17:00 London time.
func weekdayShift() throws -> BusinessCalendar {
    let day = try BusinessCalendar.DailyInterval("09:00", "17:00")
    return try BusinessCalendar(timeZone: london, weekly: [2: [day], 3: [day], 4: [day], 5: [day], 6: [day]])
}

/// SplitMix64, so that property tests are reproducible (as in TriageSLATests).
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

/// A desk under test: applies inputs at `now` and expects the invariants to hold after each.
struct Bench {
    var desk = TeamDesk(team: deskTeam)
    var policy = RoutingPolicy()
    var now = monday10

    init(policy: RoutingPolicy = RoutingPolicy()) {
        self.policy = policy
    }

    @discardableResult
    mutating func apply(_ input: RoutingInput, sourceLocation: SourceLocation = #_sourceLocation) -> [RoutingDecision] {
        let decisions = desk.apply(input, at: now, policy: policy)
        let problems = desk.checkInvariants(policy: policy)
        #expect(problems.isEmpty, "after \(input): \(problems)", sourceLocation: sourceLocation)
        return decisions
    }

    /// Agents join and come online.
    mutating func online(_ agents: Agent...) {
        for agent in agents {
            apply(.profile(agent))
            apply(.presence(agent: agent.id, .online))
        }
    }

    /// Opens an incident, advancing the clock a second first so openings are ordered.
    @discardableResult
    mutating func open(_ incident: RoutingIncident) -> [RoutingDecision] {
        now += 1
        return apply(.opened(incident))
    }

    /// The agent the incident was just assigned to (nil when it was not).
    func holder(_ incident: String) -> String? { desk.assignments[incident] }
}

/// The reason of the first Assigned or Reassigned decision.
func reason(_ decisions: [RoutingDecision]) -> AssignmentReason? {
    for decision in decisions {
        switch decision {
        case .assigned(_, _, let reason), .reassigned(_, _, _, let reason): return reason
        default: continue
        }
    }
    return nil
}
