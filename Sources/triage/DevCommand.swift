import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SwiftProtobuf
import Synchronization
import TriageAnalyticsFeed
import TriageDashboard
import TriageEntitlements
import TriageEscalator
import TriageIntake
import TriageKafka
import TriageNotification
import TriageNotifier
import TriageOps
import TriageRouter
import TriageRouting
import TriageSLA
import TriageSLAEvents
import TriageSchema
import TriageStreams

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
        let escalator = try EscalatorServices(
            client: kafka.clientConfiguration, policy: policy, clock: clock, group: TriageGroup.escalator,
            sessionTimeout: .seconds(6), logger: logger
        )
        let rosterFile = try roster.map(loadRoster) ?? Self.demoRoster
        _ = try await publishRoster(rosterFile, producer: producer, source: "triage dev", at: clock.now())
        let router = try await RouterInstance(
            client: kafka.clientConfiguration, policy: rosterFile.policy, group: TriageGroup.router, defaultTeam: "tier-1",
            sessionTimeout: .seconds(6), logger: logger
        )
        let simulator = IncidentSimulator(producer: producer, clock: clock, rate: incidentRate)
        let analytics = try AnalyticsServices(
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
        let notifier: NotifierServices
        do {
            notifier = try NotifierServices(
                client: kafka.clientConfiguration, rules: Self.devNotificationRules(policy: policy, port: sinkPort),
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
        group.add(escalator.ordered)
        group.add(router.services)
        group.add(notifier.ordered)
        group.add(analytics.ordered)
        group.addIntake(intake, at: ListenAddress(host: "127.0.0.1", port: intakePort, option: "--intake-port"))
        group.add(portalServices)
        group.add(Self.dashboardServices(dashboard, port: dashboardPort, logger: logger))
        group.addListener(
            OpsServer(port: opsPort, health: escalator.escalator.health, logger: logger),
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

    /// One webhook endpoint (the local receiver, signed) for every recipient the SLA policy names.
    static func devNotificationRules(policy: SlaPolicy, port: Int) -> NotificationRules {
        let endpoint = NotificationRules.Endpoint(
            name: "dev-webhooks",
            kind: .webhook(.init(url: .url(URL(string: "http://127.0.0.1:\(port)/hooks/all")!), secretVariable: "TRIAGE_DEV_WEBHOOK_KEY"))
        )
        let names = Set(policy.warningNotify + policy.escalation.flatMap(\.notify) + ["assigned-agent"])
        return NotificationRules(
            endpoints: [endpoint.name: endpoint],
            recipients: Dictionary(
                uniqueKeysWithValues: names.map { ($0, NotificationRules.Recipient(name: $0, endpoints: [endpoint.name])) })
        )
    }

    /// Twelve agents of team tier-1 (billing), capacity 6, online.
    static var demoRoster: Roster {
        Roster(
            agents: (1...12).map { Agent(id: "agent-\($0)", team: "tier-1", skills: ["billing"], languages: ["en"], capacity: 6) },
            policy: RoutingPolicy(),
            initialPresence: Dictionary(uniqueKeysWithValues: (1...12).map { ("agent-\($0)", Presence.online) })
        )
    }
}

/// Counters shared by the self-check services.
final class SelfCheckStatistics: Sendable {
    struct Snapshot {
        var produced = 0
        var consumed = 0
        var failed = 0
        var latencies: [Double] = []  // milliseconds, since the last report
    }

    private let state = Mutex(Snapshot())

    func produced() { state.withLock { $0.produced += 1 } }
    func failed() { state.withLock { $0.failed += 1 } }
    func consumed(latencies: [Double]) {
        state.withLock {
            $0.consumed += latencies.count
            $0.latencies += latencies
        }
    }
    func snapshot(resettingLatencies: Bool = false) -> Snapshot {
        state.withLock {
            let copy = $0
            if resettingLatencies { $0.latencies = [] }
            return copy
        }
    }
}

/// Publishes timestamped records at a fixed rate until shutdown.
struct SelfCheckWriter: Service {
    let producer: KafkaProducer
    let topic: String
    let rate: Int
    let statistics: SelfCheckStatistics

    func run() async throws {
        let interval = Duration.seconds(1) / rate
        await cancelWhenGracefulShutdown {
            let clock = ContinuousClock()
            var next = clock.now
            var sequence = 0
            while !Task.isCancelled {
                let sentAt = String(Date().timeIntervalSince1970)
                do {
                    try await producer.enqueue(
                        KafkaProducerMessage(
                            topic: topic,
                            key: "incident-\(sequence % 64)",
                            value: "self-check \(sequence)",
                            headers: [KafkaHeader(name: "sent-at", string: sentAt)]
                        )
                    )
                    statistics.produced()
                } catch {
                    statistics.failed()
                }
                sequence += 1
                next = next.advanced(by: interval)
                if next > clock.now { try? await Task.sleep(until: next, clock: clock) } else { next = clock.now }
            }
        }
    }
}

/// Reads the self-check records back, measuring end-to-end latency, and commits.
struct SelfCheckReader: Service {
    let consumer: KafkaConsumer
    let statistics: SelfCheckStatistics

    func run() async throws {
        for try await batch in consumer.batches {
            let now = Date().timeIntervalSince1970
            statistics.consumed(
                latencies: batch.compactMap { $0.header("sent-at")?.stringValue.flatMap(Double.init) }.map { (now - $0) * 1000 }
            )
            try consumer.storeOffsets(batch)
        }
        try await gracefulShutdown()
    }
}

/// Prints one summary line per interval.
struct SelfCheckReporter: Service {
    let consumer: KafkaConsumer
    let statistics: SelfCheckStatistics
    let escalator: Escalator
    let router: Router
    let simulator: IncidentSimulator
    let notifier: Notifier
    let sink: DevWebhookSink
    let analytics: AnalyticsFeed
    let intake: IntakeInstance
    let portal: DevIntakeDriver
    let deadLetters: DevDeadLetters
    let interval: Double

    func run() async throws {
        await reportPeriodically(every: interval) { elapsed in
            let snapshot = statistics.snapshot(resettingLatencies: true)
            let lag = ((try? await consumer.lag()) ?? [:]).values.reduce(0, +)
            let sorted = snapshot.latencies.sorted()
            func percentile(_ p: Double) -> String {
                sorted.isEmpty ? "-" : String(format: "%.1fms", sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))])
            }
            print(
                "[\(elapsed)s] kafka self-check: produced \(snapshot.produced)  consumed \(snapshot.consumed)  "
                    + "lag \(lag)  e2e p50 \(percentile(0.5)) p99 \(percentile(0.99))  failures \(snapshot.failed)"
            )
            let sla = escalator.statistics
            print(
                "[\(elapsed)s] escalator: \(escalator.health.isReady ? "ready" : "not ready")  incidents opened \(simulator.opened)  "
                    + "tracked \(sla.tracked)  warnings \(sla.warnings)  escalations \(sla.escalations)  "
                    + "last breach lag \(String(format: "%.0f", sla.lastLagSeconds)) SLA-s"
            )
            let routing = router.statistics
            print(
                "[\(elapsed)s] router: agents \(routing.agents)  teams \(routing.teams)  assigned \(routing.assigned)  "
                    + "reassigned \(routing.reassigned)  queued \(routing.queued)"
            )
            let notified = notifier.statistics
            let received = sink.snapshot
            print(
                "[\(elapsed)s] notifier: delivered \(notified.delivered)  retried \(notified.retried)  dead-lettered \(notified.deadLettered)  "
                    + "webhooks received \(received.received) (signature ok \(received.verified))"
            )
            let facts = analytics.statistics
            print("[\(elapsed)s] analytics: records \(facts.records)  incidents \(facts.incidents)  duplicates dropped \(facts.duplicates)")
            let calls = intake.service.statistics
            let ledger = intake.ledger.statistics
            let demo = portal.figures
            print(
                "[\(elapsed)s] intake: calls \(calls.calls)  opened via gRPC \(demo.opened)  refused \(demo.refused)  "
                    + "\(DevIntakeDriver.pack) credits left \(demo.packCreditsLeft.map(String.init) ?? "-")  "
                    + "ledger commands \(ledger.commands) (rejected \(ledger.rejected))"
                    + (demo.lastRefusal.isEmpty ? "" : "  last refusal: \(demo.lastRefusal)")
            )
            print("[\(elapsed)s] \(DevDeadLetters.line(await deadLetters.refresh()))")
            fflush(nil)
        }
    }
}

