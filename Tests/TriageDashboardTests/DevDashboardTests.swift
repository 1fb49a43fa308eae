import Foundation
import Testing
import TriageDashboard
import TriageKafkaTesting

/// The dashboard of a running `triage dev` (the README's first command) in headless Chromium:
/// live incidents and agents from the simulator and the demo team, and a screenshot kept at
/// `.build/test-artifacts/dev-dashboard.png`.
@Suite("triage dev's dashboard in headless Chromium")
struct DevDashboardTests {
    @Test(.enabled(if: DashboardBrowserTests.chromium != nil, "needs chromium (apt-get install -y chromium)"))
    func aRunningDevShowsLiveIncidentsAndAgents() async throws {
        try await HeavyTests.run { try await self.aRunningDevShowsLiveIncidentsAndAgentsBody() }
    }

    func aRunningDevShowsLiveIncidentsAndAgentsBody() async throws {
        let chromium = try #require(DashboardBrowserTests.chromium)
        let port = try freeLoopbackPort()
        let dev = try TriageProcess([
            "dev", "--dashboard-port", "\(port)", "--intake-port", "0", "--ops-port", "0", "--time-scale", "720", "--incident-rate", "4",
            "--portal-interval", "1", "--rate", "50", "--log-level", "warning", "--console-port", "0",
        ])
        let base = "http://127.0.0.1:\(port)"
        try await eventually("the dashboard answers", timeout: .seconds(60)) {
            (try? await DashboardBrowserTests.get("\(base)/healthz")) == "ok\n"
        }
        #expect(dev.output.contains("dashboard: http://127.0.0.1:\(port)/"), "\(dev.output.suffix(2_000))")
        // Live data: open incidents with countdowns, the demo roster's sixteen agents, lag rows.
        try await eventually("incidents and agents on /api/state", timeout: .seconds(60)) {
            guard let text = try? await DashboardBrowserTests.get("\(base)/api/state"),
                let state = try? DashboardSnapshot.decoder.decode(DashboardSnapshot.self, from: Data(text.utf8))
            else { return false }
            return state.incidents.count >= 5 && state.agents.count == 16 && state.agents.contains { $0.load > 0 } && state.lag.count >= 6
        }
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("chromium-profile"))
        defer { try? FileManager.default.removeItem(at: profile) }
        let flags = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--user-data-dir=\(profile.path)",
        ]
        let (status, dom, errors) = try await runProcess(
            chromium, flags + ["--virtual-time-budget=5000", "--dump-dom", "\(base)/"], timeout: .seconds(120))
        #expect(status == 0, "chromium failed: \(errors.suffix(2_000))")
        let incidentRows = dom.components(separatedBy: "data-incident-id=\"INC-").count - 1
        #expect(incidentRows >= 5, "rendered incident rows: \(incidentRows)")
        #expect(dom.contains("data-agent-id=\"agent-1\"") && dom.contains("data-agent-id=\"agent-16\""), "agents rendered")
        #expect(dom.contains("triage-escalator"), "the lag table names the workers")
        // With live data (the workers' real group names, groups not started yet) the page fits 1400 px.
        let (wideStatus, wide, wideErrors) = try await runProcess(
            chromium, flags + ["--virtual-time-budget=5000", "--window-size=1400,1000", "--dump-dom", "\(base)/"], timeout: .seconds(120)
        )
        #expect(wideStatus == 0, "chromium failed: \(wideErrors.suffix(2_000))")
        try DashboardBrowserTests.expectNoHorizontalScrolling(wide, at: 1400)

        try FileManager.default.createDirectory(at: DashboardBrowserTests.artifacts, withIntermediateDirectories: true)
        let screenshot = DashboardBrowserTests.artifacts.appendingPathComponent("dev-dashboard.png")
        try? FileManager.default.removeItem(at: screenshot)
        let (shot, _, shotErrors) = try await runProcess(
            chromium,
            flags + [
                "--virtual-time-budget=5000", "--hide-scrollbars", "--window-size=1400,1000", "--screenshot=\(screenshot.path)", "\(base)/",
            ],
            timeout: .seconds(120)
        )
        #expect(shot == 0, "\(shotErrors.suffix(2_000))")
        let size = (try? FileManager.default.attributesOfItem(atPath: screenshot.path)[.size] as? Int) ?? 0
        #expect(size > 20_000, "screenshot \(screenshot.path): \(size) bytes")
        print("triage dev dashboard screenshot: \(screenshot.path) (\(size) bytes)")
        #expect(try await dev.stop(timeout: .seconds(60)) == 0, "\(dev.output.suffix(2_000))")
    }
}
