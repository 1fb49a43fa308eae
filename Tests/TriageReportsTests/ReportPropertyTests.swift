import Foundation
import SwiftProtobuf
import Testing
import TriageSchema

@testable import TriageReports

/// Random record sets (seeded): incidents opened around the window with random attributes, acks,
/// breaches, escalations, warnings, waits, closes, duplicates and shuffled read order.
private func randomRecords(seed: UInt64) -> [AnalyticsRecord] {
    var random = SeededRandom(seed: seed)
    let teams = ["billing", "emea", ""]
    let customers = ["acme", "globex", "initech"]
    let severities: [Severity] = [.a, .b, .c, .unspecified]
    var records: [AnalyticsRecord] = []
    for index in 0..<Int.random(in: 0...60, using: &random) {
        let incident = "INC-\(index)"
        // Opened from mid-February to mid-April; some incidents are orphans.
        let opened = march.start.addingTimeInterval(Double.random(in: -15...45, using: &random) * 86_400)
        var now = opened
        var base = AnalyticsRecord()
        base.incidentID = incident
        base.team = teams.randomElement(using: &random)!
        base.customerAccount = customers.randomElement(using: &random)!
        base.severity = severities.randomElement(using: &random)!
        var sequence = 0
        func add(_ type: String, _ change: (inout AnalyticsRecord) -> Void = { _ in }) {
            sequence += 1
            change(&base)
            var copy = base
            copy.eventID = "\(incident)-\(sequence)"
            copy.eventType = type
            copy.occurredAt = Google_Protobuf_Timestamp(date: now)
            copy.escalationLevel = 0
            copy.slaTarget = ""
            change(&copy)
            records.append(copy)
            if Int.random(in: 0..<8, using: &random) == 0 { records.append(copy) }  // a re-publication
        }
        if Int.random(in: 0..<10, using: &random) > 0 { add("opened") }
        for _ in 0..<Int.random(in: 0...8, using: &random) {
            now = now.addingTimeInterval(Double(Int.random(in: 0...600, using: &random)) * 60)
            switch Int.random(in: 0..<8, using: &random) {
            case 0:
                add("acknowledged") { record in
                    if !record.hasFirstResponseBusinessMinutes {
                        record.firstResponseBusinessMinutes = Double(Int.random(in: 0...100_000, using: &random)) / 100
                    }
                }
            case 1:
                add("escalated") {
                    $0.breached = true; $0.escalationLevel = UInt32.random(in: 1...4, using: &random); $0.slaTarget = "first_response"
                }
            case 2: add("sla_warning") { $0.slaTarget = Bool.random(using: &random) ? "first_response" : "resolution" }
            case 3: add("customer_responded") { $0.waitingOnCustomerMinutes += Double(Int.random(in: 0...5_000, using: &random)) / 7 }
            case 4: add("closed_resolved") { $0.outcome = "resolved" }
            case 5: add("reopened") { $0.outcome = "" }
            case 6: add("severity_changed") { $0.severity = severities.randomElement(using: &random)! }
            default: add("note_added") { $0.breached = $0.breached || Int.random(in: 0..<5, using: &random) == 0 }
            }
        }
    }
    records.shuffle(using: &random)
    return records
}

/// The report computed the naive way, straight from the definitions, for one group.
private struct NaiveFigures: Equatable {
    var opened = 0, measured = 0, withinTarget = 0, breached = 0, atRisk = 0
    var levels: [Int]
}

private func naive(_ records: [AnalyticsRecord], grouping: ReportGrouping, asOf: Date, levels: Int) -> [String: NaiveFigures] {
    var seen = Set<String>()
    let kept = records.filter { seen.insert($0.eventID).inserted && $0.occurredAt.date <= asOf }
    var result: [String: NaiveFigures] = [:]
    for (_, trail) in Dictionary(grouping: kept, by: \.incidentID) {
        guard let opened = trail.filter({ $0.eventType == "opened" }).map(\.occurredAt.date).min(), march.contains(opened),
            opened < march.end
        else { continue }
        let latest = trail.enumerated().max { ($0.element.occurredAt.date, $0.offset) < ($1.element.occurredAt.date, $1.offset) }!.element
        let level = trail.filter { $0.eventType == "escalated" && $0.slaTarget == "first_response" }.map(\.escalationLevel).max() ?? 0
        let warned = trail.contains { $0.eventType == "sla_warning" && $0.slaTarget == "first_response" }
        let key: String =
            switch grouping {
            case .team: latest.team
            case .customer: latest.customerAccount
            case .severity: latest.severity.recordName
            case .month: IncidentTrail.month(opened)
            }
        var figures = result[key] ?? NaiveFigures(levels: Array(repeating: 0, count: levels))
        figures.opened += 1
        if latest.hasFirstResponseBusinessMinutes {
            figures.measured += 1
            if !latest.breached { figures.withinTarget += 1 }
        }
        if latest.breached { figures.breached += 1 }
        if latest.outcome.isEmpty, !latest.hasFirstResponseBusinessMinutes, !latest.breached, warned { figures.atRisk += 1 }
        for index in 0..<min(Int(level), levels) { figures.levels[index] += 1 }
        result[key] = figures
    }
    return result
}

