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
    static func makeHandoff(capacity: Int = 2, maximum: Int = 100) -> Handoff<[Int]> {
        Handoff(capacity: capacity) { waiting, next in
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

    @Test func mergingStopsAtTheBatchSizeAndCapacityStillBlocks() async throws {
        let handoff = Self.makeHandoff(capacity: 2, maximum: 10)
        handoff.attachReader()
        defer { handoff.detachReader() }
        let sent = Atomic<Int>(0)
        let sender = Task.detached {
            await Self.onThread {
                for value in 0..<40 {
                    handoff.send([value])
                    sent.add(1, ordering: .relaxed)
                }
            }
        }
        // Two batches of 10 fill the capacity; the 21st send blocks. On a busy machine the sending
        // thread may start late, so wait (up to 30 s) for its 20 sends, then check it stays blocked.
        let deadline = ContinuousClock.now + .seconds(30)
        while sent.load(ordering: .relaxed) < 20, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(sent.load(ordering: .relaxed) == 20)
        var received: [[Int]] = []
        while received.flatMap({ $0 }).count < 40 {
            received.append(try #require(try await handoff.next()))
        }
        await sender.value
        #expect(received.flatMap { $0 } == Array(0..<40), "order kept, nothing lost or repeated")
        #expect(received.allSatisfy { $0.count <= 10 })
    }

    @Test func controlItemsNeverMergeAndKeepTheirPlace() async throws {
        let handoff = Self.makeHandoff(capacity: 8)
        handoff.attachReader()
        defer { handoff.detachReader() }
        await Self.onThread {
            handoff.send([1])
            handoff.send([2])
            handoff.send([-1], bypassCapacity: true)
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
                let processed = handoff.send([-1], bypassCapacity: true, awaitProcessing: Date().addingTimeInterval(10))
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
