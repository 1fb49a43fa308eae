import Foundation
import Logging
import ServiceLifecycle
import TriageAnalyticsFeed
import TriageConsole
import TriageDashboard
import TriageDevTools
import TriageEntitlements
import TriageEscalator
import TriageIntake
import TriageKafka
import TriageNotifierWorker
import TriageOps
import TriageRouterWorker
import TriageRouting
import TriageSchema

extension DevCommand {
    /// Everything in this process: the embedded broker and its topics, every worker, the
    /// self-check, the simulators, the demo portal, the webhook receiver and the dashboard.
    func runInProcess(logger: Logger) async throws {
        let kafka = try EmbeddedKafka(brokers: brokers, logger: logger)
        let topic = "triage.dev.selfcheck"
        try kafka.createTopic(topic, partitions: 6, replicationFactor: min(3, brokers))
        for name in TriageTopic.all {
            try kafka.createTopic(name, partitions: 6, replicationFactor: min(3, brokers))
        }
        // Without --policy, the demo policy: update targets and a level paging tier-2's on-call.
        let policy = sla.policy == nil ? DevDemo.slaPolicy : try sla.loadPolicy()
        let onCall = DevDemo.onCall
        // Whole seconds, as printed: other processes given the printed origin agree on SLA time.
        let origin = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let clock = ScaledClock(scale: timeScale, origin: origin)
        let devToken = "dev-" + UUID().uuidString.prefix(8).lowercased()
        if let portFile { try Data((kafka.bootstrapServers + "\n").utf8).write(to: URL(fileURLWithPath: portFile)) }
        print(
            """
            triage dev — embedded Kafka (librdkafka \(KafkaLibrary.version) mock cluster, \(brokers) broker(s))
              bootstrap: \(kafka.bootstrapServers)
              try:       kcat -b \(kafka.bootstrapServers.split(separator: ",")[0]) -L
              running:   Kafka self-check on '\(topic)' at \(rate) records/s
                         escalator (SLA time ×\(timeScale)), ops on :\(opsPort) (/healthz, /readyz)
                         router (dispatcher + team desks), roster: \(roster ?? "demo team tier-1, 12 agents")
                         notifier → signed webhooks to a local receiver
                         analytics feed → \(TriageTopic.analytics), \(TriageTopic.incidentState)
                         incident simulator at \(incidentRate)/s → \(TriageTopic.incidentEvents)
                         intake: gRPC triage.v1.IncidentIntake on 127.0.0.1:\(intakePort == 0 ? "(any free port)" : String(intakePort)), \
            bearer token \(devToken) (tenant dev-portal); entitlement ledger; demo portal every \(portalInterval) s
              watch:     triage tail --bootstrap \(kafka.bootstrapServers) \(TriageTopic.incidentEvents)
              sla time:  --time-scale \(timeScale) --time-origin \(ISO8601DateFormatter().string(from: origin)) (give both to triage publish and triage sla explain)
              stop:      Ctrl-C
            """)
        fflush(nil)

        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: kafka.clientConfiguration, linger: .milliseconds(2)),
            logger: logger
        )
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                groupID: "triage-dev-selfcheck",
                topics: [topic],
                client: kafka.clientConfiguration,
                sessionTimeout: .seconds(6),
                heartbeatInterval: .seconds(1)  // fetch.wait.max.ms: the embedded broker's client configuration says
            ),
            logger: logger
        )
        let statistics = SelfCheckStatistics()
        let escalator = try await EscalatorInstance(
            client: kafka.clientConfiguration, policy: policy, clock: clock, group: TriageGroup.escalator,
            sessionTimeout: .seconds(6), logger: logger, recipients: { name, at in onCall.recipient(for: name, at: at) ?? name }
        )
        let rosterFile = try roster.map { try loadRoster($0) } ?? DevDemo.roster
        let devConsole = try DevConsole(roster: rosterFile)
        _ = try await publishRoster(rosterFile, producer: producer, source: "triage dev", at: clock.now())
        let router = try await RouterInstance(
            client: kafka.clientConfiguration, policy: rosterFile.policy, group: TriageGroup.router, defaultTeam: "tier-1",
            sessionTimeout: .seconds(6), logger: logger,
            // SLA time: queue waits and shift ends are measured against the simulator's event times.
            notices: rosterFile.notices, time: RouterTime(now: { clock.now() }, realDelay: { clock.realDelay(until: $0) })
        )
        let simulator = IncidentSimulator(producer: producer, clock: clock, rate: incidentRate, variety: true)
        let analytics = try await AnalyticsFeedInstance(
            client: kafka.clientConfiguration, policy: policy, group: TriageGroup.analytics, sessionTimeout: .seconds(6), logger: logger
        )
        // Every recipient the SLA policy names gets the local webhook receiver.
        let sink = DevWebhookSink(key: UUID().uuidString, logger: logger)
        let sinkRunning = Task { try await sink.run() }
        let sinkPort = await sink.boundPort()
        let tenants = try TenantDirectory.load(
            yaml: "tenants:\n  - name: dev-portal\n    token: \(devToken)\n    accounts: [acct-contract, acct-pack]\n"
                + "  - name: dev-console\n    token: \(devConsole.token)\n    admin: true\n",
            file: "(dev tenants)",
            environment: [:]
        )
        let intake = try await IntakeInstance(
            client: kafka.clientConfiguration, tenants: tenants, billing: .standard, port: intakePort, group: TriageGroup.ledger,
            sessionTimeout: .seconds(6), logger: logger, now: { clock.now() }
        )
        let portalLedger = LedgerClient(
            producer: producer, client: kafka.clientConfiguration, replyPartitions: Array(0..<6), timeout: .seconds(30), logger: logger
        )
        let portal = DevIntakeDriver(
            intakePort: { [server = intake.server] in try await PortAnnouncer.port(of: server) }, ledger: portalLedger, token: devToken,
            clock: clock, interval: .milliseconds(Int64(max(portalInterval, 0.05) * 1000)), logger: logger
        )
        let dashboard = try await Dashboard(
            client: kafka.clientConfiguration, port: dashboardPort, groups: Self.workerGroups, now: { clock.now() }, policy: policy,
            configuration: .init(loadWeights: rosterFile.policy.severityWeights), logger: logger
        )
        let notificationRules = DevNotificationRules.webhooks(
            policy: policy, port: sinkPort, maintenanceWindows: DevDemo.maintenanceWindows(from: Date()))
        let deliverer = Deliverer(templates: .defaults, environment: ["TRIAGE_DEV_WEBHOOK_KEY": sink.key], rules: notificationRules)
        // Shut down however the run ends: a taken port can fail the group before the notifier ran
        // to its end, and an HTTP client dropped unclosed is a crash.
        var group = WorkerServiceGroup(logger: logger)
        group.onShutdown {
            sinkRunning.cancel()
            await deliverer.shutdown()
        }
        let notifier: NotifierInstance
        do {
            notifier = try await NotifierInstance(
                client: kafka.clientConfiguration,
                rules: notificationRules, deliverer: deliverer, group: TriageGroup.notifier, sessionTimeout: .seconds(6), logger: logger
            )
        } catch {
            sinkRunning.cancel()
            await deliverer.shutdown()
            throw error
        }
        let portalServices: [ServiceGroupConfiguration.ServiceConfiguration] =
            portalInterval > 0 ? [.init(service: portalLedger), .init(service: portal)] : []
        group.add([EmbeddedBrokerService(kafka: kafka), producer, SelfCheckReader(consumer: consumer, statistics: statistics), consumer])
        group.add(escalator.services)
        group.add(router.services)
        group.add(notifier.services)
        group.add(analytics.services)
        group.addIntake(intake, at: ListenAddress(host: "127.0.0.1", port: intakePort, option: "--intake-port"))
        group.add(portalServices)
        group.add(Self.dashboardServices(dashboard, port: dashboardPort, logger: logger))
        print("  console:   http://127.0.0.1:\(consolePort == 0 ? "(any free port)" : String(consolePort))/ — \(devConsole.banner)")
        fflush(nil)
        group.add(
            devConsole.services(
                make: {
                    [
                        client = kafka.clientConfiguration, server = intake.server, token = devConsole.token,
                        directory = devConsole.directory, consolePort = self.consolePort
                    ] in
                    try await Console(
                        client: client, intake: (host: "127.0.0.1", port: try await PortAnnouncer.port(of: server)), token: token,
                        directory: directory, now: { clock.now() }, policy: policy, routing: rosterFile.policy, groups: Self.workerGroups,
                        configuration: .init(port: consolePort, loadWeights: rosterFile.policy.severityWeights),
                        recordTime: { clock.slaInstant(of: $0) }, logger: logger)
                }, port: consolePort, logger: logger))
        group.addListener(
            OpsServer(port: opsPort, health: escalator.health, logger: logger),
            at: ListenAddress(host: "127.0.0.1", port: opsPort, option: "--ops-port")
        )
        let reporter = SelfCheckReporter(
            consumer: consumer, statistics: statistics, escalator: escalator.escalator, router: router.router, simulator: simulator,
            notifier: notifier.notifier, sink: sink, analytics: analytics.feed, intake: intake, portal: portal,
            deadLetters: DevDeadLetters(
                client: KafkaClientConfiguration(bootstrap: kafka.bootstrapServers, fetchWait: EmbeddedKafka.mockFetchWait), logger: logger),
            interval: reportInterval
        )
        group.add([
            reporter, SelfCheckWriter(producer: producer, topic: topic, rate: rate, statistics: statistics), simulator,
            PresenceSimulator(
                producer: producer, clock: clock, agents: presenceInterval > 0 ? rosterFile.agents.map(\.id) : [],
                interval: .milliseconds(Int64(max(presenceInterval, 0.001) * 1000))),
        ])
        try await group.run(stoppingAfter: duration)
        let final = statistics.snapshot()
        let figures = escalator.escalator.statistics
        print(
            "triage dev stopped: self-check produced \(final.produced), consumed \(final.consumed), delivery failures \(final.failed); "
                + "incidents opened \(simulator.opened), SLA warnings \(figures.warnings), escalations \(figures.escalations), "
                + "assigned \(router.router.statistics.assigned), notifications delivered \(notifier.notifier.statistics.delivered) "
                + "(signatures verified \(sink.snapshot.verified)), analytics records \(analytics.feed.statistics.records), "
                + "opened through gRPC \(portal.figures.opened) (refused \(portal.figures.refused)), ledger commands \(intake.ledger.statistics.commands), "
                + "traces from the portal to a webhook \(portal.figures.traceIDs.intersection(sink.snapshot.traceIDs).count)"
        )
    }
}
