public import Foundation
public import Logging
public import ServiceLifecycle
public import TriageKafka
public import TriageSLA

/// The live dashboard of `triage dev`: open incidents with SLA countdowns, agents with load and
/// presence, warnings/breaches/escalations over time, and consumer lag per worker, served on
/// `http://127.0.0.1:<port>/` (see ``DashboardServer``) from a ``DashboardCollector`` that
/// reads the topics.
///
/// ```swift
/// let dashboard = try await Dashboard(
///     client: kafka.clientConfiguration, port: 8080,
///     groups: ["triage-escalator": "triage.incident-events", "triage-router": "triage.routing"],
///     now: { clock.now() }, logger: logger)
/// // add `dashboard` to the ServiceGroup; then:
/// print("dashboard: http://127.0.0.1:\(try await dashboard.boundPort())/")
/// ```
///
/// As a `Service`, ``run()`` collects and serves until graceful shutdown, which stops the
/// server and the followers.
public final class Dashboard: Service, Sendable {
    public let collector: DashboardCollector
    public let server: DashboardServer
    private let logger: Logger

    /// Fails if a topic of `topics` does not exist (``DashboardError/Code/missingTopic``) or the
    /// client configuration is invalid.
    ///
    /// - Parameters:
    ///   - port: the HTTP port; 0 for any free port (see ``boundPort()``).
    ///   - groups: worker consumer group id → its input topic, for the lag table.
    ///   - now: SLA time, the escalator's clock (in `triage dev` it runs faster than wall time).
    ///   - policy: the SLA policy the workers run. Default: the default policy.
    public init(
        client: KafkaClientConfiguration,
        port: Int,
        groups: [String: String],
        now: @escaping @Sendable () -> Date,
        policy: SlaPolicy = SlaPolicy(),
        topics: DashboardTopics = .init(),
        configuration: DashboardConfiguration = .init(),
        logger: Logger
    ) async throws {
        let collector = try await DashboardCollector(
            client: client, groups: groups, now: now, policy: policy, topics: topics, configuration: configuration, logger: logger
        )
        self.collector = collector
        server = DashboardServer(host: configuration.host, port: port, state: { collector.snapshot() }, logger: logger)
        self.logger = logger
    }

    /// The HTTP port, once listening; throws if the server failed or stopped before that.
    public func boundPort() async throws -> Int {
        try await server.boundPort()
    }

    public func run() async throws {
        // Graceful shutdown of the enclosing group reaches this one: the server stops first
        // (reverse order), then the followers.
        let services = ServiceGroup(
            configuration: .init(
                services: [.init(service: collector), .init(service: server)],
                gracefulShutdownSignals: [],
                logger: logger
            )
        )
        try await services.run()
    }
}
