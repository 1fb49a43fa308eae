import Foundation
import Synchronization

/// SIGTERM, and SIGINT unless it was ignored when the run started (a background job of a
/// non-interactive shell), stop the run's processes before the run exits (128 + the signal).
public enum InteropSignals {
    private struct State: @unchecked Sendable {  // dispatch sources are thread-safe
        var sources: [any DispatchSourceSignal] = []
    }
    private static let state = Mutex(State())
    private static let stopping = Atomic<Bool>(false)

    public static func install(cluster: DevProcessCluster) {
        state.withLock { state in
            guard state.sources.isEmpty else { return }
            for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
                let previous = signal(number, SIG_IGN)  // delivered to the dispatch source instead
                if number == SIGINT, let previous, unsafeBitCast(previous, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) {
                    continue
                }
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler {
                    guard !stopping.exchange(true, ordering: .relaxed) else { return }
                    print("\ninterop: \(name): stopping the run's processes (logs: \(cluster.folder))")
                    fflush(nil)
                    Task {
                        _ = await cluster.stop(timeout: .seconds(20))
                        exit(128 + number)
                    }
                }
                source.resume()
                state.sources.append(source)
            }
        }
    }
}
