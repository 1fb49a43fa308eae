import Foundation
import Synchronization
import TriageNotification

/// An endpoint's deliveries waiting for an attempt, its runners and its circuit breaker.
///
/// Up to `max_concurrency` runners (tasks of ``Deliveries``) take queued jobs in the order they
/// came and attempt them one after another; a runner ends when the queue is empty. A queued
/// delivery is a ``DeliveryJob`` in a list, not a suspended task: a backlog of thousands costs
/// their jobs, and a delivery costs no task start and no wake-up of its own (a task per
/// delivery, suspended at the endpoint's limit, cost the notifier about a third of its CPU).
final class EndpointQueue: Sendable {
    private struct Inner {
        var breaker: CircuitBreaker
        var pending = WaiterQueue<DeliveryJob>()
        var nextID: UInt64 = 0
        var runners = 0
        /// Deliveries the open breaker turned away, waiting for it to close.
        var refused: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextRefused: UInt64 = 0
    }
    /// The endpoint's `max_concurrency`: the most runners, so the most attempts in flight.
    let limit: Int
    private let inner: Mutex<Inner>

    init(limit: Int, breaker: CircuitBreaker) {
        self.limit = limit
        self.inner = Mutex(Inner(breaker: breaker))
    }

    func admit(at now: Date) -> CircuitBreaker.Admission { inner.withLock { $0.breaker.admit(at: now) } }

    /// Queues `job` (already marked queued); `true` when the caller is to start a runner (fewer
    /// than ``limit`` run).
    func append(_ job: DeliveryJob) -> Bool {
        inner.withLock { inner in
            inner.nextID += 1
            inner.pending.append(job, id: inner.nextID)
            guard inner.runners < limit else { return false }
            inner.runners += 1
            return true
        }
    }

    /// The next job for a runner, in the order they came; stopped ones are skipped. `nil`: the
    /// queue is empty and the runner ends (it is no longer counted).
    func next() -> DeliveryJob? {
        inner.withLock { inner in
            while let job = inner.pending.popFirst() {
                if job.take() { return job }
            }
            inner.runners -= 1
            return nil
        }
    }

    /// The breaker learns how an attempt went; a probe's success lets every refused delivery go.
    func record(_ outcome: DeliveryOutcome, at now: Date) {
        let released = inner.withLock { inner -> [CheckedContinuation<Void, Never>] in
            let wasClosed = inner.breaker.isClosed
            inner.breaker.record(outcome, at: now)
            guard !wasClosed && inner.breaker.isClosed else { return [] }
            defer { inner.refused = [:] }
            return Array(inner.refused.values)
        }
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
