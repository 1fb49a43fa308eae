public import Foundation
public import Logging
import ServiceLifecycle
import TriageEscalator
public import TriageKafka
public import TriageRouting
public import TriageSLA

/// `triage chaos`: every worker several times over on `triage broker`, worker processes killed
/// at random and broker faults injected under load; then the audit (``ChaosAudit``) of every
/// topic. Prints its progress and the result table; the verdict is ``ChaosAuditResult/passed``.
public struct ChaosRun: Sendable {
    /// What to run, with the defaults of `triage chaos`.
    public struct Configuration: Sendable {
        /// Seconds of load (simulator, kills, faults). Default 120.
        public var duration: Double = 120
        /// Simulated incidents opened per second. Default 40.
        public var incidentRate: Double = 40
        /// Processes of each worker kind. Default 3.
        public var instances = 3
        /// Mean seconds between worker kills (0: no kills). Default 4.
        public var killInterval: Double = 4
        /// Broker faults besides the kills. Default true.
        public var faults = true
        /// Brokers in the embedded cluster. Default 3.
        public var brokers = 3
        /// Partitions of every topic. Default 6.
        public var partitions = 6
        /// SLA time runs this many times as fast as real time. Default 720.
        public var timeScale: Double = 720
        /// Longest wait, in seconds, for the output to complete after the load stops. Default 120.
        public var settle: Double = 120
        /// Seed of the kill and fault schedule. Default `nil`: random (printed).
        public var seed: UInt64?
        /// Append the result table (markdown) to this file. Default `nil`.
        public var report: String?
        /// Write the audit's figures as JSON (``ChaosResultFile``) to this file. Default `nil`.
        public var resultJSON: String?

        public init() {}
    }

    let configuration: Configuration
    let policy: SlaPolicy
    let policyFile: String?
    let publishRoster: @Sendable (Roster, KafkaProducer, Date) async throws -> Void
    let logger: Logger

    /// `policyFile` is what the workers are given (`--policy`; `nil`: their built-in defaults),
    /// `policy` the same policy loaded; `publishRoster` publishes the demo roster at start.
    public init(
        configuration: Configuration, policy: SlaPolicy, policyFile: String?,
        publishRoster: @escaping @Sendable (Roster, KafkaProducer, Date) async throws -> Void, logger: Logger
    ) {
        self.configuration = configuration
        self.policy = policy
        self.policyFile = policyFile
        self.publishRoster = publishRoster
        self.logger = logger
    }

    /// The policy of a run without `--policy`: the defaults, plus update targets for A and B.
    static let updateTargetsPolicy = """
        targets:
          24x7:
            A: { update: 1h }
            B: { update: 2h }
          business_hours:
            A: { update: 2h }
            B: { update: 4h }
        """

