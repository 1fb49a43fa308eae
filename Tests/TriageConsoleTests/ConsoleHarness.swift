import AsyncHTTPClient
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import HummingbirdBcrypt
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import TriageAnalyticsFeed
import TriageConsole
import TriageDashboard
import TriageEntitlements
import TriageIntake
import TriageKafka
import TriageKafkaTesting
import TriageRouterWorker
import TriageRouting
import TriageRoutingEvents
import TriageSLA
import TriageSchema
import TriageStreams

/// A wall clock tests can move (session expiry, throttling).
final class MovableClock: Sendable {
    private let offset = Mutex<Double>(0)
    var now: Date { Date().addingTimeInterval(offset.withLock { $0 }) }
    func advance(seconds: Double) { offset.withLock { $0 += seconds } }
}

/// A real console on loopback HTTP, acting through a real intake (gRPC over loopback) on an
/// embedded broker, with the analytics feed folding the incidents it reads.
final class ConsoleHarness: Sendable {
    static let consoleToken = "console-admin-token"
    static let portalToken = "acme-portal-token"
    static let password = "correct horse battery"

    static let tenantsYAML = """
        tenants:
          - name: acme-portal
            token: \(portalToken)
            accounts: [ACME]
          - name: console
            token: \(consoleToken)
            admin: true
        """

    /// lee: lead; ana: agent of tier-1; bo: agent of tier-2.
    static let accountsYAML: String = {
        let hash = Bcrypt.hash(password, cost: 4)
        return """
            accounts:
              - username: lee
                display_name: Lee Park
                role: lead
                password_bcrypt: "\(hash)"
              - username: ana
                display_name: Ana Lima
                role: agent
                agent_id: agent-1
                team: tier-1
                password_bcrypt: "\(hash)"
              - username: bo
                display_name: Bo Berg
                role: agent
                agent_id: agent-2
                team: tier-2
                password_bcrypt: "\(hash)"
            """
    }()

    let cluster: KafkaTestCluster
    let topics: LedgerTopics
    let intake: IntakeInstance
    let console: Console
    let operatorLedger: LedgerClient
    let clock: MovableClock
    let port: Int
    let intakePort: Int
    let http: HTTPClient
    private let workers: ServiceGroup
    private let workersRunning: Task<Void, any Error>
    private let consoleGroup: ServiceGroup
    private let consoleRunning: Task<Void, any Error>

