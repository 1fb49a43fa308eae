import Foundation
import Testing
import TriageSchema

@testable import TriageReports

@Suite("SLA compliance report")
struct SlaComplianceReportTests {
    let asOf = at("2026-04-10T00:00:00Z")

    @Test func anIncidentBelongsToTheWindowByItsOpenedFromInclusiveToExclusive() {
        let records = [
            record("opened", "INC-start", at: "2026-03-01T00:00:00Z"),
            record("opened", "INC-before", at: "2026-02-28T23:59:59.999Z"),
            record("opened", "INC-end", at: "2026-04-01T00:00:00Z"),
            // Opened before the window, acknowledged in it: not the window's.
            record("opened", "INC-feb", at: "2026-02-27T10:00:00Z"),
            record("acknowledged", "INC-feb", at: "2026-03-02T10:00:00Z", firstResponse: 5),
        ]
        let report = SlaComplianceReport(records: records, window: march, groupBy: .team, asOf: asOf)
        #expect(report.total.opened == 1)
        #expect(report.total.measured == 0)
        #expect(report.rows.map(\.group) == ["billing"])
    }

    @Test func theLatestRecordGivesTheIncidentsFiguresWhateverTheReadOrder() {
        let records = [
            record("acknowledged", "INC-1", at: "2026-03-02T11:00:00Z", firstResponse: 60, waiting: 10),
            record("opened", "INC-1", at: "2026-03-02T10:00:00Z"),
            record("closed_resolved", "INC-1", at: "2026-03-03T10:00:00Z", firstResponse: 60, waiting: 25, outcome: "resolved"),
            record("note_added", "INC-1", at: "2026-03-02T12:00:00Z", firstResponse: 60, waiting: 10),
        ]
        let report = SlaComplianceReport(records: records, window: march, groupBy: .team, asOf: asOf)
        #expect(report.total.opened == 1 && report.total.measured == 1 && report.total.withinTarget == 1)
        #expect(report.total.waitingOnCustomerMinutes == 25)
    }

    @Test func aTieInOccurredAtGoesToTheRecordReadLater() {
        let records = [
            record("opened", "INC-1", at: "2026-03-02T10:00:00Z", team: "billing"),
            record("severity_changed", "INC-1", at: "2026-03-02T10:00:00Z", team: "billing", severity: .a),
        ]
        let report = SlaComplianceReport(records: records, window: march, groupBy: .severity, asOf: asOf)
        #expect(report.rows.map(\.group) == ["SEVERITY_A"])
    }

    @Test func duplicatesAreDroppedByEventID() {
        let opened = record("opened", "INC-1", id: "e1", at: "2026-03-02T10:00:00Z")
        let escalated = record(
            "escalated", "INC-1", id: "e2", at: "2026-03-02T14:00:00Z", breached: true, level: 1, target: "first_response")
        let laterCopyWithOtherContent = record(
            "escalated", "INC-1", id: "e2", at: "2026-03-02T18:00:00Z", level: 2, target: "first_response")
        let report = SlaComplianceReport(
            records: [opened, escalated, escalated, laterCopyWithOtherContent, opened], window: march, groupBy: .team, asOf: asOf)
        #expect(report.recordsRead == 5 && report.duplicateRecords == 3)
        #expect(report.total.reachedLevel == [1, 0, 0])
        #expect(report.total.breached == 1)
    }

    @Test func recordsWithoutAnIDAreNeverDuplicates() {
        let records = [
            record("opened", "INC-1", id: "", at: "2026-03-02T10:00:00Z"),
            record("opened", "INC-1", id: "", at: "2026-03-02T10:00:00Z"),
        ]
        let report = SlaComplianceReport(records: records, window: march, groupBy: .team, asOf: asOf)
        #expect(report.duplicateRecords == 0 && report.total.opened == 1)
    }

