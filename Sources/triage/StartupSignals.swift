import Foundation
import Logging
import ServiceLifecycle
import Synchronization

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
