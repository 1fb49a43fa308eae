import Foundation
import Testing
import TriageKafkaTesting
import TriageSLABacktest

@testable import TriageConsole

/// Shorter first-response targets for severity B (what the harness opens), under both coverages.
private let shorterTargets = """
    targets:
      business_hours:
        B: { first_response: 1m }
      24x7:
        B: { first_response: 1m }
    """

/// Line 3 names a key the loader does not know.
private let misspelled = """
    targets:
      24x7:
        B: { first_respons: 1m }
    """

/// The back-test page: leads upload (multipart) or paste a candidate policy, see the engine's
/// comparison, download it; a bad policy or window comes back with the loader's words and
/// everything entered; agents get 403; forged forms are refused.
@Suite("Console: SLA back-test", .serialized)
struct ConsoleBacktestTests {
    @Test func aLeadUploadsAPolicyAndSeesWhatTriageSlaBacktestPrints() async throws {
        try await HeavyTests.run {
            let harness = try await ConsoleHarness()
            defer { Task { try? await harness.stop() } }
            try await harness.grantPack()
            let first = try await harness.open(team: "tier-1")
            let second = try await harness.open(team: "tier-2")
            let lee = WebSession(http: harness.http, base: harness.base)
            try await lee.signIn("lee")

            let reports = try await lee.get("/reports")
            #expect(reports.body.contains("href=\"/reports/backtest\" id=\"backtest-link\""))
            let page = try await lee.get("/reports/backtest")
            #expect(page.status == 200)
            let form = try #require(WebSession.form("backtest-form", in: page.body))
            #expect(
                form.action == "/reports/backtest" && form.fields.contains { $0.0 == "csrf" } && form.fields.contains { $0.0 == "nonce" })
            #expect(page.body.contains("enctype=\"multipart/form-data\""))
            #expect(
                page.body.contains("id=\"baseline-in-force\" value=\"in-force\" checked"), "the baseline defaults to the policy in force")

            let from = ReportsPage.Query.dayText(Date().addingTimeInterval(-86_400)).prefix(10).description
            let to = ReportsPage.Query.dayText(Date().addingTimeInterval(86_400)).prefix(10).description
            let window = [("from", from), ("to", to), ("by", "team"), ("baseline", "in-force"), ("candidate", "upload")]
            let sent = try await lee.postMultipart(
                "/reports/backtest", form.fields + window, files: [("policy_file", "shorter.yaml", shorterTargets)])
            #expect(sent.status == 303, "\(sent.body.prefix(2000))")
            let location = try #require(sent.location)
            #expect(location.hasPrefix("/reports/backtest/"))

            var result = try await lee.get(location)
            let deadline = ContinuousClock.now + .seconds(60)
            while result.status == 202, ContinuousClock.now < deadline {
                #expect(result.body.contains("id=\"backtest-progress\""), "a run still working says so")
                result = try await lee.get(location)
            }
            #expect(result.status == 200, "\(result.body.prefix(2000))")
            #expect(result.body.contains("<table id=\"backtest-table\""))
            #expect(result.body.contains("id=\"backtest-candidate-name\">shorter.yaml<"))
            #expect(result.body.contains("id=\"backtest-total\" class=\"total\" data-incidents=\"2\""), "\(result.body.prefix(4000))")
            #expect(result.body.contains("data-group=\"tier-1\"") && result.body.contains("data-group=\"tier-2\""))
            for incident in [first, second] {
                #expect(result.body.contains("<a href=\"/incidents/\(incident)\">"), "\(incident) is listed as changed, with a link")
            }

            let json = try await lee.get(location + "?format=json")
            #expect(json.status == 200 && json.headers.first(name: "content-type") == "application/json")
            let shown = try SlaBacktestResult.decode(json: Data(json.body.utf8))
            let csv = try await lee.get(location + "?format=csv")
            #expect(csv.status == 200 && csv.body.hasPrefix("team,policy,incidents"))