    @Test func withinTargetBreachedAndPercent() {
        let records = [
            record("opened", "A", at: "2026-03-02T10:00:00Z"),
            record("acknowledged", "A", at: "2026-03-02T10:30:00Z", firstResponse: 30),
            record("opened", "B", at: "2026-03-03T10:00:00Z"),
            record("acknowledged", "B", at: "2026-03-03T16:00:00Z", firstResponse: 300, breached: true),
            record("opened", "C", at: "2026-03-04T10:00:00Z"),
            record("escalated", "C", at: "2026-03-04T14:00:00Z", breached: true, level: 1, target: "first_response"),
            record("opened", "D", at: "2026-03-05T10:00:00Z"),
            record("acknowledged", "D", at: "2026-03-05T10:10:00Z", firstResponse: 10),
        ]
        let total = SlaComplianceReport(records: records, window: march, groupBy: .team, asOf: asOf).total
        #expect(total.opened == 4 && total.measured == 3 && total.withinTarget == 2 && total.breached == 2)
        #expect(total.breachedAndMeasured == 1)
        #expect(total.withinTargetPercent == 200.0 / 3)
        #expect(total.firstResponseMinutes == [10, 30, 300])
        #expect(total.medianFirstResponseMinutes == 30 && total.p90FirstResponseMinutes == 300)
    }

    @Test func escalationLevelsCountFirstResponseEscalationsOnly() {
        let records = [
            record("opened", "A", at: "2026-03-02T10:00:00Z"),
            record("escalated", "A", at: "2026-03-02T14:00:00Z", breached: true, level: 1, target: "first_response"),
            record("escalated", "A", at: "2026-03-02T15:00:00Z", breached: true, level: 2, target: "first_response"),
            record("opened", "B", at: "2026-03-03T10:00:00Z"),
            record("escalated", "B", at: "2026-03-03T14:00:00Z", breached: true, level: 1, target: "first_response"),
            record("escalated", "B", at: "2026-03-05T14:00:00Z", breached: true, level: 3, target: "resolution"),
            record("opened", "C", at: "2026-03-03T10:00:00Z", team: "emea"),
            record("escalated", "C", at: "2026-03-03T14:00:00Z", team: "emea", breached: true, level: 5, target: "first_response"),
        ]
        let report = SlaComplianceReport(records: records, window: march, groupBy: .team, asOf: asOf)
        #expect(report.escalationLevels == 5)
        #expect(report.total.reachedLevel == [3, 2, 1, 1, 1])
        #expect(report.row("billing")?.reachedLevel == [2, 1, 0, 0, 0])
        #expect(report.row("emea")?.reachedLevel == [1, 1, 1, 1, 1])
    }

    @Test func atRiskIsOpenUnansweredUnbreachedAndWarned() {
        let warned = { (incident: String, day: String) in
            [
                record("opened", incident, at: "2026-03-\(day)T10:00:00Z"),
                record("sla_warning", incident, at: "2026-03-\(day)T11:00:00Z", target: "first_response"),
            ]
        }
        var records = warned("A", "02")  // at risk
        records += warned("B", "03") + [record("acknowledged", "B", at: "2026-03-03T11:30:00Z", firstResponse: 90)]
        records +=
            warned("C", "04") + [record("escalated", "C", at: "2026-03-04T12:00:00Z", breached: true, level: 1, target: "first_response")]
        records += warned("D", "05") + [record("closed_resolved", "D", at: "2026-03-05T11:30:00Z", outcome: "resolved")]
        records += [
            record("opened", "E", at: "2026-03-06T10:00:00Z"),  // never warned
            record("opened", "F", at: "2026-03-07T10:00:00Z"),
            record("sla_warning", "F", at: "2026-03-07T18:00:00Z", target: "resolution"),  // another target
        ]
        records += warned("G", "08") + [record("closed_resolved", "G", at: "2026-03-08T11:30:00Z", outcome: "resolved")]
        records += [record("reopened", "G", at: "2026-03-09T10:00:00Z")]  // open again, still unanswered: at risk
        let report = SlaComplianceReport(records: records, window: march, groupBy: .team, asOf: asOf)
        #expect(report.total.atRisk == 2)
    }

