public import Foundation
public import Logging
public import ServiceLifecycle
import TriageAnalyticsFeed
public import TriageDashboard
public import TriageKafka
public import TriageRouting
public import TriageSLA
import TriageSLABacktestLog

/// The staff console (`triage console`, and inside `triage dev`): sign-in with roles, queues
/// with "take next", incidents with filters, timelines, SLA clocks and actions, agents with
/// load and presence — served by a ``ConsoleServer``, read from the topics by the dashboard's
/// ``DashboardCollector`` (feeding ``IncidentRecords``), acting only through the intake's gRPC
/// API (``IntakeGateway``).
///
/// ```swift
/// let console = try await Console(
///     client: kafka.clientConfiguration, intake: (host: "127.0.0.1", port: 50051), token: token,
///     directory: try StaffDirectory.load(path: "accounts.yaml"), now: { Date() }, logger: logger)
/// // add `console` to the ServiceGroup; then:
/// print("console: http://127.0.0.1:\(try await console.boundPort())/")
/// ```
///
/// As a `Service`, ``run()`` reads, connects and serves until graceful shutdown: the server
/// stops first, then the intake client and the followers.
public final class Console: Service, Sendable {
    public let collector: DashboardCollector
    public let records: IncidentRecords
    public let board: ConsoleBoard
    public let gateway: IntakeGateway
    public let server: ConsoleServer
    private let logger: Logger

    /// - Parameters:
    ///   - intake: the intake's gRPC address.
    ///   - token: an admin tenant's bearer token (never logged).
    ///   - now: SLA time, the escalator's clock.
    ///   - policy: the SLA policy the workers run. Default: the default policy.
    ///   - routing: the router's policy (severity weights). Default: the default policy.
    ///   - groups: worker consumer group → input topic, measured as the dashboard does. Default none.
    ///   - recordTime: the SLA instant of a record's Kafka timestamp (real time), for back-tests:
    ///     the escalator's clock (`ScaledClock.slaInstant(of:)` on a sped-up one). Default: the
    ///     same instant (the system clock).
    public init(
        client: KafkaClientConfiguration,
        intake: (host: String, port: Int),
        token: String,
        intakeTLS: Bool = false,
        directory: StaffDirectory,
        now: @escaping @Sendable () -> Date,
        policy: SlaPolicy = SlaPolicy(),
        routing: RoutingPolicy = RoutingPolicy(),
        groups: [String: String] = [:],
        topics: DashboardTopics = .init(),
        configuration: ConsoleConfiguration = .init(),
        recordTime: @escaping @Sendable (Date) -> Date = { $0 },
        logger: Logger
    ) async throws {
        let records = IncidentRecords(limits: configuration.timelines)
        let collector = try await DashboardCollector(
            client: client, groups: groups, now: now, policy: policy, topics: topics,
            configuration: .init(maximumIncidents: .max, loadWeights: routing.severityWeights), observer: records, logger: logger)
        self.records = records
        self.collector = collector
        board = ConsoleBoard(
            collector: collector, records: records, policy: policy, routing: routing, atRiskWithin: configuration.atRiskWithin, now: now)
        gateway = try IntakeGateway(
            host: intake.host, port: intake.port, token: token, tls: intakeTLS, timeout: configuration.intakeTimeout, logger: logger)
        server = ConsoleServer(
            board: board, gateway: gateway, directory: directory, configuration: configuration,
            reports: AnalyticsHistory(client: client, topic: configuration.analyticsTopic, logger: logger),
            backtests: BacktestLogReader(client: client, topic: topics.incidentEvents, logger: logger), recordTime: recordTime,
            logger: logger)
        self.logger = logger
    }

    /// The HTTP port, once listening; throws if the server failed or stopped before that.
    public func boundPort() async throws -> Int {
        try await server.boundPort()
    }

    public func run() async throws {
        let services = ServiceGroup(
            configuration: .init(
                services: [.init(service: collector), .init(service: gateway), .init(service: server)],
                gracefulShutdownSignals: [],
                logger: logger
            )
        )
        try await services.run()
    }
}
