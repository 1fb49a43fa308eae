import Foundation
import Testing
import TriageKafka
import TriageKafkaTesting
import TriageSchema

/// Lifecycle events: INC-1 (A, 24x7) answered after three hours, INC-2 never answered, INC-3
/// opened in October (outside the window).
private let eventLines = [
    #"{"eventId":"INC-1-opened","incidentId":"INC-1","occurredAt":"2026-11-02T10:00:00Z","producer":"test","opened":{"customerAccount":"acme","entitlementId":"pack-1","product":"billing","severity":"SEVERITY_A","coverage":"COVERAGE_24X7","customerTimeZone":"America/New_York","title":"down","team":"tier-1"}}"#,
    #"{"eventId":"INC-2-opened","incidentId":"INC-2","occurredAt":"2026-11-02T10:00:00Z","producer":"test","opened":{"customerAccount":"globex","entitlementId":"pack-1","product":"billing","severity":"SEVERITY_A","coverage":"COVERAGE_24X7","customerTimeZone":"America/New_York","title":"down","team":"tier-2"}}"#,
    #"{"eventId":"INC-1-ack","incidentId":"INC-1","occurredAt":"2026-11-02T13:00:00Z","producer":"test","acknowledged":{"agentId":"ada"}}"#,
    #"{"eventId":"INC-3-opened","incidentId":"INC-3","occurredAt":"2026-10-30T10:00:00Z","producer":"test","opened":{"customerAccount":"acme","entitlementId":"pack-1","product":"billing","severity":"SEVERITY_A","coverage":"COVERAGE_24X7","customerTimeZone":"America/New_York","title":"down","team":"tier-1"}}"#,
]

/// A first response of 4 h for severity A under 24x7, and no resolution target (so only the
/// first-response clocks differ from the defaults' 2 h).
private let candidate = """
    targets:
      24x7:
        A: { first_response: 4h, resolution: off }
    """

private let baseline = """
    targets:
      24x7:
        A: { resolution: off }
    """

/// The expected comparison: INC-1 breached → within target; INC-2 breached under both, its
/// deadline moves by two hours.
private let expectedCSV = """
    team,policy,incidents,first_responses_measured,within_target,within_target_percent,breached,escalations_level_1,escalations_level_2,\
    warnings,resolutions_measured,resolutions_breached,updates_measured,updates_breached,changed,deadline_moved
    tier-1,baseline,1,1,0,0.0,1,1,1,2,0,0,0,0,1,0
    tier-1,candidate,1,1,1,100.0,0,0,0,2,0,0,0,0,1,0
    tier-2,baseline,1,1,0,0.0,1,1,1,2,0,0,0,0,0,1
    tier-2,candidate,1,1,0,0.0,1,1,1,2,0,0,0,0,0,1
    TOTAL,baseline,2,2,0,0.0,2,2,2,4,0,0,0,0,1,1
    TOTAL,candidate,2,2,1,50.0,1,1,1,4,0,0,0,0,1,1

    """

@Suite("triage sla backtest")
struct SlaBacktestCommandTests {
    let window = ["--from", "2026-11-01", "--to", "2026-12-01", "--log-level", "error"]

    func policies() throws -> [String] {
        ["--policy", try temporaryFile(candidate, suffix: ".yaml"), "--baseline", try temporaryFile(baseline, suffix: ".yaml")]
    }

    @Test func aFileOfEventsAsCSVTableAndJSON() async throws {
        let file = try temporaryFile((eventLines + ["not an event"]).joined(separator: "\n") + "\n", suffix: ".jsonl")
        let (status, output, errors) = try await triage(["sla", "backtest", "--format", "csv", "--file", file] + policies() + window)
        #expect(status == 0, "\(errors)")
        #expect(output == expectedCSV)
        #expect(errors.contains("skipped 1 line(s) that are not lifecycle events"), "\(errors)")
        #expect(errors.contains("\(file):5: expected a JSON object"), "\(errors)")

        let (tableStatus, table, _) = try await triage(
            ["sla", "backtest", "--file", "-"] + policies() + window, input: eventLines.joined(separator: "\n"))
        #expect(tableStatus == 0)
        #expect(table.contains("INC-1     tier-1  breached → within target  2026-11-02T12:00:00Z → 2026-11-02T14:00:00Z"), "\(table)")
        #expect(table.contains("escalations would notify: support-manager 2 → 1, team-lead 2 → 1"), "\(table)")

        let (jsonStatus, json, _) = try await triage(
            ["sla", "backtest", "--format", "json", "--by", "severity", "--file", file] + policies() + window)
        #expect(jsonStatus == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["grouping"] as? String == "severity" && object["changed_count"] as? Int == 2)
        let changed = try #require(object["changed"] as? [[String: Any]])
        #expect(changed.map { $0["incident"] as? String } == ["INC-1", "INC-2"])
    }

