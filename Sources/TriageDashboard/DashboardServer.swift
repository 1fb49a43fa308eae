import Foundation
import Hummingbird
public import Logging
import NIOCore
public import ServiceLifecycle
import Synchronization

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
    private let listening = Mutex<Listening>(.init())

    private struct Listening {
        var port: Int?
        var failure: DashboardError?
        var waiters: [CheckedContinuation<Int, any Error>] = []
    }

    /// `state` is called for every `/api/state` request.
    public init(host: String = "127.0.0.1", port: Int, state: @escaping @Sendable () -> DashboardSnapshot, logger: Logger) {
        self.host = host
        self.port = port
        self.state = state
        self.logger = logger
    }

    /// The bound port, once listening; throws if the server stopped or failed before that.
    public func boundPort() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            let known: Result<Int, DashboardError>? = listening.withLock { state in
                if let port = state.port { return .success(port) }
                if let failure = state.failure { return .failure(failure) }
                state.waiters.append(continuation)
                return nil
            }
            if let known { continuation.resume(with: known.mapError { $0 as any Error }) }
        }
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
                resolve(.success(bound))
            },
            logger: logger
        )
        do {
            try await application.run()
        } catch {
            resolve(
                .failure(DashboardError(code: .notListening, message: "the dashboard server on \(host):\(port) failed", underlying: error)))
            throw error
        }
        resolve(.failure(DashboardError(code: .notListening, message: "the dashboard server stopped before it listened")))
    }

    /// The first outcome wins: a port, or why there will be none.
    private func resolve(_ outcome: Result<Int, DashboardError>) {
        let waiters = listening.withLock { state -> [CheckedContinuation<Int, any Error>] in
            guard state.port == nil, state.failure == nil else { return [] }
            switch outcome {
            case .success(let port): state.port = port
            case .failure(let failure): state.failure = failure
            }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(with: outcome.mapError { $0 as any Error }) }
    }
}
