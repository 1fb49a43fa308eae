import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TriageAnalyticsFeed
import TriageDashboard
import TriageDevTools
import TriageEntitlements
import TriageEscalator
import TriageIntake
import TriageKafka
import TriageNotifierWorker
import TriageOps
import TriageRouterWorker
import TriageSchema

struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run Triage locally on an embedded Kafka broker (the README's first command).",
        discussion: """
            Starts the embedded broker (librdkafka's mock cluster) and creates the topics, then runs \
            every part of Triage that exists so far:
              • the Kafka layer's self-check: records at --rate and a consumer group reading them back \
            (throughput, lag, end-to-end latency);
              • the escalator, on SLA time sped up by --time-scale (360: an hour per ten seconds), with \
            /healthz and /readyz on --ops-port;
              • the router (dispatcher + team desks), with the agents of --roster (default: twelve \
            agents of team tier-1, online) published to triage.agent-events at start;
              • the notifier, delivering the escalator's notification requests (and the router's) as \
            signed webhooks to a local receiver that checks every signature;
              • the analytics feed: a flat JSON record per lifecycle event on triage.analytics and the \
            latest snapshot per incident on triage.incident-state;
              • a workload simulator: customers opening --incident-rate incidents per second (severity \
            A 10 %, B 35 %, C 55 %), agents answering after 20–130 % of the target (a tenth never), a fifth \
            waiting on the customer for a while, most resolved hours later (SLA time), a few closed \
            unresolved; every three seconds an agent steps away or comes back.
              • the intake (gRPC on --intake-port) with its entitlement ledger, and a demo portal that \
            grants a 24x7 contract and a 5-pack and opens an incident through gRPC every few seconds, \
            alternating between them (the pack runs out after five: FAILED_PRECONDITION). The dev \
            tenant's bearer token is printed at start.
              • a live dashboard on http://127.0.0.1:--dashboard-port (8080): open incidents with their SLA \
            clocks (countdown, paused while waiting on the customer, or how long the first response took), \
            queue depth and oldest queued incident per team, agents with presence and load (load units by \
            severity, and incidents held), warnings/breaches/escalations over time, consumer lag per \
            worker — read from the topics, so it shows the same with --processes.
            A live line every --report-interval seconds shows all of it.

            With --processes the broker and every worker run as separate processes instead (two \
            escalators and two routers splitting the partitions, the notifier, the analytics feed and the \
            intake), with the configuration files they need written to a temporary folder; the live lines \
            then come from each worker's /metrics, and at the end every worker gets SIGTERM.

            The broker's address is printed at start; other processes (kcat, triage topics) can use it. \
            Stop with Ctrl-C: everything shuts down gracefully (consumers commit and leave the group, \
            producers flush).
            """
    )

    @Option(help: "Brokers in the embedded cluster.")
    var brokers: Int = 3

    @Option(help: "Self-check records published per second.")
    var rate: Int = 200

    @Option(help: "Seconds between live summary lines.")
    var reportInterval: Double = 2

    @Option(help: "Stop by itself after this many seconds (default: run until Ctrl-C).")
    var duration: Double?

    @Option(help: "Write the embedded broker's bootstrap address to this file.")
    var portFile: String?

    @Option(help: "SLA time runs this many times as fast as real time (360: an hour per ten seconds).")
    var timeScale: Double = 360

    @Option(help: "Simulated incidents opened per second (0: none).")
    var incidentRate: Double = 2

    @Option(help: "Port of the escalator's /healthz and /readyz (0: any free port).")
    var opsPort: Int = 8081

    @OptionGroup var sla: SlaOptions

    @Option(help: "Port of the live dashboard on 127.0.0.1 (0: any free port).")
    var dashboardPort: Int = 8080

    @Option(help: "gRPC port of the intake (0: any free port).")
    var intakePort: Int = 50051

    @Option(help: "Seconds between the demo portal's gRPC opens (0: no portal).")
    var portalInterval: Double = 3

    @Flag(help: "Run the broker and every worker as separate processes (two escalators, two routers) instead of in this one.")
    var processes = false

    @Option(help: "Roster YAML published at start (agents, severity weights, shift calendars). Default: a demo team.")
    var roster: String?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (1...32).contains(brokers) else { throw ValidationError("--brokers must be between 1 and 32") }
        guard rate > 0 else { throw ValidationError("--rate must be positive") }
        guard reportInterval > 0 else { throw ValidationError("--report-interval must be positive") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
        guard timeScale > 0 else { throw ValidationError("--time-scale must be positive") }
        guard incidentRate >= 0 else { throw ValidationError("--incident-rate must not be negative") }
        guard (0...65_535).contains(intakePort) else { throw ValidationError("--intake-port must be 0...65535") }
        guard (0...65_535).contains(dashboardPort) else { throw ValidationError("--dashboard-port must be 0...65535") }
        guard (0...65_535).contains(opsPort) else { throw ValidationError("--ops-port must be 0...65535") }
        guard portalInterval >= 0 else { throw ValidationError("--portal-interval must not be negative") }
    }

    func run() async throws {
        let logger = common.bootstrapLogging(label: "triage.dev")
        if processes { return try await runProcesses(logger: logger) }
        let kafka = try EmbeddedKafka(brokers: brokers, logger: logger)
        let topic = "triage.dev.selfcheck"
        try kafka.createTopic(topic, partitions: 6, replicationFactor: min(3, brokers))
        for name in TriageTopic.all {
            try kafka.createTopic(name, partitions: 6, replicationFactor: min(3, brokers))
        }
        let policy = try sla.loadPolicy()
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
            sessionTimeout: .seconds(6), logger: logger
        )
        let rosterFile = try roster.map(loadRoster) ?? DevRoster.demo
        _ = try await publishRoster(rosterFile, producer: producer, source: "triage dev", at: clock.now())
        let router = try await RouterInstance(
            client: kafka.clientConfiguration, policy: rosterFile.policy, group: TriageGroup.router, defaultTeam: "tier-1",
            sessionTimeout: .seconds(6), logger: logger
        )
        let simulator = IncidentSimulator(producer: producer, clock: clock, rate: incidentRate)
        let analytics = try await AnalyticsFeedInstance(
            client: kafka.clientConfiguration, policy: policy, group: TriageGroup.analytics, sessionTimeout: .seconds(6), logger: logger
        )
        // Every recipient the SLA policy names gets the local webhook receiver.
        let sink = DevWebhookSink(key: UUID().uuidString, logger: logger)
        let sinkRunning = Task { try await sink.run() }
        let sinkPort = await sink.boundPort()
        let tenants = try TenantDirectory.load(
            yaml: "tenants:\n  - name: dev-portal\n    token: \(devToken)\n    accounts: [acct-contract, acct-pack]\n",
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
        let deliverer = Deliverer(templates: .defaults, environment: ["TRIAGE_DEV_WEBHOOK_KEY": sink.key])
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
                client: kafka.clientConfiguration, rules: DevNotificationRules.webhooks(policy: policy, port: sinkPort),
                deliverer: deliverer, group: TriageGroup.notifier, sessionTimeout: .seconds(6), logger: logger
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
            PresenceSimulator(producer: producer, clock: clock, agents: rosterFile.agents.map(\.id), interval: .seconds(3)),
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

extension DevCommand {
    /// The workers' consumer groups and their input topics: the dashboard's lag table.
    static let workerGroups = TriageGroup.inputs

    /// The dashboard, kept from ending `triage dev` if it fails (except when its port is taken:
    /// that is the user's to fix, and ends the run naming --dashboard-port), and a line with its address.
    static func dashboardServices(_ dashboard: Dashboard, port: Int, logger: Logger) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        let listening = ListeningService(
            service: dashboard, address: ListenAddress(host: "127.0.0.1", port: port, option: "--dashboard-port"))
        return [
            .init(
                service: OptionalService(name: "dashboard", service: listening, isFatal: { $0 is AddressInUse }, logger: logger),
                failureTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: DashboardAnnouncer(dashboard: dashboard)),
        ]
    }

    /// `--processes`: `triage broker` and the workers as child processes (two escalators and two
    /// routers split their partitions); this process runs the simulator, the demo portal and the
    /// webhook receiver, and prints what each worker's `/metrics` says.
    func runProcesses(logger: Logger) async throws {
        let policy = try sla.loadPolicy()
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
        let rosterFile = try roster.map(loadRoster) ?? DevRoster.demo
        func write(_ name: String, _ text: String) throws -> String {
            let path = "\(cluster.folder)/\(name)"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let rosterPath = try roster ?? write("roster.yaml", DevProcessFiles.roster(rosterFile))
        let rulesPath = try write("notification-rules.yaml", DevProcessFiles.notificationRules(policy: policy, port: sinkPort))
        let tenantsPath = try write("tenants.yaml", DevProcessFiles.tenants(token: devToken))
        let policyArguments = sla.policy.map { ["--policy", $0] } ?? []
        let time = ["--time-scale", "\(timeScale)", "--time-origin", originText]
        let port = intakePort == 0 ? try DevProcessCluster.freePort() : intakePort
        for index in 1...2 { try cluster.start("escalator-\(index)", ["escalator", "--session-timeout", "6"] + time + policyArguments) }
        for index in 1...2 { try cluster.start("router-\(index)", ["router", "--session-timeout", "6", "--roster", rosterPath]) }
        try cluster.start(
            "notifier", ["notifier", "--session-timeout", "6", "--rules", rulesPath], environment: ["TRIAGE_DEV_WEBHOOK_KEY": sink.key])
        try cluster.start("analytics", ["analytics", "--session-timeout", "6"] + policyArguments)
        try cluster.start(
            "intake", ["intake", "--session-timeout", "6", "--tenants", tenantsPath, "--host", "127.0.0.1", "--port", "\(port)"] + time,
            environment: ["TRIAGE_DEV_TOKEN": devToken]
        )
        print(
            """
            triage dev --processes — triage broker (\(brokers) broker(s)) and \(cluster.workers.count) worker processes
              bootstrap: \(cluster.bootstrap)
              workers:   \(cluster.workers.map { "\($0.name) (ops :\($0.opsPort))" }.joined(separator: ", "))
              logs:      \(cluster.folder)/*.log
              intake:    gRPC on 127.0.0.1:\(port), bearer token \(devToken) (tenant dev-portal)
              running:   incident simulator at \(incidentRate)/s, demo portal every \(portalInterval) s, webhook receiver on :\(sinkPort)
              sla time:  \(time.joined(separator: " ")) (give both to triage publish and triage sla explain)
              stop:      Ctrl-C (every worker gets SIGTERM and must exit 0)
            """)
        fflush(nil)

        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(2)), logger: logger)
        let simulator = IncidentSimulator(producer: producer, clock: clock, rate: incidentRate)
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
            PresenceSimulator(producer: producer, clock: clock, agents: rosterFile.agents.map(\.id), interval: .seconds(3)),
        ])
        if portalInterval > 0 { group.add([portal]) }
        group.add(Self.dashboardServices(dashboard, port: dashboardPort, logger: logger))
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
