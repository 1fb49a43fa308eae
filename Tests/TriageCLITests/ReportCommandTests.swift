import Foundation
import Testing
import TriageKafka
import TriageKafkaTesting
import TriageSchema

/// Analytics records as the feed publishes them: INC-1 acknowledged within target, INC-2
/// escalated twice and acknowledged late, INC-3 opened in February; one duplicate.
private let recordLines = [
    #"{"event_id":"INC-1-1","incident_id":"INC-1","event_type":"opened","occurred_at":"2026-03-02T10:00:00Z","severity":"SEVERITY_B","coverage":"COVERAGE_24X7","product":"ledger","customer_account":"acme","team":"billing","assigned_agent_id":"","breached":false,"reassignment_count":0,"waiting_on_customer_minutes":0.0,"outcome":"","escalation_level":0,"sla_target":""}"#,
    #"{"event_id":"INC-1-2","incident_id":"INC-1","event_type":"acknowledged","occurred_at":"2026-03-02T10:45:00Z","severity":"SEVERITY_B","coverage":"COVERAGE_24X7","product":"ledger","customer_account":"acme","team":"billing","assigned_agent_id":"","first_response_business_minutes":45.0,"breached":false,"reassignment_count":0,"waiting_on_customer_minutes":12.5,"outcome":"","escalation_level":0,"sla_target":""}"#,
    #"{"event_id":"INC-2-1","incident_id":"INC-2","event_type":"opened","occurred_at":"2026-03-03T09:00:00Z","severity":"SEVERITY_B","coverage":"COVERAGE_24X7","product":"ledger","customer_account":"globex","team":"emea","assigned_agent_id":"","breached":false,"reassignment_count":0,"waiting_on_customer_minutes":0.0,"outcome":"","escalation_level":0,"sla_target":""}"#,
    #"{"event_id":"INC-2-2","incident_id":"INC-2","event_type":"escalated","occurred_at":"2026-03-03T13:00:00Z","severity":"SEVERITY_B","coverage":"COVERAGE_24X7","product":"ledger","customer_account":"globex","team":"emea","assigned_agent_id":"","breached":true,"breached_by_business_minutes":0.0,"reassignment_count":0,"waiting_on_customer_minutes":0.0,"outcome":"","escalation_level":1,"sla_target":"first_response"}"#,
    #"{"event_id":"INC-2-3","incident_id":"INC-2","event_type":"escalated","occurred_at":"2026-03-03T14:00:00Z","severity":"SEVERITY_B","coverage":"COVERAGE_24X7","product":"ledger","customer_account":"globex","team":"emea","assigned_agent_id":"","breached":true,"breached_by_business_minutes":60.0,"reassignment_count":0,"waiting_on_customer_minutes":0.0,"outcome":"","escalation_level":2,"sla_target":"first_response"}"#,
    #"{"event_id":"INC-2-3","incident_id":"INC-2","event_type":"escalated","occurred_at":"2026-03-03T14:00:00Z","severity":"SEVERITY_B","coverage":"COVERAGE_24X7","product":"ledger","customer_account":"globex","team":"emea","assigned_agent_id":"","breached":true,"breached_by_business_minutes":60.0,"reassignment_count":0,"waiting_on_customer_minutes":0.0,"outcome":"","escalation_level":2,"sla_target":"first_response"}"#,
    #"{"event_id":"INC-2-4","incident_id":"INC-2","event_type":"acknowledged","occurred_at":"2026-03-03T15:30:00Z","severity":"SEVERITY_B","coverage":"COVERAGE_24X7","product":"ledger","customer_account":"globex","team":"emea","assigned_agent_id":"","first_response_business_minutes":390.0,"breached":true,"breached_by_business_minutes":150.0,"reassignment_count":0,"waiting_on_customer_minutes":0.0,"outcome":"","escalation_level":0,"sla_target":""}"#,
    #"{"event_id":"INC-3-1","incident_id":"INC-3","event_type":"opened","occurred_at":"2026-02-20T09:00:00Z","severity":"SEVERITY_A","coverage":"COVERAGE_24X7","product":"ledger","customer_account":"acme","team":"billing","assigned_agent_id":"","breached":false,"reassignment_count":0,"waiting_on_customer_minutes":0.0,"outcome":"","escalation_level":0,"sla_target":""}"#,
]

private let expectedCSV = """
    team,opened,measured,within_target,within_target_percent,breached,reached_level_1,reached_level_2,reached_level_3,\
    median_first_response_minutes,p90_first_response_minutes,waiting_on_customer_minutes,mean_waiting_on_customer_minutes,at_risk
    billing,1,1,1,100.0,0,0,0,0,45.0,45.0,12.5,12.5,0
    emea,1,1,0,0.0,1,1,1,0,390.0,390.0,0.0,0.0,0
    TOTAL,2,2,1,50.0,1,1,1,0,45.0,390.0,12.5,6.25,0

    """

