import Foundation
import ServiceLifecycle
import TriageConsole

/// A console made when it starts (in `triage dev` the intake's port may be known only then),
/// announcing its address once it listens.
struct DeferredConsole: Service {
    let make: @Sendable () async throws -> Console

    func run() async throws {
        // Making it waits for the intake's port, which never comes when the intake could not
        // listen: a graceful shutdown (the intake's failure ends the run) must end the wait too,
        // or `triage dev` hangs.
        let console: Console
        do {
            console = try await cancelWhenGracefulShutdown { try await make() }
        } catch is CancellationError {
            return
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await console.run() }
            group.addTask {
                if let port = try? await console.boundPort() {
                    print("console:   http://127.0.0.1:\(port)/")
                    fflush(nil)
                }
            }
            try await group.waitForAll()
        }
    }
}
