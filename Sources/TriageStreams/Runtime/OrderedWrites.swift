import Synchronization
import TriageKafka

/// Writes the outputs of successive steps in their phases and stores each step's input offsets
/// once all its outputs are acknowledged — without making the next step wait for that.
///
/// A step's first phase is handed to the producer at once (``begin(_:offsets:)`` returns when it
/// is queued). A writer task hands over every later phase as soon as it may leave: once the
/// same step's previous phase is acknowledged (and, with a fenced changelog, checked) and the
/// same phase of every earlier step was handed over. It does not wait for those
/// acknowledgements before the next step's phase leaves, so a step's last phase follows its
/// previous one by one acknowledgement, however many steps are in flight. Once every phase of
/// a step is acknowledged, in step order, it stores the step's offsets and runs its
/// ``StreamOutput/whenDelivered(_:)`` actions. So: a step's phase *n+1* never leaves before its
/// phase *n* is stored; phase *n* of a step never leaves before phase *n* of an earlier step
/// (the producer keeps that order within a partition); offsets are stored in step order and
/// only for steps whose every output is stored (at-least-once, as with waiting).
///
/// A failed delivery stops everything: nothing later is produced or stored, and the next
/// ``begin(_:offsets:)``, ``check()`` or ``drain()`` throws it. A restart reads again from the
/// last stored offsets.
final class OrderedWrites: Sendable {
    private struct Step {
        /// Phases 1 and later (index 0 is phase 1).
        var later: [[KafkaProducerMessage]]
        /// Per record of `later`, the input partition it was written on behalf of.
        var owners: [[Int32?]]
        var derived: [(phase: Int, build: @Sendable ([KafkaDeliveryReport]) throws -> [KafkaProducerMessage])]
        var offsets: [KafkaMessage]
        var afterDelivery: [@Sendable () -> Void]
        /// Where the first phase's records (not its dead letters) were stored, when `derived` needs it.
        var firstPhaseStored: [KafkaDeliveryReport] = []
        var progress: PhaseProgress
        /// The acknowledgement of the phase in flight, not checked yet: where its records landed.
        var arrived: [KafkaDeliveryReport]?

        /// Phase `index + 1`'s records, leaving out those written on behalf of a `fenced` partition.
        func records(ofLaterPhase index: Int, fenced: Set<Int32>) throws -> [KafkaProducerMessage] {
            var records: [KafkaProducerMessage] = []
            for (record, owner) in zip(later[index], owners[index]) where owner.map({ !fenced.contains($0) }) ?? true {
                records.append(record)
            }
            for (phase, build) in derived where phase == index + 1 { records += try build(firstPhaseStored) }
            return records
        }
    }

    private struct State {
        var nextTicket = 0
        /// Steps not yet finished, by ticket (oldest first).
        var steps: [Int: Step] = [:]
        var nextToFinish = 0
        var failure: (any Error)?
        var roomWaiters: [CheckedContinuation<Void, Never>] = []
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let producer: KafkaProducer
    private let offsets: OffsetTracker
    private let deadLetterTopic: String
    private let worker: String
    private let maximumInFlight: Int
    /// With a fenced changelog: this instance's writer tokens, checked after every phase.
    private let fences: FenceBook?
    /// Told which partitions another instance's fence was found in.
    private let onFenced: @Sendable (Set<Int32>) -> Void
    private let state = Mutex(State())
    /// Wakes the writer task when a phase was acknowledged.
    private let wake: AsyncStream<Void>.Continuation
    private let wakeups: AsyncStream<Void>

