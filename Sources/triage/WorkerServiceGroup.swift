import Logging
import ServiceLifecycle

/// The services of one worker process, run in a `ServiceGroup` that stops gracefully on
/// SIGTERM/SIGINT, together with what must be shut down however that run ends.
///
/// Two things every worker command needs and none should write again:
/// - a listener (``addListener(_:at:)``) whose address is taken ends the run with one line,
///   `127.0.0.1:8083 is already in use (--ops-port)`, instead of whatever its server library says;
/// - ``onShutdown(_:)`` actions (an HTTP client, a receiver task, child processes) run after the
///   group, whether it ended normally, on a signal or with an error. A taken port fails the group
///   at once, before the service that would have closed such a resource ran to its end; an
///   AsyncHTTPClient dropped unclosed is a crash (SIGILL), not an error message.
struct WorkerServiceGroup {
    private var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
    private var shutdownActions: [@Sendable () async -> Void] = []
    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    /// Adds services in shutdown order (shutdown runs in reverse).
    mutating func add(_ services: [ServiceGroupConfiguration.ServiceConfiguration]) {
        self.services += services
    }

    /// Adds services in shutdown order (shutdown runs in reverse).
    mutating func add(_ services: [any Service]) {
        self.services += services.map { .init(service: $0) }
    }

    /// Adds a service that listens on `address`; its taken address becomes an ``AddressInUse``.
    /// Its failure shuts the others down gracefully, in reverse order (consumers leave their
    /// group, producers flush, the embedded broker of `triage dev` stops last), rather than
    /// cancelling them all at once: a broker cancelled with its clients leaves them retrying a
    /// dead address forever.
    mutating func addListener(_ service: any Service, at address: ListenAddress) {
        services.append(
            .init(service: ListeningService(service: service, address: address), failureTerminationBehavior: .gracefullyShutdownGroup))
    }

    /// Runs `action` once the group has ended, however it ended.
    mutating func onShutdown(_ action: @escaping @Sendable () async -> Void) {
        shutdownActions.append(action)
    }

    /// Runs the group until every service has stopped, then the shutdown actions; rethrows what
    /// ended the group.
    func run() async throws {
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        StartupSignals.attach(group)
        let outcome: Result<Void, any Error>
        do {
            try await group.run()
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        StartupSignals.groupEnded()
        for action in shutdownActions { await action() }
        try outcome.get()
    }

    /// Like ``run()``, with a way to stop it early (`triage dev --duration`).
    func run(stoppingAfter duration: Double?) async throws {
        guard let duration else { return try await run() }
        var copy = self
        copy.services.append(.init(service: StopAfter(seconds: duration), successTerminationBehavior: .gracefullyShutdownGroup))
        try await copy.run()
    }
}

/// Ends after a while (or when the group shuts down), which shuts the group down gracefully.
private struct StopAfter: Service {
    let seconds: Double

    func run() async throws {
        await cancelWhenGracefulShutdown { try? await Task.sleep(for: .seconds(seconds)) }
    }
}