@Suite("triage report sla")
struct ReportCommandTests {
    let window = ["--from", "2026-03-01", "--to", "2026-04-01", "--as-of", "2026-04-02T00:00:00Z", "--log-level", "error"]

    @Test func aFileOfRecordsAsCSVAndJSON() async throws {
        let file = try temporaryFile((recordLines + ["not a record"]).joined(separator: "\n") + "\n", suffix: ".jsonl")
        let (status, output, errors) = try await triage(["report", "sla", "--by", "team", "--format", "csv", "--file", file] + window)
        #expect(status == 0, "\(errors)")
        #expect(output == expectedCSV)
        #expect(errors.contains("skipped 1 line(s) that are not analytics records (line 9)"), "\(errors)")

        let (jsonStatus, json, _) = try await triage(["report", "sla", "--by", "severity", "--format", "json", "--file", file] + window)
        #expect(jsonStatus == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["group_by"] as? String == "severity" && object["duplicate_records"] as? Int == 1)
        let total = try #require(object["total"] as? [String: Any])
        #expect(total["opened"] as? Int == 2 && total["reached_level"] as? [Int] == [1, 1, 0])

        let (tableStatus, table, _) = try await triage(
            ["report", "sla", "--by", "month", "--file", "-"] + window, input: recordLines.joined(separator: "\n"))
        #expect(tableStatus == 0)
        #expect(table.contains("2026-03") && table.split(separator: "\n").last?.hasPrefix("TOTAL") == true, "\(table)")
    }

    @Test func badArgumentsSayWhatIsAccepted() async throws {
        let (status, _, errors) = try await triage([
            "report", "sla", "--from", "2026-13-01", "--to", "2026-04-01", "--by", "team", "--file", "x",
        ])
        #expect(status == 64)
        #expect(errors.contains("--from '2026-13-01' is not a date: use YYYY-MM-DD (midnight UTC) or RFC 3339"), "\(errors)")
        let (backwards, _, backwardsErrors) = try await triage([
            "report", "sla", "--from", "2026-04-01", "--to", "2026-03-01T00:00:00Z", "--by", "team", "--file", "x",
        ])
        #expect(
            backwards == 64 && backwardsErrors.contains("--to (2026-03-01T00:00:00Z) must be after --from (2026-04-01)"),
            "\(backwardsErrors)")
        let (by, _, byErrors) = try await triage(["report", "sla", "--from", "2026-03-01", "--to", "2026-04-01", "--by", "agent"])
        #expect(by == 64 && byErrors.contains("agent"), "\(byErrors)")
        let (missing, _, missingErrors) = try await triage(
            ["report", "sla", "--by", "team", "--file", "/nonexistent/records.jsonl"] + window)
        #expect(missing == 1 && missingErrors.contains("cannot read --file /nonexistent/records.jsonl"), "\(missingErrors)")
    }

    @Test func helpShowsExamples() async throws {
        let (status, output, _) = try await triage(["report", "sla", "--help"])
        #expect(status == 0)
        #expect(output.contains("triage report sla --from 2026-03-01 --to 2026-04-01 --by team"))
        #expect(output.contains("--file") && output.contains("--format"))
    }

    @Test func theTopicOnTheEmbeddedBroker() async throws {
        let cluster = try KafkaTestCluster()
        try cluster.embedded.createTopic(TriageTopic.analytics, partitions: 3, replicationFactor: 1)
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        for line in recordLines {
            let incident = try #require(
                (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["incident_id"] as? String)
            _ = try await producer.send(
                KafkaProducerMessage(topic: TriageTopic.analytics, key: Array(incident.utf8), value: Array(line.utf8)))
        }
        _ = try await producer.send(KafkaProducerMessage(topic: TriageTopic.analytics, key: Array("x".utf8), value: Array("garbage".utf8)))
        await producer.close()

        let (status, output, errors) = try await triage(
            ["report", "sla", "--by", "team", "--format", "csv", "--scan-from", "beginning", "--bootstrap", cluster.bootstrapServers]
                + window)
        #expect(status == 0, "\(errors)")
        #expect(output == expectedCSV)
        #expect(errors.contains("reading \(TriageTopic.analytics): 9 of at most 9 records, 1 unreadable"), "\(errors)")
        #expect(errors.contains("skipped 1 record(s) of \(TriageTopic.analytics) that are not analytics records"), "\(errors)")

        let (missing, _, missingErrors) = try await triage(
            ["report", "sla", "--by", "team", "--topic", "no.such.topic", "--bootstrap", cluster.bootstrapServers] + window)
        #expect(missing == 1 && missingErrors.contains("topic no.such.topic does not exist"), "\(missingErrors)")
    }
}