    public func run() async throws -> ChaosAuditResult {
        let settings = configuration
        let seed = settings.seed ?? UInt64.random(in: 1...999_999)
        let origin = Date()
        let clock = ScaledClock(scale: settings.timeScale, origin: origin)
        let time = ["--time-scale", "\(settings.timeScale)", "--time-origin", ISO8601DateFormatter().string(from: origin)]
        let cluster = try await DevProcessCluster(
            brokers: settings.brokers, partitions: settings.partitions, faultCommands: settings.faults)
        var client = KafkaClientConfiguration(bootstrap: cluster.bootstrap)
        client.fetchWait = EmbeddedKafka.mockFetchWait  // the cluster is the embedded broker
        let sink = DevWebhookSink(key: UUID().uuidString, logger: logger)
        let sinkRunning = Task { try await sink.run() }
        defer { sinkRunning.cancel() }
        let sinkPort = await sink.boundPort()
        let roster = DevRoster.demo
        func write(_ name: String, _ text: String) throws -> String {
            let path = "\(cluster.folder)/\(name)"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let rosterPath = try write("roster.yaml", DevProcessFiles.roster(roster))
        let rulesPath = try write("notification-rules.yaml", DevProcessFiles.notificationRules(policy: policy, port: sinkPort))
        let tenantsPath = try write("tenants.yaml", DevProcessFiles.tenants(token: "chaos"))
        // Without a policy of its own the run uses the defaults plus update targets, so the load
        // (which adds public notes) exercises the update clock and the audit covers it.
        let policyPath = try policyFile ?? write("sla-policy.yaml", Self.updateTargetsPolicy)
        let policyArguments = ["--policy", policyPath]
        let session = ["--session-timeout", "6"]
        for index in 1...settings.instances {
            try cluster.start("escalator-\(index)", ["escalator"] + session + time + policyArguments)
            try cluster.start("router-\(index)", ["router"] + session + ["--roster", rosterPath])
            try cluster.start(
                "notifier-\(index)", ["notifier"] + session + ["--rules", rulesPath], environment: ["TRIAGE_DEV_WEBHOOK_KEY": sink.key])
            try cluster.start("analytics-\(index)", ["analytics"] + session + policyArguments)
            try cluster.start(
                "intake-\(index)",
                ["intake"] + session + ["--tenants", tenantsPath, "--host", "127.0.0.1", "--port", "\(try DevProcessCluster.freePort())"]
                    + time,
                environment: ["TRIAGE_DEV_TOKEN": "chaos"]
            )
        }
        print(
            """
            triage chaos — \(settings.brokers) broker(s), \(cluster.workers.count) worker processes (\(settings.instances) of each kind), seed \(seed)
              load:   \(settings.incidentRate) incidents/s for \(Int(settings.duration)) s at ×\(Int(settings.timeScale)) SLA time; a kill every ~\(settings.killInterval) s\(settings.faults ? "; broker faults" : "")
              logs:   \(cluster.folder)/*.log
            """)
        fflush(nil)

        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(2)), logger: logger)
        let simulator = IncidentSimulator(
            producer: producer, clock: clock, rate: settings.incidentRate, tracksDeliveries: true, publicNotes: true)
        let monkey = ChaosMonkey(
            cluster: cluster, brokers: settings.brokers, killInterval: settings.killInterval, faults: settings.faults, seed: seed)
        let publishRoster = self.publishRoster
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: producer),
                    .init(service: RosterPublisher(clock: clock) { now in try await publishRoster(roster, producer, now) }),
                    .init(service: simulator),
                    .init(
                        service: PresenceSimulator(producer: producer, clock: clock, agents: roster.agents.map(\.id), interval: .seconds(3))
                    ),
                    .init(service: monkey),
                    .init(service: ChaosReporter(cluster: cluster, simulator: simulator, monkey: monkey, sink: sink)),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        let stopLoad = Task {
            try await Task.sleep(for: .seconds(settings.duration))
            await group.triggerGracefulShutdown()
        }
        defer { stopLoad.cancel() }
        do {
            try await group.run()
        } catch {
            _ = await cluster.stop()  // never leave worker processes behind
            throw error
        }

        // The embedded cluster keeps everything in memory: if it died, there is nothing to audit.
        if let status = cluster.brokerExit {
            _ = await cluster.stop()
            throw DevProcessError(
                "triage broker exited (status \(status)) during the run; see \(cluster.folder)/broker.log. The embedded broker holds every topic in memory, so nothing can be audited."
            )
        }
        // Everyone back, faults cleared; then wait for the output to complete.
        monkey.heal()
        print(
            "load stopped after \(Int(settings.duration)) s: \(monkey.figures.kills) kills, \(monkey.figures.faults) broker faults; settling (up to \(Int(settings.settle)) s)"
        )
        fflush(nil)
        let capacities = Dictionary(uniqueKeysWithValues: roster.agents.map { ($0.id, $0.capacity) })
        // The policy the escalators run with: the one given, or the update-targets default.
        let auditedPolicy =
            policyFile == nil ? (try? SlaPolicy.load(yaml: Self.updateTargetsPolicy, file: "chaos policy")) ?? policy : policy
        let auditor = ChaosAudit(
            client: client, capacities: capacities, logger: logger, policy: auditedPolicy, slaNow: { clock.now() })
        let published = simulator.deliveredEvents
        var result: ChaosAuditResult
        do {
            // First the workers catch up: their groups consume their inputs to the end (cheap
            // to ask), then the whole audit (minutes of reading on a long run), repeated while
            // output is still arriving.
            try await waitForWorkersToCatchUp(client: client, logger: logger, within: .seconds(settings.settle))
            let deadline = ContinuousClock.now + .seconds(settings.settle)
            result = try await auditor.run(published: published, sink: sink.snapshot, acknowledgement: simulator.acknowledgement(of:))
            while !result.isSettled, ContinuousClock.now < deadline {
                try await Task.sleep(for: .seconds(5))
                result = try await auditor.run(published: published, sink: sink.snapshot, acknowledgement: simulator.acknowledgement(of:))
                print("settling: lost \(result.lost), notifications outstanding \(result.notificationsOutstanding)")
                fflush(nil)
            }
        } catch {
            _ = await cluster.stop()
            throw error
        }
        let statuses = await cluster.stop()
        result.workerExits = statuses
        result.kills = monkey.figures.kills
        result.faults = monkey.figures.faults
        result.undelivered = simulator.failedEvents
        let table = result.table(
            seed: seed, duration: settings.duration, rate: settings.incidentRate, instances: settings.instances, brokers: settings.brokers,
            partitions: settings.partitions)
        print(table)
        if let report = settings.report {
            let handle =
                FileHandle(forWritingAtPath: report)
                ?? {
                    _ = FileManager.default.createFile(atPath: report, contents: nil)
                    return FileHandle(forWritingAtPath: report)
                }()
            handle?.seekToEndOfFile()
            handle?.write(Data((table + "\n").utf8))
            try? handle?.close()
        }
        if let resultJSON = settings.resultJSON {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let file = ChaosResultFile(seed: seed, passed: result.passed, failures: result.failures, figures: result)
            try encoder.encode(file).write(to: URL(fileURLWithPath: resultJSON), options: .atomic)
        }
        print(
            result.passed
                ? "chaos: every check passed" : "chaos: FAILED — \(result.failures.joined(separator: "; ")) (logs: \(cluster.folder))")
        return result
    }
}
