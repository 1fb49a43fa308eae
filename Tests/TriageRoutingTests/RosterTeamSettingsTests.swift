import Foundation
import Testing
import TriageCore
import TriageRouting

private func rosterError(_ yaml: String) -> RosterError? {
    do {
        _ = try Roster.load(yaml: yaml, file: "roster.yaml")
        return nil
    } catch {
        return error
    }
}

@Suite("Roster files: notifications and team settings")
struct RosterTeamSettingsTests {
    @Test func everyTeamKeyLoads() throws {
        let roster = try Roster.load(
            yaml: """
                notifications: { agents: false, customers: yes }
                teams:
                  tier-1:
                    routing: round_robin
                    queue_alert: { after: 30m, notify: [team-lead, "agent:lee"] }
                    overflow: { to: tier-2, after: { A: 10m, b: 1h30m } }
                    follow_the_sun: { to: americas }
                  tier-2:
                    routing: least_loaded
                  quiet:
                """, file: "roster.yaml")
        #expect(roster.notices == NoticeSettings(agents: false, customers: true))
        #expect(
            roster.policy.teams["tier-1"]
                == TeamSettings(
                    choice: .roundRobin, queueAlert: .init(after: 1_800, notify: ["team-lead", "agent:lee"]),
                    overflow: .init(to: "tier-2", after: [.a: 600, .b: 5_400]), followTheSun: .init(to: "americas")))
        #expect(roster.policy.teams["tier-2"] == TeamSettings())
        #expect(roster.policy.teams["quiet"] == TeamSettings())
        #expect(roster.policy.settings(for: "unnamed") == TeamSettings())
    }

    @Test func overflowChainsThatEndAndFollowTheSunLoopsAreAccepted() throws {
        let roster = try Roster.load(
            yaml: """
                teams:
                  a: { overflow: { to: b, after: { A: 1m } }, follow_the_sun: { to: b } }
                  b: { overflow: { to: c, after: { A: 1m } }, follow_the_sun: { to: a } }
                """, file: "roster.yaml")
        #expect(roster.policy.teams["b"]?.overflow?.to == "c" && roster.policy.teams["b"]?.followTheSun?.to == "a")
    }

    @Test func defaultsWithoutTheSections() throws {
        let roster = try Roster.load(yaml: "agents: []", file: "roster.yaml")
        #expect(roster.notices == NoticeSettings(agents: true, customers: true))
        #expect(roster.policy.teams.isEmpty)
    }

    @Test(arguments: [
        (
            "teams: { t: { routing: fastest } }",
            "roster.yaml:1:24: teams.t.routing: 'fastest' is not a routing choice: write round_robin or least_loaded"
        ),
        (
            "teams: { t: { overflow: { to: t, after: { A: 10m } } } }",
            "roster.yaml:1:31: teams.t.overflow.to: an overflow must go to another team, not 't' itself"
        ),
        (
            "teams: { t: { overflow: { to: u, after: { D: 10m } } } }",
            "roster.yaml:1:43: teams.t.overflow.after.D: unknown severity 'D' (severities are A, B and C)"
        ),
        (
            "teams: { t: { queue_alert: { after: soon, notify: [x] } } }",
            "roster.yaml:1:37: teams.t.queue_alert.after: 'soon' is not a duration: write whole hours, minutes or seconds such as 30m, 2h or 1h30m"
        ),
        (
            "teams: { t: { queue_alert: { after: 0m, notify: [x] } } }",
            "roster.yaml:1:37: teams.t.queue_alert.after: '0m': must be more than zero"
        ),
        (
            "teams: { t: { follow_the_sun: { to: t } } }",
            "roster.yaml:1:37: teams.t.follow_the_sun.to: follow-the-sun must hand off to another team, not 't' itself"
        ),
        ("notifications: { agents: maybe }", "roster.yaml:1:26: notifications.agents: 'maybe' is not true or false"),
        (
            "teams:\n  a: { overflow: { to: b, after: { A: 1m } } }\n  b: { overflow: { to: c, after: { A: 1m } } }\n  c: { overflow: { to: a, after: { B: 1m } } }",
            "roster.yaml:2:3: teams.a.overflow.to: overflow goes round in a loop (a → b → c → a): incidents would bounce between the queues; end the chain at a team without overflow"
        ),
    ])
    func mistakesAreRefusedWithWhereAndWhy(yaml: String, message: String) throws {
        let error = try #require(rosterError(yaml))
        #expect(error.description == message)
    }

    @Test func unknownKeysAreRefused() throws {
        let error = try #require(rosterError("teams: { t: { overflow: { to: u, after: { A: 1m }, again: true } } }"))
        #expect(error.key == "teams.t.overflow.again")
        let top = try #require(rosterError("notifications: { leads: true }"))
        #expect(top.key == "notifications.leads")
    }
}