@Suite("SLA compliance report: properties over random record sets")
struct ReportPropertyTests {
    @Test(arguments: 1...40 as ClosedRange<UInt64>)
    func invariantsHold(seed: UInt64) {
        let records = randomRecords(seed: seed)
        let asOf = march.end.addingTimeInterval(Double(seed % 3) * 10 * 86_400 - 86_400)
        for grouping in ReportGrouping.allCases {
            let report = SlaComplianceReport(records: records, window: march, groupBy: grouping, asOf: asOf)
            let total = report.total
            for row in report.rows + [total] {
                // within target + breached with a measure == measured
                let breachedMeasured = row.firstResponseMinutes.count - row.withinTarget
                #expect(row.withinTarget + breachedMeasured == row.measured)
                #expect(row.breachedAndMeasured <= row.breached && row.measured <= row.opened && row.atRisk <= row.opened - row.measured)
                // Percentiles are values of the set and monotone.
                if let median = row.medianFirstResponseMinutes, let p90 = row.p90FirstResponseMinutes {
                    #expect(row.firstResponseMinutes.first! <= median && median <= p90 && p90 <= row.firstResponseMinutes.last!)
                    #expect(row.firstResponseMinutes.contains(median) && row.firstResponseMinutes.contains(p90))
                } else {
                    #expect(row.measured == 0)
                }
                #expect(zip(row.reachedLevel, row.reachedLevel.dropFirst()).allSatisfy { $0 >= $1 })
                #expect(row.reachedLevel.count == report.escalationLevels)
            }
            // The groups add up to the total.
            #expect(report.rows.map(\.opened).reduce(0, +) == total.opened)
            #expect(report.rows.map(\.measured).reduce(0, +) == total.measured)
            #expect(report.rows.map(\.withinTarget).reduce(0, +) == total.withinTarget)
            #expect(report.rows.map(\.breached).reduce(0, +) == total.breached)
            #expect(report.rows.map(\.atRisk).reduce(0, +) == total.atRisk)
            #expect(
                report.rows.map(\.reachedLevel).reduce(Array(repeating: 0, count: report.escalationLevels)) { zip($0, $1).map(+) }
                    == total.reachedLevel)
            #expect(abs(report.rows.map(\.waitingOnCustomerMinutes).reduce(0, +) - total.waitingOnCustomerMinutes) < 1e-6)
            #expect(report.rows.flatMap(\.firstResponseMinutes).sorted() == total.firstResponseMinutes)
            #expect(report.rows.map { $0.group ?? "" } == report.rows.map { $0.group ?? "" }.sorted())
            // The same figures the naive way.
            let expected = naive(records, grouping: grouping, asOf: asOf, levels: report.escalationLevels)
            let actual = Dictionary(
                uniqueKeysWithValues: report.rows.map {
                    (
                        $0.group!,
                        NaiveFigures(
                            opened: $0.opened, measured: $0.measured, withinTarget: $0.withinTarget, breached: $0.breached,
                            atRisk: $0.atRisk, levels: $0.reachedLevel)
                    )
                })
            #expect(actual == expected, "seed \(seed), \(grouping)")
        }
    }

    @Test(arguments: 1...10 as ClosedRange<UInt64>)
    func readOrderDoesNotMatterWhenCopiesAreExactAndInstantsDistinct(seed: UInt64) {
        let records = randomRecords(seed: seed)
        var seen = Set<String>()
        // Distinct instants per incident: the latest record is then independent of the read order.
        let distinct = Dictionary(grouping: records.filter { seen.insert($0.eventID).inserted }, by: \.incidentID).values.flatMap { trail in
            Dictionary(grouping: trail, by: { $0.occurredAt.date }).values.compactMap { $0.count == 1 ? $0[0] : nil }
        }
        var random = SeededRandom(seed: seed &* 31)
        let once = SlaComplianceReport(records: distinct, window: march, groupBy: .team, asOf: march.end)
        let shuffled = SlaComplianceReport(
            records: (distinct + distinct).shuffled(using: &random), window: march, groupBy: .team, asOf: march.end)
        // Sums of minutes may differ in the last bits with the summation order.
        func rounded(_ row: SlaComplianceRow) -> SlaComplianceRow {
            var row = row
            row.waitingOnCustomerMinutes = (row.waitingOnCustomerMinutes * 1_000).rounded() / 1_000
            return row
        }
        #expect(once.rows.map(rounded) == shuffled.rows.map(rounded) && rounded(once.total) == rounded(shuffled.total))
    }
}
