import Synchronization

/// Stores a consumer's offsets for batches whose outputs are still in flight, in the order the
/// batches were read.
///
/// A stage that waits for its outputs' acknowledgements before reading on spends every round
/// trip idle, and its next records wait that long too. With this, it hands a batch's outputs
/// over with ``KafkaProducer/submit(_:whenDelivered:)`` and goes on; a batch's offsets are
/// stored once its outputs *and those of every batch read before it* were delivered, so a crash
/// never skips a record whose outputs were lost (at-least-once, as with waiting). A failed
/// delivery stops all storing: the stage learns of it with ``check()`` or ``drain()`` and fails,
/// and a restart reads again from the last stored offsets.
///
/// Call ``drain()`` before partitions are revoked (so their offsets are stored and committed
/// with the revocation) and before the stage ends.
public final class PipelinedOffsets: Sendable {
    private struct State {
        var nextTicket = 0
        /// The oldest batch not yet stored.
        var nextToStore = 0
        /// Batches begun and not yet stored, by ticket: their records, and whether delivered.
        var batches: [Int: (messages: [KafkaMessage], delivered: Bool)] = [:]
        var failure: KafkaError?
        var roomWaiters: [CheckedContinuation<Void, Never>] = []
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let consumer: KafkaConsumer
    private let maximumInFlight: Int
    private let state = Mutex(State())
    /// Held while a completed prefix is collected and stored (see ``delivered(_:error:)``).
    private let storing = Mutex(())

    /// - Parameter maximumInFlight: batches in flight at most; ``begin(_:)`` waits beyond it.
    public init(consumer: KafkaConsumer, maximumInFlight: Int = 8) {
        self.consumer = consumer
        self.maximumInFlight = max(1, maximumInFlight)
    }

    /// Batches begun and not yet stored.
    public var inFlight: Int { state.withLock { $0.batches.count } }

    /// Registers a batch (the records whose offsets it stores), waiting while too many are in
    /// flight; throws an earlier delivery failure. Pass the returned ticket to ``delivered(_:error:)``.
    public func begin(_ messages: [KafkaMessage]) async throws(KafkaError) -> Int {
        while true {
            try check()
            let full = state.withLock { $0.batches.count >= maximumInFlight && $0.failure == nil }
            if !full { break }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let waiting = state.withLock { state -> Bool in
                    guard state.batches.count >= maximumInFlight, state.failure == nil else { return false }
                    state.roomWaiters.append(continuation)
                    return true
                }
                if !waiting { continuation.resume() }
            }
        }
        return state.withLock { state in
            let ticket = state.nextTicket
            state.nextTicket += 1
            state.batches[ticket] = (messages, false)
            return ticket
        }
    }

    /// The outputs of batch `ticket` were delivered (`error == nil`) or not. Safe from any thread.
    public func delivered(_ ticket: Int, error: KafkaError?) {
        // Collecting the completed prefix and storing it happen under one lock, so two
        // completions on different threads cannot store a later batch's offsets before an
        // earlier one's (the stored offset would go back).
        storing.withLock { _ in
            let ready = state.withLock { state -> [[KafkaMessage]] in
                if let error, state.failure == nil { state.failure = error }
                state.batches[ticket]?.delivered = true
                guard state.failure == nil else { return [] }
                var ready: [[KafkaMessage]] = []
                while let batch = state.batches[state.nextToStore], batch.delivered {
                    ready.append(batch.messages)
                    state.batches[state.nextToStore] = nil
                    state.nextToStore += 1
                }
                return ready
            }
            do throws(KafkaError) {
                for messages in ready where !messages.isEmpty { try consumer.storeOffsets(messages) }
            } catch {
                state.withLock { if $0.failure == nil { $0.failure = error } }
            }
        }
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            var waiters: [CheckedContinuation<Void, Never>] = []
            if state.batches.count < maximumInFlight || state.failure != nil {
                waiters += state.roomWaiters
                state.roomWaiters = []
            }
            if state.batches.isEmpty || state.failure != nil {
                waiters += state.drainWaiters
                state.drainWaiters = []
            }
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Throws the first delivery (or offset store) failure, if there was one.
    public func check() throws(KafkaError) {
        if let failure = state.withLock({ $0.failure }) { throw failure }
    }

    /// Waits until every batch begun so far was delivered and its offsets stored; throws the
    /// first failure.
    public func drain() async throws(KafkaError) {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.batches.isEmpty || state.failure != nil { return true }
                state.drainWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
        try check()
    }
}