    init(
        producer: KafkaProducer, offsets: OffsetTracker, deadLetterTopic: String, worker: String, maximumInFlight: Int = 8,
        fences: FenceBook? = nil, onFenced: @escaping @Sendable (Set<Int32>) -> Void = { _ in }
    ) {
        self.fences = fences
        self.onFenced = onFenced
        self.worker = worker
        self.producer = producer
        self.offsets = offsets
        self.deadLetterTopic = deadLetterTopic
        self.maximumInFlight = max(1, maximumInFlight)
        (wakeups, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Throws the first failure, if there was one.
    func check() throws {
        if let failure = state.withLock({ $0.failure }) { throw failure }
    }

    /// Registers a step and hands its first phase (with its dead letters) to the producer,
    /// waiting while too many steps are in flight.
    func begin(_ output: StreamOutput, offsets: [KafkaMessage]) async throws {
        if output.isEmpty && offsets.isEmpty { return }
        try await waitForRoom()
        var first = output.phases.first ?? []
        if let fences {
            let fenced = fences.fencedPartitions
            if !fenced.isEmpty {
                first = zip(first, output.owners.first ?? []).filter { $0.1.map { !fenced.contains($0) } ?? true }.map(\.0)
            }
            first = fences.mark(first)
        }
        let firstCount = first.count
        first += output.deadLetters.map {
            DeadLetterQueue.record(for: $0.message, reason: $0.reason, topic: deadLetterTopic, worker: worker)
        }
        let ticket = state.withLock { state in
            let ticket = state.nextTicket
            state.nextTicket += 1
            state.steps[ticket] = Step(
                later: Array(output.phases.dropFirst()), owners: Array(output.owners.dropFirst()), derived: output.derived,
                offsets: offsets, afterDelivery: output.afterDelivery, progress: PhaseProgress(phaseCount: max(1, output.phases.count))
            )
            return ticket
        }
        if output.derived.isEmpty && fences == nil {
            await producer.submit(first) { [self] error in delivered(ticket, error: error) }
        } else {
            await producer.submit(first) { [self] (result: Result<[KafkaDeliveryReport], KafkaError>) in
                switch result {
                case .success(let stored):
                    fences?.stored(stored)
                    delivered(ticket, error: nil, stored: Array(stored.prefix(firstCount)), first: true)
                case .failure(let error): delivered(ticket, error: error)
                }
            }
        }
    }

    /// Waits until every step begun so far is finished; throws the first failure.
    func drain() async throws {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.steps.isEmpty || state.failure != nil { return true }
                state.drainWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
        try check()
    }

    /// The writer: checks acknowledged phases, hands over the later phases that may leave, and
    /// finishes steps in step order. Runs until `wakeups` ends (``finish()``) or a failure.
    func run() async {
        for await _ in wakeups {
            do {
                while try await advance() {}
            } catch {
                fail(error)
                return
            }
        }
    }

    /// One round of the writer's work; whether anything moved.
    private func advance() async throws -> Bool {
        var moved = false
        // Acknowledged phases, checked in step order.
        while let (ticket, reports) = takeArrived() {
            if let fences { try await check(fences, reports) }
            state.withLock { $0.steps[ticket]?.progress.done += 1 }
            moved = true
        }
        // Later phases that may leave now.
        for (ticket, phase, step) in sendable() {
            let fenced = fences?.fencedPartitions ?? []
            var records = try step.records(ofLaterPhase: phase - 1, fenced: fenced)
            if let fences { records = fences.mark(records) }
            moved = true
            if records.isEmpty {
                state.withLock { $0.steps[ticket]?.progress.done += 1 }
                continue
            }
            await producer.submit(records) { [self] (result: Result<[KafkaDeliveryReport], KafkaError>) in
                switch result {
                case .success(let stored):
                    fences?.stored(stored)
                    delivered(ticket, error: nil, stored: stored)
                case .failure(let error): delivered(ticket, error: error)
                }
            }
        }
        // Finished steps, in step order: offsets, then actions.
        let finished = state.withLock { state -> [(ticket: Int, step: Step)] in
            guard state.failure == nil else { return [] }
            var finished: [(Int, Step)] = []
            var ticket = state.nextToFinish
            while let step = state.steps[ticket], step.progress.isFinished {
                finished.append((ticket, step))
                ticket += 1
            }
            return finished
        }
        guard !finished.isEmpty else { return moved }
        var offsets = finished.flatMap(\.step.offsets)
        // The input offsets of a partition fenced off are not stored: its new owner (or this
        // instance's retake) reads those records again.
        if let fenced = fences?.fencedPartitions, !fenced.isEmpty { offsets.removeAll { fenced.contains($0.partition) } }
        if !offsets.isEmpty { try self.offsets.finished(offsets) }
        for (_, step) in finished { for action in step.afterDelivery { action() } }
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            for (ticket, _) in finished { state.steps[ticket] = nil }
            state.nextToFinish = finished.last!.ticket + 1
            var waiters = state.roomWaiters
            state.roomWaiters = []
            if state.steps.isEmpty {
                waiters += state.drainWaiters
                state.drainWaiters = []
            }
            return waiters
        }
        for waiter in waiters { waiter.resume() }
        return true
    }

    /// The oldest step whose phase in flight was acknowledged: its reports, taken.
    private func takeArrived() -> (Int, [KafkaDeliveryReport])? {
        state.withLock { state in
            guard state.failure == nil else { return nil }
            var ticket = state.nextToFinish
            while ticket < state.nextTicket {
                if let reports = state.steps[ticket]?.arrived {
                    state.steps[ticket]!.arrived = nil
                    return (ticket, reports)
                }
                ticket += 1
            }
            return nil
        }
    }

    /// The later phases that may leave now (see ``PhaseProgress/handOver(_:)``), marked handed over.
    private func sendable() -> [(ticket: Int, phase: Int, step: Step)] {
        state.withLock { state in
            guard state.failure == nil else { return [] }
            let tickets = (state.nextToFinish..<state.nextTicket).filter { state.steps[$0] != nil }
            var progress = tickets.map { state.steps[$0]!.progress }
            let leaving = PhaseProgress.handOver(&progress)
            for (index, ticket) in tickets.enumerated() { state.steps[ticket]!.progress = progress[index] }
            return leaving.map { (tickets[$0.step], $0.phase, state.steps[tickets[$0.step]]!) }
        }
    }

    /// Checks the fenced changelog's partitions written in `reports`; tells of those found fenced.
    private func check(_ fences: FenceBook, _ reports: [KafkaDeliveryReport]) async throws {
        let fenced = try await fences.verify(reports)
        if !fenced.isEmpty { onFenced(fenced) }
    }

    /// Ends the writer task once it has written what is ready.
    func finish() { wake.finish() }

    /// A phase of step `ticket` was acknowledged (`first`: its first phase, whose reports later
    /// phases may be built from).
    private func delivered(_ ticket: Int, error: KafkaError?, stored: [KafkaDeliveryReport] = [], first: Bool = false) {
        if let error { return fail(error) }
        state.withLock {
            if first { $0.steps[ticket]?.firstPhaseStored = stored }
            $0.steps[ticket]?.arrived = stored
        }
        wake.yield()
    }

    private func fail(_ error: any Error) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            if state.failure == nil { state.failure = error }
            defer {
                state.roomWaiters = []
                state.drainWaiters = []
            }
            return state.roomWaiters + state.drainWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func waitForRoom() async throws {
        while true {
            try check()
            let full = state.withLock { $0.steps.count >= maximumInFlight }
            if !full { return }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let waiting = state.withLock { state -> Bool in
                    guard state.steps.count >= maximumInFlight, state.failure == nil else { return false }
                    state.roomWaiters.append(continuation)
                    return true
                }
                if !waiting { continuation.resume() }
            }
        }
    }
}

/// How far one step in flight got with its write phases.
struct PhaseProgress: Sendable, Hashable {
    /// Phases the step writes (at least one).
    let phaseCount: Int
    /// Phases handed to the producer (the first one when the step begins).
    var sent = 1
    /// Phases acknowledged (and checked).
    var done = 0

    var isFinished: Bool { done == phaseCount }

    /// Given the steps in flight in step order, the phases that may be handed to the producer
    /// now, marked handed over: a step's next phase once its previous phase is done, and only
    /// when every earlier step has handed that phase over already (or has no such phase).
    /// Acknowledgements of earlier steps are not waited for: the producer keeps the order of
    /// records within a partition.
    static func handOver(_ steps: inout [PhaseProgress]) -> [(step: Int, phase: Int)] {
        var leaving: [(step: Int, phase: Int)] = []
        // Per phase: whether every step so far handed it over (or has none).
        var clear: [Bool] = []
        for index in steps.indices {
            let phase = steps[index].sent
            if phase < steps[index].phaseCount, steps[index].done == phase, phase >= clear.count || clear[phase] {
                steps[index].sent += 1
                leaving.append((index, phase))
            }
            if clear.count < steps[index].phaseCount { clear += Array(repeating: true, count: steps[index].phaseCount - clear.count) }
            for later in steps[index].sent..<steps[index].phaseCount { clear[later] = false }
        }
        return leaving
    }
}