    @Test func withoutABaselineTheBuiltInDefaultsAreTheBaseline() async throws {
        let file = try temporaryFile(eventLines.joined(separator: "\n"), suffix: ".jsonl")
        let (status, output, errors) = try await triage(
            ["sla", "backtest", "--policy", try temporaryFile(candidate, suffix: ".yaml"), "--file", file] + window)
        #expect(status == 0, "\(errors)")
        #expect(output.contains("baseline:  built-in defaults (no --baseline)"), "\(output)")
        // The defaults' 24 h resolution target for A: both incidents, open for a month, breach it.
        #expect(output.contains("resolution breached"), "\(output)")
    }

    @Test func badPoliciesAndArgumentsNameWhatIsWrong() async throws {
        let bad = try temporaryFile("targets:\n  24x7:\n    A: { frist_response: 4h }\n", suffix: ".yaml")
        let file = try temporaryFile(eventLines.joined(separator: "\n"), suffix: ".jsonl")
        let (status, _, errors) = try await triage(["sla", "backtest", "--policy", bad, "--file", file] + window)
        #expect(status != 0)
        #expect(
            errors.contains("\(bad):3:10: targets.24x7.A.frist_response: unknown key 'frist_response'; did you mean 'first_response'?"),
            "\(errors)")
        let (backwards, _, backwardsErrors) = try await triage([
            "sla", "backtest", "--policy", bad, "--from", "2026-12-01", "--to", "2026-11-01", "--file", file,
        ])
        #expect(backwards == 64 && backwardsErrors.contains("--to (2026-11-01) must be after --from (2026-12-01)"), "\(backwardsErrors)")
        let (scaled, _, scaledErrors) = try await triage(
            ["sla", "backtest", "--policy", bad, "--file", file, "--time-scale", "360"] + window)
        #expect(scaled == 64 && scaledErrors.contains("--time-scale needs the escalator's --time-origin"), "\(scaledErrors)")
    }

    /// Outside attack on issue 25: an incident id with a newline faked a line of "incidents that
    /// change", and ESC sequences from team names reached the terminal.
    @Test func controlCharactersFromTheLogAreEscapedInTheTableAndQuotedInCSV() async throws {
        let hostile = eventLines[0]
            .replacingOccurrences(of: #""incidentId":"INC-1""#, with: #""incidentId":"INC-1\nINC-FAKE  tier-1  breached""#)
            .replacingOccurrences(of: #""team":"tier-1""#, with: #""team":"tier\u001b[2J-1\r\nx""#)
        let file = try temporaryFile(
            ([hostile] + eventLines.dropFirst() + ["\u{1B}]0;owned\u{7}"]).joined(separator: "\n"), suffix: ".jsonl")
        let (status, table, errors) = try await triage(["sla", "backtest", "--file", file] + policies() + window)
        #expect(status == 0, "\(errors)")
        #expect(!table.contains("\u{1B}") && !table.contains("\r"), "\(table)")
        #expect(!table.split(separator: "\n").contains { $0.hasPrefix("INC-FAKE") }, "\(table)")
        #expect(table.contains(#"INC-1\nINC-FAKE  tier-1  breached"#) && table.contains(#"tier\u{1B}[2J-1\r\nx"#), "\(table)")
        #expect(!errors.contains("\u{1B}") && !errors.contains("\u{7}") && errors.contains(#"\u{1B}]0;owned\u{7}"#), "\(errors)")

        let (csvStatus, csv, _) = try await triage(["sla", "backtest", "--format", "csv", "--file", file] + policies() + window)
        #expect(csvStatus == 0)
        #expect(csv.contains("\n\"tier\u{1B}[2J-1\r\nx\",baseline,1,"), "\(csv)")

        let (jsonStatus, json, _) = try await triage(["sla", "backtest", "--format", "json", "--file", file] + policies() + window)
        #expect(jsonStatus == 0 && json.contains(#""incident":"INC-1\nINC-FAKE  tier-1  breached""#) && !json.contains("\u{1B}"), "\(json)")
    }

    /// Outside attack on issue 25: Foundation's texts ("NSCocoaErrorDomain error 256", "You don't
    /// have permission" for /dev/null), no reason for a missing file, Swift debug text for a bad
    /// field, invalid UTF-8 read silently as U+FFFD.
    @Test func inputsThatCannotBeReadSayWhyInWords() async throws {
        let file = try temporaryFile(eventLines.joined(separator: "\n"), suffix: ".jsonl")
        let candidatePolicy = try temporaryFile(candidate, suffix: ".yaml")
        let directory = FileManager.default.temporaryDirectory.path
        func run(_ arguments: [String], input: String? = nil) async throws -> (Int32, String, String) {
            try await triage(["sla", "backtest"] + arguments + window, input: input)
        }
        var (status, _, errors) = try await run(["--policy", directory, "--file", file])
        #expect(status == 1 && errors.contains("\(directory) is a directory") && !errors.contains("NSCocoaErrorDomain"), "\(errors)")
        (status, _, errors) = try await run(["--policy", candidatePolicy, "--file", directory])
        #expect(status == 1 && errors.contains("\(directory) is a directory") && !errors.contains("NSCocoaErrorDomain"), "\(errors)")
        (status, _, errors) = try await run(["--policy", candidatePolicy, "--file", "nope.jsonl"])
        #expect(status == 1 && errors.contains("nope.jsonl: no such file"), "\(errors)")
        (status, _, errors) = try await run(["--policy", candidatePolicy, "--baseline", "nope.yaml", "--file", file])
        #expect(status == 1 && errors.contains("--baseline nope.yaml: nope.yaml: no such file"), "\(errors)")
        (status, _, errors) = try await run(["--policy", "/dev/null", "--file", file])
        #expect(status == 1 && errors.contains("--policy /dev/null: the file is empty") && !errors.contains("permission"), "\(errors)")
        // A character device or pipe is a valid input.
        var output: String
        (status, output, errors) = try await run(
            ["--policy", candidatePolicy, "--format", "csv", "--file", "/dev/stdin"], input: eventLines.joined(separator: "\n"))
        #expect(status == 0 && output.contains("TOTAL,baseline,2,"), "\(errors)")

        let broken = try temporaryFile(
            eventLines[0] + "\n" + #"{"eventId":"x","incidentId":"INC-9","bogus":1}"# + "\n" + #"{"eventId":"caf"# + "\u{FFFF}",
            suffix: ".jsonl")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: broken))
        bytes[bytes.count - 3] = 0xFF  // the last line: invalid UTF-8 at byte 16
        try bytes.write(to: URL(fileURLWithPath: broken))
        (status, _, errors) = try await run(["--policy", candidatePolicy, "--file", broken])
        #expect(status == 0, "\(errors)")
        #expect(
            errors.contains(
                #"\#(broken):2: not an IncidentEvent in JSON (the protobuf JSON mapping, see schemas/examples/): unknown field "bogus""#),
            "\(errors)")
        #expect(errors.contains("\(broken):3: column 16: not UTF-8 text (byte 0xFF)"), "\(errors)")
        #expect(!errors.contains("unknownField") && !errors.contains("Optional("), "\(errors)")
    }

    /// Outside attack on issue 25: `--changed-limit -3` read as a missing value; `--to
    /// 9999-12-31` replayed for hours (the console's 92-day rule, shared).
    @Test func negativeNumbersAndAFarEndAreRefusedClearly() async throws {
        let file = try temporaryFile(eventLines.joined(separator: "\n"), suffix: ".jsonl")
        var (status, _, errors) = try await triage(["sla", "backtest", "--changed-limit", "-3", "--file", file] + policies() + window)
        #expect(status == 64 && errors.contains("--changed-limit must be 0 or a positive number, not -3"), "\(errors)")
        (status, _, errors) = try await triage(
            ["sla", "backtest", "--time-scale", "-1", "--time-origin", "2026-11-01T00:00:00Z", "--file", file] + policies() + window)
        #expect(status == 64 && errors.contains("--time-scale must be a positive number"), "\(errors)")
        (status, _, errors) = try await triage(
            ["sla", "backtest", "--fetch-wait-ms", "-1", "--bootstrap", "127.0.0.1:1"] + policies() + window)
        #expect(
            status == 1 && errors.contains("--fetch-wait-ms must be a whole number of milliseconds between 1 and 10000, got '-1'"),
            "\(errors)")
        (status, _, errors) = try await triage(
            ["sla", "backtest", "--from", "2026-11-01", "--to", "9999-12-31", "--file", file, "--log-level", "error"] + policies(),
            timeout: .seconds(20))
        #expect(status == 64 && errors.contains("--to (9999-12-31) must be at most 92 days after now"), "\(errors)")
    }

    @Test func helpSaysWhatTheBaselineIsAndShowsExamples() async throws {
        let (status, output, _) = try await triage(["sla", "backtest", "--help"])
        #expect(status == 0)
        #expect(output.contains("built-in defaults"))
        #expect(
            output.contains("triage sla backtest --policy candidate.yaml --from 2026-11-01 \\\n    --to 2026-12-01 --by month --format csv")
        )
    }

    /// The topic on the embedded broker, then the same records through `triage tail` into a
    /// file: both give the same comparison. The events were published after the fact (their
    /// records carry today's timestamps), hence --event-time.
    @Test func theTopicOnTheEmbeddedBrokerAndTailOutput() async throws {
        let cluster = try KafkaTestCluster()
        try cluster.embedded.createTopic(TriageTopic.incidentEvents, partitions: 3, replicationFactor: 1)
        let file = try temporaryFile(eventLines.joined(separator: "\n"), suffix: ".jsonl")
        let (published, _, publishErrors) = try await triage(
            ["publish", "--file", file, "--bootstrap", cluster.bootstrapServers, "--log-level", "error"])
        #expect(published == 0, "\(publishErrors)")
        // The escalator's own events in the log are ignored: the replay fires its own.
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        var escalated = IncidentEvent()
        escalated.eventID = "sla-1"
        escalated.incidentID = "INC-2"
        escalated.producer = "escalator"
        escalated.occurredAt = .init(date: ISO8601DateFormatter().date(from: "2026-11-02T12:00:00Z")!)
        escalated.escalated = .with {
            $0.level = 1; $0.target = "first_response"; $0.breachedDeadline = escalated.occurredAt; $0.notify = ["team-lead"]
        }
        _ = try await producer.send(
            KafkaProducerMessage(topic: TriageTopic.incidentEvents, key: Array("INC-2".utf8), value: try escalated.serializedBytes()))
        await producer.close()

        let broker = ["--bootstrap", cluster.bootstrapServers]
        let (status, output, errors) = try await triage(
            ["sla", "backtest", "--format", "csv", "--scan-from", "beginning", "--event-time"] + broker + policies() + window)
        #expect(status == 0, "\(errors)")
        #expect(output == expectedCSV)
        #expect(errors.contains("reading \(TriageTopic.incidentEvents): 5 of at most 5 records"), "\(errors)")

        let (tailed, tail, tailErrors) = try await triage(
            ["tail", TriageTopic.incidentEvents, "--from-beginning", "--log-level", "error"] + broker)
        #expect(tailed == 0, "\(tailErrors)")
        #expect(jsonLines(tail).allSatisfy { $0["timestamp"] is String }, "\(tail)")
        let (fromFile, fileOutput, fileErrors) = try await triage(
            ["sla", "backtest", "--format", "csv", "--event-time", "--file", try temporaryFile(tail, suffix: ".jsonl")] + policies()
                + window)
        #expect(fromFile == 0, "\(fileErrors)")
        #expect(fileOutput == expectedCSV)

        // Replayed when the records reached the topic (today), the November events were seen
        // after the window: nothing is replayed, and the command says why.
        let (late, lateOutput, lateErrors) = try await triage(
            ["sla", "backtest", "--format", "csv", "--scan-from", "beginning"] + broker + policies() + window)
        #expect(late == 0, "\(lateErrors)")
        #expect(lateOutput.contains("TOTAL,baseline,0,"), "\(lateOutput)")
    }
}
