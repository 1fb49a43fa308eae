import Foundation
import Testing
import TriageConsole
import TriageKafkaTesting

/// The reports page: the SLA compliance report of the analytics feed's records, for leads and
/// admins, with CSV and JSON downloads and clear errors for a bad window.
@Suite("Console: SLA compliance reports", .serialized)
struct ConsoleReportTests {
    @Test func leadsSeeTheReportOfTheFeedsRecordsAndAgentsDoNot() async throws {
        try await HeavyTests.run {
            let harness = try await ConsoleHarness()
            defer { Task { try? await harness.stop() } }
            try await harness.grantPack()
            let first = try await harness.open(team: "tier-1")
            let second = try await harness.open(team: "tier-2")
            let lee = WebSession(http: harness.http, base: harness.base)
            try await lee.signIn("lee")
            // The analytics feed folds both Opened events; the page reads the topic (cached 30 s,
            // so the first read must already see both).
            try await eventually("the console shows both incidents", timeout: .seconds(30)) {
                let list = try? await lee.get("/incidents?state=all")
                return list.map { $0.body.contains(first) && $0.body.contains(second) } ?? false
            }
            try await Task.sleep(for: .seconds(1))
            let page = try await lee.get("/reports?by=team")
            #expect(page.status == 200)
            #expect(page.body.contains("<table id=\"sla-report\""))
            #expect(page.body.contains("data-group=\"tier-1\"") && page.body.contains("data-group=\"tier-2\""), "\(page.body.prefix(3000))")
            #expect(page.body.contains("id=\"report-total\" class=\"total\" data-opened=\"2\""))

            let csv = try await lee.get("/reports?by=severity&format=csv")
            #expect(csv.status == 200 && csv.headers.first(name: "content-type")?.hasPrefix("text/csv") == true)
            #expect(csv.body.split(separator: "\n").count >= 3, "a header, a row, the total: \(csv.body)")
            let json = try await lee.get("/reports?by=customer&format=json")
            #expect(json.status == 200)
            #expect((try? JSONSerialization.jsonObject(with: Data(json.body.utf8))) is [String: Any], "\(json.body.prefix(300))")

            let bad = try await lee.get("/reports?from=yesterday")
            #expect(bad.status == 400 && bad.body.contains("is not a date (2026-11-01) or an RFC 3339 instant"))
            let backwards = try await lee.get("/reports?from=2026-12-02&to=2026-12-01")
            #expect(backwards.status == 400 && backwards.body.contains("from must be before to"))

            let ana = WebSession(http: harness.http, base: harness.base)
            try await ana.signIn("ana")
            #expect(try await ana.get("/reports").status == 403, "agents do not see every team's and customer's figures")
            try await harness.stop()
        }
    }
}
