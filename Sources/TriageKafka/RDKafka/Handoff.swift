import Foundation

/// A bounded hand-off from a dedicated thread to one async reader.
///
/// The sending thread never blocks for room: it asks ``hasRoom`` before it fetches more and,
/// when there is none, waits elsewhere until the `roomAvailable` callback says the reader took
/// something (so the thread stays free to serve other requests meanwhile). The reader suspends
/// while nothing waits.
///
/// ``send(_:awaitProcessing:whileWaiting:)`` can block until the reader has *finished* with the
/// item: the reader asks for the next item only after its loop body for the previous one
/// returned, so "came back" means "processed". That is how a partition revocation waits for the
/// application to commit and hand over its state. Only items actually handed out count: a
/// `next()` that ends in cancellation hands out nothing, so it cannot make a later item look
/// processed before the reader saw it.
final class Handoff<Item: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private let capacity: Int
    private var buffer: [Item] = []
    private var bufferHead = 0
    /// Items enqueued (the sequence number of the next one).
    private var sent = 0
    /// Items handed to the reader so far; the reader holds item `delivered - 1` until it comes
    /// back for another.
    private var delivered = 0
    /// Items the reader came back from (`delivered` as of its latest `next()`).
    private var returned = 0
    /// Sequence numbers of the buffered items (parallel to `buffer`).
    private var sequence: [Int] = []
    private var waitingReader: CheckedContinuation<Item?, any Error>?
    private var finished = false
    private var failure: (any Error)?
    private var readers = 0
    /// The sender saw no room and waits for `roomAvailable`.
    private var senderWantsRoom = false
    /// The task that last asked for an item (its `UnsafeCurrentTask` hash).
    private var readerTask: Int?
    /// The reader closed the client from inside its loop: it will not come back.
    private var readerClosing = false
    private var pokes = 0
    private let coalesce: (@Sendable (Item, Item) -> Item?)?
    private let roomAvailable: @Sendable () -> Void

    /// - Parameters:
    ///   - roomAvailable: called (outside the lock) when the reader took an item after the sender
    ///     found no room.
    ///   - coalesce: merges an item into the last one still waiting for the reader, when it
    ///     returns non-nil. A reader slower than the sender then gets everything that waits in
    ///     one item instead of working through `capacity` stale items one by one.
    init(capacity: Int, roomAvailable: @escaping @Sendable () -> Void = {}, coalesce: (@Sendable (Item, Item) -> Item?)? = nil) {
        self.capacity = max(1, capacity)
        self.coalesce = coalesce
        self.roomAvailable = roomAvailable
    }

    private var buffered: Int { buffer.count - bufferHead }

    // MARK: Sending side (dedicated thread)

    /// Whether the sender may fetch more: fewer than `capacity` items wait. When `false`, the
    /// reader's next take calls `roomAvailable`.
    var hasRoom: Bool {
        condition.lock()
        defer { condition.unlock() }
        if buffered < capacity || finished { return true }
        senderWantsRoom = true
        return false
    }

    /// Whether the reader holds nothing: it came back for more after everything handed out (or
    /// no item was ever handed out). While it holds an item, the application is processing.
    var readerHoldsNothing: Bool {
        condition.lock()
        defer { condition.unlock() }
        return returned == delivered
    }

    /// Sends `item` (never blocking for room: the caller checks ``hasRoom`` before fetching).
    /// Returns `false` if it was dropped (the hand-off finished) or, with `awaitProcessing`, if
    /// the deadline passed before the reader finished with it. Without a reader, items wait in
    /// the buffer for the next one.
    ///
    /// - Parameters:
    ///   - awaitProcessing: after enqueueing, block until the reader came back from the item, or
    ///     until the deadline. No reader attached: nobody will process it, so no wait.
    ///   - whileWaiting: runs (without the lock) whenever ``poke()`` interrupts that wait, so the
    ///     sending thread can serve requests the reader makes while it processes the item.
    @discardableResult
    func send(_ item: Item, awaitProcessing deadline: Date? = nil, whileWaiting: () -> Void = {}) -> Bool {
        condition.lock()
        if finished {
            condition.unlock()
            return false
        }
        if deadline == nil, waitingReader == nil, buffered > 0, let coalesce, let merged = coalesce(buffer[buffer.count - 1], item) {
            buffer[buffer.count - 1] = merged
            condition.unlock()
            return true
        }
        let index = sent
        sent += 1
        let reader = waitingReader
        waitingReader = nil
        if reader != nil {
            delivered = index + 1
        } else {
            if bufferHead > 64 && bufferHead * 2 > buffer.count {
                buffer.removeFirst(bufferHead)
                sequence.removeFirst(bufferHead)
                bufferHead = 0
            }
            buffer.append(item)
            sequence.append(index)
        }
        condition.unlock()
        reader?.resume(returning: item)

        guard let deadline else { return true }
        condition.lock()
        defer { condition.unlock() }
        var seenPokes = pokes
        while returned < index + 1 && readers > 0 && !finished && !readerClosing {
            if pokes != seenPokes {
                seenPokes = pokes
                condition.unlock()
                whileWaiting()
                condition.lock()
                continue
            }
            if !condition.wait(until: deadline) && Date() >= deadline { return false }
        }
        return true
    }

    /// Whether the stream was ended (``finish(throwing:)``): nobody will take more items.
    var isFinished: Bool {
        condition.lock()
        defer { condition.unlock() }
        return finished
    }

    /// Interrupts a ``send(_:awaitProcessing:whileWaiting:)`` wait so it runs its `whileWaiting`.
    func poke() {
        condition.lock()
        pokes &+= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Drops buffered items for which `keep` returns `nil`, replaces the others with what it
    /// returns (used to purge records of a partition after a seek). Items already handed out are
    /// not affected.
    func filterBuffered(_ keep: (Item) -> Item?) {
        condition.lock()
        var kept: [Item] = []
        var keptSequence: [Int] = []
        for position in bufferHead..<buffer.count {
            if let item = keep(buffer[position]) {
                kept.append(item)
                keptSequence.append(sequence[position])
            }
        }
        buffer = kept
        sequence = keptSequence
        bufferHead = 0
        let wake = senderWantsRoom && buffered < capacity
        if wake { senderWantsRoom = false }
        condition.unlock()
        if wake { roomAvailable() }
    }

    /// Ends the stream: the reader gets the buffered items, then `nil` (or `error`).
    func finish(throwing error: (any Error)? = nil) {
        condition.lock()
        guard !finished else {
            condition.unlock()
            return
        }
        finished = true
        failure = error
        let reader = bufferHead == buffer.count ? waitingReader : nil
        if reader != nil { waitingReader = nil }
        condition.broadcast()
        condition.unlock()
        if let reader {
            if let error { reader.resume(throwing: error) } else { reader.resume(returning: nil) }
        }
    }

    // MARK: Reading side (async)

    func next() async throws -> Item? {
        try await withTaskCancellationHandler {
            let task = withUnsafeCurrentTask { $0?.hashValue }
            return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Item?, any Error>) in
                condition.lock()
                readerTask = task
                // Coming back means the reader finished with whatever it was handed.
                if returned != delivered {
                    returned = delivered
                    condition.broadcast()
                }
                if bufferHead < buffer.count {
                    let item = buffer[bufferHead]
                    delivered = sequence[bufferHead] + 1
                    bufferHead += 1
                    if bufferHead == buffer.count {
                        buffer.removeAll(keepingCapacity: true)
                        sequence.removeAll(keepingCapacity: true)
                        bufferHead = 0
                    }
                    let wake = senderWantsRoom && buffered < capacity
                    if wake { senderWantsRoom = false }
                    condition.unlock()
                    if wake { roomAvailable() }
                    continuation.resume(returning: item)
                } else if finished {
                    let failure = failure
                    self.failure = nil
                    condition.unlock()
                    if let failure { continuation.resume(throwing: failure) } else { continuation.resume(returning: nil) }
                } else if Task.isCancelled {
                    condition.unlock()
                    continuation.resume(throwing: CancellationError())
                } else {
                    waitingReader = continuation
                    let wake = senderWantsRoom
                    senderWantsRoom = false
                    condition.unlock()
                    if wake { roomAvailable() }
                }
            }
        } onCancel: {
            condition.lock()
            let reader = waitingReader
            waitingReader = nil
            condition.unlock()
            reader?.resume(throwing: CancellationError())
        }
    }

    /// Called when the client is closed: if the calling task is the reader, it is inside its
    /// loop and will not come back, so a final revocation must not wait for it.
    func readerIsClosingIfCurrent() {
        let task = withUnsafeCurrentTask { $0?.hashValue }
        condition.lock()
        if task != nil && task == readerTask {
            readerClosing = true
            condition.broadcast()
        }
        condition.unlock()
    }

    /// An iterator was created.
    func attachReader() {
        condition.lock()
        readers += 1
        condition.unlock()
    }

    /// An iterator was dropped: a revocation must not wait for it, and whatever it held is done
    /// with.
    func detachReader() {
        condition.lock()
        readers -= 1
        returned = delivered
        condition.broadcast()
        condition.unlock()
    }
}
