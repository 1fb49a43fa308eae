import Foundation
import Hummingbird
public import Logging
import NIOCore
public import ServiceLifecycle
import Synchronization
import TriageOps

/// The dashboard's HTTP side (Hummingbird): `GET /` the page (one self-contained HTML document:
/// inline CSS and JavaScript, no CDN, no web fonts), `GET /api/state` the current
/// ``DashboardSnapshot`` as JSON (the page polls it every second), `GET /healthz`.
///
/// Binds `host:port` (port 0: any free port; ``boundPort()`` tells which). As a `Service`, it
/// serves until graceful shutdown.
public final class DashboardServer: Service, Sendable {
    public let host: String
    public let port: Int
    private let state: @Sendable () -> DashboardSnapshot
    private let logger: Logger
    private let listening = BoundPort()

    /// `state` is called for every `/api/state` request.
    public init(host: String = "127.0.0.1", port: Int, state: @escaping @Sendable () -> DashboardSnapshot, logger: Logger) {
        self.host = host
        self.port = port
        self.state = state
        self.logger = logger
    }

    /// The bound port, once listening; throws if the server stopped or failed before that.
    public func boundPort() async throws -> Int {
        try await listening.wait()
    }

    public func run() async throws {
        let router = Router()
        let state = self.state
        router.get("/") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html))
            )
        }
        router.get("/api/state") { _, _ -> Response in
            let body = try DashboardSnapshot.encoder.encode(state())
            return Response(
                status: .ok,
                headers: [.contentType: "application/json", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: body))
            )
        }
        router.get("/healthz") { _, _ in "ok\n" }
        let logger = self.logger
        let application = Application(
            router: router,
            // Sockets that send nothing for 30 s are closed (half-sent requests too), so idle
            // connections cannot pile up until the process runs out of file descriptors.
            server: .http1(configuration: .init(idleTimeout: .seconds(30))),
            configuration: .init(address: .hostname(host, port: port), serverName: "triage-dashboard"),
            onServerRunning: { [self] channel in
                let bound = channel.localAddress?.port ?? 0
                logger.info("dashboard listening", metadata: ["url": "http://\(host):\(bound)/"])
                listening.listened(on: bound)
            },
            logger: logger
        )
        do {
            try await application.run()
        } catch {
            listening.failed(
                DashboardError(code: .notListening, message: "the dashboard server on \(host):\(port) failed", underlying: error))
            throw error
        }
        listening.failed(DashboardError(code: .notListening, message: "the dashboard server stopped before it listened"))
    }

}
