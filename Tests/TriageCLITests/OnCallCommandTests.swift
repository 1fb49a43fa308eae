import Foundation
import Testing
import TriageKafkaTesting

@Suite("triage oncall show")
struct OnCallCommandTests {
    @Test func theExamplesOfItsHelpRunAndNameWhoIsOnCall() async throws {
        let (status, output, errors) = try await triage([
            "oncall", "show", "--rotations", "config/oncall.example.yaml", "--team", "tier-2", "--at", "2026-12-25T12:00:00Z", "--next",
            "2",
        ])
        #expect(status == 0, "\(errors)")
        #expect(output.hasPrefix("tier-2 at 2026-12-25T12:00:00Z: grace (override: Christmas swap)"), "\(output)")
        #expect(output.contains("(2026-12-27T09:00:00Z) → linus (rotation, week 4)"), "\(output)")
        let (jsonStatus, json, jsonErrors) = try await triage([
            "oncall", "show", "--rotations", "config/oncall.example.yaml", "--team", "tier-2", "--at", "2026-12-07T09:00:00Z",
            "--format", "json",
        ])
        #expect(jsonStatus == 0, "\(jsonErrors)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect((object["on_call"] as? [String: Any])?["person"] as? String == "ada")
        #expect(object["time_zone"] as? String == "Europe/London")
    }

    @Test func nobodyOnCallAnUnknownTeamAndABadFileExitOne() async throws {
        let (before, output, _) = try await triage([
            "oncall", "show", "--rotations", "config/oncall.example.yaml", "--team", "tier-2", "--at", "2026-11-01T00:00:00Z",
        ])
        #expect(before == 1 && output.contains("nobody is on call (the rotation starts"), "\(output)")
        let (unknown, _, errors) = try await triage(["oncall", "show", "--rotations", "config/oncall.example.yaml", "--team", "tier-9"])
        #expect(unknown == 1 && errors.contains("team 'tier-9' has no rotation in config/oncall.example.yaml (it has: tier-1, tier-2)"))
        let file = try temporaryFile(
            "rotations:\n  t: { time_zone: UTC, start: 2026-11-30, hand_off: '25:00', people: [a] }\n", suffix: ".yaml")
        let (bad, _, badErrors) = try await triage(["oncall", "show", "--rotations", file])
        #expect(bad == 1 && badErrors.contains(":2:53: rotations.t.hand_off: '25:00' is not a time of day"), "\(badErrors)")
        let (usage, _, usageErrors) = try await triage(["oncall", "show", "--rotations", file, "--at", "yesterday"])
        #expect(usage == 64 && usageErrors.contains("--at 'yesterday' is not an RFC 3339 instant"), "\(usageErrors)")
    }

    @Test func theEscalatorRefusesAPolicyPagingAnOnCallItCannotResolve() async throws {
        let policy = try temporaryFile("escalation:\n  - { level: 1, after: 0m, notify: [\"oncall:tier-2\"] }\n", suffix: ".yaml")
        let (missing, _, missingErrors) = try await triage(["escalator", "--policy", policy, "--bootstrap", "127.0.0.1:1"])
        #expect(
            missing == 1 && missingErrors.contains("the SLA policy notifies oncall:tier-2: give the rotations with --oncall"),
            "\(missingErrors)")
        let other = try temporaryFile(
            "rotations:\n  tier-1: { time_zone: UTC, start: 2026-11-30, hand_off: '09:00', people: [a] }\n", suffix: ".yaml")
        let (unknown, _, unknownErrors) = try await triage([
            "escalator", "--policy", policy, "--oncall", other, "--bootstrap", "127.0.0.1:1",
        ])
        #expect(unknown == 1 && unknownErrors.contains("has no rotation for team 'tier-2' (it has: tier-1)"), "\(unknownErrors)")
        // Outside attack: `oncall:` without a team was accepted.
        let empty = try temporaryFile("escalation:\n  - { level: 1, after: 0m, notify: [\"oncall:\"] }\n", suffix: ".yaml")
        let (nameless, _, namelessErrors) = try await triage([
            "escalator", "--policy", empty, "--oncall", other, "--bootstrap", "127.0.0.1:1",
        ])
        #expect(nameless == 1 && namelessErrors.contains("which names no team"), "\(namelessErrors)")
    }
}
