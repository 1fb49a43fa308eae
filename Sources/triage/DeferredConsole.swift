import Foundation
import ServiceLifecycle
import TriageConsole

/// A console made when it starts (in `triage dev` the intake's port may be known only then),
/// announcing its address once it listens.
struct DeferredConsole: Service {
    let make: @Sendable () async throws -> Console

    func run() async throws {
        let console = try await make()
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
