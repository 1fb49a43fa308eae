import Foundation
import Testing
import TriageRouting

@Suite("config/roster.example.yaml")
struct RosterExampleTests {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config/roster.example.yaml").path

    @Test func theShippedExampleLoadsAndUsesEveryKey() throws {
        let roster = try Roster.load(yaml: String(contentsOfFile: Self.path, encoding: .utf8), file: Self.path)
        #expect(roster.agents.map(\.id) == ["ada", "grace", "linus"])
        #expect(roster.teams == ["tier-1", "tier-2"])
        #expect(Set(roster.policy.calendars.keys) == ["emea-day", "americas-day"])
        #expect(roster.policy.severityWeights[.a] == 3)
        let ada = try #require(roster.agents.first)
        #expect(ada.skills == ["billing", "api"] && ada.languages == ["en", "de"] && ada.capacity == 6 && ada.shiftCalendar == "emea-day")
        #expect(roster.initialPresence["linus"] == .away && roster.agents.last?.shiftCalendar == nil)
        #expect(roster.notices == NoticeSettings(agents: true, customers: true))
        let tier1 = roster.policy.settings(for: "tier-1")
        #expect(tier1.choice == .roundRobin && tier1.queueAlert?.after == 1_800 && tier1.queueAlert?.notify == ["team-lead"])
        #expect(tier1.overflow == TeamSettings.Overflow(to: "tier-2", after: [.a: 600, .b: 1_800]))
        #expect(tier1.followTheSun?.to == "tier-2")
        #expect(roster.policy.settings(for: "tier-2") == TeamSettings())
    }
}
