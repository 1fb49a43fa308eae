import Synchronization

/// How many deliveries a notifier has in hand: started, not finished, and not held for a later
/// instant. When they reach ``limit`` the notifier stops fetching requests; when they are down
/// to half of it, it fetches again. Without it a backlog (a notifier catching up after an
/// outage) became a task per request at once, about 8 KB each: 1.6 GB for 200,000 requests.
///
/// Held deliveries (quiet hours, a maintenance window, a retry's not-before instant, an open
/// circuit breaker) do not count: however many wait, new requests, a critical escalation among
/// them, still come in.
final class ReadAhead: Sendable {
    private struct State {
        var inHand = 0
        var most = 0
        var paused = false
        var pause: (@Sendable (Bool) -> Void)?
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        precondition(limit > 0, "a notifier needs room for at least one delivery in hand")
        self.limit = limit
    }

    /// `pause(true)` stops fetching, `pause(false)` goes on; called with the count's lock held,
    /// so calls come in the order of the changes (it must not block).
    func connect(_ pause: @escaping @Sendable (Bool) -> Void) { state.withLock { $0.pause = pause } }

    /// A delivery is in hand (started, or awake again after a hold).
    func began() {
        state.withLock { state in
            state.inHand += 1
            state.most = max(state.most, state.inHand)
            guard !state.paused, state.inHand >= limit else { return }
            state.paused = true
            state.pause?(true)
        }
    }

    /// A delivery is done with, or held.
    func ended() {
        state.withLock { state in
            state.inHand -= 1
            guard state.paused, state.inHand <= limit / 2 else { return }
            state.paused = false
            state.pause?(false)
        }
    }

    /// The most deliveries in hand at once so far.
    var mostInHand: Int { state.withLock { $0.most } }
}
