import Foundation
import Testing
import TriageSchema

@testable import TriageReports

/// The Swift report against an independent implementation: DuckDB SQL (scripts/sla-report.sql,
/// run by scripts/sla-report-duckdb.py) over the same JSON lines, written by the real fold.
@Suite("SLA compliance report: cross-checked with DuckDB")
struct DuckDBCrossCheckTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `nil` when python3 with duckdb is available, else why not.
    static let missingDuckDB: String? = {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import duckdb"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        do {
            try probe.run()
            probe.waitUntilExit()
        } catch {
            return "python3 is not installed (\(error)); `make test-deps` installs duckdb"
        }
        return probe.terminationStatus == 0
            ? nil : "python3 has no duckdb module; `make test-deps` (python3 -m pip install duckdb) installs it"
    }()

    @Test func theStoryCoversWhatItClaims() throws {
        let report = SlaComplianceReport(records: FoldedStory.records(), window: march, groupBy: .team, asOf: FoldedStory.asOf)
        let total = report.total
        // INC-february is outside; the rest are March's.
        #expect(total.opened == 7)
        #expect(report.duplicateRecords > 0)
        #expect(total.measured == 6 && total.breached == 2 && total.withinTarget == 4)
        #expect(total.reachedLevel == [2, 1, 0])
        #expect(total.atRisk == 1)
        #expect(report.row("emea")?.waitingOnCustomerMinutes == 120)
        #expect(report.row("billing")?.firstResponseMinutes == [20, 45, 390])
        #expect(report.row("emea")?.firstResponseMinutes == [5.504167, 60, 150])
    }

    @Test(.enabled(if: missingDuckDB == nil, "\(missingDuckDB ?? "")"), arguments: ReportGrouping.allCases)
    func duckDBAgrees(grouping: ReportGrouping) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("triage-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("records.jsonl")
        let lines = try FoldedStory.jsonLines()
        try lines.write(to: file, atomically: true, encoding: .utf8)

        let swift = SlaComplianceReport(
            records: AnalyticsRecordLines.read(lines).records, window: march, groupBy: grouping, asOf: FoldedStory.asOf)
        let sql = try runDuckDB(file: file, grouping: grouping)
        #expect(sql.count == swift.rows.count + 1, "\(sql)")
        for (row, expected) in zip(swift.rows + [swift.total], sql) {
            #expect(row.group == expected["grp"] as? String)
            let counts: [(String, Int)] = [
                ("opened", row.opened), ("measured", row.measured), ("within_target", row.withinTarget), ("breached", row.breached),
                ("reached_level_1", row.reachedLevel[0]), ("reached_level_2", row.reachedLevel[1]),
                ("reached_level_3", row.reachedLevel[2]),
                ("at_risk", row.atRisk),
            ]
            for (name, value) in counts { #expect(expected[name] as? Int == value, "\(name) of \(row.group ?? "total")") }
            let minutes: [(String, Double?)] = [
                ("within_target_percent", row.withinTargetPercent), ("median_first_response_minutes", row.medianFirstResponseMinutes),
                ("p90_first_response_minutes", row.p90FirstResponseMinutes), ("waiting_on_customer_minutes", row.waitingOnCustomerMinutes),
                ("mean_waiting_on_customer_minutes", row.meanWaitingOnCustomerMinutes),
            ]
            for (name, value) in minutes {
                let other = expected[name] as? Double
                #expect((value == nil) == (other == nil), "\(name) of \(row.group ?? "total")")
                if let value, let other { #expect(abs(value - other) < 1e-6, "\(name) of \(row.group ?? "total"): \(value) vs \(other)") }
            }
        }
    }

    private func runDuckDB(file: URL, grouping: ReportGrouping) throws -> [[String: Any]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", Self.repository.appendingPathComponent("scripts/sla-report-duckdb.py").path, file.path, "2026-03-01 00:00:00",
            "2026-04-01 00:00:00", "2026-03-30 13:30:00", grouping.rawValue,
        ]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "duckdb script failed: \(errorText)")
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }
}
