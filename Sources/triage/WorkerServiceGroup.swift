import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import TriageOps

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

/// Where a worker listens and the option that chose it.
struct ListenAddress: Sendable, CustomStringConvertible {
    var host: String
    var port: Int
    /// The command-line option to change, such as `--ops-port`.
    var option: String

    var description: String { "\(host):\(port)" }
}

/// A worker could not listen where it was told to: another process listens there.
struct AddressInUse: Error, CustomStringConvertible {
    let address: ListenAddress
    var description: String { "\(address) is already in use (\(address.option))" }

    /// Whether `error` (from NIO, Hummingbird, grpc-swift or ``OpsServer``) says the address is taken.
    static func matches(_ error: any Error) -> Bool {
        if error is AddressInUse { return false }  // already translated: keep the first listener's words
        if (error as? IOError)?.errnoCode == EADDRINUSE { return true }
        if let ops = error as? OpsServerError, ops.isAddressInUse { return true }
        let text = String(reflecting: error) + " " + String(describing: error)
        return text.contains("Address already in use") || text.contains("EADDRINUSE") || text.contains("errno: 98")
    }
}

/// Runs a listening service and translates a taken address into ``AddressInUse``.
struct ListeningService: Service {
    let service: any Service
    let address: ListenAddress

    func run() async throws {
        do {
            try await service.run()
        } catch  where AddressInUse.matches(error) {
            throw AddressInUse(address: address)
        }
    }
}

/// SIGTERM and SIGINT over a worker process's whole life. The `ServiceGroup` handles them once it
/// runs; before that, while the worker connects and checks its topics (seconds against a slow or
/// absent broker), the default action killed the process by signal (exit 143, nothing logged).
/// Installed first thing by each worker command: a signal before the group exists stops the
/// process with exit 0 and says so (nothing was consumed yet); once the group exists it asks the
/// group to shut down gracefully, so a signal in between is not lost either.
enum StartupSignals {
    private struct State: @unchecked Sendable {  // dispatch sources are thread-safe
        var sources: [any DispatchSourceSignal] = []
        var group: ServiceGroup?
        var logger: Logger?
        /// How long a graceful shutdown may take before the process gives up on it.
        var shutdownLimit: Duration = .seconds(60)
        /// The pending give-up, cancelled when the group ends.
        var giveUp: DispatchWorkItem?
    }
    private static let state = Mutex(State())

    static func install(logger: Logger) {
        state.withLock { state in
            guard state.sources.isEmpty else { return }
            state.logger = logger
            for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
                signal(number, SIG_IGN)  // delivered to the dispatch source instead
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { received(name) }
                source.resume()
                state.sources.append(source)
            }
        }
    }

    /// The group that handles signals from now on.
    static func attach(_ group: ServiceGroup) {
        state.withLock { $0.group = group }
    }

    /// A shutdown asked for by a signal that has not finished after `limit` ends the process with
    /// exit 1 and says why. Committing offsets, leaving the group and flushing need the broker:
    /// with the broker gone they never finish (librdkafka retries the final commit for as long
    /// as it runs), and a worker that ignores SIGTERM is worse than one that stops without its
    /// last commit (at-least-once: the records after the last commit are read again).
    static func limitShutdown(to limit: Duration) {
        state.withLock { $0.shutdownLimit = limit }
    }

    /// The group ended: a pending give-up is cancelled.
    static func groupEnded() {
        let pending = state.withLock { state -> DispatchWorkItem? in
            defer { state.giveUp = nil }
            return state.giveUp
        }
        pending?.cancel()
    }

    private static func received(_ name: String) {
        let (group, logger) = state.withLock { ($0.group, $0.logger) }
        if let group {
            Task { await group.triggerGracefulShutdown() }
            scheduleGiveUp(after: name)
            return
        }
        logger?.notice("\(name) before start-up finished: stopping (nothing was consumed yet)")
        exit(0)
    }

    private static func scheduleGiveUp(after name: String) {
        let (limit, logger, scheduled) = state.withLock { ($0.shutdownLimit, $0.logger, $0.giveUp != nil) }
        guard !scheduled else { return }
        let seconds = Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18
        let item = DispatchWorkItem {
            logger?.error(
                "\(name): the graceful shutdown did not finish within \(seconds) s (--shutdown-timeout); exiting 1 without it. Most likely the broker cannot be reached: the final commit and the last deliveries cannot complete. Records after the last committed offset are read again after a restart."
            )
            exit(1)
        }
        state.withLock { $0.giveUp = item }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: item)
    }
}
