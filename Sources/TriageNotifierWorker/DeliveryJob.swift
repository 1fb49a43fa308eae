import Synchronization
import TriageKafka
import TriageNotification

/// One target of one request, from its start until it is done with.
///
/// A job that can go at once is queued at its endpoint (``EndpointQueue``) without a task of
/// its own; one of the endpoint's runners attempts it. Only a job that must wait first (held
/// for a later instant, or for another delivery of its key) runs a task while it waits. The job
/// says when it only waits or is queued, which is when stopping may end it.
final class DeliveryJob: Sendable {
    enum Phase {
        /// Being handled (resolved, claimed, re-queued, recorded): stopping lets it go on.
        case working
        /// Only waiting, in its task: stopping cancels the task.
        case waiting
        /// In its endpoint's queue: stopping takes it out, unattempted.
        case queued
        /// Taken by a runner: the attempt finishes.
        case inFlight
    }

    private struct State {
        var phase = Phase.working
        /// The task it waits in, while it has one.
        var task: Task<Void, Never>?
        /// ``stop()`` was called: the job waits for nothing any more.
        var stopping = false
        /// It holds its ledger key (``Deliveries`` lets go of it when the job is done).
        var claimed = false
        var done = false
        var finishWaiters: [CheckedContinuation<Void, Never>] = []
    }

    let notification: OutboundNotification
    let target: DeliveryTarget
    let attempts: DeliveryAttempts
    let message: KafkaMessage
    /// The jobs of its input record, and what finishes that.
    let record: RecordJobs
    private let state = Mutex(State())
    /// Counts the job in hand from its start to its end, except while it is held.
    private let readAhead: FetchLimit
    /// Counts the job while it is held, when its record came from the retry topic.
    private let heldRetries: FetchLimit?

    init(
        notification: OutboundNotification, target: DeliveryTarget, attempts: DeliveryAttempts, message: KafkaMessage,
        record: RecordJobs, readAhead: FetchLimit, heldRetries: FetchLimit? = nil
    ) {
        self.record = record
        self.heldRetries = heldRetries
        self.notification = notification
        self.target = target
        self.attempts = attempts
        self.message = message
        self.readAhead = readAhead
        readAhead.began()
    }

    var phase: Phase { state.withLock { $0.phase } }

    /// Runs `body` in a task of the job's own: for a job that must wait before it can be queued.
    func runTask(_ body: @escaping @Sendable () async -> Void) {
        let task = Task { await body() }
        // A stop that came before the task was kept could not cancel it: cancel it now.
        let stopping = state.withLock { state in
            state.task = task
            return state.stopping
        }
        if stopping { task.cancel() }
    }

    /// Stops the job where it only waits or is queued, now or when it comes to that (a job
    /// started just before, not yet in its endpoint's queue, used to slip through and deliver
    /// during the stop). Returns `true` when it was queued: it is taken out, unattempted, and
    /// the caller finishes it. An attempt in flight finishes.
    func stop() -> Bool {
        let (task, wasQueued) = state.withLock { state -> (Task<Void, Never>?, Bool) in
            state.stopping = true
            switch state.phase {
            case .waiting: return (state.task, false)
            case .queued:
                state.phase = .working  // no runner takes it now
                return (nil, true)
            case .working, .inFlight: return (nil, false)
            }
        }
        task?.cancel()
        return wasQueued
    }

    /// Marks the job as held by its ledger key.
    func holdClaim() { state.withLock { $0.claimed = true } }

    /// Lets go of the ledger key (the caller releases it); `true` if the job held it.
    func dropClaim() -> Bool {
        state.withLock { state in
            defer { state.claimed = false }
            return state.claimed
        }
    }

    /// Whether its record came from the retry topic.
    var isRetry: Bool { heldRetries != nil }

    /// Back from its runner, unattempted, to wait again; `false` once it is stopping (it must
    /// not wait).
    func leaveQueue() -> Bool {
        state.withLock { state in
            state.phase = .working
            return !state.stopping
        }
    }

    /// Marks the job as queued at its endpoint; `false` once it is stopping (it must not be).
    func enterQueue() -> Bool {
        state.withLock { state in
            guard !state.stopping else { return false }
            state.phase = .queued
            return true
        }
    }

    /// A runner takes the job from its endpoint's queue; `false` when it was stopped meanwhile.
    func take() -> Bool {
        state.withLock { state in
            guard state.phase == .queued, !state.done else { return false }
            state.phase = .inFlight
            return true
        }
    }

    /// Marks the job as only waiting; throws `CancellationError` once it is stopping.
    private func beginWaiting() throws {
        let stopping = state.withLock { state in
            if !state.stopping { state.phase = .waiting }
            return state.stopping
        }
        if stopping { throw CancellationError() }
    }

    private func endWaiting() { state.withLock { $0.phase = .working } }

    /// Runs `body` marked as only waiting (stopping ends the job meanwhile).
    func waitingFor<T>(_ body: () async throws -> T) async throws -> T {
        try beginWaiting()
        defer { endWaiting() }
        return try await body()
    }

    /// Held for `seconds` (not in hand meanwhile).
    func wait(seconds: Double) async throws {
        try beginWaiting()
        readAhead.ended()
        heldRetries?.began()
        defer {
            heldRetries?.ended()
            readAhead.began()
            endWaiting()
        }
        try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
    }

    /// Waits `seconds`, or less if `queue`'s breaker closes first (at once if it is closed now).
    /// Returns whether the breaker closed.
    func wait(seconds: Double, orUntilClosed queue: EndpointQueue) async throws -> Bool {
        try beginWaiting()
        readAhead.ended()
        heldRetries?.began()
        defer {
            heldRetries?.ended()
            readAhead.began()
            endWaiting()
        }
        return try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                return false
            }
            group.addTask {
                await queue.closed()
                return true
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    /// Ends the job (only the first call counts): runs `bookkeeping` with whether it held its
    /// ledger key, then lets ``finished()`` return. Returns `false` if it had ended before.
    @discardableResult
    func finish(_ bookkeeping: (_ claimed: Bool) -> Void) -> Bool {
        let ended = state.withLock { state -> (claimed: Bool, waiters: [CheckedContinuation<Void, Never>])? in
            guard !state.done else { return nil }
            state.done = true
            state.task = nil
            let waiters = state.finishWaiters
            state.finishWaiters = []
            return (state.claimed, waiters)
        }
        guard let ended else { return false }
        bookkeeping(ended.claimed)
        readAhead.ended()
        for waiter in ended.waiters { waiter.resume() }
        return true
    }

    /// Returns once the job has ended.
    func finished() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state in
                if state.done { return true }
                state.finishWaiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }
}

/// Counts a record's targets down.
final class Remaining: Sendable {
    private let left: Atomic<Int>
    init(_ count: Int) { left = Atomic(count) }
    /// True for the call that finished the last target.
    func finishOne() -> Bool { left.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 }
}