    @Test func recordsAfterAsOfAreIgnored() {
        let records = [
            record("opened", "A", at: "2026-03-02T10:00:00Z"),
            record("sla_warning", "A", at: "2026-03-02T11:00:00Z", target: "first_response"),
            record("acknowledged", "A", at: "2026-03-02T13:00:00Z", firstResponse: 180),
            record("opened", "B", at: "2026-03-02T12:30:00Z"),
        ]
        let report = SlaComplianceReport(records: records, window: march, groupBy: .team, asOf: at("2026-03-02T12:00:00Z"))
        #expect(report.recordsAfterAsOf == 2)
        #expect(report.total.opened == 1 && report.total.measured == 0 && report.total.atRisk == 1)
    }

    @Test func orphansAreInNoWindow() {
        let records = [record("acknowledged", "X", at: "2026-03-02T10:00:00Z", firstResponse: 3)]
        let report = SlaComplianceReport(records: records, window: march, groupBy: .team, asOf: asOf)
        #expect(report.orphanIncidents == 1 && report.total.opened == 0 && report.rows.isEmpty)
    }

    @Test func groupsByTeamSeverityCustomerAndMonth() {
        let records = [
            record("opened", "A", at: "2026-01-31T23:00:00Z", team: "billing", severity: .a, customer: "acme"),
            record("opened", "B", at: "2026-02-01T00:00:00Z", team: "", severity: .c, customer: "globex"),
            record("opened", "C", at: "2026-03-15T10:00:00Z", team: "emea", severity: .b, customer: "acme"),
            record("severity_changed", "C", at: "2026-03-15T11:00:00Z", team: "emea", severity: .a, customer: "acme"),
        ]
        let quarter = DateInterval(start: at("2026-01-01T00:00:00Z"), end: at("2026-04-01T00:00:00Z"))
        func groups(_ grouping: ReportGrouping) -> [String?] {
            SlaComplianceReport(records: records, window: quarter, groupBy: grouping, asOf: asOf).rows.map(\.group)
        }
        #expect(groups(.team) == ["", "billing", "emea"])
        #expect(groups(.severity) == ["SEVERITY_A", "SEVERITY_C"])
        #expect(groups(.customer) == ["acme", "globex"])
        #expect(groups(.month) == ["2026-01", "2026-02", "2026-03"])
        let severity = SlaComplianceReport(records: records, window: quarter, groupBy: .severity, asOf: asOf)
        #expect(severity.row("SEVERITY_A")?.opened == 2)
    }

    @Test func waitingIsSummedAndAveragedOverOpenedIncidents() {
        let records = [
            record("opened", "A", at: "2026-03-02T10:00:00Z"),
            record("customer_responded", "A", at: "2026-03-02T12:00:00Z", waiting: 90),
            record("opened", "B", at: "2026-03-03T10:00:00Z"),
        ]
        let total = SlaComplianceReport(records: records, window: march, groupBy: .team, asOf: asOf).total
        #expect(total.waitingOnCustomerMinutes == 90 && total.meanWaitingOnCustomerMinutes == 45)
    }

    @Test func anEmptyReportHasNoFiguresButATotal() {
        let report = SlaComplianceReport(records: [AnalyticsRecord](), window: march, groupBy: .month, asOf: asOf)
        #expect(report.rows.isEmpty && report.total.opened == 0 && report.escalationLevels == 3)
        #expect(report.total.withinTargetPercent == nil && report.total.medianFirstResponseMinutes == nil)
        #expect(report.total.meanWaitingOnCustomerMinutes == nil)
        #expect(report.csv() == report.csvHeader.joined(separator: ",") + "\nTOTAL,0,0,0,,0,0,0,0,,,0.0,,0\n")
    }

    @Test(
        arguments: [
            (50, [Double](), nil), (50, [7], 7), (90, [7], 7), (50, [1, 2], 1), (50, [1, 2, 3], 2), (90, [1, 2, 3], 3),
            (90, (1...10).map(Double.init), 9), (90, (1...30).map(Double.init), 27), (100, [1, 2, 3], 3), (1, [4, 5], 4),
        ] as [(Int, [Double], Double?)])
    func nearestRank(percent: Int, values: [Double], expected: Double?) {
        #expect(NearestRank.percentile(percent, of: values) == expected)
    }

