import Foundation
import Testing
import TriageDevTools
import TriageKafkaTesting

/// The reduced chaos run of CI (`make chaos` runs ten minutes): three processes of each worker
/// kind on a three-broker `triage broker`, workers SIGKILLed and restarted every few seconds,
/// broker faults; the auditor's result (`--result-json`, read back as TriageDevTools'
/// `ChaosResultFile`) must show no loss, no over-capacity assignment, no incident held twice,
/// no escalation level fired other than once, no notification left undelivered and not
/// dead-lettered, and every worker exiting 0 on SIGTERM at the end.
@Suite("Chaos: kills and broker faults under load, audited")
struct ChaosTests {
    @Test func aShortChaosRunPassesEveryCheck() async throws { try await HeavyTests.run(weight: 2) { try await self.body() } }

    func body() async throws {
        let report = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("chaos") + ".md").path
        let resultFile = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("chaos") + ".json").path
        let (status, output, errors) = try await runProcess(
            triageExecutable,
            [
                "chaos", "--duration", "45", "--incident-rate", "10", "--kill-interval", "4", "--settle", "120", "--report", report,
                "--result-json", resultFile, "--log-level", "error",
            ],
            timeout: .seconds(280)
        )
        print(
            output.split(separator: "\n").filter { $0.hasPrefix("|") || $0.hasPrefix("chaos") || $0.hasPrefix("seed") }.joined(
                separator: "\n"))
        #expect(status == 0, "\(output.suffix(3_000)) \(errors.suffix(1_000))")
        let table = (try? String(contentsOfFile: report, encoding: .utf8)) ?? "(no table)"
        let result = try JSONDecoder().decode(ChaosResultFile.self, from: Data(contentsOf: URL(fileURLWithPath: resultFile)))
        let figures = result.figures
        // The run did what it claims: load, kills and faults, assignments and notifications.
        #expect(figures.published > 500, "\(table)")
        #expect(figures.kills + figures.faults >= 5, "\(table)")
        #expect(figures.assignments + figures.reassignments > 10, "\(table)")
        #expect(figures.notificationRequests > 10, "\(table)")
        // The load exercises the update clock (public notes, update targets without --policy),
        // and the replay found levels that were due: the audit checked them.
        #expect(figures.updateEscalations > 0, "\(table)")
        #expect(figures.updateEscalationsExpected > 0, "\(table)")
        // And every invariant held.
        #expect(figures.lost == 0, "lost by the workers: \(table)")
        #expect(figures.capacityViolations.isEmpty, "assignments violating capacity: \(table)")
        #expect(figures.heldTwice.isEmpty, "incidents assigned twice: \(table)")
        #expect(figures.otherAssignmentViolations.isEmpty, "other assignment inconsistencies: \(table)")
        #expect(figures.escalationProblems.isEmpty, "breaches without exactly one escalation per level: \(table)")
        #expect(figures.notificationsOutstanding == 0, "neither delivered nor dead-lettered: \(table)")
        #expect(!figures.workerExits.isEmpty && figures.workerExits.values.allSatisfy { $0 == 0 }, "exits: \(figures.workerExits)")
        #expect(result.passed && result.failures.isEmpty, "\(result.failures)")
        // Events acknowledged to the simulator's producer but never stored are reported, not a
        // worker's failure (docs/reliability.md); a run where that swallowed the load is no run.
        #expect(figures.neverStored <= 5, "\(table)")
    }
}
