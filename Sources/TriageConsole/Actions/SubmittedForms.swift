import Synchronization

/// Forms already sent, by request id (``ActionRequestID``): a second submission of the same form
/// is answered with the first one's outcome (or "already being sent") without calling the
/// intake again, so a double submit publishes once. Keeps the latest ``capacity`` forms.
public final class SubmittedForms: Sendable {
    public enum Claim: Sendable, Equatable {
        /// First time: send it, then ``finish(_:with:)``.
        case first
        /// The same form is being sent right now.
        case inFlight
        /// Sent before, with this outcome.
        case done(ActionOutcome)
    }

    private struct State {
        var entries: [String: ActionOutcome?] = [:]
        var order: [String] = []
    }

    private let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int = 10_000) {
        self.capacity = max(1, capacity)
    }

    /// Claims `requestID` for sending.
    public func claim(_ requestID: String) -> Claim {
        state.withLock { state in
            if let entry = state.entries[requestID] { return entry.map(Claim.done) ?? .inFlight }
            state.entries[requestID] = .some(nil)
            state.order.append(requestID)
            if state.order.count > capacity {
                let dropped = state.order.removeFirst()
                state.entries[dropped] = nil
            }
            return .first
        }
    }

    /// Records the outcome; a refused action is forgotten, so the person may correct and resend.
    public func finish(_ requestID: String, with outcome: ActionOutcome) {
        state.withLock { state in
            if outcome.succeeded {
                state.entries[requestID] = .some(outcome)
            } else {
                state.entries[requestID] = nil
                state.order.removeAll { $0 == requestID }
            }
        }
    }
}