    @Test func csvHasAHeaderAndQuotesWhatNeedsIt() {
        let records = [
            record("opened", "A", at: "2026-03-02T10:00:00Z", customer: "Acme, Inc."),
            record("acknowledged", "A", at: "2026-03-02T10:30:00Z", customer: "Acme, Inc.", firstResponse: 30),
        ]
        let csv = SlaComplianceReport(records: records, window: march, groupBy: .customer, asOf: asOf).csv()
        let lines = csv.split(separator: "\n")
        #expect(
            lines[0]
                == "customer,opened,measured,within_target,within_target_percent,breached,reached_level_1,reached_level_2,reached_level_3,"
                + "median_first_response_minutes,p90_first_response_minutes,waiting_on_customer_minutes,mean_waiting_on_customer_minutes,at_risk"
        )
        #expect(lines[1] == "\"Acme, Inc.\",1,1,1,100.0,0,0,0,0,30.0,30.0,0.0,0.0,0")
        #expect(lines[2].hasPrefix("TOTAL,1,"))
    }

    @Test func jsonHasTheDocumentedShape() throws {
        let records = [
            record("opened", "A", at: "2026-03-02T10:00:00Z", team: "bill\"ing"),
            record("acknowledged", "A", at: "2026-03-02T10:30:00Z", team: "bill\"ing", firstResponse: 30),
        ]
        let json = SlaComplianceReport(records: records, window: march, groupBy: .team, asOf: at("2026-04-02T08:00:00Z")).json()
        #expect(
            json == """
                {"report":"sla_compliance","version":1,"group_by":"team","window":{"from":"2026-03-01T00:00:00Z","to":"2026-04-01T00:00:00Z"},\
                "as_of":"2026-04-02T08:00:00Z","escalation_levels":3,"rows":[{"group":"bill\\"ing","opened":1,"measured":1,"within_target":1,\
                "within_target_percent":100.0,"breached":0,"reached_level":[0,0,0],"median_first_response_minutes":30.0,\
                "p90_first_response_minutes":30.0,"waiting_on_customer_minutes":0.0,"mean_waiting_on_customer_minutes":0.0,"at_risk":0}],\
                "total":{"group":null,"opened":1,"measured":1,"within_target":1,"within_target_percent":100.0,"breached":0,\
                "reached_level":[0,0,0],"median_first_response_minutes":30.0,"p90_first_response_minutes":30.0,\
                "waiting_on_customer_minutes":0.0,"mean_waiting_on_customer_minutes":0.0,"at_risk":0},"records_read":2,\
                "duplicate_records":0,"records_after_as_of":0,"orphan_incidents":0}
                """)
        _ = try JSONSerialization.jsonObject(with: Data(json.utf8))
    }

    @Test func theTableNamesEmptyGroupsAndEndsWithTheTotal() {
        let records = [record("opened", "A", at: "2026-03-02T10:00:00Z", team: "")]
        let table = SlaComplianceReport(records: records, window: march, groupBy: .team, asOf: asOf).table()
        let lines = table.split(separator: "\n")
        #expect(lines[1].hasPrefix("team") && lines[3].hasPrefix("(none)") && lines.last!.hasPrefix("TOTAL"))
    }

    @Test func recordLinesReadSinkAndTailLines() throws {
        let published = try record("opened", "A", at: "2026-03-02T10:00:00Z").jsonString()
        let text = """
            \(published)

            {"topic":"triage.analytics","partition":0,"offset":7,"key":"A","value":\(published)}
            not json
            {"topic":"triage.analytics","value":"text"}
            {"some":"object"}
            """
        let contents = AnalyticsRecordLines.read(text)
        #expect(contents.records.count == 2 && contents.records.allSatisfy { $0.incidentID == "A" })
        #expect(contents.unreadableLines == [4, 5, 6])
    }
}
