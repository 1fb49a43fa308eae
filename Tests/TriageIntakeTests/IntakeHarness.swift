import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Metrics
import ServiceLifecycle
import Synchronization
import TriageAnalyticsFeed
import TriageEntitlements
import TriageIntake
import TriageKafka
import TriageKafkaTesting
import TriageSLA
import TriageSchema
import TriageStreams

/// Tokens of the test tenants.
enum Tokens {
    static let acme = "acme-secret-token"
    static let beta = "beta-secret-token"
    static let ops = "ops-admin-token"
    static let acmeCustomers = "acme-customers-token"

    static let tenantsYAML = """
        tenants:
          - name: acme-portal
            token: \(acme)
            kind: staff
            accounts: [ACME, ACME-EU]
          - name: acme-customers
            token: \(acmeCustomers)
            accounts: [ACME]
          - name: beta-portal
            token_env: BETA_TOKEN
            accounts: [BETA]
          - name: operations
            token: \(ops)
            admin: true
        """

    static func directory() throws -> TenantDirectory {
        try TenantDirectory.load(yaml: tenantsYAML, file: "tenants.yaml", environment: ["BETA_TOKEN": beta])
    }

    static func metadata(_ token: String?) -> Metadata {
        var metadata = Metadata()
        if let token { metadata.addString("Bearer \(token)", forKey: "authorization") }
        return metadata
    }
}

/// A settable clock for the intake's "received at"; every reading moves it 1 ms on, so calls
/// are ordered in time as they would be in real life.
final class TestClock: Sendable {
    private let value: Mutex<Date>
    init(_ start: Date) { value = Mutex(start) }
    var now: Date {
        value.withLock { value in
            defer { value = value.addingTimeInterval(0.001) }
            return value
        }
    }
    func set(_ date: Date) { value.withLock { $0 = date } }
}

/// An intake (with its ledger), the analytics feed and a ledger client for operators, on an
/// embedded broker; calls go through a real gRPC client over loopback.
final class IntakeHarness: Sendable {
    let cluster: KafkaTestCluster
    let topics: LedgerTopics
    let instance: IntakeInstance
    let operatorLedger: LedgerClient
    let clock: TestClock
    let port: Int
    private let group: ServiceGroup
    private let running: Task<Void, any Error>

    /// `before` runs once the topics exist and before the intake starts (to stage records).
    init(
        billing: BillingPolicy = .standard, clock: TestClock = TestClock(Date()), tls: IntakeTLS? = nil,
        metrics: (any MetricsFactory)? = nil,
        before: (@Sendable (LedgerTopics, KafkaTestCluster) async throws -> Void)? = nil
    ) async throws {
        let cluster = try KafkaTestCluster()
        self.cluster = cluster
        self.clock = clock
        var topics = LedgerTopics()
        topics.requests = try cluster.makeTopic("entitlement-requests", partitions: 3)
        topics.entitlements = try cluster.makeTopic("entitlements", partitions: 3)
        topics.replies = try cluster.makeTopic("entitlement-replies", partitions: 2)
        topics.directory = try cluster.makeTopic("incident-directory", partitions: 2)
        topics.incidentEvents = try cluster.makeTopic("incident-events", partitions: 3)
        topics.agentEvents = try cluster.makeTopic("agent-events", partitions: 2)
        topics.incidentState = try cluster.makeTopic("incident-state", partitions: 3)
        topics.deadLetter = try cluster.makeTopic("dead-letter", partitions: 1)
        self.topics = topics
        try await before?(topics, cluster)
        let client = cluster.embedded.clientConfiguration
        let logger = cluster.logger
        instance = try await IntakeInstance(
            client: client, tenants: try Tokens.directory(), billing: billing, port: 0, tls: tls, group: uniqueName("ledger"),
            sessionTimeout: .seconds(3), ledgerTimeout: .seconds(20), topics: topics, logger: logger, now: { clock.now },
            metricsFactory: metrics ?? MetricsSystem.factory
        )
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: logger)
        operatorLedger = LedgerClient(
            producer: producer, client: client, replyPartitions: [0, 1], topics: topics, timeout: .seconds(20), logger: logger
        )
        var feedTopics = AnalyticsFeedTopics()
        feedTopics.incidentEvents = topics.incidentEvents
        feedTopics.incidentState = topics.incidentState
        feedTopics.analytics = try cluster.makeTopic("analytics", partitions: 3)
        feedTopics.deadLetter = topics.deadLetter
        let feedConsumer = try KafkaConsumer(
            configuration: cluster.consumerConfiguration(group: uniqueName("analytics"), topics: [topics.incidentEvents]), logger: logger
        )
        let feed = AnalyticsFeed(
            consumer: feedConsumer, producer: producer, client: client, policy: SlaPolicy(), topics: feedTopics, logger: logger)
        let ledger = operatorLedger
        group = ServiceGroup(
            configuration: .init(
                services: [.init(service: producer), .init(service: ledger), .init(service: feed), .init(service: feedConsumer)]
                    + instance.services.map { .init(service: $0) },
                logger: logger
            )
        )
        let group = self.group
        running = Task { try await group.run() }
        port = try await withDeadline(seconds: 60) { [instance] in try await instance.server.boundPort() }
        try await ledger.ready()
    }

    /// Grants through the ledger, as `triage entitlements grant` does.
    @discardableResult
    func grant(_ spec: GrantSpec) async throws -> LedgerOutcome {
        try await operatorLedger.submit(.grant(spec), entitlementID: spec.id, requestID: "grant/\(spec.id)/\(UUID())", requestedBy: "test")
            .outcome.get()
    }

    /// Waits until the intake's entitlement view shows `id` (its candidates come from there).
    func waitForEntitlement(_ id: String, where condition: @escaping @Sendable (Entitlement) -> Bool = { _ in true }) async throws {
        try await eventually("the intake sees entitlement \(id)", timeout: .seconds(20)) { self.entitlement(id).map(condition) ?? false }
    }

    func entitlement(_ id: String) -> Entitlement? { instance.entitlements[id] }

    /// Runs `body` with a gRPC client of the intake.
    func withClient<T: Sendable>(
        tls: HTTP2ClientTransport.Posix.TransportSecurity = .plaintext,
        _ body: @Sendable @escaping (Triage_V1_IncidentIntake.Client<HTTP2ClientTransport.Posix>) async throws -> T
    ) async throws -> T {
        try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: tls)) {
            client in
            try await body(Triage_V1_IncidentIntake.Client(wrapping: client))
        }
    }

    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await running.value
    }
}

func withDeadline<T: Sendable>(seconds: Double, _ body: @Sendable @escaping () async throws -> T) async throws -> T {
    try await withDeadline(.milliseconds(Int64(seconds * 1000)), body)
}

/// Reads a topic from the beginning (a fresh consumer group) until `count` records arrived.
func readAll(_ topic: String, count: Int, cluster: KafkaTestCluster) async throws -> [KafkaMessage] {
    let consumer = try KafkaConsumer(
        configuration: cluster.consumerConfiguration(group: uniqueName("reader"), topics: [topic]), logger: cluster.logger)
    let reading = Task { try await consumer.run() }
    defer { reading.cancel() }
    return try await withDeadline(seconds: 30) { try await consumer.collect(count, storingOffsets: false) }
}
