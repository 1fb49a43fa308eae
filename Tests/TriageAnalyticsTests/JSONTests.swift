import Foundation
import SwiftProtobuf
import Testing
import TriageSLA
import TriageSchema

@testable import TriageAnalytics

/// A short story whose records and snapshots cover most columns.
private func storyRecords() -> (records: [AnalyticsRecord], snapshots: [IncidentSnapshot]) {
    var script = Script()
    _ = script.add(.opened(.b, .businessHours), at: at("2026-03-06T16:00:00-05:00"))
    _ = script.add(.assigned("agent-7"), at: at("2026-03-06T16:10:00-05:00"))
    _ = script.add(.waitingOnCustomer, at: at("2026-03-06T16:30:00-05:00"))
    _ = script.add(.customerResponded, at: at("2026-03-09T09:30:00-04:00"))
    _ = script.add(.acknowledged("agent-7"), at: at("2026-03-09T13:45:00.250-04:00"))
    _ = script.add(.closedUnresolved(refunded: true), at: at("2026-03-10T10:00:00-04:00"))
    var snapshot = IncidentSnapshot(incidentID: "INC-1")
    var snapshots: [IncidentSnapshot] = []
    let records = withEscalator(script.events).compactMap { event -> AnalyticsRecord? in
        defer { snapshots.append(snapshot) }
        return snapshot.apply(event, rules: rules)
    }
    return (records, snapshots)
}

