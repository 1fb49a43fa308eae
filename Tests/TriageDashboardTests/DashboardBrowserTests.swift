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
/// renders live incidents, queues and agents from `/api/state` with the numbers the topics
/// hold, the incident table fits the window at 1400 px (and narrower), and a screenshot is kept
/// at `.build/test-artifacts/dashboard.png`.
@Suite("Dashboard in headless Chromium", .serialized)
struct DashboardBrowserTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
    static let artifacts = URL(fileURLWithPath: repositoryRoot).appendingPathComponent(".build/test-artifacts")

    @Test(.enabled(if: chromium != nil, "needs chromium (apt-get install -y chromium)"))
    func thePageRendersLiveIncidentsAndAgentsAndIsScreenshotted() async throws {
        try await HeavyTests.run { try await self.thePageRendersLiveIncidentsAndAgentsAndIsScreenshottedBody() }
    }

    func thePageRendersLiveIncidentsAndAgentsAndIsScreenshottedBody() async throws {
        let chromium = try #require(Self.chromium)
        let cluster = try KafkaTestCluster()
        let floor = try await PublishedFloor(cluster: cluster)
        let done = uniqueName("g-done")
        try await floor.commitAllOfWork(group: done, cluster: cluster)
        // SLA time runs faster than wall time from Floor.now, as in `triage dev` (360×) but slower:
        // INC-Q1 has 100 SLA minutes left at Floor.now, which at 360× is 17 s of wall time, and a
        // loaded CI machine took longer than that to reach the browser (it read "breached").
        // At 30× the clocks still move (2 SLA min per wall second) and INC-Q1 runs for 200 s.
        let started = Date()
        let dashboard = try await Dashboard(
            client: cluster.embedded.clientConfiguration, port: 0, groups: [done: floor.work, "g-idle": floor.work],
            now: { Floor.now.addingTimeInterval(Date().timeIntervalSince(started) * 30) },
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
        let flags = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--user-data-dir=\(profile.path)",
        ]
        let (status, dom, errors) = try await runProcess(
            chromium, flags + ["--virtual-time-budget=5000", "--window-size=1400,1000", "--dump-dom", "\(base)/"], timeout: .seconds(120))
        #expect(status == 0, "chromium failed: \(errors.suffix(2_000))")
        for incident in Floor.openInOrder { #expect(dom.contains("data-incident-id=\"\(incident)\""), "incident \(incident) not rendered") }
        #expect(!dom.contains("data-incident-id=\"\(Floor.closed)\""))
        // Most urgent first, and the breached one says so.
        let positions = Floor.openInOrder.compactMap { dom.range(of: "data-incident-id=\"\($0)\"")?.lowerBound }
        #expect(positions.count == Floor.openInOrder.count && positions == positions.sorted())
        #expect(dom.contains("breached "))
        #expect(dom.contains("paused · "))
        for agent in ["ana", "bo", "cy"] { #expect(dom.contains("data-agent-id=\"\(agent)\""), "agent \(agent) not rendered") }
        #expect(dom.contains("data-presence=\"online\"") && dom.contains("data-presence=\"away\""))
        #expect(dom.contains("<polyline class=\"series-warnings\"") && dom.contains("class=\"bar-opened\""))
        #expect(dom.contains("data-group=\"\(done)\"") && dom.contains("not started"))
        #expect(dom.contains("status live"))

        // The tiles say what the topics hold: incidents waiting on the customer now (INC-7F3A9C01D2E4B658
        // has no clock to pause), and the teams' queues.
        #expect(Self.figure("paused", in: dom) == "\(Floor.paused.count)")
        #expect(Self.figure("queued", in: dom) == "\(Floor.queueDesk().queue.count)")
        #expect(Self.figure("open", in: dom) == "\(Floor.openInOrder.count)")
        // Queue depth and the incident queued longest, per team (INC-Q2 was handed back after
        // INC-Q1 was queued), with the time it has waited.
        #expect(dom.contains(#"<tr data-team="tier-2-enterprise-emea" data-depth="2" data-oldest="INC-Q1">"#), "tier-2's queue")
        #expect(dom.contains(#"<tr data-team="tier-1" data-depth="0">"#), "tier-1's empty queue")
        let queueRow = try #require(Self.element("tr", containing: #"data-team="tier-2-enterprise-emea""#, in: dom))
        #expect(queueRow.contains(#"<td class="qw" data-since="2026-11-20T12:10:00.000Z">"#), "INC-Q1 queued since 130 min: \(queueRow)")
        #expect(queueRow.firstMatch(of: /class="qw"[^>]*>\d+[dhm] \d+[hms]<\/td>/) != nil, "the waiting time: \(queueRow)")
        // Load: the legend states the unit and the weights; each agent shows units and incidents.
        let legend = try #require(Self.element("p", containing: #"id="load-legend""#, in: dom))
        #expect(legend.contains("load units"))
        for (severity, weight) in ["A": 3, "B": 2, "C": 1] {
            #expect(legend.contains(">\(severity)</span> <b>\(weight)</b>"), "weight of \(severity): \(legend)")
        }
        let ana = try #require(Self.element("tr", containing: #"data-agent-id="ana""#, in: dom))
        #expect(
            ana.contains(#"data-load="5" data-assigned="2""#) && ana.contains(#"<span class="units">5 / 6</span>"#)
                && ana.contains("(1×A 1×B)"), "\(ana)")
        #expect(ana.contains("5 of 6 load units: 1 × A (3 units each) + 1 × B (2 units each)"), "the tooltip: \(ana)")
        // Every open incident has a clock: acknowledged ones tell their first response, waiting
        // ones are paused (with the time left frozen where a clock is paused).
        func clock(_ incident: String) throws -> String {
            try #require(Self.element("tr", containing: "data-incident-id=\"\(incident)\"", in: dom))
        }
        #expect(!dom.contains(#"data-clock="none""#))
        #expect(try clock("INC-ACKED").contains(#"data-clock="responded""#) && clock("INC-ACKED").contains(">met in 10m 00s<"))
        #expect(
            try clock("INC-7F3A9C01D2E4B658").contains(#"data-clock="paused""#)
                && clock("INC-7F3A9C01D2E4B658").contains(">paused · met in 10m 00s<"))
        #expect(try clock("INC-WAIT").contains(#"data-clock="paused""#) && clock("INC-WAIT").contains("paused · 1h 50m left"))
        #expect(try clock("INC-LATE").contains(#"data-clock="breached""#) && clock("INC-Q1").contains(#"data-clock="running""#))
        // At 1400 px nothing scrolls sideways: neither the page nor the incident table's box.
        try Self.expectNoHorizontalScrolling(dom, at: 1_400)

        // Narrower, the sections stack and still nothing scrolls sideways.
        let (narrowStatus, narrow, narrowErrors) = try await runProcess(
            chromium, flags + ["--virtual-time-budget=5000", "--window-size=640,900", "--dump-dom", "\(base)/"], timeout: .seconds(120))
        #expect(narrowStatus == 0, "chromium failed: \(narrowErrors.suffix(2_000))")
        try Self.expectNoHorizontalScrolling(narrow, at: 640)

        // The screenshot, kept as an artifact.
        try FileManager.default.createDirectory(at: Self.artifacts, withIntermediateDirectories: true)
        let screenshot = Self.artifacts.appendingPathComponent("dashboard.png")
        try? FileManager.default.removeItem(at: screenshot)
        let (shotStatus, _, shotErrors) = try await runProcess(
            chromium,
            flags + [
                "--virtual-time-budget=5000", "--hide-scrollbars", "--window-size=1400,1000", "--screenshot=\(screenshot.path)", "\(base)/",
            ],
            timeout: .seconds(120)
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

    /// The value of the figure tile `data-figure="key"`.
    static func figure(_ key: String, in dom: String) -> String? {
        guard let tile = dom.range(of: "data-figure=\"\(key)\"><b>") else { return nil }
        return dom[tile.upperBound...].prefix { $0 != "<" }.description
    }

    /// The first `<tag ...>...</tag>` (not nested in itself) whose opening tag contains `attribute`.
    static func element(_ tag: String, containing attribute: String, in dom: String) -> String? {
        var rest = dom[...]
        while let start = rest.range(of: "<\(tag) ") {
            guard let close = rest[start.upperBound...].range(of: ">") else { return nil }
            if rest[start.lowerBound..<close.upperBound].contains(attribute) {
                guard let end = rest[close.upperBound...].range(of: "</\(tag)>") else { return nil }
                return String(rest[start.lowerBound..<end.upperBound])
            }
            rest = rest[close.upperBound...]
        }
        return nil
    }

    /// The page records its layout after each render (`data-scroll-width`/`data-client-width`
    /// on `<body>` and on the incident and agent tables' boxes): nothing wider than its box.
    static func expectNoHorizontalScrolling(_ dom: String, at width: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        func widths(_ opening: String) throws -> (scroll: Int, client: Int) {
            let tag = try #require(
                dom.range(of: opening).map { dom[$0.lowerBound...].prefix { $0 != ">" } }, "\(opening) at \(width) px",
                sourceLocation: sourceLocation)
            func number(_ name: String) throws -> Int {
                let value = try #require(
                    tag.range(of: "\(name)=\"").map { tag[$0.upperBound...].prefix { $0 != "\"" } }, "\(name) in \(tag)",
                    sourceLocation: sourceLocation)
                return try #require(Int(value), sourceLocation: sourceLocation)
            }
            return (try number("data-scroll-width"), try number("data-client-width"))
        }
        let page = try widths("<body")
        #expect(
            page.client > 0 && page.client <= width && page.scroll <= page.client, "page at \(width) px: \(page)",
            sourceLocation: sourceLocation)
        for box in ["incidents", "agents"] {
            let table = try widths("<div class=\"scroll\" id=\"\(box)-scroll\"")
            #expect(
                table.client > 0 && table.scroll <= table.client, "\(box) table at \(width) px: \(table)", sourceLocation: sourceLocation)
        }
    }

    static func get(_ url: String) async throws -> String {
        let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
        guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw URLError(.badServerResponse) }
        return String(decoding: data, as: UTF8.self)
    }
}
