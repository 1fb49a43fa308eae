public import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
public import Logging
public import Metrics
public import ServiceLifecycle
import Synchronization
public import TriageAnalytics
public import TriageEntitlements
public import TriageKafka
public import TriageOps
public import TriageSchema
public import TriageStreams

/// TLS files of the gRPC listener (PEM).
public struct IntakeTLS: Sendable, Hashable {
    public var certificateChainPath: String
    public var privateKeyPath: String

    public init(certificateChainPath: String, privateKeyPath: String) {
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
    }
}

/// One intake process: the gRPC front door, the entitlement ledger (a member of the ledger
/// group: it owns some entitlements' partitions) and the local views both read.
public struct IntakeInstance: Sendable {
    public let service: IntakeService
    public let ledger: EntitlementLedgerWorker
    public let server: IntakeServer
    public let health: WorkerHealth
    /// The intake's view of every entitlement.
    public let entitlements: KeyedTopicView<Entitlement>
    /// The intake's view of the incident directory.
    public let directory: KeyedTopicView<DirectoryEntry>
    /// The intake's view of the analytics feed's incident snapshots.
    public let incidentState: KeyedTopicView<IncidentSnapshot>
    /// List them in a ServiceGroup in this order (shutdown runs in reverse: the listener first).
    public let services: [any Service]

    public init(
        client: KafkaClientConfiguration, tenants: TenantDirectory, billing: BillingPolicy, host: String = "127.0.0.1", port: Int,
        tls: IntakeTLS? = nil, group: String = TriageGroup.ledger, sessionTimeout: Duration = .seconds(45),
        ledgerTimeout: Duration = .seconds(15),
        topics: LedgerTopics = .init(), logger: Logger, now: @escaping @Sendable () -> Date = { Date() },
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) async throws {
        // One admin client and one metadata request for every check and partition list.
        let partitions = try await EntitlementLedgerWorker.checkTopics(
            topics, also: [topics.incidentState], admin: KafkaAdmin(configuration: client, logger: logger)
        )
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(1)), logger: logger)
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                groupID: group, topics: [topics.requests], client: client, sessionTimeout: sessionTimeout,
                heartbeatInterval: sessionTimeout / 10, autoCommitInterval: .seconds(1)
            ),
            logger: logger
        )
        health = WorkerHealth()
        let ledgerClient = LedgerClient(
            producer: producer, client: client, replyPartitions: partitions[topics.replies]!, topics: topics, timeout: ledgerTimeout,
            logger: logger
        )
        ledger = EntitlementLedgerWorker(
            consumer: consumer, producer: producer, client: client, policy: billing, topics: topics, health: health, logger: logger,
            answered: ledgerClient.answered
        )
        ledgerClient.handRequests(to: ledger.offer)
        entitlements = KeyedTopicView<Entitlement>.entitlements(
            partitions: partitions[topics.entitlements]!, topics: topics, client: client, logger: logger)
        directory = KeyedTopicView<DirectoryEntry>.directory(
            partitions: partitions[topics.directory]!, topics: topics, client: client, logger: logger)
        incidentState = KeyedTopicView<IncidentSnapshot>.incidentState(
            partitions: partitions[topics.incidentState]!, topics: topics, client: client, logger: logger
        )
        var dependencies = IntakeDependencies(
            tenants: tenants,
            publisher: IncidentEventPublisher(
                producer: producer, topic: topics.incidentEvents, validator: IncidentEventValidator(now: now)), ledger: ledgerClient,
            entitlements: entitlements, directory: directory, incidentState: incidentState,
            requestIndex: RequestIndex(producer: producer, topic: topics.directory), now: now
        )
        dependencies.agentTopic = topics.agentEvents
        service = IntakeService(dependencies: dependencies, logger: logger, metricsFactory: metricsFactory)
        let followers = [
            FollowerService(name: "entitlement replies", run: ledgerClient.run, ready: ledgerClient.ready, stop: ledgerClient.stop),
            FollowerService(name: "entitlements", run: entitlements.run, ready: entitlements.ready, stop: entitlements.stop),
            FollowerService(name: "incident directory", run: directory.run, ready: directory.ready, stop: directory.stop),
            FollowerService(name: "incident state", run: incidentState.run, ready: incidentState.ready, stop: incidentState.stop),
        ]
        server = IntakeServer(service: service, host: host, port: port, tls: tls, waitFor: followers, health: health, logger: logger)
        services = [producer, ledger, consumer, ConsumerLagReporter(consumer: consumer, worker: "ledger")] + followers + [server]
    }
}

