internal import CRdKafka
import Foundation
import ServiceLifecycle
import Synchronization

/// Serves one librdkafka queue from a dedicated thread, woken by librdkafka itself.
///
/// `rd_kafka_queue_cb_event_enable` makes librdkafka call us (on its own thread, with the queue
/// locked) when the queue goes from empty to non-empty; the callback only flips a flag and
/// signals a condition. The dedicated thread then drains the queue with non-blocking polls and
/// goes back to waiting. No thread of Swift's cooperative pool ever blocks, and nothing sleeps on
/// a timer: latency is one condition-variable hand-off.
final class QueueDriver: @unchecked Sendable {
    private let condition = NSCondition()
    private var workPending = true  // drain once at start: the queue may already hold events
    private var stopRequested = false
    /// Mirrors `stopRequested` for the hot drain loop, which checks it once per record.
    private let stopFlag = Atomic<Bool>(false)
    private var finished = false
    private var finishWaiters: [CheckedContinuation<Void, Never>] = []

    /// Work handed to the driver's thread from outside (``perform(_:)``); `true` means the client
    /// is still open, `false` that it closed before the job could run.
    typealias Job = @Sendable (_ open: Bool) -> Void
    private var jobs: [Job] = []
    private let hasJobs = Atomic<Bool>(false)

    /// - Parameters:
    ///   - name: the thread's name (shows up in debuggers and `top -H`).
    ///   - drain: serves everything queued, without blocking on an empty queue.
    ///   - idle: when given, runs after `interval` without work (a consumer tells librdkafka it
    ///     is still serving its queue; see ``ConsumerCore``).
    ///   - shutdown: runs on the same thread once stop was requested (blocking calls allowed).
    func start(
        name: String, drain: @escaping @Sendable () -> Void, idle: (interval: Duration, body: @Sendable () -> Void)? = nil,
        shutdown: @escaping @Sendable () -> Void
    ) {
        let thread = Thread { [self] in
            // Name the OS thread (15 characters at most) so profilers and `top -H` show it.
            triage_set_current_thread_name(String(name.prefix(15)))
            loop: while true {
                switch waitForWork(idleAfter: idle?.interval) {
                case .work:
                    runJobs()
                    drain()
                case .idle: idle?.body()
                case .stop: break loop
                }
            }
            shutdown()
            condition.lock()
            finished = true
            let waiters = finishWaiters
            finishWaiters = []
            let left = jobs
            jobs = []
            condition.unlock()
            for job in left { job(false) }
            for waiter in waiters { waiter.resume() }
        }
        // Not stored: the running thread keeps its block (and the client core) alive, and both are
        // released when it exits. Keeping it here would make a cycle core → driver → thread → core.
        thread.name = name
        thread.start()
    }

    /// Runs `job` on the driver's thread, between two drains (or from ``runJobs()`` where a
    /// client calls it). A job sent after the driver finished runs at once with `open == false`.
    func perform(_ job: @escaping Job) {
        condition.lock()
        if finished {
            condition.unlock()
            job(false)
            return
        }
        jobs.append(job)
        hasJobs.store(true, ordering: .releasing)
        workPending = true
        condition.signal()
        condition.unlock()
    }

    /// Runs the jobs sent so far (driver thread only). Cheap when there are none.
    func runJobs() {
        guard hasJobs.load(ordering: .acquiring) else { return }
        condition.lock()
        let due = jobs
        jobs = []
        hasJobs.store(false, ordering: .releasing)
        condition.unlock()
        for job in due { job(true) }
    }

    /// Enables librdkafka's wake-up callback on `queue`, pointing at this driver. Disable it with
    /// ``disableWakeups(on:)`` before the queue is destroyed.
    func enableWakeups(on queue: OpaquePointer) {
        rd_kafka_queue_cb_event_enable(queue, wakeupCallback, Unmanaged.passUnretained(self).toOpaque())
    }

    func disableWakeups(on queue: OpaquePointer) {
        rd_kafka_queue_cb_event_enable(queue, nil, nil)
    }

    /// Called by librdkafka's threads (and by us): there is something to serve.
    func wake() {
        condition.lock()
        workPending = true
        condition.signal()
        condition.unlock()
    }

    /// Asks the thread to leave its loop and run `shutdown`.
    func requestStop() {
        condition.lock()
        stopRequested = true
        stopFlag.store(true, ordering: .releasing)
        condition.signal()
        condition.unlock()
    }

    var isStopRequested: Bool { stopFlag.load(ordering: .acquiring) }

    /// Suspends (without blocking a thread) until the driver's thread has finished `shutdown`.
    func waitUntilFinished() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            if finished {
                condition.unlock()
                continuation.resume()
            } else {
                finishWaiters.append(continuation)
                condition.unlock()
            }
        }
    }

    /// Blocks the calling (non-async) thread until finished; used from `deinit`-like paths only.
    func waitUntilFinishedBlocking() {
        condition.lock()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private enum Wake { case work, idle, stop }

    private func waitForWork(idleAfter interval: Duration?) -> Wake {
        condition.lock()
        defer { condition.unlock() }
        let deadline = interval.map { Date().addingTimeInterval($0.seconds) }
        while !workPending && !stopRequested {
            if let deadline {
                if !condition.wait(until: deadline) && !workPending && !stopRequested && Date() >= deadline { return .idle }
            } else {
                condition.wait()
            }
        }
        if stopRequested { return .stop }
        workPending = false
        return .work
    }
}

extension QueueDriver {
    /// The `Service.run()` of every client: returns once the driver finished; graceful shutdown
    /// or cancellation of the calling task starts the close.
    func runUntilFinished(beginClose: @escaping @Sendable () -> Void) async {
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await self.waitUntilFinished()
            } onCancel: {
                beginClose()
            }
        } onGracefulShutdown: {
            beginClose()
        }
    }
}

private let wakeupCallback: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Void = { _, opaque in
    guard let opaque else { return }
    Unmanaged<QueueDriver>.fromOpaque(opaque).takeUnretainedValue().wake()
}

/// Runs blocking librdkafka calls (commit, committed, seek, metadata, flush) off the cooperative
/// pool, on a dispatch queue of their own, and resumes the caller when they return.
enum BlockingCalls {
    private static let queue = DispatchQueue(label: "triage.kafka.blocking", attributes: .concurrent)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws(KafkaError) -> T) async throws(KafkaError) -> T {
        let result: Result<T, KafkaError> = await withCheckedContinuation { continuation in
            queue.async {
                do throws(KafkaError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}
