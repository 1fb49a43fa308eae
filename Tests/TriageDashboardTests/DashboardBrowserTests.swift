import Foundation
import Logging
import ServiceLifecycle
import Testing
import TriageDashboard
import TriageKafka
import TriageKafkaTesting

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The dashboard in a real headless browser (Debian's `chromium`): the page loads, its script
/// renders live incidents and agents from `/api/state`, and a screenshot is kept at
/// `.build/test-artifacts/dashboard.png`.
@Suite("Dashboard in headless Chromium", .serialized)
struct DashboardBrowserTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
    static let artifacts = URL(fileURLWithPath: repositoryRoot).appendingPathComponent(".build/test-artifacts")

    @Test(.enabled(if: chromium != nil, "needs chromium (apt-get install -y chromium)"))
    func thePageRendersLiveIncidentsAndAgentsAndIsScreenshotted() async throws { try await HeavyTests.run { try await self.thePageRendersLiveIncidentsAndAgentsAndIsScreenshottedBody() } }

    func thePageRendersLiveIncidentsAndAgentsAndIsScreenshottedBody() async throws {
        let chromium = try #require(Self.chromium)
        let cluster = try KafkaTestCluster()
        let floor = try await PublishedFloor(cluster: cluster)
        let done = uniqueName("g-done")
        try await floor.commitAllOfWork(group: done, cluster: cluster)
        // SLA time runs 360 times faster than wall time from Floor.now, as in `triage dev`.
        let started = Date()
        let dashboard = try await Dashboard(
            client: cluster.embedded.clientConfiguration, port: 0, groups: [done: floor.work, "g-idle": floor.work],
            now: { Floor.now.addingTimeInterval(Date().timeIntervalSince(started) * 360) },
            topics: floor.topics, configuration: .init(lagInterval: .milliseconds(500)), logger: cluster.logger
        )
        let group = ServiceGroup(configuration: .init(services: [.init(service: dashboard)], logger: cluster.logger))
        let running = Task { try await group.run() }
        let port = try await withDeadline(.seconds(10)) { try await dashboard.boundPort() }
        try await withDeadline(.seconds(30)) { try await dashboard.collector.waitUntilCaughtUp() }
        try await eventually("lag measured", timeout: .seconds(20)) { dashboard.collector.snapshot().lag.allSatisfy { $0.lag != nil } }

        // The HTTP side.
        let base = "http://127.0.0.1:\(port)"
        #expect(try await Self.get("\(base)/healthz") == "ok\n")
        let state = try DashboardSnapshot.decoder.decode(DashboardSnapshot.self, from: Data(try await Self.get("\(base)/api/state").utf8))
        #expect(state.incidents.map(\.id) == Floor.openInOrder)
        let page = try await Self.get("\(base)/")
        #expect(page.contains("<table id=\"incidents\"") && !page.contains("http://") && !page.contains("https://"))  // self-contained

        // The browser: the DOM after the script polled /api/state.
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("chromium-profile"))
        defer { try? FileManager.default.removeItem(at: profile) }
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--user-data-dir=\(profile.path)"]
        let (status, dom, errors) = try await runProcess(chromium, flags + ["--virtual-time-budget=5000", "--dump-dom", "\(base)/"], timeout: .seconds(45))
        #expect(status == 0, "chromium failed: \(errors.suffix(2_000))")
        for incident in Floor.openInOrder { #expect(dom.contains("data-incident-id=\"\(incident)\""), "incident \(incident) not rendered") }
        #expect(!dom.contains("data-incident-id=\"\(Floor.closed)\""))
        // Most urgent first, and the breached one says so.
        let positions = Floor.openInOrder.compactMap { dom.range(of: "data-incident-id=\"\($0)\"")?.lowerBound }
        #expect(positions.count == 4 && positions == positions.sorted())
        #expect(dom.contains("breached "))
        #expect(dom.contains("paused · "))
        for agent in ["ana", "bo", "cy"] { #expect(dom.contains("data-agent-id=\"\(agent)\""), "agent \(agent) not rendered") }
        #expect(dom.contains("data-presence=\"online\"") && dom.contains("data-presence=\"away\""))
        #expect(dom.contains("<polyline class=\"series-warnings\"") && dom.contains("class=\"bar-opened\""))
        #expect(dom.contains("data-group=\"\(done)\"") && dom.contains("not started"))
        #expect(dom.contains("status live"))

        // The screenshot, kept as an artifact.
        try FileManager.default.createDirectory(at: Self.artifacts, withIntermediateDirectories: true)
        let screenshot = Self.artifacts.appendingPathComponent("dashboard.png")
        try? FileManager.default.removeItem(at: screenshot)
        let (shotStatus, _, shotErrors) = try await runProcess(
            chromium, flags + ["--virtual-time-budget=5000", "--hide-scrollbars", "--window-size=1400,1000", "--screenshot=\(screenshot.path)", "\(base)/"],
            timeout: .seconds(45)
        )
        #expect(shotStatus == 0, "chromium failed: \(shotErrors.suffix(2_000))")
        let png = try Data(contentsOf: screenshot)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(png.count > 20_000, "a rendered dashboard is more than a blank page (\(png.count) bytes)")
        print("dashboard screenshot: \(screenshot.path) (\(png.count) bytes)")

        await group.triggerGracefulShutdown()
        try await withDeadline(.seconds(15)) { try await running.value }
        // Graceful shutdown stopped the server.
        #expect(await (try? Self.get("\(base)/healthz")) == nil)
    }

    static func get(_ url: String) async throws -> String {
        let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
        guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw URLError(.badServerResponse) }
        return String(decoding: data, as: UTF8.self)
    }
}
