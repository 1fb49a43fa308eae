import Foundation
import Synchronization
import Testing
import TriageKafka

@testable import TriageNotification
@testable import TriageNotifierWorker
@testable import TriageStreams

/// An endpoint's queue: first come, first served, at most `max_concurrency` runners, a stopped
/// job skipped, and no cost that grows with the backlog per job taken.
@Suite("Endpoint queue")
struct EndpointQueueTests {
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

    /// Jobs are taken in the order they came; a runner is asked for only while fewer than the
    /// limit run; a job stopped in the queue is never taken; a runner that finds the queue empty
    /// ends, and the next job asks for a runner again.
    @Test func jobsAreTakenInOrderByAtMostTheLimitsRunners() {
        let queue = EndpointQueue(limit: 2, breaker: CircuitBreaker(configuration: .init()))
        let readAhead = FetchLimit(limit: 100)
        let jobs = (0..<5).map { makeJob(offset: Int64($0), readAhead: readAhead) }
        var runnersAskedFor = 0
        for job in jobs {
            #expect(job.enterQueue())
            if queue.append(job) { runnersAskedFor += 1 }
        }
        #expect(runnersAskedFor == 2)
        #expect(jobs[2].stop())  // queued: taken out, the caller finishes it
        #expect(jobs[2].phase == .working)
        var taken: [Int64] = []
        while let job = queue.next() {
            #expect(job.phase == .inFlight)
            taken.append(job.message.offset)
        }
        #expect(taken == [0, 1, 3, 4])
        // Both runners end on an empty queue (the second call above was the first runner's last;
        // this one is the second's): the next job asks for a runner again.
        #expect(queue.next() == nil)
        let late = makeJob(offset: 5, readAhead: readAhead)
        #expect(late.enterQueue())
        #expect(queue.append(late))
        #expect(queue.next() === late)
    }
}

/// A job of one webhook target for a record at `offset`, finishing nothing when done.
func makeJob(offset: Int64, readAhead: FetchLimit) -> DeliveryJob {
    let endpoint = NotificationRules.Endpoint(name: "hook", kind: .webhook(.init(url: .url(URL(string: "http://127.0.0.1:9/")!))))
    let target = DeliveryTarget(recipient: "lead", endpoint: endpoint, idempotencyKey: "key-\(offset)")
    let notification = OutboundNotification(
        idempotencyKey: "key-\(offset)", incidentID: "INC-\(offset)", requestedAt: Date(), recipient: "lead", template: "breach")
    return DeliveryJob(
        notification: notification, target: target, attempts: DeliveryAttempts(first: target, notBefore: Date()),
        message: KafkaMessage(topic: "requests", partition: 0, offset: offset, key: nil, value: nil, headers: [], timestamp: nil),
        record: RecordJobs(
            remaining: Remaining(1),
            completion: RecordCompletion(
                offsets: nil,
                message: .init(
                    topic: "requests", partition: 0, offset: offset, key: nil, value: nil, headers: [], timestamp: nil))),
        readAhead: readAhead)
}

/// Stopping a delivery job: where it only waits or is queued, now or later, it ends without
/// going on; an attempt in flight goes on.
@Suite("Delivery job")
struct DeliveryJobTests {
    /// Outside attack: a stop cancelled only the jobs waiting at that instant; one started just
    /// before, not yet in its endpoint's queue, went on to queue and deliver during the stop
    /// (757 deliveries in a 40 s stop, past the shutdown timeout, then delivered again by the
    /// next owner). A job stopped before it comes to wait now never starts waiting, and never
    /// enters its endpoint's queue.
    @Test func aJobStoppedBeforeItWaitsNeverWaits() async throws {
        let readAhead = FetchLimit(limit: 10)
        let job = makeJob(offset: 0, readAhead: readAhead)
        let proceed = AsyncStream<Void>.makeStream()
        let outcome = Mutex<String>("")
        job.runTask {
            for await _ in proceed.stream { break }  // still working, not waiting
            do {
                try await job.waitingFor { try await Task.sleep(for: .seconds(30)) }
                outcome.withLock { $0 = "waited" }
            } catch {
                outcome.withLock { $0 = "\(type(of: error))" }
            }
            job.finish { _ in }
        }
        #expect(job.stop() == false)  // working: it goes on until it would wait
        proceed.continuation.yield()
        await job.finished()
        #expect(outcome.withLock { $0 } == "CancellationError")
        #expect(job.enterQueue() == false)
        #expect(readAhead.mostCounted == 1)
    }

    /// A stop that comes before the job's task is kept still cancels the task.
    @Test func aStopBeforeTheTaskIsKeptCancelsIt() async throws {
        let job = makeJob(offset: 0, readAhead: FetchLimit(limit: 10))
        #expect(job.stop() == false)
        let cancelled = Mutex<Bool?>(nil)
        job.runTask {
            try? await Task.sleep(for: .seconds(30))
            cancelled.withLock { $0 = Task.isCancelled }
            job.finish { _ in }
        }
        await job.finished()
        #expect(cancelled.withLock { $0 } == true)
    }

    @Test func aWaitingJobIsCancelledAQueuedOneTakenOutAndOneInFlightGoesOn() async throws {
        let readAhead = FetchLimit(limit: 10)
        let waiting = makeJob(offset: 0, readAhead: readAhead)
        let queued = makeJob(offset: 1, readAhead: readAhead)
        let inFlight = makeJob(offset: 2, readAhead: readAhead)
        let queue = EndpointQueue(limit: 1, breaker: CircuitBreaker(configuration: .init()))
        let started = Mutex(false)
        let outcome = Mutex<String>("")
        waiting.runTask {
            do {
                try await waiting.waitingFor {
                    started.withLock { $0 = true }
                    try await Task.sleep(for: .seconds(30))
                }
                outcome.withLock { $0 = "waited" }
            } catch {
                outcome.withLock { $0 = "stopped" }
            }
            waiting.finish { _ in }
        }
        for job in [inFlight, queued] {
            #expect(job.enterQueue())
            _ = queue.append(job)
        }
        #expect(queue.next() === inFlight)
        while !started.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
        #expect(waiting.stop() == false)  // its task is cancelled
        #expect(queued.stop() == true)  // taken out: the caller finishes it
        #expect(inFlight.stop() == false)  // its attempt goes on
        await waiting.finished()
        #expect(outcome.withLock { $0 } == "stopped")
        #expect(queue.next() == nil)  // the stopped job is skipped
        #expect(inFlight.phase == .inFlight)
        #expect(readAhead.mostCounted == 3)
    }
}
