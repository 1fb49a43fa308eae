import Foundation
import Testing
import TriageDevTools
import TriageOnCall
import TriageRouting
import TriageSLA

/// `triage dev`'s demo configuration loads, and exercises what issue 23 added.
@Suite("triage dev's demo configuration")
struct DevDemoTests {
    @Test func thePolicyHasUpdateTargetsAndPagesTheOnCallOfTier2() {
        let policy = DevDemo.slaPolicy
        let targets = policy.targets(for: .a, coverage: .twentyFourSeven)
        #expect(targets.minutes(for: .update) == 60.0)
        #expect(targets.minutes(for: .resolution) == 1440.0, "severity A's default resolution target")
        #expect(policy.escalation.last?.notify == ["oncall:tier-2"])
    }

    @Test func theRosterHasTwoTeamsWithEveryTeamSetting() {
        let roster = DevDemo.roster
        #expect(roster.teams == ["tier-1", "tier-2"])
        #expect(roster.agents.filter { $0.shiftCalendar == "dev-day" }.count == 4)
        #expect(roster.rosterYAMLMentions(["queue_alert", "overflow", "follow_the_sun", "round_robin"]))
    }

    @Test func someoneOfTier2IsOnCallAtAnyTimeAfterTheStart() {
        let schedule = DevDemo.onCall
        for days in stride(from: 0.0, to: 400, by: 3.5) {
            let at = Date(timeIntervalSince1970: 1_767_607_200 + days * 86_400)  // from 2026-01-05 10:00 UTC
            #expect(schedule.recipient(for: "oncall:tier-2", at: at)?.hasPrefix("agent:agent-1") == true)
        }
    }

    @Test func theMaintenanceWindowsHoldAcct1ForTwoMinutesAndDropAcct2() {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let windows = DevDemo.maintenanceWindows(from: start)
        #expect(windows.map(\.name) == ["dev-acct-1-upgrade", "dev-acct-2-freeze"])
        #expect(windows[0].end.timeIntervalSince(start) == 120 && windows[1].action == .suppress)
        #expect(DevDemo.maintenanceWindowsYAML(from: start).contains("customers: [acct-2]\n    action: suppress"))
    }
}

extension Roster {
    fileprivate func rosterYAMLMentions(_ keys: [String]) -> Bool { keys.allSatisfy { DevDemo.rosterYAML.contains($0) } }
}
