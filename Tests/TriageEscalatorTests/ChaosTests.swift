import Foundation
import Testing
import TriageKafkaTesting

/// The reduced chaos run of CI (`make chaos` runs ten minutes): three processes of each worker
/// kind on a three-broker `triage broker`, workers SIGKILLed and restarted every few seconds,
/// broker faults; the auditor's table must show no loss, no over-capacity assignment, no
/// incident held twice, no escalation level fired other than once, no notification left
/// undelivered and not dead-lettered, and every worker exiting 0 on SIGTERM at the end.
@Suite("Chaos: kills and broker faults under load, audited")
struct ChaosTests {
    @Test func aShortChaosRunPassesEveryCheck() async throws { try await HeavyTests.run(weight: 2) { try await self.body() } }

    func body() async throws {
        let report = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("chaos") + ".md").path
        let (status, output, errors) = try await runProcess(
            triageExecutable,
            [
                "chaos", "--duration", "45", "--incident-rate", "10", "--kill-interval", "4", "--settle", "120", "--report", report,
                "--log-level", "error",
            ],
            timeout: .seconds(280)
        )
        print(
            output.split(separator: "\n").filter { $0.hasPrefix("|") || $0.hasPrefix("chaos") || $0.hasPrefix("seed") }.joined(
                separator: "\n"))
        #expect(status == 0, "\(output.suffix(3_000)) \(errors.suffix(1_000))")
        let table = try String(contentsOfFile: report, encoding: .utf8)
        func row(_ name: String) -> [String] {
            table.split(separator: "\n").first { $0.hasPrefix("| \(name) ") }.map {
                $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            } ?? []
        }
        func number(_ name: String) -> Int? { row(name).dropFirst().first.flatMap { Int($0.split(separator: " ").first ?? "") } }
        // The run did what it claims: load, kills and faults, assignments and notifications.
        #expect((number("lifecycle events published (acknowledged by the broker)") ?? 0) > 500, "\(table)")
        #expect((number("worker kills (SIGKILL) / broker faults") ?? 0) >= 5, "\(table)")
        #expect((number("assignments / reassignments audited") ?? 0) > 10, "\(table)")
        #expect((number("notification requests") ?? 0) > 10, "\(table)")
        // And every invariant held.
        for check in [
            "  lost by the workers (in the lifecycle topic, not accounted for)", "assignments violating capacity",
            "incidents assigned twice", "other assignment inconsistencies (a move from an agent not holding it)",
            "breaches without exactly one escalation per level",
            "  neither delivered nor dead-lettered",
        ] {
            #expect(number(check) == 0, "\(check): \(table)")
        }
        #expect(table.contains("Result: every check passed."), "\(table)")
        // Events acknowledged to the simulator's producer but never stored are reported, not a
        // worker's failure (docs/reliability.md); a run where that swallowed the load is no run.
        #expect(
            (number("  acknowledged but never in the lifecycle topic (producer client / embedded broker; no worker saw them)") ?? 99) <= 5,
            "\(table)")
    }
}
