import Hummingbird
public import Logging
import Metrics
import NIOCore
public import Prometheus
public import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// Metrics plumbing for executables (libraries only use the swift-metrics API).
public enum TriageMetrics {
    /// The registry `/metrics` serves.
    public static let registry = PrometheusCollectorRegistry()

    /// Installs the Prometheus backend for swift-metrics, once per process (executables only).
    public static func bootstrap() {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }
}

/// The operations endpoint of a worker: `/healthz` (the process serves requests), `/readyz`
/// (the worker processes its partitions: 503 while state is being restored or before it runs)
/// and `/metrics` (Prometheus text format). Bind to port 0 for an ephemeral port; `onListening`
/// receives the bound port. `host` defaults to loopback (127.0.0.1): metrics stay on the machine
/// unless a deployment asks for more (the Helm chart passes `--ops-host 0.0.0.0`). A port that is
/// taken fails ``run()`` with an ``OpsServerError`` that says so.
public struct OpsServer: Service {
    public let host: String
    public let port: Int
    public let health: WorkerHealth
    public let logger: Logger
    public let registry: PrometheusCollectorRegistry
    public let onListening: (@Sendable (Int) -> Void)?

    public init(
        host: String = "127.0.0.1", port: Int, health: WorkerHealth, logger: Logger,
        registry: PrometheusCollectorRegistry = TriageMetrics.registry,
        onListening: (@Sendable (Int) -> Void)? = nil
    ) {
        self.host = host
        self.port = port
        self.health = health
        self.logger = logger
        self.registry = registry
        self.onListening = onListening
    }

    public func run() async throws {
        let router = Router()
        let health = self.health
        let registry = self.registry
        // GET, and HEAD with the same status and headers (probes and monitors that only look).
        func serve(_ path: RouterPath, _ respond: @escaping @Sendable () -> Response) {
            router.get(path) { _, _ in respond() }
            router.head(path) { _, _ -> Response in
                var response = respond()
                response.body = .init()
                return response
            }
        }
        serve("healthz") {
            Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        serve("readyz") {
            let ready = health.isReady
            return Response(
                status: ready ? .ok : .serviceUnavailable,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: (ready ? "ready" : "not ready: \(health.status)") + "\n"))
            )
        }
        serve("metrics") {
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
            )
        }
        let onListening = self.onListening
        let logger = self.logger
        let application = Application(
            router: router,
            // Sockets that send nothing for 30 s are closed (half-sent requests too), so idle
            // connections cannot pile up until the process runs out of file descriptors.
            server: .http1(configuration: .init(idleTimeout: .seconds(30))),
            configuration: .init(address: .hostname(host, port: port), serverName: "triage"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? 0
                logger.info("ops endpoint listening", metadata: ["port": "\(bound)", "paths": "/healthz /readyz /metrics"])
                onListening?(bound)
            },
            logger: logger
        )
        do {
            try await application.run()
        } catch  where (error as? IOError)?.errnoCode == EADDRINUSE || "\(error)".contains("Address already in use") {
            throw OpsServerError(
                "cannot serve /healthz, /readyz and /metrics on \(host):\(port): address in use (another process listens there; "
                    + "choose another --ops-port, or 0 for any free port)",
                isAddressInUse: true
            )
        }
    }
}

/// The ops endpoint could not start, in words that say what to do.
public struct OpsServerError: Error, Sendable, CustomStringConvertible {
    public let description: String
    /// Another process listens on the address (`EADDRINUSE`).
    public let isAddressInUse: Bool
    public init(_ description: String, isAddressInUse: Bool = false) {
        self.description = description
        self.isAddressInUse = isAddressInUse
    }
}