/// The workload of `triage dev`: customers opening incidents at a fixed rate on SLA time with a
/// realistic severity mix (A 10 %, B 35 %, C 55 %), agents answering after varied delays (some
/// too late, a tenth never), some incidents waiting on the customer for a while, most resolved
/// hours later and a few closed unresolved. Each event is published when its SLA time comes.
final class IncidentSimulator: Service, Sendable {
    let producer: KafkaProducer
    let clock: any SlaTimeSource
    let rate: Double
    private let count = Atomic<Int>(0)
    /// With `tracksDeliveries`, the ids of events the broker acknowledged (`triage chaos`
    /// audits against them); otherwise events are enqueued and not followed up.
    private let tracksDeliveries: Bool
    /// Where the broker said each delivered event was stored (partition, offset).
    private let acknowledgements = Mutex<[String: (partition: Int32, offset: Int64)]>([:])
    private let failed = Atomic<Int>(0)

    init(producer: KafkaProducer, clock: any SlaTimeSource, rate: Double, tracksDeliveries: Bool = false) {
        self.producer = producer
        self.clock = clock
        self.rate = rate
        self.tracksDeliveries = tracksDeliveries
    }

    /// Event ids the broker acknowledged (empty unless `tracksDeliveries`).
    var deliveredEvents: Set<String> { acknowledgements.withLock { Set($0.keys) } }
    /// The partition and offset the broker acknowledged for `event` (with `tracksDeliveries`).
    func acknowledgement(of event: String) -> (partition: Int32, offset: Int64)? { acknowledgements.withLock { $0[event] } }
    /// Events that could not be delivered (only counted with `tracksDeliveries`).
    var failedEvents: Int { failed.load(ordering: .relaxed) }

