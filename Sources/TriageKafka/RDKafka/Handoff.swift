import Foundation

/// A bounded hand-off from a dedicated (blocking) thread to one async reader.
///
/// The sending thread blocks while `capacity` items wait (back-pressure on fetching); the reader
/// suspends while nothing waits. ``send(_:bypassCapacity:awaitProcessing:)`` can additionally
/// block until the reader has *finished* with the item: the reader asks for the next item only
/// after its loop body for the previous one returned, so "asked again" means "processed". That is
/// how a partition revocation waits for the application to commit and hand over its state.
final class Handoff<Item: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private let capacity: Int
    private var buffer: [Item] = []
    private var bufferHead = 0
    private var sent = 0
    private var requests = 0
    private var waitingReader: CheckedContinuation<Item?, any Error>?
    private var finished = false
    private var failure: (any Error)?
    private var readers = 0
    private var sendsInterrupted = false
    private let coalesce: (@Sendable (Item, Item) -> Item?)?

    /// - Parameter coalesce: merges an item into the last one still waiting for the reader, when
    ///   it returns non-nil. A reader slower than the sender then gets everything that waits in one
    ///   item instead of working through `capacity` stale items one by one (which adds
    ///   `capacity` × its step time to every record's latency).
    init(capacity: Int, coalesce: (@Sendable (Item, Item) -> Item?)? = nil) {
        self.capacity = max(1, capacity)
        self.coalesce = coalesce
    }

    private var buffered: Int { buffer.count - bufferHead }

    // MARK: Sending side (dedicated thread)

    /// Sends `item`. Returns `false` if it was dropped (the hand-off finished, or sends were
    /// interrupted while waiting for room) or, with `awaitProcessing`, if the deadline passed.
    /// Without a reader, items wait in the buffer for the next one.
    ///
    /// - Parameters:
    ///   - bypassCapacity: enqueue even when full (control items must never be dropped).
    ///   - awaitProcessing: after enqueueing, block until the reader asked for the item after this
    ///     one, or until the deadline.
    @discardableResult
    func send(_ item: Item, bypassCapacity: Bool = false, awaitProcessing deadline: Date? = nil) -> Bool {
        condition.lock()
        while !bypassCapacity && buffered >= capacity && !finished && !sendsInterrupted && !canCoalesce(item) {
            condition.wait()
        }
        if !finished, deadline == nil, waitingReader == nil, buffered > 0, let coalesce,
            let merged = coalesce(buffer[buffer.count - 1], item)
        {
            // Not a new item for the reader: `sent` (which revocations count on) stays.
            buffer[buffer.count - 1] = merged
            condition.unlock()
            return true
        }
        if finished || (!bypassCapacity && buffered >= capacity) {
            condition.unlock()
            return false
        }
        let index = sent
        sent += 1
        let reader = waitingReader
        waitingReader = nil
        if reader == nil {
            if bufferHead > 64 && bufferHead * 2 > buffer.count {
                buffer.removeFirst(bufferHead)
                bufferHead = 0
            }
            buffer.append(item)
        }
        condition.unlock()
        reader?.resume(returning: item)

        guard let deadline else { return true }
        condition.lock()
        defer { condition.unlock() }
        // Item `index` was handed out with request index+1; request index+2 means it was processed.
        // With no reader attached nobody will process it: do not wait.
        while requests < index + 2 && readers > 0 && !finished {
            if !condition.wait(until: deadline) { return false }
        }
        return true
    }

    private func canCoalesce(_ item: Item) -> Bool {
        guard let coalesce, buffered > 0 else { return false }
        return coalesce(buffer[buffer.count - 1], item) != nil
    }

    /// Makes blocked and future capacity waits give up (used when the client is stopping).
    func interruptSends() {
        condition.lock()
        sendsInterrupted = true
        condition.broadcast()
        condition.unlock()
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
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Item?, any Error>) in
                condition.lock()
                requests += 1
                condition.broadcast()
                if bufferHead < buffer.count {
                    let item = buffer[bufferHead]
                    bufferHead += 1
                    if bufferHead == buffer.count {
                        buffer.removeAll(keepingCapacity: true)
                        bufferHead = 0
                    }
                    condition.unlock()
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
                    condition.unlock()
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

    /// An iterator was created.
    func attachReader() {
        condition.lock()
        readers += 1
        condition.unlock()
    }

    /// An iterator was dropped: a revocation must not wait for it.
    func detachReader() {
        condition.lock()
        readers -= 1
        condition.broadcast()
        condition.unlock()
    }
}
