import ArgumentParser
import Foundation
import Logging
import TriageConsole
import TriageDashboard
import TriageDevTools
import TriageEscalator
import TriageIntake
import TriageKafka
import TriageSchema

extension DevCommand {
    /// `--processes`: `triage broker` and the workers as child processes (two escalators and two
    /// routers split their partitions); this process runs the simulator, the demo portal and the
    /// webhook receiver, and prints what each worker's `/metrics` says.
    func runProcesses(logger: Logger) async throws {
        let policy = sla.policy == nil ? DevDemo.slaPolicy : try sla.loadPolicy()
        // Whole seconds, as passed on: the workers and this process agree on SLA time.
        let origin = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let clock = ScaledClock(scale: timeScale, origin: origin)
        let originText = ISO8601DateFormatter().string(from: origin)
        let devToken = "dev-" + UUID().uuidString.prefix(8).lowercased()
        let cluster = try await DevProcessCluster(brokers: brokers, partitions: 6)
        if let portFile { try Data((cluster.bootstrap + "\n").utf8).write(to: URL(fileURLWithPath: portFile)) }
        var client = KafkaClientConfiguration(bootstrap: cluster.bootstrap, fetchWait: EmbeddedKafka.mockFetchWait)
        client.fetchWait = EmbeddedKafka.mockFetchWait  // the cluster is the embedded broker
        let sink = DevWebhookSink(key: UUID().uuidString, logger: logger)
        let sinkRunning = Task { try await sink.run() }
        defer { sinkRunning.cancel() }
        let sinkPort = await sink.boundPort()
        let rosterFile = try roster.map { try loadRoster($0) } ?? DevDemo.roster
        func write(_ name: String, _ text: String) throws -> String {
            let path = "\(cluster.folder)/\(name)"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let rosterPath = try roster ?? write("roster.yaml", DevDemo.rosterYAML)
        let rulesPath = try write(
            "notification-rules.yaml",
            DevProcessFiles.notificationRules(policy: policy, port: sinkPort) + DevDemo.maintenanceWindowsYAML(from: Date()))
        let onCallPath = try write("oncall.yaml", DevDemo.onCallYAML)
        let devConsole = try DevConsole(roster: rosterFile)
        let tenantsPath = try write("tenants.yaml", DevProcessFiles.tenants(token: devToken, console: true))
        let policyArguments = ["--policy", try sla.policy ?? write("sla-policy.yaml", DevDemo.slaPolicyYAML)]
        let time = ["--time-scale", "\(timeScale)", "--time-origin", originText]
        let port = intakePort == 0 ? try DevProcessCluster.freePort() : intakePort
        for index in 1...2 {
            try cluster.start(
                "escalator-\(index)", ["escalator", "--session-timeout", "6", "--oncall", onCallPath] + time + policyArguments)
        }
        for index in 1...2 { try cluster.start("router-\(index)", ["router", "--session-timeout", "6", "--roster", rosterPath] + time) }
        try cluster.start(
            "notifier", ["notifier", "--session-timeout", "6", "--rules", rulesPath], environment: ["TRIAGE_DEV_WEBHOOK_KEY": sink.key])
        try cluster.start("analytics", ["analytics", "--session-timeout", "6"] + policyArguments)
        try cluster.start(
            "intake", ["intake", "--session-timeout", "6", "--tenants", tenantsPath, "--host", "127.0.0.1", "--port", "\(port)"] + time,
            environment: ["TRIAGE_DEV_TOKEN": devToken, "TRIAGE_DEV_CONSOLE_TOKEN": devConsole.token]
        )
        print(
            """
            triage dev --processes — triage broker (\(brokers) broker(s)) and \(cluster.workers.count) worker processes
              bootstrap: \(cluster.bootstrap)
              workers:   \(cluster.workers.map { "\($0.name) (ops :\($0.opsPort))" }.joined(separator: ", "))
              logs:      \(cluster.folder)/*.log
              intake:    gRPC on 127.0.0.1:\(port), bearer token \(devToken) (tenant dev-portal)
              console:   http://127.0.0.1:\(consolePort == 0 ? "(any free port)" : String(consolePort))/ — \(devConsole.banner)
              running:   incident simulator at \(incidentRate)/s, demo portal every \(portalInterval) s, webhook receiver on :\(sinkPort)
              sla time:  \(time.joined(separator: " ")) (give both to triage publish and triage sla explain)
              stop:      Ctrl-C (every worker gets SIGTERM and must exit 0)
            """)
        fflush(nil)

        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(2)), logger: logger)
        let simulator = IncidentSimulator(producer: producer, clock: clock, rate: incidentRate, variety: true)
        let replies = try await KafkaAdmin(configuration: client, logger: logger).describeTopic(TriageTopic.entitlementReplies).partitions
            .map(\.id)
        let portalLedger = LedgerClient(producer: producer, client: client, replyPartitions: replies, timeout: .seconds(60), logger: logger)
        let portal = DevIntakeDriver(
            intakePort: { port }, ledger: portalLedger, token: devToken, clock: clock,
            interval: .milliseconds(Int64(max(portalInterval, 0.05) * 1000)),
            logger: logger
        )
        let reporter = DevProcessReporter(
            cluster: cluster, portal: portal, sink: sink, simulator: simulator, deadLetters: DevDeadLetters(client: client, logger: logger),
            interval: reportInterval
        )
        let dashboard = try await Dashboard(
            client: client, port: dashboardPort, groups: Self.workerGroups, now: { clock.now() }, policy: policy,
            configuration: .init(loadWeights: rosterFile.policy.severityWeights), logger: logger
        )
        var group = WorkerServiceGroup(logger: logger)
        group.add([
            producer,
            RosterPublisher(clock: clock) { now in
                _ = try await publishRoster(rosterFile, producer: producer, source: "triage dev", at: now)
            },
            simulator, portalLedger,
            PresenceSimulator(
                producer: producer, clock: clock, agents: presenceInterval > 0 ? rosterFile.agents.map(\.id) : [],
                interval: .milliseconds(Int64(max(presenceInterval, 0.001) * 1000))),
        ])
        if portalInterval > 0 { group.add([portal]) }
        group.add(Self.dashboardServices(dashboard, port: dashboardPort, logger: logger))
        group.add(
            devConsole.services(
                make: { [client, token = devConsole.token, directory = devConsole.directory, consolePort = self.consolePort] in
                    try await Console(
                        client: client, intake: (host: "127.0.0.1", port: port), token: token, directory: directory, now: { clock.now() },
                        policy: policy, routing: rosterFile.policy, groups: Self.workerGroups,
                        configuration: .init(port: consolePort, loadWeights: rosterFile.policy.severityWeights),
                        recordTime: { clock.slaInstant(of: $0) }, logger: logger)
                }, port: consolePort, logger: logger))
        group.add([reporter])
        do {
            try await group.run(stoppingAfter: duration)
        } catch {
            _ = await cluster.stop()  // never leave worker processes behind
            throw error
        }
        let statuses = await cluster.stop()
        let clean = statuses.values.allSatisfy { $0 == 0 }
        print(
            "triage dev stopped: worker exits \(statuses.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")); "
                + "incidents opened \(simulator.opened), opened through gRPC \(portal.figures.opened) (refused \(portal.figures.refused)), "
                + "notifications delivered \(sink.snapshot.received) (signatures verified \(sink.snapshot.verified)), "
                + "traces from the portal to a webhook \(portal.figures.traceIDs.intersection(sink.snapshot.traceIDs).count)"
        )
        if !clean { throw ExitCode(1) }
    }
}
