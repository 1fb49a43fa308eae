import Foundation
import Testing
import TriageKafkaTesting
import TriageSchema

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

    /// Outside attack on issue 25: control characters from the log reached the table (a newline
    /// in an id faked a changed incident), and a repeated Opened was counted in `facts` while
    /// `ignored_facts` said 0.
    @Test func controlCharactersAreEscapedAndARepeatedOpenedIsIgnored() async throws {
        let hostile = eventLines.map {
            $0.replacingOccurrences(of: #""incidentId":"INC-2""#, with: #""incidentId":"INC-2\n  INC-FAKE tier-1 A""#)
                .replacingOccurrences(of: #""agentId":"ada""#, with: #""agentId":"ada\u001b[31m""#)
        }
        let file = try temporaryFile(
            (hostile + [event("e9", "INC-1", "2026-03-02T08:02:00Z", opened)]).joined(separator: "\n") + "\n", suffix: ".jsonl")
        // A roster naming an agent with an escape sequence is refused, by code point (stop 44:
        // config names refuse control characters); the value itself is not echoed.
        let hostileRoster = try temporaryFile(current.replacingOccurrences(of: "id: ada,", with: "id: \"ada\\e[31m\","), suffix: ".yaml")
        let (refused, _, refusal) = try await triage(
            ["sla", "staffing", "--file", file, "--baseline-roster", hostileRoster, "--roster", hostileRoster] + window)
        #expect(refused != 0 && refusal.contains("must not contain U+001B") && !refusal.contains("\u{1B}"), "\(refusal)")
        let arguments =
            [
                "sla", "staffing", "--file", file, "--baseline-roster", try temporaryFile(current, suffix: ".yaml"), "--roster",
                try temporaryFile(twoMore, suffix: ".yaml"),
            ] + window
        let (status, table, errors) = try await triage(arguments)
        #expect(status == 0, "\(errors)")
        #expect(!table.contains("\u{1B}"), "\(table)")
        #expect(!table.split(separator: "\n").contains { $0.hasPrefix("  INC-FAKE") }, "\(table)")
        #expect(table.contains(#"INC-2\n  INC-FAKE tier-1 A tier-1 A opened"#), "\(table)")
        #expect(table.contains("9 facts, 2 incidents, 1 facts ignored"), "\(table)")

        let (jsonStatus, json, _) = try await triage(arguments + ["--format", "json"])
        #expect(jsonStatus == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["facts"] as? Int == 9 && object["ignored_facts"] as? Int == 1, "\(json)")
        #expect(!json.contains("\u{1B}"), "\(json)")
    }

    /// Outside attack on issue 25: `--file /dev/stdin` said "permission", a directory said
    /// "NSCocoaErrorDomain error 256", invalid UTF-8 named no line, negative numbers read as a
    /// missing value.
    @Test func inputsAndNumbersThatAreWrongSayWhyInWords() async throws {
        let baseline = try temporaryFile(current, suffix: ".yaml")
        let rosters = ["--baseline-roster", baseline, "--roster", try temporaryFile(twoMore, suffix: ".yaml")]
        let directory = FileManager.default.temporaryDirectory.path
        var (status, output, errors) = try await triage(
            ["sla", "staffing", "--file", "/dev/stdin", "--format", "csv"] + rosters + window, input: eventLines.joined(separator: "\n"))
        #expect(status == 0 && output.contains("total,TOTAL,candidate,2,"), "\(errors)")
        (status, _, errors) = try await triage(["sla", "staffing", "--file", directory] + rosters + window)
        #expect(status == 1 && errors.contains("\(directory) is a directory") && !errors.contains("NSCocoaErrorDomain"), "\(errors)")
        (status, _, errors) = try await triage(
            ["sla", "staffing", "--file", "-", "--baseline-roster", directory, "--roster", baseline] + window)
        #expect(status == 1 && errors.contains("--baseline-roster \(directory): \(directory) is a directory"), "\(errors)")
        (status, _, errors) = try await triage(["sla", "staffing", "--file", "nope.jsonl"] + rosters + window)
        #expect(status == 1 && errors.contains("nope.jsonl: no such file"), "\(errors)")

        var bytes = Data((eventLines[0] + "\n" + eventLines[1]).utf8)
        bytes[eventLines[0].utf8.count + 1 + 20] = 0xC3  // a lead byte followed by ASCII
        let invalid = try temporaryFile("", suffix: ".jsonl")
        try bytes.write(to: URL(fileURLWithPath: invalid))
        (status, _, errors) = try await triage(["sla", "staffing", "--file", invalid] + rosters + window)
        #expect(status == 1 && errors.contains("\(invalid):2:21: not UTF-8 text (byte 0xC3)"), "\(errors)")

        (status, _, errors) = try await triage(["sla", "staffing", "--file", invalid, "--changes", "-3"] + rosters + window)
        #expect(status == 64 && errors.contains("--changes must be 0 or a positive number, not -3"), "\(errors)")
        (status, _, errors) = try await triage(["sla", "staffing", "--file", invalid, "--lookahead-hours", "-1"] + rosters + window)
        #expect(status == 64 && errors.contains("--lookahead-hours must be a number of hours from 0 to 744, not -1"), "\(errors)")
    }

    @Test func aKeyGivenTwiceNamesItsDottedPath() async throws {
        let file = try temporaryFile(eventLines.joined(separator: "\n"), suffix: ".jsonl")
        let twice = try temporaryFile(
            "agents:\n  - { id: ada, team: tier-1, products: [billing], capacity: 3, capacity: 4 }\n", suffix: ".yaml")
        let (status, _, errors) = try await triage(
            ["sla", "staffing", "--file", file, "--baseline-roster", try temporaryFile(current, suffix: ".yaml"), "--roster", twice]
                + window)
        #expect(
            status == 1 && errors.contains("\(twice):2:") && errors.contains(": agents[0].capacity: key 'capacity' appears more than once"),
            "\(errors)")
    }

    /// The topic on the embedded broker (read by the shared TopicHistoryReader) gives what the
    /// file gives.
    @Test func theTopicOnTheEmbeddedBrokerGivesWhatTheFileGives() async throws {
        let cluster = try KafkaTestCluster()
        try cluster.embedded.createTopic(TriageTopic.incidentEvents, partitions: 3, replicationFactor: 1)
        // As the intake publishes them: with an entitlement and the customer's time zone.
        let lines = eventLines.map {
            $0.replacingOccurrences(
                of: #""customerAccount":"acme","#, with: #""customerAccount":"acme","entitlementId":"pack-1","customerTimeZone":"UTC","#)
        }
        let file = try temporaryFile(lines.joined(separator: "\n") + "\n", suffix: ".jsonl")
        let (published, _, publishErrors) = try await triage(
            ["publish", "--file", file, "--bootstrap", cluster.bootstrapServers, "--log-level", "error"])
        #expect(published == 0, "\(publishErrors)")
        let rosters = [
            "--baseline-roster", try temporaryFile(current, suffix: ".yaml"), "--roster", try temporaryFile(twoMore, suffix: ".yaml"),
            "--format", "csv",
        ]
        let (fromFile, expected, _) = try await triage(["sla", "staffing", "--file", file] + rosters + window)
        let (status, output, errors) = try await triage(
            ["sla", "staffing", "--scan-from", "beginning", "--bootstrap", cluster.bootstrapServers] + rosters + window)
        #expect(fromFile == 0 && status == 0, "\(errors)")
        #expect(output == expected && output.contains("total,TOTAL,baseline,2,"), "\(output)")
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
