import Synchronization

/// A count that stops fetching at ``limit`` and fetches again once it is down to half of it.
/// The notifier keeps two:
///
/// - **The read-ahead** (`Deliveries.readAhead`, all input): deliveries in hand — started, not
///   finished, and not held for a later instant. Without it a backlog (a notifier catching up
///   after an outage) became a task per request at once, about 8 KB each: 1.6 GB for 200,000
///   requests. Held deliveries (quiet hours, a maintenance window, a retry's not-before
///   instant, an open circuit breaker) do not count: however many wait, new requests, a
///   critical escalation among them, still come in.
/// - **Held retries** (`Deliveries.heldRetries`, the retry topic only): deliveries read from the
///   retry topic that wait for a later instant or an open breaker. Without it a dead
///   endpoint's backlog was held whole (1.1 GB for 100,000 in an outside attack).
final class FetchLimit: Sendable {
    private struct State {
        var counted = 0
        var most = 0
        var paused = false
        var pause: (@Sendable (Bool) -> Void)?
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        precondition(limit > 0, "a fetch limit needs room for at least one")
        self.limit = limit
    }

    /// `pause(true)` stops fetching, `pause(false)` goes on; called with the count's lock held,
    /// so calls come in the order of the changes (it must not block).
    func connect(_ pause: @escaping @Sendable (Bool) -> Void) { state.withLock { $0.pause = pause } }

    /// One more counted (a delivery started, or awake again after a hold; a retry held).
    func began() {
        state.withLock { state in
            state.counted += 1
            state.most = max(state.most, state.counted)
            guard !state.paused, state.counted >= limit else { return }
            state.paused = true
            state.pause?(true)
        }
    }

    /// One fewer counted.
    func ended() {
        state.withLock { state in
            state.counted -= 1
            guard state.paused, state.counted <= limit / 2 else { return }
            state.paused = false
            state.pause?(false)
        }
    }

    /// The most counted at once so far.
    var mostCounted: Int { state.withLock { $0.most } }
}
