import Foundation
import Synchronization
import Testing

@testable import TriageKafka

/// The hand-off between a client's dedicated thread and the application: coalescing of waiting
/// batches (a slow application gets everything that waits in one batch instead of a stale queue
/// of small ones) must not break back-pressure or the revocation handshake.
@Suite("Handoff: coalescing waiting batches")
struct HandoffTests {
    /// Items are arrays (batches); control items are negative singletons that never merge.
    static func makeHandoff(capacity: Int = 2, maximum: Int = 100, roomAvailable: @escaping @Sendable () -> Void = {}) -> Handoff<[Int]> {
        Handoff(capacity: capacity, roomAvailable: roomAvailable) { waiting, next in
            guard waiting.allSatisfy({ $0 >= 0 }), next.allSatisfy({ $0 >= 0 }), waiting.count + next.count <= maximum else { return nil }
            return waiting + next
        }
    }

    /// Runs `body` on a plain thread (the sending side blocks; never on the cooperative pool).
    static func onThread(_ body: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread {
                body()
                done.resume()
            }.start()
        }
    }

    @Test func batchesWaitingForABusyReaderArriveAsOne() async throws {
        let handoff = Self.makeHandoff()
        handoff.attachReader()
        defer { handoff.detachReader() }
        await Self.onThread {
            for value in 0..<50 { #expect(handoff.send([value])) }
        }
        // 50 sends with capacity 2 did not block: they merged into the one waiting batch.
        let first = try await handoff.next()
        #expect(first == Array(0..<50))
    }

    /// The sender never blocks for room (its thread must stay free to keep the consumer in its
    /// group and to serve seeks): it asks `hasRoom` before fetching more, and the reader's next
    /// take wakes it.
    @Test func aFullHandoffSaysSoAndTheReadersTakeWakesTheSender() async throws {
        let wakes = Atomic<Int>(0)
        let handoff = Self.makeHandoff(capacity: 2, maximum: 10, roomAvailable: { wakes.add(1, ordering: .relaxed) })
        handoff.attachReader()
        defer { handoff.detachReader() }
        await Self.onThread {
            for value in 0..<40 where handoff.hasRoom { handoff.send([value]) }
        }
        // A batch of 10 (merged from ten sends) and a second batch filled the capacity: the
        // sender stopped there.
        #expect(!handoff.hasRoom)
        #expect(wakes.load(ordering: .relaxed) == 0)
        #expect(try await handoff.next() == Array(0..<10))
        #expect(wakes.load(ordering: .relaxed) == 1, "the take woke the sender")
        #expect(handoff.hasRoom)
        #expect(try await handoff.next() == [10])
        #expect(wakes.load(ordering: .relaxed) == 1, "no wake-up the sender did not ask for")
    }

    /// Issue 19: a `next()` that ended in cancellation handed nothing out. Counting it as a
    /// request made every later revocation count as processed the moment it was handed out.
    @Test func aCancelledNextDoesNotCountAsProcessing() async throws {
        let handoff = Self.makeHandoff(capacity: 4)
        handoff.attachReader()
        defer { handoff.detachReader() }
        let waiting = Task { try await handoff.next() }
        try await Task.sleep(for: .milliseconds(100))
        waiting.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiting.value }

        let waited = Mutex<(processed: Bool, seconds: Double)?>(nil)
        let revocation = Task.detached {
            await Self.onThread {
                let started = Date()
                // Long enough for a starved machine (CI failed once at 10 s with tests taking 114 s).
                let processed = handoff.send([-1], awaitProcessing: Date().addingTimeInterval(60))
                waited.withLock { $0 = (processed, Date().timeIntervalSince(started)) }
            }
        }
        #expect(try await handoff.next() == [-1])
        // The application is inside its handler: the revocation must still wait.
        try await Task.sleep(for: .milliseconds(500))
        #expect(
            waited.withLock { $0 } == nil, "the revocation completed while the handler ran: \(String(describing: waited.withLock { $0 }))")
        let after = Task { try await handoff.next() }  // the handler returned
        await revocation.value
        let result = try #require(waited.withLock { $0 })
        #expect(result.processed && result.seconds >= 0.5)
        handoff.finish()
        #expect(try await after.value == nil)
    }

    /// Purging drops buffered items (records of a partition after a seek) and keeps the rest in order.
    @Test func filteringTheBufferKeepsOrderAndWakesTheSender() async throws {
        let wakes = Atomic<Int>(0)
        let handoff = Self.makeHandoff(capacity: 2, maximum: 3, roomAvailable: { wakes.add(1, ordering: .relaxed) })
        handoff.attachReader()
        defer { handoff.detachReader() }
        await Self.onThread {
            for value in 0..<6 where handoff.hasRoom { handoff.send([value]) }
        }
        // Buffered: [0, 1, 2] and [3]. Keeping even values drops the second batch: room again.
        #expect(!handoff.hasRoom)
        handoff.filterBuffered { batch in
            let kept = batch.filter { $0 % 2 == 0 }
            return kept.isEmpty ? nil : kept
        }
        #expect(wakes.load(ordering: .relaxed) == 1, "the purge made room and said so")
        #expect(try await handoff.next() == [0, 2])
    }

    @Test func controlItemsNeverMergeAndKeepTheirPlace() async throws {
        let handoff = Self.makeHandoff(capacity: 8)
        handoff.attachReader()
        defer { handoff.detachReader() }
        await Self.onThread {
            handoff.send([1])
            handoff.send([2])
            handoff.send([-1])
            handoff.send([3])
        }
        var received: [[Int]] = []
        for _ in 0..<3 { received.append(try #require(try await handoff.next())) }
        #expect(received == [[1, 2], [-1], [3]])
    }

    /// A revocation waits until the reader asked for the item after it. Merged sends must not
    /// count as items, or the handshake would wait for requests that never come (and time out).
    @Test func revocationHandshakeAfterMergedBatchesCompletesPromptly() async throws {
        let handoff = Self.makeHandoff(capacity: 4)
        handoff.attachReader()
        defer { handoff.detachReader() }
        await Self.onThread {
            for value in 0..<20 { handoff.send([value]) }
        }
        let waited = Mutex<(processed: Bool, seconds: Double)?>(nil)
        let revocation = Task.detached {
            await Self.onThread {
                let started = Date()
                // Long enough for a starved machine (CI failed once at 10 s with tests taking 114 s).
                let processed = handoff.send([-1], awaitProcessing: Date().addingTimeInterval(60))
                waited.withLock { $0 = (processed, Date().timeIntervalSince(started)) }
            }
        }
        #expect(try await handoff.next() == Array(0..<20))
        #expect(try await handoff.next() == [-1])
        // Asking for the next item means the revocation was processed.
        let next = Task { try await handoff.next() }
        await revocation.value
        let result = try #require(waited.withLock { $0 })
        // Counting merged sends as items made it wait for requests that never came: until the deadline.
        #expect(result.processed, "the handshake ran into its deadline after \(result.seconds) s")
        handoff.finish()
        #expect(try await next.value == nil)
    }
}
