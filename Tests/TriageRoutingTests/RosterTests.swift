import Foundation
import Testing
import TriageCore
import TriageRouting

/// The error a roster is refused with, or nil if it loads.
private func rosterError(_ yaml: String) -> RosterError? {
    do {
        _ = try Roster.load(yaml: yaml, file: "roster.yaml")
        return nil
    } catch {
        return error
    }
}

@Suite("Roster files")
struct RosterTests {
    static let example = """
        severity_weights: { A: 4, b: 2 }
        calendars:
          emea-day:
            time_zone: Europe/London
            hours: { monday: ["08:00-16:00"], tuesday: ["08:00-16:00"] }
            holidays: [2026-12-25]
          follow-the-sun: { always_open: true }
        agents:
          - id: ada
            team: tier-1
            products: [billing, api]
            languages: [en, de-CH]
            capacity: 6
            shift: emea-day
            presence: online
          - id: bob
            team: tier-2
            products: billing
            capacity: 2
          - id: cy
            team: tier-1
            products: [mobile]
            capacity: 3
            shift: follow-the-sun
            presence: Away
        """

    @Test func aFullRosterLoads() throws {
        let roster = try Roster.load(yaml: Self.example, file: "roster.yaml")
        #expect(
            roster.agents == [
                Agent(
                    id: "ada", team: "tier-1", skills: ["billing", "api"], languages: ["en", "de-CH"], capacity: 6,
                    shiftCalendar: "emea-day"),
                Agent(id: "bob", team: "tier-2", skills: ["billing"], languages: [], capacity: 2),
                Agent(id: "cy", team: "tier-1", skills: ["mobile"], capacity: 3, shiftCalendar: "follow-the-sun"),
            ]
        )
        #expect(roster.initialPresence == ["ada": .online, "bob": .offline, "cy": .away])
        #expect(roster.policy.severityWeights == [.a: 4, .b: 2, .c: 1])
        #expect(roster.teams == ["tier-1", "tier-2"])
        let shift = try #require(roster.policy.calendars["emea-day"])
        #expect(shift.timeZone.identifier == "Europe/London")
        #expect(shift.isOpen(at: instant("2026-03-02T08:00:00Z")))
        #expect(!shift.isOpen(at: instant("2026-03-02T16:00:00Z")))
        #expect(!shift.isOpen(at: instant("2026-03-04T10:00:00Z")), "Wednesday has no hours")
        #expect(shift.holidays.count == 1)
        #expect(roster.policy.calendars["follow-the-sun"]?.isAlwaysOpen == true)