    /// With `roster`, a router runs too (its agents published at start, `triage.agent-events`
    /// being where the intake's SetPresence publishes).
    init(roster: Roster? = nil, configure: (inout ConsoleConfiguration) -> Void = { _ in }) async throws {
        let cluster = try KafkaTestCluster()
        self.cluster = cluster
        var topics = LedgerTopics()
        topics.requests = try cluster.makeTopic("entitlement-requests", partitions: 2)
        topics.entitlements = try cluster.makeTopic("entitlements", partitions: 2)
        topics.replies = try cluster.makeTopic("entitlement-replies", partitions: 2)
        topics.directory = try cluster.makeTopic("incident-directory", partitions: 2)
        topics.incidentEvents = try cluster.makeTopic("incident-events", partitions: 3)
        topics.incidentState = try cluster.makeTopic("incident-state", partitions: 3)
        topics.deadLetter = try cluster.makeTopic("dead-letter", partitions: 1)
        self.topics = topics
        let client = cluster.embedded.clientConfiguration
        let logger = cluster.logger
        let tenants = try TenantDirectory.load(yaml: Self.tenantsYAML, file: "tenants.yaml", environment: [:])
        intake = try await IntakeInstance(
            client: client, tenants: tenants, billing: .standard, port: 0, group: uniqueName("ledger"), sessionTimeout: .seconds(3),
            ledgerTimeout: .seconds(20), topics: topics, logger: logger, now: { Date() })
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: logger)
        operatorLedger = LedgerClient(
            producer: producer, client: client, replyPartitions: [0, 1], topics: topics, timeout: .seconds(20), logger: logger)
        var feedTopics = AnalyticsFeedTopics()
        feedTopics.incidentEvents = topics.incidentEvents
        feedTopics.incidentState = topics.incidentState
        feedTopics.analytics = try cluster.makeTopic("analytics", partitions: 3)
        feedTopics.deadLetter = topics.deadLetter
        let feedConsumer = try KafkaConsumer(
            configuration: cluster.consumerConfiguration(group: uniqueName("analytics"), topics: [topics.incidentEvents]), logger: logger)
        let feed = AnalyticsFeed(
            consumer: feedConsumer, producer: producer, client: client, policy: SlaPolicy(), topics: feedTopics, logger: logger)
        let clock = MovableClock()
        self.clock = clock
        var configuration = ConsoleConfiguration(port: 0, wallClock: { clock.now })
        configuration.analyticsTopic = feedTopics.analytics
        configure(&configuration)
        try cluster.embedded.createTopic(TriageTopic.agentEvents, partitions: 1, replicationFactor: 1)
        var routerTopics = RouterTopics()
        routerTopics.incidentEvents = topics.incidentEvents
        routerTopics.agentEvents = TriageTopic.agentEvents
        routerTopics.routing = try cluster.makeTopic("routing", partitions: 2)
        routerTopics.routingIndex = try cluster.makeTopic("routing-index", partitions: 3)
        routerTopics.deskState = try cluster.makeTopic("router-state", partitions: 2)
        routerTopics.deadLetter = topics.deadLetter
        let dashboardTopics = DashboardTopics(
            incidentState: topics.incidentState, incidentEvents: topics.incidentEvents, agentEvents: TriageTopic.agentEvents,
            routerState: routerTopics.deskState)
        var routerServices: [any Service] = []
        if let roster {
            let router = try await RouterInstance(
                client: client, policy: roster.policy, group: uniqueName("router"), defaultTeam: "tier-1", sessionTimeout: .seconds(3),
                logger: logger, topics: routerTopics)
            routerServices = router.services
        }
        let ledger = operatorLedger
        let workers = ServiceGroup(
            configuration: .init(
                services: [.init(service: producer), .init(service: ledger), .init(service: feed), .init(service: feedConsumer)]
                    + intake.services.map { .init(service: $0) } + routerServices.map { .init(service: $0) },
                logger: logger))
        workersRunning = Task { try await workers.run() }
        self.workers = workers
        intakePort = try await withDeadline(.seconds(60)) { [intake] in try await intake.server.boundPort() }
        try await ledger.ready()
        for event in roster?.agentEvents(source: "test", at: Date()) ?? [] {
            _ = try await producer.send(
                KafkaProducerMessage(topic: TriageTopic.agentEvents, key: Array(event.agentID.utf8), value: try event.serializedBytes()))
        }
        console = try await Console(
            client: client, intake: (host: "127.0.0.1", port: intakePort), token: Self.consoleToken,
            directory: try StaffDirectory.load(yaml: Self.accountsYAML, file: "accounts.yaml"), now: { Date() }, topics: dashboardTopics,
            configuration: configuration, logger: logger)
        let console = console
        let consoleGroup = ServiceGroup(configuration: .init(services: [.init(service: console)], logger: logger))
        consoleRunning = Task { try await consoleGroup.run() }
        self.consoleGroup = consoleGroup
        port = try await withDeadline(.seconds(30)) { try await console.boundPort() }
        try await withDeadline(.seconds(30)) { try await console.collector.waitUntilCaughtUp() }
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.redirectConfiguration = .disallow
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
    }

    var base: String { "http://127.0.0.1:\(port)" }

    private let stopped = Atomic<Bool>(false)

    /// Stops everything (once; later calls return at once).
    func stop() async throws {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try await http.shutdown()
        await consoleGroup.triggerGracefulShutdown()
        try await consoleRunning.value
        await workers.triggerGracefulShutdown()
        try await workersRunning.value
    }

    /// Grants a 5-pack to ACME and waits until the intake sees it.
    func grantPack(_ id: String = "PACK-1") async throws {
        let spec = GrantSpec(
            id: id, kind: .fivePack, account: "ACME", purchasedAt: Date().addingTimeInterval(-86_400), timeZone: "UTC", credits: 5,
            coverage: nil, calendar: nil, termYears: 1)
        _ = try await operatorLedger.submit(.grant(spec), entitlementID: id, requestID: "grant/\(id)/\(UUID())", requestedBy: "test")
            .outcome.get()
        try await eventually("the intake sees \(id)", timeout: .seconds(20)) { self.intake.entitlements[id] != nil }
    }

    /// Opens an incident through the portal tenant and waits until the console knows it.
    func open(team: String, title: String = "invoices fail") async throws -> String {
        let id = try await withIntake { intake in
            try await intake.openIncident(
                .with {
                    $0.requestID = UUID().uuidString
                    $0.customerAccount = "ACME"
                    $0.product = "billing"
                    $0.language = "en"
                    $0.severity = .b
                    $0.customerTimeZone = "UTC"
                    $0.title = title
                    $0.team = team
                }, metadata: Self.metadata(Self.portalToken)
            ).incidentID
        }
        try await eventually("the console knows \(id)", timeout: .seconds(30)) { self.console.records.snapshot(id) != nil }
        return id
    }

    func withIntake<T: Sendable>(
        _ body: @Sendable @escaping (Triage_V1_IncidentIntake.Client<HTTP2ClientTransport.Posix>) async throws -> T
    )
        async throws -> T
    {
        try await withGRPCClient(
            transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: intakePort), transportSecurity: .plaintext)
        ) {
            try await body(Triage_V1_IncidentIntake.Client(wrapping: $0))
        }
    }

    static func metadata(_ token: String) -> Metadata {
        var metadata = Metadata()
        metadata.addString("Bearer \(token)", forKey: "authorization")
        return metadata
    }

    /// Every lifecycle event of `incident` on the topic now.
    func events(of incident: String) async throws -> [IncidentEvent] {
        let admin = try KafkaAdmin(configuration: cluster.embedded.clientConfiguration, logger: cluster.logger)
        let partitions = try await admin.describeTopic(topics.incidentEvents).partitions.map(\.id)
        let found = Mutex<[IncidentEvent]>([])
        let wanted = Array(incident.utf8)
        _ = try await KafkaPartitionReader.readToEnd(
            topic: topics.incidentEvents, partitions: partitions, client: cluster.embedded.clientConfiguration, logger: cluster.logger
        ) { record in
            guard let key = record.key, key.elementsEqual(wanted), let value = record.value,
                let event = try? IncidentEvent(serializedBytes: Array(value))
            else { return }
            found.withLock { $0.append(event) }
        }
        return found.withLock { $0 }
    }
}
