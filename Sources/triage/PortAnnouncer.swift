import Foundation
import ServiceLifecycle
import Synchronization
import TriageIntake

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

/// The one continuation of ``PortAnnouncer``'s wait, resumed once by whichever comes first.
private final class PortWaiter: Sendable {
    let continuation = Mutex<CheckedContinuation<Int, any Error>?>(nil)

    func resume(returning port: Int) { continuation.withLock { $0.take() }?.resume(returning: port) }
    func resume(throwing error: any Error) { continuation.withLock { $0.take() }?.resume(throwing: error) }
}
