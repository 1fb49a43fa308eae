import Synchronization
import TriageKafka

/// Writes the outputs of successive steps in their phases and stores each step's input offsets
/// once all its outputs are acknowledged — without making the next step wait for that.
///
/// A step's first phase is handed to the producer at once (``begin(_:offsets:)`` returns when it
/// is queued). A writer task takes the steps whose first phase was acknowledged, in step order,
/// and produces their later phases: a step with one later phase hands it over at once, without
/// waiting for earlier steps' later phases to be acknowledged; a step with more waits until none
/// is in flight and is written phase by phase, each acknowledged before the next. Once a step's
/// outputs are acknowledged the writer stores its offsets and runs its
/// ``StreamOutput/whenDelivered(_:)`` actions, in step order. So: a step's phase *n+1* never
/// leaves before its phase *n* is stored; phase *n* of a step never leaves before phase *n* of
/// an earlier step (the producer keeps the order it is given per partition); offsets are stored
/// in step order and only for steps whose every output is stored (at-least-once, as with
/// waiting).
///
/// A failed delivery stops everything: nothing later is produced or stored, and the next
/// ``begin(_:offsets:)``, ``check()`` or ``drain()`` throws it. A restart reads again from the
/// last stored offsets.
final class OrderedWrites: Sendable {
    private struct Step {
        var later: [[KafkaProducerMessage]]
        /// Per record of `later`, the input partition it was written on behalf of.
        var owners: [[Int32?]]
        var derived: [(phase: Int, build: @Sendable ([KafkaDeliveryReport]) throws -> [KafkaProducerMessage])]
        var offsets: [KafkaMessage]
        var afterDelivery: [@Sendable () -> Void]
        var firstPhaseDone = false
        /// Where the first phase's records (not its dead letters) were stored, when `derived` needs it.
        var firstPhaseStored: [KafkaDeliveryReport] = []

        /// How many phases follow the first (written or derived).
        var laterPhaseCount: Int { max(later.count, derived.map(\.phase).max() ?? 0) }