/// A topic follower as a service: stops when the group shuts down.
final class FollowerService: Service, Sendable {
    let name: String
    private let body: @Sendable () async throws -> Void
    let ready: @Sendable () async throws -> Void
    private let stop: @Sendable () -> Void

    init(
        name: String, run: @escaping @Sendable () async throws -> Void, ready: @escaping @Sendable () async throws -> Void,
        stop: @escaping @Sendable () -> Void
    ) {
        self.name = name
        self.body = run
        self.ready = ready
        self.stop = stop
    }

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await body()
        } onGracefulShutdown: {
            self.stop()
        }
    }
}

/// The gRPC listener. Serves once every view has caught up (until then a call could miss an
/// incident or entitlement that exists); on shutdown it stops accepting calls and lets the
/// ones in flight finish.
public final class IntakeServer: Service, Sendable {
    private let service: IntakeService
    private let host: String
    private let port: Int
    private let tls: IntakeTLS?
    private let followers: [FollowerService]
    private let health: WorkerHealth
    private let logger: Logger
    private let bound = Mutex<(port: Int?, waiters: [CheckedContinuation<Int, any Error>])>((nil, []))

    init(
        service: IntakeService, host: String, port: Int, tls: IntakeTLS?, waitFor followers: [FollowerService], health: WorkerHealth,
        logger: Logger
    ) {
        self.service = service
        self.host = host
        self.port = port
        self.tls = tls
        self.followers = followers
        self.health = health
        self.logger = logger
    }

    /// The port the listener is bound to (useful with port 0), once it is.
    public func boundPort() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            let port: Int? = bound.withLock { state in
                if let port = state.port { return port }
                state.waiters.append(continuation)
                return nil
            }
            if let port { continuation.resume(returning: port) }
        }
    }

    public func run() async throws {
        health.beginRestore("views")
        for follower in followers {
            logger.debug("waiting for view", metadata: ["view": "\(follower.name)"])
            try await follower.ready()
        }
        health.endRestore(status: "running")
        let security: HTTP2ServerTransport.Posix.TransportSecurity =
            if let tls {
                .tls(
                    certificateChain: [.file(path: tls.certificateChainPath, format: .pem)],
                    privateKey: .file(path: tls.privateKeyPath, format: .pem))
            } else {
                .plaintext
            }
        // Requests up to `transportBytes` reach the service, which answers the ones over
        // `requestBytes` with RESOURCE_EXHAUSTED (the transport itself would only reset the stream).
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: host, port: port), transportSecurity: security,
            config: .defaults { $0.rpc.maxRequestPayloadSize = IntakeLimits.transportBytes }
        )
        let server = GRPCServer(transport: transport, services: [service])
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await server.serve() }
                group.addTask {
                    // A listener that fails to bind fails `serve()` with the reason (address in use);
                    // this task only announces the port and must not race it with its own error.
                    guard let address = try? await transport.listeningAddress.ipv4 else { return }
                    let waiters = self.bound.withLock { state in
                        state.port = address.port
                        defer { state.waiters = [] }
                        return state.waiters
                    }
                    self.logger.info(
                        "intake listening", metadata: ["address": "\(address.host):\(address.port)", "tls": "\(self.tls != nil)"])
                    for waiter in waiters { waiter.resume(returning: address.port) }
                }
            }
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}