    var opened: Int { count.load(ordering: .relaxed) }

    /// The lifecycle of one simulated incident, as (SLA minutes after opening, event) pairs.
    static func story(_ incident: String, index: Int, openedAt: Date, random: inout some RandomNumberGenerator) -> [(Double, IncidentEvent)]
    {
        func event(_ suffix: String, _ build: (inout IncidentEvent) -> Void) -> IncidentEvent {
            var event = IncidentEvent.with {
                $0.eventID = "\(incident)-\(suffix)"; $0.incidentID = incident; $0.producer = "simulator"
            }
            build(&event)
            return event
        }
        let roll = Double.random(in: 0..<1, using: &random)
        let severity: Severity = roll < 0.10 ? .a : roll < 0.45 ? .b : .c
        let target: Double = severity == .a ? 120 : severity == .b ? 240 : 480
        let agent = "agent-\(Int.random(in: 1...12, using: &random))"
        var story: [(Double, IncidentEvent)] = [
            (
                0,
                event("opened") {
                    $0.opened = .with {
                        $0.customerAccount = "acct-\(index % 17)"; $0.entitlementID = "pack-\(index % 17)"; $0.product = "billing";
                        $0.language = "en"
                        $0.severity = severity; $0.coverage = severity == .a || index % 2 == 0 ? .coverage24X7 : .businessHours
                        $0.customerTimeZone = "America/New_York"; $0.title = "simulated incident \(index)"; $0.team = "tier-1"
                    }
                }
            )
        ]
        func stamped(_ story: [(Double, IncidentEvent)]) -> [(Double, IncidentEvent)] {
            story.map { minutes, event in
                var event = event
                event.occurredAt = Google_Protobuf_Timestamp(date: openedAt.addingTimeInterval(minutes * 60))
                return (minutes, event)
            }
        }
        // Never answered: warnings, then escalations.
        guard Double.random(in: 0..<1, using: &random) >= 0.10 else { return stamped(story) }
        // Answered after 20 %–130 % of the target: about a fifth breach it first.
        let answered = target * Double.random(in: 0.2...1.3, using: &random)
        story.append((answered, event("ack") { $0.acknowledged = .with { $0.agentID = agent } }))
        var resolved = answered + Double.random(in: 30...480, using: &random)
        if Double.random(in: 0..<1, using: &random) < 0.2 {  // waits on the customer for a while
            let waits = answered + 10
            let responds = waits + Double.random(in: 30...240, using: &random)
            story.append((waits, event("wait") { $0.waitingOnCustomer = .with { $0.reason = "need logs" } }))
            story.append((responds, event("respond") { $0.customerResponded = .init() }))
            resolved = max(resolved, responds + 20)
        }
        if Double.random(in: 0..<1, using: &random) < 0.05 {
            story.append(
                (
                    resolved,
                    event("closed") {
                        $0.closedUnresolved = .with {
                            $0.closedBy = agent; $0.reason = "cannot_reproduce"
                        }
                    }
                ))
        } else {
            story.append(
                (
                    resolved - 5,
                    event("solution") {
                        $0.solutionDelivered = .with {
                            $0.agentID = agent; $0.summary = "fixed"
                        }
                    }
                ))
            story.append((resolved, event("closed") { $0.closedResolved = .with { $0.closedBy = agent } }))
        }
        return stamped(story)
    }