        // Applying the roster to a desk brings the team's agents in with their presence.
        var desk = TeamDesk(team: "tier-1")
        for input in roster.inputs(team: "tier-1") { _ = desk.apply(input, at: monday10, policy: roster.policy) }
        #expect(desk.agents.map(\.id) == ["ada", "cy"])
        #expect(desk.presence(of: "ada") == .online)
        #expect(desk.presence(of: "cy") == .away)
        #expect(desk.apply(.opened(incident("i1", .a, language: "de")), at: monday10, policy: roster.policy).map(\.incident) == ["i1"])
        #expect(desk.load(of: "ada") == 4, "A weighs 4 in this roster")
        #expect(desk.checkInvariants(policy: roster.policy).isEmpty)
    }

    @Test func anEmptyRosterIsEmpty() throws {
        #expect(try Roster.load(yaml: "", file: "roster.yaml") == Roster(agents: []))
        #expect(try Roster.load(yaml: "# nothing yet\n", file: "roster.yaml").agents.isEmpty)
        #expect(try Roster.load(yaml: "agents: []\n", file: "roster.yaml").policy == RoutingPolicy())
    }

    @Test func errorsReadFileLineColumnKeyMessage() {
        let yaml = """
            agents:
              - id: ada
                team: tier-1
                products: [billing]
                capacity: 0
            """
        #expect(rosterError(yaml)?.description == "roster.yaml:5:15: agents[0].capacity: '0' must be a positive integer (load units)")
        #expect(rosterError(yaml)?.code == .invalidValue)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let yaml: String
        let code: RosterError.Code
        let line: Int?
        let key: String?
        let message: String
        var testDescription: String { name }
    }

    static let agentsHeader = """
        calendars:
          emea-day: { time_zone: Europe/London, hours: { monday: ["08:00-16:00"] } }
        agents:
          - id: ada
            team: tier-1
            products: [billing]
            capacity: 6

        """

    static let cases: [Case] = [
        Case(
            name: "unknown top-level key", yaml: "agent:\n  - id: ada\n", code: .unknownKey, line: 1, key: "agent",
            message: "unknown key 'agent'; did you mean 'agents'?"
        ),
        Case(
            name: "unknown agent key", yaml: agentsHeader + "  - id: bob\n    team: tier-1\n    products: [api]\n    capacty: 3\n",
            code: .unknownKey, line: 11, key: "agents[1].capacty", message: "unknown key 'capacty'; did you mean 'capacity'?"
        ),
        Case(
            name: "capacity not a number", yaml: agentsHeader + "  - id: bob\n    team: tier-1\n    products: [api]\n    capacity: lots\n",
            code: .invalidValue, line: 11, key: "agents[1].capacity", message: "'lots' must be a positive integer (load units)"
        ),
        Case(
            name: "negative capacity", yaml: agentsHeader + "  - id: bob\n    team: tier-1\n    products: [api]\n    capacity: -2\n",
            code: .invalidValue, line: 11, key: "agents[1].capacity", message: "'-2' must be a positive integer (load units)"
        ),
        Case(
            name: "missing capacity", yaml: agentsHeader + "  - id: bob\n    team: tier-1\n    products: [api]\n",
            code: .missingKey, line: 8, key: "agents[1].capacity",
            message: "missing 'capacity': how many load units the agent takes at once (severity A weighs 3 by default)"
        ),
        Case(
            name: "missing id", yaml: agentsHeader + "  - team: tier-1\n    products: [api]\n    capacity: 1\n",
            code: .missingKey, line: 8, key: "agents[1].id", message: "missing 'id': the agent's id, as in agent events"
        ),
        Case(
            name: "duplicate agent id", yaml: agentsHeader + "  - id: ada\n    team: tier-2\n    products: [api]\n    capacity: 1\n",
            code: .duplicate, line: 8, key: "agents[1].id", message: "agent 'ada' is already defined by agents[0]; each id once"
        ),
        Case(
            name: "unknown shift calendar",
            yaml: agentsHeader + "  - id: bob\n    team: tier-1\n    products: [api]\n    capacity: 1\n    shift: emea-days\n",
            code: .unknownReference, line: 12, key: "agents[1].shift",
            message: "shift calendar 'emea-days' is not defined under 'calendars'; did you mean 'emea-day'?"
        ),
        Case(
            name: "shift without calendars", yaml: "agents:\n  - { id: ada, team: t, products: [x], capacity: 1, shift: late }\n",
            code: .unknownReference, line: 2, key: "agents[0].shift",
            message: "shift calendar 'late' is not defined under 'calendars' (the file defines none)"
        ),
        Case(
            name: "bad presence",
            yaml: agentsHeader + "  - id: bob\n    team: tier-1\n    products: [api]\n    capacity: 1\n    presence: busy\n",
            code: .invalidValue, line: 12, key: "agents[1].presence", message: "'busy' is not a presence: write online, away or offline"
        ),
        Case(
            name: "empty products", yaml: agentsHeader + "  - id: bob\n    team: tier-1\n    products: []\n    capacity: 1\n",
            code: .invalidValue, line: 10, key: "agents[1].products",
            message: "an agent with no products is never routed anything; list at least one"
        ),
        Case(
            name: "product listed twice",
            yaml: agentsHeader + "  - id: bob\n    team: tier-1\n    products:\n      - api\n      - api\n    capacity: 1\n",
            code: .invalidValue, line: 12, key: "agents[1].products[1]", message: "'api' is listed twice"
        ),
        Case(
            name: "bad language tag",
            yaml: agentsHeader
                + "  - id: bob\n    team: tier-1\n    products: [api]\n    languages:\n      - en\n      - english!\n    capacity: 1\n",
            code: .invalidValue, line: 13, key: "agents[1].languages[1]",
            message: "'english!' is not a language tag; write a BCP 47 tag such as en, de or pt-BR"
        ),
        Case(
            name: "empty team", yaml: agentsHeader + "  - id: bob\n    team: \"\"\n    products: [api]\n    capacity: 1\n",
            code: .invalidValue, line: 9, key: "agents[1].team", message: "a team name must not be empty"
        ),
        // A team or id the intake would refuse (stop 44's attack: a tab in a team name was accepted).
        Case(
            name: "tab in a team", yaml: agentsHeader + "  - id: bob\n    team: \"tab\\tteam\"\n    products: [api]\n    capacity: 1\n",
            code: .invalidValue, line: 9, key: "agents[1].team",
            message: "a team name must not contain U+0009 (a control or invisible character)"
        ),
        Case(
            name: "bidi override in an id",
            yaml: agentsHeader + "  - id: \"bob\\u202E\"\n    team: tier-1\n    products: [api]\n    capacity: 1\n",
            code: .invalidValue, line: 8, key: "agents[1].id",
            message: "an agent id must not contain U+202E (a control or invisible character)"
        ),
        Case(
            name: "agents not a list", yaml: "agents:\n  ada: { team: t }\n", code: .wrongType, line: 2, key: "agents",
            message: "expected a list of agents, found a mapping"
        ),
        Case(
            name: "an empty agent", yaml: "agents:\n  -\n", code: .wrongType, line: 2, key: "agents[0]",
            message: "expected an agent (id, team, products, capacity, ...), found nothing"
        ),
        Case(
            name: "unknown severity", yaml: "severity_weights:\n  A: 3\n  D: 1\n", code: .unknownKey, line: 3, key: "severity_weights.D",
            message: "unknown severity 'D' (severities are A, B and C)"
        ),
        Case(
            name: "zero weight", yaml: "severity_weights:\n  C: 0\n", code: .invalidValue, line: 2, key: "severity_weights.C",
            message: "'0' must be a positive integer (load units)"
        ),
        // Near Int.max the desk's load + weight overflowed and stopped the process (SIGILL).
        Case(
            name: "huge weight", yaml: "severity_weights:\n  C: 9223372036854775807\n", code: .invalidValue, line: 2,
            key: "severity_weights.C", message: "'9223372036854775807' is more than 1000 (load units)"
        ),
        Case(
            name: "huge capacity",
            yaml: agentsHeader + "  - id: bob\n    team: tier-1\n    products: [api]\n    capacity: 9223372036854775807\n",
            code: .invalidValue, line: 11, key: "agents[1].capacity", message: "'9223372036854775807' is more than 100000 (load units)"
        ),
        Case(
            name: "severity twice", yaml: "severity_weights: { A: 3, a: 4 }\n", code: .invalidValue, line: 1, key: "severity_weights.a",
            message: "severity A is given twice ('A' and 'a')"
        ),
        Case(
            name: "calendar time zone",
            yaml: "calendars:\n  emea-day:\n    time_zone: Europe/Lundon\n    hours: { monday: [\"08:00-16:00\"] }\n",
            code: .invalidValue, line: 3, key: "calendars.emea-day.time_zone",
            message: "unknown time zone 'Europe/Lundon'; did you mean 'Europe/London'?"
        ),
        Case(
            name: "calendar hours deep inside",
            yaml:
                "calendars:\n  emea-day:\n    time_zone: UTC\n    hours:\n      monday:\n        - \"08:00-12:00\"\n        - \"25:00-26:00\"\n",
            code: .invalidValue, line: 7, key: "calendars.emea-day.hours.monday[1]",
            message: "'25:00-26:00': '25:00' is not a time of day (HH:mm)"
        ),
        Case(
            name: "calendar unknown key", yaml: "calendars:\n  emea-day:\n    time_zone: UTC\n    hourz: { monday: [\"08:00-12:00\"] }\n",
            code: .unknownKey, line: 4, key: "calendars.emea-day.hourz", message: "unknown key 'hourz'; did you mean 'hours'?"
        ),
        Case(
            name: "calendar without a time zone", yaml: "calendars:\n  late:\n    hours: { monday: [\"20:00-23:00\"] }\n",
            code: .missingKey, line: 3, key: "calendars.late.time_zone",
            message: "missing 'time_zone': business hours are local times, so name the zone (an IANA id such as America/New_York, or UTC)"
        ),
        Case(
            name: "an empty calendar", yaml: "calendars:\n  late:\n", code: .wrongType, line: 2, key: "calendars.late",
            message: "expected a calendar (time_zone, hours, holidays or always_open), found nothing"
        ),
        Case(
            name: "a key twice", yaml: "agents: []\nagents: []\n", code: .syntax, line: 1, key: "agents",
            message: "key 'agents' appears more than once in the same mapping; keep one"
        ),
        Case(
            name: "a key twice in an agent (flow style)",
            yaml: "agents:\n  - { id: ada, team: tier-1, products: [billing], capacity: 3, capacity: 4 }\n", code: .syntax, line: 2,
            key: "agents[0].capacity", message: "key 'capacity' appears more than once in the same mapping; keep one"
        ),
    ]

    @Test(arguments: cases)
    func eachProblemIsReportedWhereItIs(_ example: Case) throws {
        let error = try #require(rosterError(example.yaml))
        #expect(error.code == example.code, "\(error)")
        #expect(error.line == example.line, "\(error)")
        #expect(error.key == example.key, "\(error)")
        #expect(error.message == example.message, "\(error)")
        #expect(error.file == "roster.yaml")
        #expect(error.description.hasPrefix("roster.yaml:"))
    }

    @Test func syntaxErrorsNameTheLine() throws {
        let error = try #require(rosterError("agents:\n  - id: ada\n    team: [tier-1\n"))
        #expect(error.code == .syntax)
        #expect(error.line != nil)
        #expect(error.message.hasPrefix("invalid YAML"))
    }

    @Test func calendarErrorsPointIntoTheRosterNotIntoACopy() throws {
        // A flow-style calendar far down the file: the position must be the roster's.
        let yaml = """
            agents: []
            calendars:
              first: { time_zone: UTC, always_open: true }
              second: { time_zone: UTC, hours: { monday: ["09:00-17:00"], tuesday: ["09:00-10:00", "09:30-11:00"] } }
            """
        let error = try #require(rosterError(yaml))
        #expect(error.key == "calendars.second.hours.tuesday[1]")
        #expect(error.line == 4)
        #expect(error.column == 88)
        #expect(error.message.contains("overlaps"))
    }

    @Test func mergeKeysShareAgentDefaults() throws {
        let yaml = """
            x-defaults: &defaults
              team: tier-1
              products: [billing]
              capacity: 4
            """
        #expect(rosterError(yaml)?.key == "x-defaults", "unknown keys are refused, even anchors' homes")
        let agents = """
            agents:
              - &ada { id: ada, team: tier-1, products: [billing], capacity: 4 }
              - { <<: *ada, id: bob, capacity: 2 }
            """
        let roster = try Roster.load(yaml: agents, file: "roster.yaml")
        #expect(roster.agents.map(\.id) == ["ada", "bob"])
        #expect(roster.agents.map(\.capacity) == [4, 2])
        #expect(roster.agents[1].skills == ["billing"])
    }
}
