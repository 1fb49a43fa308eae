import ServiceLifecycle
import Synchronization
import TriageIntake

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
