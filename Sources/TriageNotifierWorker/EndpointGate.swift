import Foundation
import Synchronization
import TriageNotification

/// Per-endpoint concurrency limit and circuit breaker.
final class EndpointGate: Sendable {
    private struct Inner {
        var breaker: CircuitBreaker
        var inFlight = 0
        var waiters = WaiterQueue<CheckedContinuation<Bool, Never>>()
        var nextWaiter: UInt64 = 0
        /// Deliveries the open breaker turned away, waiting for it to close.
        var refused: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextRefused: UInt64 = 0
    }
    private let limit: Int
    private let inner: Mutex<Inner>

    init(limit: Int, breaker: CircuitBreaker) {
        self.limit = limit
        self.inner = Mutex(Inner(breaker: breaker))
    }

    func admit(at now: Date) -> CircuitBreaker.Admission { inner.withLock { $0.breaker.admit(at: now) } }

    /// Waits for a delivery slot; `false` if the task was cancelled first (no slot taken).
    func acquire() async -> Bool {
        if Task.isCancelled { return false }
        // A free slot: taken without suspending (with one free, nobody is waiting: a release
        // hands its slot straight to the first waiter).
        if inner.withLock({ inner in
            guard inner.inFlight < limit else { return false }
            inner.inFlight += 1
            return true
        }) {
            return true
        }
        let id = inner.withLock { inner -> UInt64 in
            inner.nextWaiter += 1
            return inner.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let answer = inner.withLock { inner -> Bool? in
                    if Task.isCancelled { return false }
                    if inner.inFlight < limit {
                        inner.inFlight += 1
                        return true
                    }
                    inner.waiters.append(continuation, id: id)
                    return nil
                }
                if let answer { continuation.resume(returning: answer) }
            }
        } onCancel: {
            let waiter = inner.withLock { $0.waiters.remove(id: id) }
            waiter?.resume(returning: false)
        }
    }

    func release(_ outcome: DeliveryOutcome, at now: Date) { release(recording: (outcome, now)) }

    /// Gives a slot back without an attempt made (the breaker learns nothing).
    func giveBack() { release(recording: nil) }

    private func release(recording attempt: (outcome: DeliveryOutcome, at: Date)?) {
        let (next, released) = inner.withLock { inner -> (CheckedContinuation<Bool, Never>?, [CheckedContinuation<Void, Never>]) in
            let wasClosed = inner.breaker.isClosed
            if let attempt { inner.breaker.record(attempt.outcome, at: attempt.at) }
            var released: [CheckedContinuation<Void, Never>] = []
            if !wasClosed && inner.breaker.isClosed {
                released = Array(inner.refused.values)  // the probe succeeded: everyone refused may go
                inner.refused = [:]
            }
            guard let next = inner.waiters.popFirst() else {
                inner.inFlight -= 1
                return (nil, released)
            }
            return (next, released)  // the slot passes straight to the next waiter
        }
        next?.resume(returning: true)
        for waiter in released { waiter.resume() }
    }

    /// Returns when the breaker is closed: at once if it is, else when a probe's success closes
    /// it. Cancellation ends the wait too.
    func closed() async {
        let id = inner.withLock { inner -> UInt64 in
            inner.nextRefused += 1
            return inner.nextRefused
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = inner.withLock { inner -> Bool in
                    if inner.breaker.isClosed || Task.isCancelled { return true }
                    inner.refused[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            inner.withLock { $0.refused.removeValue(forKey: id) }?.resume()
        }
    }
}
