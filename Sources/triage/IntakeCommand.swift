import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TriageEntitlements
import TriageEscalator
import TriageIntake
import TriageKafka
import TriageOps
import TriageSchema

struct IntakeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intake",
        abstract: "Run the gRPC front door (triage.v1.IncidentIntake) and the entitlement ledger.",
        discussion: """
            Serves triage.v1.IncidentIntake (schemas/triage/v1/intake.proto) on --port. Every call \
            needs 'authorization: Bearer <token>' metadata; --tenants maps tokens to tenants and their \
            customer accounts (config/tenants.example.yaml). Calls on existing incidents publish their \
            lifecycle event to \(TriageTopic.incidentEvents) directly; opening, splitting, closing \
            unresolved and reopening go through the entitlement ledger.

            The ledger runs inside every intake: instances in one --group split the partitions of \
            \(TriageTopic.entitlementRequests), so each entitlement has exactly one writer at a time, \
            and state lives in the compacted \(TriageTopic.entitlements). A 5-pack holds 5 credits and \
            expires one year after purchase (docs/intake.md defines the boundary). Unresolved closes \
            get a billing decision from --billing (config/billing-policy.example.yaml; default: \
            refund unless the customer withdrew).

            Topics it needs: \(TriageTopic.entitlementRequests) and \(TriageTopic.entitlements) \
            (same partition count, the latter compacted), \(TriageTopic.entitlementReplies), \
            \(TriageTopic.incidentDirectory) (compacted), \(TriageTopic.incidentEvents), \
            \(TriageTopic.incidentState). A missing one stops start-up with the command that creates it.
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Tenants file (YAML): bearer tokens (SHA-256, environment variable or plain), accounts, admin flag.")
    var tenants: String

    @Option(help: "Billing policy for unresolved closes (YAML). Default: refund unless the customer withdrew.")
    var billing: String?

    @Option(help: "Address to listen on.")
    var host: String = "0.0.0.0"

    @Option(help: "gRPC port (0 = any free port; the bound port is logged).")
    var port: Int = 50051

    @Option(help: "PEM certificate chain: serve TLS instead of plaintext (with --tls-key).")
    var tlsCertificate: String?

    @Option(help: "PEM private key of --tls-certificate.")
    var tlsKey: String?

    @OptionGroup var worker: WorkerOptions<IntakeDefaults>

    @Option(help: "Seconds a call waits for the ledger's answer before failing with UNAVAILABLE.")
    var ledgerTimeout: Double = 15

    @Option(help: "Write the bound gRPC port to this file once listening (for scripts and tests).")
    var portFile: String?

    @Option(help: "Demos and tests: the intake's clock runs this many times as fast as real time (as the escalator's --time-scale).")
    var timeScale: Double = 1

    @Option(help: "Demos and tests: the instant the scaled clock starts from (RFC 3339; processes given the same origin agree).")
    var timeOrigin: String?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard ledgerTimeout > 0 else { throw ValidationError("--ledger-timeout must be positive") }
        guard (tlsCertificate == nil) == (tlsKey == nil) else { throw ValidationError("--tls-certificate and --tls-key go together") }
        guard timeScale > 0 else { throw ValidationError("--time-scale must be positive") }
        if let timeOrigin, parseInstant(timeOrigin) == nil {
            throw ValidationError("--time-origin '\(timeOrigin)' is not an RFC 3339 instant (e.g. 2026-03-06T16:00:00Z)")
        }
    }

    func run() async throws {
        let logger = common.bootstrapLogging(label: "triage.intake")
        StartupSignals.install(logger: logger)
        StartupSignals.limitShutdown(to: worker.shutdownTimeoutDuration)
        let directory = try TenantDirectory.load(
            contentsOf: URL(fileURLWithPath: tenants), environment: ProcessInfo.processInfo.environment)
        let policy = try billing.map { try BillingPolicy.load(contentsOf: URL(fileURLWithPath: $0)) } ?? .standard
        for path in [tlsCertificate, tlsKey].compactMap({ $0 }) where !FileManager.default.isReadableFile(atPath: path) {
            throw ValidationError("cannot read TLS file \(path)")
        }
        try await requireTopics(of: .intake, client: try connection.clientConfiguration(), logger: logger)
        let instance = try await IntakeInstance(
            client: try connection.clientConfiguration(), tenants: directory, billing: policy, host: host, port: port,
            tls: tlsCertificate.map { IntakeTLS(certificateChainPath: $0, privateKeyPath: tlsKey!) }, group: worker.group,
            sessionTimeout: worker.sessionTimeoutDuration, ledgerTimeout: .milliseconds(Int64(ledgerTimeout * 1000)),
            logger: logger,
            now: { [clock = ScaledClock(scale: timeScale, origin: timeOrigin.flatMap(parseInstant) ?? Date())] in
                timeScale == 1 && timeOrigin == nil ? Date() : clock.now()
            }
        )
        var serviceGroup = WorkerServiceGroup(logger: logger)
        serviceGroup.addIntake(instance, at: ListenAddress(host: host, port: port, option: "--port"))
        serviceGroup.addListener(
            OpsServer(host: worker.opsHost, port: worker.opsPort, health: instance.health, logger: logger),
            at: ListenAddress(host: worker.opsHost, port: worker.opsPort, option: "--ops-port")
        )
        serviceGroup.add([PortAnnouncer(server: instance.server, file: portFile, tenants: directory.tenants.count)])
        try await serviceGroup.run()
        let calls = instance.service.statistics
        let ledger = instance.ledger.statistics
        logger.info(
            "intake stopped",
            metadata: [
                "calls": "\(calls.calls)", "denied": "\(calls.denied)", "ledger-commands": "\(ledger.commands)",
                "ledger-rejected": "\(ledger.rejected)",
            ]
        )
    }
}

/// Prints (and optionally writes) the bound port once the listener is up, then idles.
struct PortAnnouncer: Service {
    let server: IntakeServer
    let file: String?
    let tenants: Int

    func run() async throws {
        // Cancelled (another service failed, e.g. a taken --ops-port) or asked to stop before
        // the listener is up: the server never binds, so stop waiting for it.
        let port = try await cancelWhenGracefulShutdown { try await Self.port(of: server) }
        print("triage intake listening on port \(port) (\(tenants) tenant(s))")
        fflush(nil)
        if let file { try Data("\(port)\n".utf8).write(to: URL(fileURLWithPath: file)) }
        try? await gracefulShutdown()
    }

    /// `server.boundPort()`, given up with CancellationError when this task is cancelled (a
    /// server that failed to bind, e.g. on a taken port, never answers `boundPort()`).
    static func port(of server: IntakeServer) async throws -> Int {
        let waiter = PortWaiter()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiter.continuation.withLock { $0 = continuation }
                if Task.isCancelled { waiter.resume(throwing: CancellationError()) }
                Task {
                    do {
                        waiter.resume(returning: try await server.boundPort())
                    } catch {
                        waiter.resume(throwing: error)
                    }
                }
            }
        } onCancel: {
            waiter.resume(throwing: CancellationError())
        }
    }
}

extension WorkerServiceGroup {
    /// The services of an intake, in their order, its gRPC server as the listener on `address`.
    mutating func addIntake(_ instance: IntakeInstance, at address: ListenAddress) {
        for service in instance.services {
            if service as AnyObject === instance.server {
                addListener(IntakeServerService(server: instance.server), at: address)
            } else {
                add([service])
            }
        }
    }
}

/// Runs the intake's gRPC server so that a graceful shutdown before it listens stops it. The
/// server binds only once its views have caught up and ignores graceful shutdown until then; when
/// another service fails first (a taken --ops-port), the views it waits for are stopped only
/// after it, so it would wait forever. Before listening it is cancelled (nothing to drain);
/// once listening it shuts down gracefully, letting calls in flight finish.
struct IntakeServerService: Service {
    let server: IntakeServer

    func run() async throws {
        let progress = ServerProgress()
        // Unstructured tasks inherit the group's graceful shutdown, which the server handles itself.
        let serving = Task { try await server.run() }
        let watching = Task {
            // Ends when the server listens, or when cancelled.
            _ = try? await PortAnnouncer.port(of: server)
            progress.listening.store(true, ordering: .releasing)
        }
        defer { watching.cancel() }
        do {
            try await withTaskCancellationHandler {
                try await withGracefulShutdownHandler {
                    try await serving.value
                } onGracefulShutdown: {
                    guard !progress.listening.load(ordering: .acquiring) else { return }
                    progress.stoppedEarly.store(true, ordering: .releasing)
                    serving.cancel()
                }
            } onCancel: {
                serving.cancel()
            }
        } catch is CancellationError where progress.stoppedEarly.load(ordering: .acquiring) {
            return  // asked to stop before it ever listened: nothing went wrong
        }
    }

    private final class ServerProgress: Sendable {
        let listening = Atomic(false)
        let stoppedEarly = Atomic(false)
    }
}

/// The one continuation of ``PortAnnouncer``'s wait, resumed once by whichever comes first.
private final class PortWaiter: Sendable {
    let continuation = Mutex<CheckedContinuation<Int, any Error>?>(nil)

    func resume(returning port: Int) { continuation.withLock { $0.take() }?.resume(returning: port) }
    func resume(throwing error: any Error) { continuation.withLock { $0.take() }?.resume(throwing: error) }
}