@Suite("The published JSON of records and snapshots")
struct JSONTests {
    @Test func theAcknowledgedRecordAsPublished() throws {
        let record = try #require(storyRecords().records.first { $0.eventType == "acknowledged" })
        let json = try record.publishedJSON()
        #expect(
            json == """
                {"event_id":"INC-1-5","incident_id":"INC-1","event_type":"acknowledged","occurred_at":"2026-03-09T17:45:00.250Z",\
                "severity":"SEVERITY_B","coverage":"COVERAGE_BUSINESS_HOURS","product":"ledger","customer_account":"acme","team":"billing",\
                "assigned_agent_id":"agent-7","first_response_business_minutes":285.004167,"breached":true,"breached_by_business_minutes":45.004167,\
                "waiting_on_customer_minutes":3840.0,"reassignment_count":0,"outcome":"","escalation_level":0,"sla_target":""}
                """
        )
    }

    @Test func everyColumnIsPresentOnceAndReadsBack() throws {
        let schema = try SchemaChecker(repositoryFile: "schemas/analytics-record.schema.json")
        let columns = try #require(
            schema.root["properties"].flatMap { if case .object(let members) = $0 { Set(members.keys) } else { nil } })
        let folded = storyRecords().records
        for record in folded + [AnalyticsRecord.with { $0.occurredAt = .init(seconds: 0) }] {
            let json = try record.publishedJSON()
            guard case .object(let members) = try JSONValue.parse(json) else {
                Issue.record("not an object: \(json)")
                continue
            }
            var expected = columns
            if !record.hasFirstResponseBusinessMinutes { expected.remove("first_response_business_minutes") }
            if !record.hasBreachedByBusinessMinutes { expected.remove("breached_by_business_minutes") }
            #expect(Set(members.keys) == expected, "\(json)")
            for key in columns { #expect(json.components(separatedBy: "\"\(key)\":").count <= 2, "\(key) twice in \(json)") }
            #expect(try AnalyticsRecord(jsonString: json) == record)
            if folded.contains(record) { #expect(schema.violations(of: try JSONValue.parse(json)) == []) }
        }
    }

    @Test func defaultsArePrintedAsTheirType() throws {
        let json = try AnalyticsRecord.with { $0.occurredAt = .init(seconds: 0) }.publishedJSON()
        let value = try JSONValue.parse(json)
        #expect(value["severity"] == .string("SEVERITY_UNSPECIFIED") && value["breached"] == .bool(false) && value["team"] == .string(""))
        #expect(json.contains("\"waiting_on_customer_minutes\":0.0") && json.contains("\"reassignment_count\":0"))
    }

    @Test func theSchemaListsExactlyTheRecordsFields() throws {
        let schema = try SchemaChecker(repositoryFile: "schemas/analytics-record.schema.json")
        var full = AnalyticsRecord()
        full.eventID = "e"
        full.incidentID = "i"
        full.eventType = "opened"
        full.occurredAt = .init(seconds: 1)
        full.severity = .a
        full.coverage = .coverage24X7
        full.product = "p"
        full.customerAccount = "c"
        full.team = "t"
        full.assignedAgentID = "a"
        full.firstResponseBusinessMinutes = 1
        full.breached = true
        full.breachedByBusinessMinutes = 1
        full.reassignmentCount = 1
        full.waitingOnCustomerMinutes = 1
        full.outcome = "resolved"
        full.escalationLevel = 2
        full.slaTarget = "first_response"
        guard case .object(let members) = try JSONValue.parse(try full.publishedJSON()),
            case .object(let properties) = schema.root["properties"] ?? .null,
            case .array(let required) = schema.root["required"] ?? .null
        else {
            Issue.record("unexpected shapes")
            return
        }
        #expect(Set(members.keys) == Set(properties.keys))
        #expect(
            Set(required.compactMap(\.string))
                == Set(properties.keys).subtracting(["first_response_business_minutes", "breached_by_business_minutes"]))
        #expect(schema.root["additionalProperties"] == .bool(false))
    }

    @Test(arguments: Severity.allCases)
    func recordAndSnapshotNameSeveritiesAlike(_ severity: Severity) throws {
        var snapshot = IncidentSnapshot(incidentID: "INC-1")
        snapshot.severity = severity
        let record = AnalyticsRecord.with {
            $0.severity = severity
            $0.occurredAt = .init(seconds: 0)
        }
        let name = try JSONValue.parse(try record.publishedJSON())["severity"]
        #expect(name == (try JSONValue.parse(String(decoding: snapshot.jsonData(), as: UTF8.self)))["severity"])
    }

    @Test(arguments: Coverage.allCases)
    func recordAndSnapshotNameCoveragesAlike(_ coverage: Coverage) throws {
        var snapshot = IncidentSnapshot(incidentID: "INC-1")
        snapshot.coverage = coverage
        let record = AnalyticsRecord.with {
            $0.coverage = coverage
            $0.occurredAt = .init(seconds: 0)
        }
        let name = try JSONValue.parse(try record.publishedJSON())["coverage"]
        #expect(name == (try JSONValue.parse(String(decoding: snapshot.jsonData(), as: UTF8.self)))["coverage"])
    }

    @Test func snapshotsConformToTheStateSchemaAndRoundTrip() throws {
        let schema = try SchemaChecker(repositoryFile: "schemas/incident-state.schema.json")
        guard case .object(let properties) = schema.root["properties"] ?? .null else {
            Issue.record("no properties")
            return
        }
        for snapshot in storyRecords().snapshots + [IncidentSnapshot(incidentID: "INC-EMPTY")] {
            let json = String(decoding: try snapshot.jsonData(), as: UTF8.self)
            let value = try JSONValue.parse(json)
            #expect(schema.violations(of: value) == [], "\(json)")
            if case .object(let members) = value { #expect(Set(members.keys) == Set(properties.keys), "every key, null when unknown") }
            #expect(try IncidentSnapshot(jsonData: Data(json.utf8)) == snapshot)
        }
    }

    @Test func snapshotInstantsAreUtcWithMilliseconds() throws {
        let last = try #require(storyRecords().snapshots.last)
        let json = try JSONValue.parse(String(decoding: try last.jsonData(), as: UTF8.self))
        #expect(json["opened_at"] == .string("2026-03-06T21:00:00.000Z"))
        #expect(json["acknowledged_at"] == .string("2026-03-09T17:45:00.250Z"))
        #expect(json["waiting_since"] == .null && json["outcome"] == .string("unresolved") && json["credit_refunded"] == .bool(true))
        #expect(json["sla"]?["first_response"]?["phase"] == .string("stopped"))
    }

    @Test func snapshotsOfAnotherVersionOrWithBadInstantsAreRejected() throws {
        let json = String(decoding: try IncidentSnapshot(incidentID: "INC-1").jsonData(), as: UTF8.self)
        #expect(throws: DecodingError.self) {
            try IncidentSnapshot(
                jsonData: Data(json.replacingOccurrences(of: "\"snapshot_version\":1", with: "\"snapshot_version\":2").utf8))
        }
        #expect(throws: DecodingError.self) {
            try IncidentSnapshot(
                jsonData: Data(json.replacingOccurrences(of: "\"opened_at\":null", with: "\"opened_at\":\"yesterday\"").utf8))
        }
        #expect(throws: DecodingError.self) {
            try IncidentSnapshot(jsonData: Data(json.replacingOccurrences(of: "\"status\":\"open\"", with: "\"status\":\"pending\"").utf8))
        }
    }

    @Test func instantsRoundTripToTheMillisecond() {
        var random = SeededRandom(seed: 7)
        let bounds = AnalyticsInstant.secondsRange
        for _ in 0..<2_000 {
            let millis = Int64.random(in: (bounds.lowerBound * 1000)...(bounds.upperBound * 1000 + 999), using: &random)
            let date = AnalyticsInstant.date(milliseconds: millis)
            let text = AnalyticsInstant.string(date)
            #expect(AnalyticsInstant.date(text) == date, "\(millis) → \(text)")
            #expect(AnalyticsInstant.milliseconds(date) == millis)
        }
        #expect(AnalyticsInstant.string(AnalyticsInstant.date(milliseconds: -1)) == "1969-12-31T23:59:59.999Z")
        #expect(AnalyticsInstant.date("2026-03-06T21:00:00Z") == at("2026-03-06T21:00:00Z"))
        #expect(AnalyticsInstant.date("2026-03-06T21:00:00.5Z") == at("2026-03-06T21:00:00Z").addingTimeInterval(0.5))
        #expect(AnalyticsInstant.date("2026-03-06T21:00:00.123456789Z") == AnalyticsInstant.date("2026-03-06T21:00:00.123Z"))
        for bad in [
            "2026-03-06 21:00:00Z", "2026-13-06T21:00:00Z", "2026-03-06T21:00:00+01:00", "2026-03-06T21:00:00.Z", "2026-03-06T21:00:00.1xZ",
        ] {
            #expect(AnalyticsInstant.date(bad) == nil, "\(bad)")
        }
    }
}
