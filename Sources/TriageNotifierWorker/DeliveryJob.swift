import Synchronization

/// One target's delivery task; it says when it is only waiting (for its not-before instant or
/// the recipient's awake hours), which is when stopping may cancel it.
final class DeliveryJob: Sendable {
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let waiting = Atomic<Bool>(false)
    /// Counts the job in hand from its start to its end, except while it is held.
    private let readAhead: ReadAhead

    init(readAhead: ReadAhead) { self.readAhead = readAhead }

    func start(_ body: @escaping @Sendable () async -> Void) {
        readAhead.began()
        task.withLock { [readAhead] in
            $0 = Task {
                defer { readAhead.ended() }
                await body()
            }
        }
    }

    var isWaiting: Bool { waiting.load(ordering: .acquiring) }

    /// Runs `body` marked as only waiting (stopping may cancel the job meanwhile).
    func waitingFor<T>(_ body: () async throws -> T) async throws -> T {
        waiting.store(true, ordering: .releasing)
        defer { waiting.store(false, ordering: .releasing) }
        return try await body()
    }

    /// Held for `seconds` (not in hand meanwhile).
    func wait(seconds: Double) async throws {
        waiting.store(true, ordering: .releasing)
        readAhead.ended()
        defer {
            readAhead.began()
            waiting.store(false, ordering: .releasing)
        }
        try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
    }

    /// Waits `seconds`, or less if `gate`'s breaker closes first (at once if it is closed now).
    /// Returns whether the breaker closed.
    func wait(seconds: Double, orUntilClosed gate: EndpointGate) async throws -> Bool {
        waiting.store(true, ordering: .releasing)
        readAhead.ended()
        defer {
            readAhead.began()
            waiting.store(false, ordering: .releasing)
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

    func cancel() { task.withLock { $0 }?.cancel() }

    func finished() async { await task.withLock { $0 }?.value }
}

/// Counts a record's targets down.
final class Remaining: Sendable {
    private let left: Atomic<Int>
    init(_ count: Int) { left = Atomic(count) }
    /// True for the call that finished the last target.
    func finishOne() -> Bool { left.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 }
}