            // The same window of the same topic through the command line.
            let policy = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("candidate") + ".yaml").path
            try shorterTargets.write(toFile: policy, atomically: true, encoding: .utf8)
            let (status, output, errors) = try await runProcess(
                triageExecutable,
                [
                    "sla", "backtest", "--policy", policy, "--from", from, "--to", to, "--by", "team", "--format", "json", "--scan-from",
                    "beginning", "--topic", harness.topics.incidentEvents, "--bootstrap", harness.cluster.bootstrapServers, "--log-level",
                    "error",
                ], timeout: .seconds(120))
            #expect(status == 0, "\(errors)")
            let cli = try SlaBacktestResult.decode(json: Data(output.utf8))
            #expect(shown.total == cli.total && shown.rows == cli.rows)
            #expect(shown.changed == cli.changed && shown.changedCount == cli.changedCount && shown.changedCount == 2)
            #expect(shown.recordsRead == cli.recordsRead && shown.eventsApplied == cli.eventsApplied)

            // Asking again for the same gets the same run (fresh for 30 s): the topic is not read again.
            let again = try await lee.postMultipart(
                "/reports/backtest", form.fields + window, files: [("policy_file", "shorter.yaml", shorterTargets)])
            #expect(again.location == location)

            // An agent sees none of it.
            let ana = WebSession(http: harness.http, base: harness.base)
            try await ana.signIn("ana")
            #expect(try await ana.get("/reports/backtest").status == 403)
            #expect(try await ana.get(location).status == 403, "agents do not see every team's figures")
            let anaForm = try #require(WebSession.form("sign-out", in: try await ana.get("/queues").body))
            let refused = try await ana.postMultipart(
                "/reports/backtest", anaForm.fields + window, files: [("policy_file", "shorter.yaml", shorterTargets)])
            #expect(refused.status == 403 && refused.location == nil)
            try await harness.stop()
        }
    }

    @Test func aBadPolicyOrWindowComesBackWithTheLoadersWordsAndWhatWasEntered() async throws {
        try await HeavyTests.run {
            let harness = try await ConsoleHarness()
            defer { Task { try? await harness.stop() } }
            let lee = WebSession(http: harness.http, base: harness.base)
            try await lee.signIn("lee")
            let form = try #require(WebSession.form("backtest-form", in: try await lee.get("/reports/backtest").body))

            let pasted = try await lee.post(
                "/reports/backtest",
                form.fields + [
                    ("from", "2026-11-01"), ("to", "2026-12-01"), ("by", "severity"), ("baseline", "defaults"), ("candidate", "paste"),
                    ("policy_text", misspelled),
                ])
            #expect(pasted.status == 400)
            #expect(pasted.body.contains("id=\"backtest-error\""))
            #expect(pasted.body.contains("pasted policy:3:"), "the line: \(pasted.body.prefix(3000))")
            #expect(pasted.body.contains("first_respons"), "the key")
            #expect(pasted.body.contains("value=\"2026-11-01\"") && pasted.body.contains("<option value=\"severity\" selected>"))
            #expect(pasted.body.contains("id=\"baseline-defaults\" value=\"defaults\" checked"))
            #expect(pasted.body.contains("B: { first_respons: 1m }"), "the pasted text is kept")

            let uploaded = try await lee.postMultipart(
                "/reports/backtest", form.fields + [("from", "2026-11-01"), ("to", "2026-12-01"), ("candidate", "upload")],
                files: [("policy_file", "candidate.yaml", misspelled)])
            #expect(uploaded.status == 400)
            #expect(uploaded.body.contains("candidate.yaml:3:"), "\(uploaded.body.prefix(3000))")
            #expect(uploaded.body.contains("id=\"backtest-file-kept\""), "the file's text is kept in the box")

            let badWindow = try await lee.post(
                "/reports/backtest", form.fields + [("from", "last month"), ("to", "2026-12-01"), ("candidate", "defaults")])
            #expect(badWindow.status == 400 && badWindow.body.contains("data-field=\"from\""))
            #expect(badWindow.body.contains("from: &#39;last month&#39; is not a date"))
            let backwards = try await lee.post(
                "/reports/backtest", form.fields + [("from", "2026-12-02"), ("to", "2026-12-01"), ("candidate", "defaults")])
            #expect(backwards.status == 400 && backwards.body.contains("from must be before to"))
            let noFile = try await lee.postMultipart(
                "/reports/backtest", form.fields + [("from", "2026-11-01"), ("to", "2026-12-01"), ("candidate", "upload")], files: [])
            #expect(noFile.status == 400 && noFile.body.contains("data-field=\"policy_file\""))

            let huge = try await lee.postMultipart(
                "/reports/backtest", form.fields + [("candidate", "upload")],
                files: [("policy_file", "huge.yaml", "# " + String(repeating: "x", count: 300 * 1024) + "\n")])
            #expect(huge.status == 413 && huge.body.contains("larger than 256 KiB"), "\(huge.status)")

            // Forged: no token, another origin.
            let noToken = try await lee.post("/reports/backtest", [("from", "2026-11-01"), ("candidate", "defaults")])
            #expect(noToken.status == 403 && noToken.body.contains("id=\"csrf-refused\""))
            let elsewhere = try await lee.post(
                "/reports/backtest", form.fields + [("candidate", "defaults")], origin: .some("https://evil.example"))
            #expect(elsewhere.status == 403)
            #expect(try await lee.get("/reports/backtest/nope").status == 404)
            try await harness.stop()
        }
    }
}

/// `multipart/form-data` as browsers send it, and what is refused.
@Suite("Console: multipart forms")
struct MultipartFormDataTests {
    @Test func fieldsAndAFile() throws {
        let boundary = MultipartFormData.boundary(contentType: "multipart/form-data; boundary=\"----WebKitFormBoundaryX1\"")
        #expect(boundary == "----WebKitFormBoundaryX1")
        #expect(MultipartFormData.boundary(contentType: "application/x-www-form-urlencoded") == nil)
        let body = Array(
            ("------WebKitFormBoundaryX1\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntoken\r\n"
                + "------WebKitFormBoundaryX1\r\nContent-Disposition: form-data; name=\"policy_file\"; filename=\"C:\\\\x\\\\p.yaml\"\r\nContent-Type: application/x-yaml\r\n\r\nline one\r\nline two\r\n"
                + "------WebKitFormBoundaryX1--\r\n").utf8)
        let form = try MultipartFormData.parse(body, boundary: "----WebKitFormBoundaryX1")
        #expect(form.fields == ["csrf": "token"])
        #expect(form["policy_file"]?.fileName == "p.yaml")
        #expect(form["policy_file"]?.text == "line one\r\nline two")
    }

    @Test func cutShortOrWithoutNamesIsRefused() {
        let cut = Array("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue".utf8)
        #expect(throws: MultipartFormData.Problem.self) { try MultipartFormData.parse(cut, boundary: "b") }
        let nameless = Array("--b\r\nContent-Type: text/plain\r\n\r\nvalue\r\n--b--\r\n".utf8)
        #expect(throws: MultipartFormData.Problem.self) { try MultipartFormData.parse(nameless, boundary: "b") }
        #expect(throws: MultipartFormData.Problem.self) { try MultipartFormData.parse(Array("nothing".utf8), boundary: "b") }
    }
}
