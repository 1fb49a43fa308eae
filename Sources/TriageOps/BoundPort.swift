import Synchronization

/// The port an HTTP server bound, for whoever waits for it (`boundPort()` of the dashboard and
/// the console): resolved once, by the port or by the error that stopped the server before it
/// listened; later outcomes are ignored.
///
/// ```swift
/// let bound = BoundPort()
/// // in the server's onServerRunning: bound.listened(on: port)
/// // after application.run() returned or threw: bound.failed(error)
/// let port = try await bound.wait()
/// ```
public final class BoundPort: Sendable {
    private struct State {
        var outcome: Result<Int, any Error & Sendable>?
        var waiters: [CheckedContinuation<Int, any Error>] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// The port, once known; throws the failure the server resolved with.
    public func wait() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            let known = state.withLock { state -> Result<Int, any Error & Sendable>? in
                if let outcome = state.outcome { return outcome }
                state.waiters.append(continuation)
                return nil
            }
            if let known { continuation.resume(with: known.mapError { $0 as any Error }) }
        }
    }

    /// The server listens on `port` (unless it failed before).
    public func listened(on port: Int) { resolve(.success(port)) }

    /// Why there will be no port (unless one is known already).
    public func failed(_ error: some Error & Sendable) { resolve(.failure(error)) }

    /// The first outcome wins.
    private func resolve(_ resolved: Result<Int, any Error & Sendable>) {
        let waiters = state.withLock { state -> [CheckedContinuation<Int, any Error>] in
            guard state.outcome == nil else { return [] }
            state.outcome = resolved
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(with: resolved.mapError { $0 as any Error }) }
    }
}
