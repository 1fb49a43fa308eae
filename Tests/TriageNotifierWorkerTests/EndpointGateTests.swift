import Foundation
import Synchronization
import Testing
import TriageNotification

@testable import TriageNotifierWorker

/// The endpoint gate's waiters: first come, first served, a cancelled one taken out, and no
/// cost that grows with the backlog per freed slot.
@Suite("Endpoint gate")
struct EndpointGateTests {
    /// Random appends, pops and removals by id agree with an array doing the same, over long
    /// runs that cross the compaction threshold many times.
    @Test(arguments: 0..<40)
    func theQueueBehavesLikeAnArray(seed: UInt64) {
        var generator = WebhookEnvelopeTests.Seeded(state: seed)
        var queue = WaiterQueue<Int>()
        var model: [(id: UInt64, value: Int)] = []
        var nextID: UInt64 = 0
        for step in 0..<3_000 {
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<5:
                nextID += 1
                queue.append(step, id: nextID)
                model.append((nextID, step))
            case 5..<8:
                #expect(queue.popFirst() == (model.isEmpty ? nil : model.removeFirst().value))
            default:
                // A waiter that may or may not still be there (or never was).
                let id = UInt64.random(in: 0...(nextID + 2), using: &generator)
                let expected = model.firstIndex { $0.id == id }.map { model.remove(at: $0).value }
                #expect(queue.remove(id: id) == expected)
            }
            #expect(queue.count == model.count && queue.isEmpty == model.isEmpty)
        }
        while let value = queue.popFirst() { #expect(value == model.removeFirst().value) }
        #expect(model.isEmpty)
    }

    /// Slots pass to waiters in the order they came; a cancelled waiter gets no slot and the
    /// next one does.
    @Test func slotsGoToWaitersInOrderAndACancelledWaiterIsSkipped() async throws {
        let gate = EndpointGate(limit: 1, breaker: CircuitBreaker(configuration: .init()))
        #expect(await gate.acquire())
        let order = GrantOrder()
        var waiters: [Task<Bool, Never>] = []
        for index in 0..<5 {
            waiters.append(
                Task {
                    let granted = await gate.acquire()
                    if granted { order.granted.withLock { $0.append(index) } }
                    return granted
                })
            // Each queued before the next starts: the order they wait in is known.
            try await Task.sleep(for: .milliseconds(50))
        }
        waiters[2].cancel()
        #expect(await waiters[2].value == false)
        for _ in 0..<4 {
            let before = order.granted.withLock { $0.count }
            gate.release(.delivered, at: Date())
            while order.granted.withLock({ $0.count }) == before { try await Task.sleep(for: .milliseconds(5)) }
        }
        #expect(order.granted.withLock { $0 } == [0, 1, 3, 4])
        for index in [0, 1, 3, 4] { #expect(await waiters[index].value) }
    }
}

/// The waiters that were given a slot, in the order they got it.
private final class GrantOrder: Sendable {
    let granted = Mutex<[Int]>([])
}

/// Stopping a delivery job: where it only waits, now or later, it ends without going on.
@Suite("Delivery job")
struct DeliveryJobTests {
    /// Outside attack: a stop cancelled only the jobs waiting at that instant; one started just
    /// before, not yet in its endpoint's queue, went on to queue and deliver during the stop
    /// (757 deliveries in a 40 s stop, past the shutdown timeout, then delivered again by the
    /// next owner). A job stopped before it comes to wait now never starts waiting.
    @Test func aJobStoppedBeforeItWaitsNeverWaits() async throws {
        let readAhead = ReadAhead(limit: 10)
        let job = DeliveryJob(readAhead: readAhead)
        let proceed = AsyncStream<Void>.makeStream()
        let outcome = Mutex<String>("")
        job.start {
            for await _ in proceed.stream { break }  // still working, not waiting
            do {
                try await job.waitingFor { try await Task.sleep(for: .seconds(30)) }
                outcome.withLock { $0 = "waited" }
            } catch {
                outcome.withLock { $0 = "\(type(of: error))" }
            }
        }
        job.stop()
        proceed.continuation.yield()
        await job.finished()
        #expect(outcome.withLock { $0 } == "CancellationError")
        #expect(readAhead.mostInHand == 1)
    }

    @Test func aWaitingJobIsCancelledByAStopAndOneInFlightIsNot() async throws {
        let readAhead = ReadAhead(limit: 10)
        let waiting = DeliveryJob(readAhead: readAhead)
        let working = DeliveryJob(readAhead: readAhead)
        let started = Mutex(0)
        let outcomes = Mutex<[String: String]>([:])
        waiting.start {
            do {
                try await waiting.waitingFor {
                    started.withLock { $0 += 1 }
                    try await Task.sleep(for: .seconds(30))
                }
                outcomes.withLock { $0["waiting"] = "waited" }
            } catch {
                outcomes.withLock { $0["waiting"] = "stopped" }
            }
        }
        working.start {
            started.withLock { $0 += 1 }
            try? await Task.sleep(for: .milliseconds(300))  // an attempt in flight
            outcomes.withLock { $0["working"] = Task.isCancelled ? "cancelled" : "finished" }
        }
        while started.withLock({ $0 }) < 2 { try await Task.sleep(for: .milliseconds(5)) }
        waiting.stop()
        working.stop()
        await waiting.finished()
        await working.finished()
        #expect(outcomes.withLock { $0 } == ["waiting": "stopped", "working": "finished"])
    }
}