        /// Phase `index + 1`'s records, leaving out those written on behalf of a `fenced` partition.
        func records(ofLaterPhase index: Int, fenced: Set<Int32>) throws -> [KafkaProducerMessage] {
            var records: [KafkaProducerMessage] = []
            if later.count > index {
                for (record, owner) in zip(later[index], owners[index]) where owner.map({ !fenced.contains($0) }) ?? true {
                    records.append(record)
                }
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
        /// The outcomes of later phases acknowledged, by the first ticket of their steps.
        var laterPhasesDone: [Int: Result<[KafkaDeliveryReport], KafkaError>] = [:]
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
    /// Told of every phase's records (not dead letters) once stored, with where.
    private let stored: StreamWorkerConfiguration.StoredObserver?
    private let state = Mutex(State())
    /// Wakes the writer task when a step's first phase was acknowledged.
    private let wake: AsyncStream<Void>.Continuation
    private let wakeups: AsyncStream<Void>

    init(
        producer: KafkaProducer, offsets: OffsetTracker, deadLetterTopic: String, worker: String, maximumInFlight: Int = 8,
        fences: FenceBook? = nil, onFenced: @escaping @Sendable (Set<Int32>) -> Void = { _ in },
        stored: StreamWorkerConfiguration.StoredObserver? = nil
    ) {
        self.stored = stored
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
                offsets: offsets,
                afterDelivery: output.afterDelivery
            )
            return ticket
        }
        if output.derived.isEmpty && fences == nil && stored == nil {
            await producer.submit(first) { [self] error in firstPhaseDelivered(ticket, error: error) }
        } else {
            let observer = stored
            let firstRecords = observer == nil ? [] : Array(first.prefix(firstCount))
            await producer.submit(first) { [self] (result: Result<[KafkaDeliveryReport], KafkaError>) in
                switch result {
                case .success(let stored):
                    if let observer, firstCount > 0 { observer.stored(firstRecords, Array(stored.prefix(firstCount))) }
                    fences?.stored(stored)
                    firstPhaseDelivered(ticket, error: nil, stored: Array(stored.prefix(firstCount)))
                case .failure(let error): firstPhaseDelivered(ticket, error: error)
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

    /// The writer: later phases, offsets and actions of the steps whose first phase is stored,
    /// in step order. Runs until `wakeups` ends (``finish()``) or a failure.
    ///
    /// Steps with one later phase at most (the common shape: state, then the events it implies)
    /// do not wait for each other: their later phase is handed to the producer as soon as their
    /// first is stored, while the later phase of earlier steps may still be in flight — the
    /// producer keeps the order it was given per partition, so that order is still step order.
    /// Their offsets are stored, and their actions run, in step order once acknowledged. A
    /// step with more later phases waits until nothing is in flight and is written phase by
    /// phase, each acknowledged before the next, so none of its phases can overtake another
    /// step's.
    func run() async {
        /// Later phases handed to the producer and not yet finished, oldest first.
        var inFlight: [Started] = []
        /// The ticket of the first step whose later phases have not been started.
        var nextToStart = 0
        for await _ in wakeups {
            while true {
                do {
                    let finished = try await finishAcknowledged(&inFlight)
                    let ready = state.withLock { state -> [(ticket: Int, step: Step)] in
                        guard state.failure == nil else { return [] }
                        var ready: [(Int, Step)] = []
                        var ticket = max(nextToStart, state.nextToFinish)
                        while let step = state.steps[ticket], step.firstPhaseDone {
                            ready.append((ticket, step))
                            ticket += 1
                        }
                        return ready
                    }
                    if ready.isEmpty {
                        if finished { continue }
                        break
                    }
                    // The steps that can go now without waiting: one later phase at most.
                    let single = ready.prefix { $0.step.laterPhaseCount <= 1 }
                    if !single.isEmpty {
                        let batch = Array(single)
                        nextToStart = batch.last!.ticket + 1
                        inFlight.append(try await start(batch))
                        continue
                    }
                    // A step with more later phases: after everything in flight, phase by phase.
                    guard inFlight.isEmpty else { break }
                    let batch = Array(ready.prefix { $0.step.laterPhaseCount > 1 })
                    nextToStart = batch.last!.ticket + 1
                    try await writeInTurn(batch)
                    complete(batch)
                } catch {
                    fail(error)
                    return
                }
            }
        }
    }

    /// Steps whose single later phase was handed to the producer (or that had none).
    private struct Started {
        let steps: [(ticket: Int, step: Step)]
        let records: [KafkaProducerMessage]
        /// Known at once when there was nothing to write.
        let outcome: Result<[KafkaDeliveryReport], KafkaError>?
        /// Where the producer's answer is kept: the first step's ticket.
        var id: Int { steps[0].ticket }
    }

    /// Hands the later phase of `steps` (one at most each) to the producer; its acknowledgement
    /// wakes the writer.
    private func start(_ steps: [(ticket: Int, step: Step)]) async throws -> Started {
        if let fences { try await check(fences, steps.flatMap(\.step.firstPhaseStored)) }
        let records = try laterRecords(of: steps, phase: 0)
        guard !records.isEmpty else { return Started(steps: steps, records: [], outcome: .success([])) }
        let id = steps[0].ticket
        await producer.submit(records) { [self] (result: Result<[KafkaDeliveryReport], KafkaError>) in
            state.withLock { $0.laterPhasesDone[id] = result }
            wake.yield()
        }
        return Started(steps: steps, records: records, outcome: nil)
    }

    /// Phase `phase + 1`'s records of `steps`, without those of partitions fenced off, marked.
    private func laterRecords(of steps: [(ticket: Int, step: Step)], phase: Int) throws -> [KafkaProducerMessage] {
        let fenced = fences?.fencedPartitions ?? []
        let records = try steps.flatMap { try $0.step.records(ofLaterPhase: phase, fenced: fenced) }
        return fences?.mark(records) ?? records
    }

    /// Tells the observer and the fences where `records` were stored.
    private func acknowledged(_ records: [KafkaProducerMessage], _ reports: [KafkaDeliveryReport]) async throws {
        stored?.stored(records, reports)
        if let fences {
            fences.stored(reports)
            try await check(fences, reports)
        }
    }

    /// Finishes the oldest started steps whose later phase was acknowledged, in step order;
    /// returns whether any were. Throws the first failed delivery.
    private func finishAcknowledged(_ inFlight: inout [Started]) async throws -> Bool {
        var finished = false
        while let oldest = inFlight.first {
            guard let result = oldest.outcome ?? state.withLock({ $0.laterPhasesDone.removeValue(forKey: oldest.id) }) else { break }
            inFlight.removeFirst()
            let reports = try result.get()
            if !oldest.records.isEmpty { try await acknowledged(oldest.records, reports) }
            try storeOffsets(of: oldest.steps)
            complete(oldest.steps)
            finished = true
        }
        return finished
    }

    /// Writes the later phases of `steps` together, phase by phase, each acknowledged before the
    /// next, and stores their offsets.
    private func writeInTurn(_ steps: [(ticket: Int, step: Step)]) async throws {
        if let fences { try await check(fences, steps.flatMap(\.step.firstPhaseStored)) }
        let phases = steps.map(\.step.laterPhaseCount).max() ?? 0
        for phase in 0..<phases {
            let records = try laterRecords(of: steps, phase: phase)
            guard !records.isEmpty else { continue }
            try await acknowledged(records, try await producer.sendAll(records))
        }
        try storeOffsets(of: steps)
    }

    private func storeOffsets(of steps: [(ticket: Int, step: Step)]) throws {
        var offsets = steps.flatMap(\.step.offsets)
        // The input offsets of a partition fenced off are not stored: its new owner (or this
        // instance's retake) reads those records again.
        if let fenced = fences?.fencedPartitions, !fenced.isEmpty { offsets.removeAll { fenced.contains($0.partition) } }
        if !offsets.isEmpty { try self.offsets.finished(offsets) }
    }

    /// Runs the actions of `steps` (finished, in step order), forgets them and wakes whoever
    /// waits for room or for everything to finish.
    private func complete(_ steps: [(ticket: Int, step: Step)]) {
        for (_, step) in steps { for action in step.afterDelivery { action() } }
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            for (ticket, _) in steps { state.steps[ticket] = nil }
            state.nextToFinish = (steps.last?.ticket ?? state.nextToFinish - 1) + 1
            var waiters = state.roomWaiters
            state.roomWaiters = []
            if state.steps.isEmpty {
                waiters += state.drainWaiters
                state.drainWaiters = []
            }
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Checks the fenced changelog's partitions written in `reports`; tells of those found fenced.
    private func check(_ fences: FenceBook, _ reports: [KafkaDeliveryReport]) async throws {
        let fenced = try await fences.verify(reports)
        if !fenced.isEmpty { onFenced(fenced) }
    }

    /// Ends the writer task once it has written what is ready.
    func finish() { wake.finish() }

    private func firstPhaseDelivered(_ ticket: Int, error: KafkaError?, stored: [KafkaDeliveryReport] = []) {
        if let error { return fail(error) }
        state.withLock {
            $0.steps[ticket]?.firstPhaseDone = true
            $0.steps[ticket]?.firstPhaseStored = stored
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
