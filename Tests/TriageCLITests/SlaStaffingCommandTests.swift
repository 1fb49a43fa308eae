import Foundation
import Testing

/// Lifecycle events as `triage tail` writes them: ada holds INC-1 (severity A, 24x7) for four
/// hours, so INC-2 (severity A) waits for her and is answered ten minutes after she gets it.
private func event(_ id: String, _ incident: String, _ at: String, _ body: String) -> String {
    #"{"topic":"triage.incident-events","partition":0,"offset":0,"eventId":"\#(id)","incidentId":"\#(incident)","occurredAt":"\#(at)","producer":"test",\#(body)}"#
}

private let opened =
    #""opened":{"customerAccount":"acme","product":"billing","severity":"SEVERITY_A","coverage":"COVERAGE_24X7","team":"tier-1","title":"t"}"#

private let eventLines = [
    event("e1", "INC-1", "2026-03-02T08:00:00Z", opened),
    event("e2", "INC-1", "2026-03-02T08:00:00Z", #""assigned":{"agentId":"ada"}"#),
    event("e3", "INC-1", "2026-03-02T08:01:00Z", #""acknowledged":{"agentId":"ada"}"#),
    event("e4", "INC-2", "2026-03-02T08:01:00Z", opened),
    event("e5", "INC-1", "2026-03-02T12:00:00Z", #""closedResolved":{}"#),
    event("e6", "INC-2", "2026-03-02T12:00:00Z", #""assigned":{"agentId":"ada"}"#),
    event("e7", "INC-2", "2026-03-02T12:10:00Z", #""acknowledged":{"agentId":"ada"}"#),
    event("e8", "INC-2", "2026-03-02T13:00:00Z", #""closedResolved":{}"#),
]

private let current = """
    agents:
      - { id: ada, team: tier-1, products: [billing], capacity: 3, presence: online }

    """

private let twoMore = """
    agents:
      - { id: ada, team: tier-1, products: [billing], capacity: 3, presence: online }
      - { id: bob, team: tier-1, products: [billing], capacity: 3, presence: online }
      - { id: cy, team: tier-1, products: [billing], capacity: 3, presence: online }

    """

@Suite("triage sla staffing")
struct SlaStaffingCommandTests {
    let window = ["--from", "2026-03-02", "--to", "2026-03-03", "--log-level", "error"]

    @Test func aFileReplayedUnderTwoRosters() async throws {
        let file = try temporaryFile(eventLines.joined(separator: "\n") + "\n", suffix: ".jsonl")
        let baseline = try temporaryFile(current, suffix: ".yaml")
        let candidate = try temporaryFile(twoMore, suffix: ".yaml")
        let arguments = ["sla", "staffing", "--file", file, "--baseline-roster", baseline, "--roster", candidate] + window

        let (status, table, errors) = try await triage(arguments)
        #expect(status == 0, "\(errors)")
        #expect(table.contains("changed incidents: 1"), "\(table)")
        #expect(table.contains("INC-2 tier-1 A opened 2026-03-02T08:01:00Z: wait 3h59m → 0s"), "\(table)")
        #expect(table.contains("first response breached after 249 min → within_target after 10 min"), "\(table)")
        #expect(table.contains("50.0% → 100.0%"), "\(table)")

        let (jsonStatus, json, _) = try await triage(arguments + ["--format", "json"])
        #expect(jsonStatus == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["report"] as? String == "staffing_replay" && object["facts"] as? Int == 8)
        let total = try #require(object["total"] as? [String: Any])
        let baselineFigures = try #require(total["baseline"] as? [String: Any])
        let candidateFigures = try #require(total["candidate"] as? [String: Any])
        #expect(baselineFigures["wait_max_seconds"] as? Int == 14_340 && candidateFigures["wait_max_seconds"] as? Int == 0)
        let changes = try #require(object["changes"] as? [[String: Any]])
        #expect(changes.map { $0["incident"] as? String } == ["INC-2"])

        let (csvStatus, csv, _) = try await triage(arguments + ["--format", "csv"])
        #expect(csvStatus == 0)
        #expect(csv.contains("total,TOTAL,candidate,2,0,0,0,0,0,2,0,0,0,100.0,0,1"), "\(csv)")
    }

    @Test func aBadRosterNamesItsFileLineAndKey() async throws {
        let file = try temporaryFile(eventLines.joined(separator: "\n") + "\n", suffix: ".jsonl")
        let baseline = try temporaryFile(current, suffix: ".yaml")
        let broken = try temporaryFile("agents:\n  - { id: ada, team: tier-1, products: [billing], capacity: 0 }\n", suffix: ".yaml")
        let (status, _, errors) = try await triage(
            ["sla", "staffing", "--file", file, "--baseline-roster", baseline, "--roster", broken] + window)
        #expect(status == 1)
        #expect(errors.contains("\(broken):2:") && errors.contains("agents[0].capacity"), "\(errors)")
    }
}
