import Synchronization

/// One target's delivery task; it says when it is only waiting (for a slot of its endpoint, its
/// not-before instant or the recipient's awake hours), which is when stopping may end it.
final class DeliveryJob: Sendable {
    private struct State {
        var task: Task<Void, Never>?
        /// Only waiting now: ``stop()`` cancels the task.
        var waiting = false
        /// ``stop()`` was called: the job waits for nothing any more.
        var stopping = false
    }

    private let state = Mutex(State())
    /// Counts the job in hand from its start to its end, except while it is held.
    private let readAhead: ReadAhead

    init(readAhead: ReadAhead) { self.readAhead = readAhead }

    func start(_ body: @escaping @Sendable () async -> Void) {
        readAhead.began()
        let task = Task { [readAhead] in
            defer { readAhead.ended() }
            await body()
        }
        state.withLock { $0.task = task }
    }

    /// Stops the job where it only waits, now or when it comes to wait (a job started just
    /// before, not yet at its endpoint's queue, used to slip through and deliver during the
    /// stop): it ends without an attempt and its record stays unfinished, to be read again. An
    /// attempt in flight finishes.
    func stop() {
        let task = state.withLock { state -> Task<Void, Never>? in
            state.stopping = true
            return state.waiting ? state.task : nil
        }
        task?.cancel()
    }

    /// Marks the job as only waiting; throws `CancellationError` once it is stopping.
    private func beginWaiting() throws {
        let stopping = state.withLock { state in
            state.waiting = !state.stopping
            return state.stopping
        }
        if stopping { throw CancellationError() }
    }

    private func endWaiting() { state.withLock { $0.waiting = false } }

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
        defer {
            readAhead.began()
            endWaiting()
        }
        try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
    }

    /// Waits `seconds`, or less if `gate`'s breaker closes first (at once if it is closed now).
    /// Returns whether the breaker closed.
    func wait(seconds: Double, orUntilClosed gate: EndpointGate) async throws -> Bool {
        try beginWaiting()
        readAhead.ended()
        defer {
            readAhead.began()
            endWaiting()
        }
        return try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                return false
            }
            group.addTask {
                await gate.closed()
                return true
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    func finished() async { await state.withLock { $0.task }?.value }
}

/// Counts a record's targets down.
final class Remaining: Sendable {
    private let left: Atomic<Int>
    init(_ count: Int) { left = Atomic(count) }
    /// True for the call that finished the last target.
    func finishOne() -> Bool { left.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 }
}