    func run() async throws {
        guard rate > 0 else { return try await gracefulShutdown() }
        let publisher = IncidentEventPublisher(producer: producer, validator: .init(now: { [clock] in clock.now() }))
        let run = UUID().uuidString.prefix(4).lowercased()
        await cancelWhenGracefulShutdown {
            var random = SystemRandomNumberGenerator()
            var pending: [(due: Date, event: IncidentEvent)] = []  // sorted by due
            var index = 0
            var nextOpen = self.clock.now()
            while !Task.isCancelled {
                let now = self.clock.now()
                if now >= nextOpen {
                    let incident = "INC-\(run)-\(index)"
                    for (minutes, event) in Self.story(incident, index: index, openedAt: now, random: &random) {
                        let due = now.addingTimeInterval(minutes * 60)
                        let position = pending.firstIndex { $0.due > due } ?? pending.endIndex
                        pending.insert((due, event), at: position)
                    }
                    self.count.add(1, ordering: .relaxed)
                    index += 1
                    nextOpen = nextOpen.addingTimeInterval(self.scale / self.rate)
                }
                while let first = pending.first, first.due <= now {
                    pending.removeFirst()
                    guard self.tracksDeliveries else {
                        _ = try? await publisher.producer.enqueue(publisher.record(for: first.event))
                        continue
                    }
                    let record = try? publisher.record(for: first.event)
                    let id = first.event.eventID
                    Task {
                        do {
                            guard let record else { throw CancellationError() }
                            let report = try await publisher.producer.send(record)
                            self.acknowledgements.withLock { $0[id] = (report.partition, report.offset) }
                        } catch {
                            self.failed.add(1, ordering: .relaxed)
                        }
                    }
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    private var scale: Double { (clock as? ScaledClock)?.scale ?? 1 }
}

/// Agents of `triage dev` stepping away and coming back: every few seconds one agent changes
/// presence (online ↔ away or offline), so reassignments and queueing show up.
struct PresenceSimulator: Service {
    let producer: KafkaProducer
    /// Presence changes happen on the run's SLA time, like every other simulated fact: the
    /// router stamps its decisions with the time of the input that caused them.
    let clock: any SlaTimeSource
    let agents: [String]
    let interval: Duration

    func run() async throws {
        guard !agents.isEmpty else { return try await gracefulShutdown() }
        await cancelWhenGracefulShutdown {
            var away: Set<String> = []
            var random = SystemRandomNumberGenerator()
            var step = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                // At most a quarter away at once; someone away comes back first.
                let agent: String
                if !away.isEmpty && (away.count >= agents.count / 4 || Bool.random(using: &random)) {
                    agent = away.randomElement(using: &random)!
                    away.remove(agent)
                } else {
                    agent = agents.randomElement(using: &random)!
                    away.insert(agent)
                }
                let event = AgentEvent.with {
                    $0.eventID = "dev-presence-\(UUID().uuidString)"; $0.agentID = agent; $0.producer = "triage dev"
                    $0.occurredAt = Google_Protobuf_Timestamp(date: clock.now())
                    // Away, or now and then offline (unacknowledged incidents are then reassigned).
                    $0.presenceChanged = .with { $0.presence = away.contains(agent) ? (step % 3 == 0 ? .offline : .away) : .online }
                }
                _ = try? await producer.send(
                    KafkaProducerMessage(topic: TriageTopic.agentEvents, key: Array(agent.utf8), value: try! event.serializedBytes())
                )
                step += 1
            }
        }
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
                service: OptionalService(name: "dashboard", service: listening, logger: logger),
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
        let rosterFile = try roster.map(loadRoster) ?? Self.demoRoster
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
            producer, RosterPublisher(roster: rosterFile, producer: producer, clock: clock), simulator, portalLedger,
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

/// Publishes the roster once at start (as `triage agents apply` does), then idles.
struct RosterPublisher: Service {
    let roster: Roster
    let producer: KafkaProducer
    let clock: any SlaTimeSource

    func run() async throws {
        _ = try await publishRoster(roster, producer: producer, source: "triage dev", at: clock.now())
        try? await gracefulShutdown()
    }
}

/// The live lines of `triage dev --processes`.
struct DevProcessReporter: Service {
    let cluster: DevProcessCluster
    let portal: DevIntakeDriver
    let sink: DevWebhookSink
    let simulator: IncidentSimulator
    let deadLetters: DevDeadLetters
    let interval: Double

    func run() async throws {
        await reportPeriodically(every: interval) { elapsed in
            print("[\(elapsed)s] processed: \(await cluster.statusLine())")
            let demo = portal.figures
            let received = sink.snapshot
            print(
                "[\(elapsed)s] simulator opened \(simulator.opened)  portal opened via gRPC \(demo.opened) (refused \(demo.refused))  "
                    + "webhooks received \(received.received) (signature ok \(received.verified))"
            )
            print("[\(elapsed)s] \(DevDeadLetters.line(await deadLetters.refresh()))")
            fflush(nil)
        }
    }
}

/// Calls `report` with the whole seconds elapsed every `interval` seconds until the service group
/// shuts down (the live lines of `triage dev`).
func reportPeriodically(every interval: Double, _ report: @escaping @Sendable (Int64) async -> Void) async {
    let started = ContinuousClock.now
    await cancelWhenGracefulShutdown {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(interval))
            if Task.isCancelled { break }
            await report((ContinuousClock.now - started).components.seconds)
        }
    }
}

/// Runs a service whose failure should be reported, not end the group (the dev dashboard).
struct OptionalService<Wrapped: Service>: Service {
    let name: String
    let service: Wrapped
    let logger: Logger

    func run() async throws {
        do {
            try await service.run()
        } catch let error as AddressInUse {
            throw error
        } catch {
            logger.error("\(name) stopped", metadata: ["error": "\(error)"])
            try? await gracefulShutdown()
        }
    }
}

/// Prints the dashboard's address once it listens.
struct DashboardAnnouncer: Service {
    let dashboard: Dashboard

    func run() async throws {
        if let port = try? await dashboard.boundPort() {
            print("dashboard: http://127.0.0.1:\(port)/")
            fflush(nil)
        }
        try? await gracefulShutdown()
    }
}
