import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization
public import TriageKafka
public import TriageOps
public import TriageSchema

/// The runtime every stateful worker runs on: one consumer-group member whose records a
/// ``StreamProcessor`` turns into outputs.
///
/// - **Partitions**: on assignment, the processor's changelog is read to its end for the new
///   partitions (`/readyz` says not ready meanwhile) before their first record is processed;
///   on revocation, every output in flight is acknowledged and its offsets stored first, so
///   they are committed with the hand-over (the consumer completes a revocation only when the
///   next event is asked for).
/// - **Steps**: records of owned partitions go to ``StreamProcessor/process(_:output:)``; the
///   step's outputs are written in their phases, pipelined with the next steps
///   (``OrderedWrites``), and the batch's offsets are stored once its outputs are acknowledged.
/// - **Dead letters** carry their reason on ``StreamWorkerConfiguration/deadLetterTopic``, are
///   logged and counted; the partition goes on.
/// - **Punctuation**: a timer set to the processor's ``StreamProcessor/nextPunctuation()``;
///   consumer events and ticks go through one mailbox, so the processor has one writer.
/// - **Global input**: a topic every instance reads whole (``StreamProcessor/global``), read to
///   its end before the first restore, then followed through `globalConsumer`.
/// - **Fencing**: with a fenced changelog (``ChangelogFencing``) a takeover fences the partition
///   before restoring it; when another instance's fence turns up after this one's writes, the
///   partition's withheld outputs are dropped, the processor lets it go (as on revocation), and
///   if the group still assigns it here after ``StreamWorkerConfiguration/retakeDelay`` it is
///   taken over again from the committed offset.
/// - **Health and metrics** (`triage_events_processed_total`, `triage_processing_seconds`,
///   `triage_dead_lettered_total` by worker) from one place.
///
/// Any failure (a delivery, a changelog that cannot be read) ends `run()` with the error: the
/// service group stops, and a restart reads again from the committed offsets.
///
/// In a `ServiceGroup`: producer, worker, consumer (and global consumer). Shutdown runs in
/// reverse: the consumer stops fetching first, the worker finishes and drains its writes, the
/// producer flushes last.
public final class StreamWorker<Processor: StreamProcessor>: Service, Sendable {
    public let configuration: StreamWorkerConfiguration
    public let health: WorkerHealth
    public let metrics: WorkerMetrics
    private let processor: Processor
    private let consumer: KafkaConsumer
    private let globalConsumer: KafkaConsumer?
    private let producer: KafkaProducer
    private let logger: Logger
    private let counters = Mutex(StreamWorkerStatistics())
    /// Names this instance's fences (with a count of its takeovers).
    private let instanceID = String(UUID().uuidString.prefix(8)).lowercased()
    /// Records offered by this process (``offer(_:)``) and not yet taken by the loop; the mailbox
    /// while the worker runs.
    private let offers = Mutex<(inbox: AsyncStream<Input>.Continuation?, records: [KafkaMessage])>((nil, []))
    /// What fetching is to be paused (``pauseFetching(_:)``, ``pauseFetching(_:topic:)``), and
    /// the mailbox while the worker runs.
    private let fetching = Mutex<(paused: FetchPause, inbox: AsyncStream<Input>.Continuation?)>((FetchPause(), nil))

    /// The input fetching is to be paused for: all of it, or some topics.
    struct FetchPause: Equatable {
        var all = false
        var topics: Set<String> = []
        func covers(_ partition: TopicPartition) -> Bool { all || topics.contains(partition.topic) }
    }

    /// `globalConsumer` reads the processor's ``StreamProcessor/global`` topic (a group of its
    /// own that commits nothing); required when the processor has one.
    public init(
        processor: Processor, consumer: KafkaConsumer, globalConsumer: KafkaConsumer? = nil, producer: KafkaProducer,
        configuration: StreamWorkerConfiguration, health: WorkerHealth = .init(), logger: Logger
    ) {
        precondition(processor.global == nil || globalConsumer != nil, "a processor with a global topic needs a global consumer")
        self.processor = processor
        self.consumer = consumer
        self.globalConsumer = globalConsumer
        self.producer = producer
        self.configuration = configuration
        self.health = health
        self.metrics = WorkerMetrics(worker: configuration.worker)
        self.logger = logger
    }

    /// Partitions held, and fencing figures so far.
    public var statistics: StreamWorkerStatistics { counters.withLock { $0 } }

    /// Records this process has just stored in the worker's input partitions, each with the
    /// partition and offset of its delivery report: processed at once, without waiting for the
    /// consumer to fetch them, when they are the very next records of a partition this instance
    /// owns and has processed up to them; otherwise passed over (the consumer delivers them as
    /// it would have). Either way a record is processed once, in its partition's order: the
    /// consumer's copy of a record processed as offered is skipped. Only with
    /// ``StreamWorkerConfiguration/acceptsOffers``; otherwise every offer is passed over.
    ///
    /// The short cut of a request/reply hop inside one process (the intake hands its ledger the
    /// commands it sends): the consumer's next Fetch is not waited for. Called from any thread;
    /// does not block. Offers made before ``run()`` or after it ended are dropped.
    public func offer(_ records: [KafkaMessage]) {
        guard !records.isEmpty else { return }
        let inbox: AsyncStream<Input>.Continuation? = offers.withLock { state in
            guard let inbox = state.inbox else { return nil }
            let wake = state.records.isEmpty
            state.records.append(contentsOf: records)
            return wake ? inbox : nil
        }
        inbox?.yield(.offered)
    }

    /// Stops fetching records of every input partition (`true`) until called with `false`: for a
    /// processor whose records finish later (``StreamOutput/completeLater(_:)``) and that has
    /// as many of them in hand as it should hold. Records fetched already (a batch being
    /// processed, the consumer's buffered batches) still come. The worker keeps serving its
    /// consumer meanwhile, so it stays in its group however long the pause lasts; partitions
    /// assigned during a pause are paused too. Called from any thread; does not block; the last
    /// call wins.
    public func pauseFetching(_ paused: Bool) { changeFetchPause { $0.all = paused } }

    /// Stops fetching records of the input `topic`'s partitions (`true`) until called with
    /// `false`, as ``pauseFetching(_:)`` does for all of them (a pause of all covers `topic`
    /// too; each is lifted on its own). For a processor that holds records of one input for
    /// later and must bound how many it holds without holding up the others.
    public func pauseFetching(_ paused: Bool, topic: String) {
        changeFetchPause { pause in
            if paused { pause.topics.insert(topic) } else { pause.topics.remove(topic) }
        }
    }

    private func changeFetchPause(_ change: (inout FetchPause) -> Void) {
        let inbox = fetching.withLock { state -> AsyncStream<Input>.Continuation? in
            var wanted = state.paused
            change(&wanted)
            guard wanted != state.paused else { return nil }
            state.paused = wanted
            return state.inbox
        }
        inbox?.yield(.fetchingChanged)
    }

    private enum Input: Sendable {
        case kafka(KafkaConsumerEvent, CheckedContinuation<Void, Never>)
        case global([KafkaMessage])
        case tick
        case fenced(Set<Int32>)
        case retake
        /// ``offer(_:)`` added records to `offers`.
        case offered
        /// ``pauseFetching(_:)`` changed what it wants.
        case fetchingChanged
        case failed(any Error)
    }

    public func run() async throws {
        let (mailbox, inbox) = AsyncStream<Input>.makeStream()
        let consumer = self.consumer
        // The pump hands over one consumer event at a time and asks for the next only once it
        // was handled, so a revocation completes after the processor let the partitions go.
        let pump = Task {
            do {
                for try await event in consumer.events {
                    await withCheckedContinuation { continuation in
                        // After the worker stopped, events (revocations at close) are let go at once.
                        if case .terminated = inbox.yield(.kafka(event, continuation)) { continuation.resume() }
                    }
                }
            } catch {
                inbox.yield(.failed(error))
            }
            inbox.finish()
        }
        let fences = processor.changelog.flatMap { changelog in
            changelog.fencing.map { FenceBook(topic: changelog.topic, fencing: $0, client: configuration.client, logger: logger) }
        }
        let offsets = OffsetTracker(consumer: consumer)
        let writes = OrderedWrites(
            producer: producer, offsets: offsets, deadLetterTopic: configuration.deadLetterTopic, worker: configuration.worker,
            maximumInFlight: configuration.maximumStepsInFlight, fences: fences, onFenced: { inbox.yield(.fenced($0)) },
            stored: configuration.storedObserver
        )
        let writer = Task { await writes.run() }
        var loop = Loop(owner: self, processor: processor, writes: writes, offsets: offsets, fences: fences, inbox: inbox)
        var globalPump: Task<Void, Never>?
        var failure: (any Error)?
        if let global = processor.global, let globalConsumer {
            // The global topic as it stands, before any partition is restored; the global
            // consumer (reading from the beginning) then skips what this read covered.
            do {
                try await loop.bootstrap(global)
            } catch {
                failure = error
                inbox.finish()
            }
            globalPump = Task {
                do {
                    for try await batch in globalConsumer.batches { inbox.yield(.global(batch)) }
                } catch { inbox.yield(.failed(error)) }
            }
        }
        offers.withLock { $0.inbox = inbox }
        if fetching.withLock({ state in
            state.inbox = inbox
            return state.paused != FetchPause()
        }) {
            inbox.yield(.fetchingChanged)
        }
        health.markRunning(true, status: "running")
        for await input in mailbox {
            do {
                switch input {
                case .kafka(let event, let handled):
                    defer { handled.resume() }
                    try await loop.handle(event)
                case .global(let batch):
                    try await loop.update(global: batch)
                case .tick:
                    loop.timerDue = nil
                    var output = StreamOutput(offsets: offsets)
                    try loop.processor.punctuate(output: &output)
                    try await loop.write(output, offsets: [])
                case .fenced(let partitions):
                    loop.fencedOff(partitions)
                case .retake:
                    loop.retakeTimer = nil
                    try await loop.retake()
                case .offered:
                    let records = offers.withLock { state in
                        defer { state.records = [] }
                        return state.records
                    }
                    try await loop.take(offered: records)
                case .fetchingChanged:
                    await loop.applyFetchPause()
                case .failed(let error):
                    throw error
                }
            } catch {
                failure = error
                break
            }
            loop.reschedule()
        }
        offers.withLock { $0 = (nil, []) }
        fetching.withLock { $0.inbox = nil }
        loop.timer?.cancel()
        loop.retakeTimer?.cancel()
        globalPump?.cancel()
        // Work the processor still has going on records finishes or is let go.
        await loop.processor.stop(loop.assigned.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) })
        // Whatever is still in the mailbox is let go, so the consumer's close is not left
        // waiting for a revocation nobody will handle.
        inbox.finish()
        for await input in mailbox { if case .kafka(_, let handled) = input { handled.resume() } }
        pump.cancel()
        if failure == nil {
            do { try await writes.drain() } catch { failure = error }
        }
        writes.finish()
        await writer.value
        health.markRunning(false, status: "stopped")
        if let failure {
            logger.error("\(configuration.worker) stopped by an error", metadata: ["error": "\(failure)"])
            throw failure
        }
        logger.info("\(configuration.worker) stopped")
        // Wait for our own signal (the consumer ended first because it stops first).
        try? await gracefulShutdown()
    }

    /// What the single writer owns.
    private struct Loop {
        let owner: StreamWorker
        var processor: Processor
        let writes: OrderedWrites
        let offsets: OffsetTracker
        let fences: FenceBook?
        let inbox: AsyncStream<Input>.Continuation
        /// The input topics.
        let inputs: Set<String>
        /// Input partitions the group assigned here.
        var assigned: Set<TopicPartition> = []
        /// Partition numbers whose state is restored here: their records are processed.
        var owned: Set<Int32> = []
        var timer: Task<Void, Never>?
        var timerDue: Punctuation?
        /// Per global-topic partition, the next offset not yet given to the processor.
        var globalNext: [Int32: Int64] = [:]
        /// Partitions another instance fenced this one off while still assigned here: when to
        /// look again whether they are.
        var retakes: [Int32: ContinuousClock.Instant] = [:]
        var retakeTimer: Task<Void, Never>?
        var takeovers = 0
        /// Per owned input partition, the offset after the last record processed here (fetched
        /// or offered); unknown until a record of the partition was processed since it came.
        /// Kept only with ``StreamWorkerConfiguration/acceptsOffers``: a worker nobody offers
        /// records to pays nothing for it.
        var next: [TopicPartition: Int64] = [:]
        let tracksPositions: Bool
        /// Per partition, the last record processed as offered whose consumer copy has not come
        /// yet: copies up to it are skipped. Only that window: a record at an offset already
        /// seen that comes after it (a log truncated and written again) is processed.
        var offeredThrough: [TopicPartition: Int64] = [:]
        /// The input partitions to be paused (``StreamWorker/pauseFetching(_:)``), as last applied.
        var fetchPause = FetchPause()
        /// The input partitions this worker paused. Only these are ever resumed: librdkafka takes
        /// a resume of a partition nobody paused as a new start, and fetches again from where its
        /// assignment began. And these are resumed before they go: a pause outlives a revocation
        /// in librdkafka, and would still hold the partition if it came back.
        var pausedHere: Set<TopicPartition> = []

        init(
            owner: StreamWorker, processor: Processor, writes: OrderedWrites, offsets: OffsetTracker, fences: FenceBook?,
            inbox: AsyncStream<Input>.Continuation
        ) {
            self.owner = owner
            self.processor = processor
            self.writes = writes
            self.offsets = offsets
            inputs = Set([processor.input] + processor.additionalInputs)
            self.fences = fences
            self.inbox = inbox
            tracksPositions = owner.configuration.acceptsOffers
        }

        /// Reads the global topic to its end into the processor.
        mutating func bootstrap(_ global: GlobalTopic<Processor.GlobalValue>) async throws {
            let configuration = owner.configuration
            let partitions = try await KafkaAdmin(configuration: configuration.client, logger: owner.logger).describeTopic(global.topic)
                .partitions.map(\.id)
            let reading = Mutex<(processor: Processor, output: StreamOutput, pending: [Processor.GlobalValue], next: [Int32: Int64])>(
                (processor, StreamOutput(offsets: offsets), [], [:])
            )
            let decode = global.decode
            let summary = try await KafkaPartitionReader.readToEnd(
                topic: global.topic, partitions: partitions, client: configuration.client, logger: owner.logger
            ) { record in
                let value = record.value.flatMap { decode(record.key, $0) }
                try reading.withLock {
                    $0.next[record.partition] = record.offset + 1
                    if let value { $0.pending.append(value) }
                    if $0.pending.count >= 1024 {
                        try $0.processor.update(global: $0.pending, output: &$0.output)
                        $0.pending = []
                    }
                }
            }
            let output: StreamOutput
            (processor, output, globalNext) = try reading.withLock {
                try $0.processor.update(global: $0.pending, output: &$0.output)
                return ($0.processor, $0.output, $0.next)
            }
            owner.logger.info("\(global.topic) read", metadata: ["records": "\(summary.records)"])
            try await write(output, offsets: [])
        }

        /// A batch of the global consumer: the records not given to the processor yet.
        mutating func update(global batch: [KafkaMessage]) async throws {
            guard let global = processor.global else { return }
            var values: [Processor.GlobalValue] = []
            for message in batch where message.offset >= globalNext[message.partition] ?? 0 {
                globalNext[message.partition] = message.offset + 1
                guard let bytes = message.valueBytes else { continue }
                let key = message.keyBytes
                let value = bytes.withUnsafeBytes { value in
                    guard let key else { return global.decode(nil, value) }
                    return key.withUnsafeBytes { global.decode($0, value) }
                }
                guard let value else { continue }
                values.append(value)
            }
            guard !values.isEmpty else { return }
            var output = StreamOutput(offsets: offsets)
            try processor.update(global: values, output: &output)
            try await write(output, offsets: [])
        }

        mutating func handle(_ event: KafkaConsumerEvent) async throws {
            switch event {
            case .partitionsAssigned(let partitions):
                let new = partitions.filter { inputs.contains($0.topic) && !assigned.contains($0) }
                assigned.formUnion(new)
                owner.counters.withLock { [count = assigned.count] in $0.assignedPartitions = count }
                // New partitions fetch as the others do.
                let held = new.filter(fetchPause.covers)
                if !held.isEmpty { await pause(held) }
                let fresh = Set(new.map(\.partition)).subtracting(owned).sorted()
                if !fresh.isEmpty { try await restore(fresh) }
                owner.health.markAssigned()
            case .partitionsRevoked(let partitions), .partitionsLost(let partitions):
                let leaving = partitions.filter { assigned.contains($0) }
                guard !leaving.isEmpty else { return }
                // Outputs in flight are acknowledged and their offsets stored before the
                // partitions go (a revocation commits them; a lost partition's are ignored),
                // and so is the work the processor started on their records.
                try await writes.drain()
                await processor.stop(leaving)
                let pausedLeaving = leaving.filter { pausedHere.contains($0) }
                if !pausedLeaving.isEmpty { await resume(pausedLeaving) }
                assigned.subtract(leaving)
                owner.counters.withLock { [count = assigned.count] in $0.assignedPartitions = count }
                offsets.forget(leaving)
                forgetPositions(leaving)
                // A partition number's state goes with the last input partition of that number.
                let still = Set(assigned.map(\.partition))
                let gone = Set(leaving.map(\.partition)).filter { owned.contains($0) && !still.contains($0) }.sorted()
                guard !gone.isEmpty else { return }
                processor.revoked(gone)
                owned.subtract(gone)
                for partition in gone { fences?.release(partition) }
                owner.logger.info("\(processor.stateName) handed over", metadata: ["partitions": "\(gone)"])
            case .messages(let batch):
                try writes.check()
                let started = ContinuousClock.now
                var records: [KafkaMessage]
                var alreadyProcessed = 0
                if tracksPositions {
                    records = []
                    records.reserveCapacity(batch.count)
                    for record in batch {
                        let key = TopicPartition(record.topic, record.partition)
                        guard owned.contains(record.partition), assigned.contains(key) else { continue }
                        if let through = offeredThrough[key] {
                            if record.offset <= through {
                                // Processed as offered before the consumer brought it.
                                alreadyProcessed += 1
                                if record.offset == through { offeredThrough[key] = nil }
                                continue
                            }
                            offeredThrough[key] = nil
                        }
                        records.append(record)
                        next[key] = record.offset + 1
                    }
                } else {
                    records = batch.filter { owned.contains($0.partition) && assigned.contains(TopicPartition($0.topic, $0.partition)) }
                }
                var output = StreamOutput(offsets: offsets)
                if !records.isEmpty { try processor.process(records, output: &output) }
                try await write(output, offsets: records)
                owner.metrics.processed(batch.count - alreadyProcessed, since: started)
            }
        }

        /// Records offered by this process (``StreamWorker/offer(_:)``): the run of each
        /// partition that continues exactly where its processing stands is processed as one
        /// step; the rest is left to the consumer.
        mutating func take(offered: [KafkaMessage]) async throws {
            guard !offered.isEmpty else { return }
            try writes.check()
            let started = ContinuousClock.now
            let sorted = offered.sorted { ($0.topic, $0.partition, $0.offset) < ($1.topic, $1.partition, $1.offset) }
            var records: [KafkaMessage] = []
            for record in sorted {
                let key = TopicPartition(record.topic, record.partition)
                guard tracksPositions, owned.contains(record.partition), assigned.contains(key), next[key] == record.offset else {
                    continue
                }
                records.append(record)
                next[key] = record.offset + 1
                offeredThrough[key] = record.offset
            }
            owner.counters.withLock { [taken = records.count] in
                $0.offeredTaken += taken
                $0.offeredPassedOver += offered.count - taken
            }
            guard !records.isEmpty else { return }
            var output = StreamOutput(offsets: offsets)
            try processor.process(records, output: &output)
            try await write(output, offsets: records)
            owner.metrics.processed(records.count, since: started)
        }

        mutating func restore(_ partitions: [Int32]) async throws {
            var states: [Int32: Processor.PartitionState] = [:]
            if let changelog = processor.changelog {
                owner.health.beginRestore("\(processor.stateName) \(partitions)")
                defer { owner.health.endRestore(status: "running") }
                var fence: (token: String, producer: KafkaProducer)?
                if fences != nil {
                    takeovers += 1
                    fence = ("\(owner.instanceID)-\(takeovers)", owner.producer)
                }
                let (restored, summary) = try await changelog.restore(
                    partitions, client: owner.configuration.client, worker: owner.configuration.worker, logger: owner.logger, fence: fence
                )
                states = restored
                var metadata: Logger.Metadata = [
                    "partitions": "\(partitions)", "records": "\(summary.records)", "unreadable": "\(summary.unreadable)",
                    "seconds": "\(String(format: "%.2f", summary.seconds))",
                ]
                if let fences, let fence {
                    metadata["writer"] = "\(fence.token)"
                    metadata["fenced_off_records_ignored"] = "\(summary.ignored)"
                    for partition in partitions {
                        guard let read = summary.writers[partition], read.writer == fence.token else {
                            // Someone fenced after this instance did: it has lost the partition already.
                            states[partition] = nil
                            fences.release(partition, fenced: true)
                            noteFencedOff(partition)
                            continue
                        }
                        fences.take(partition, writer: fence.token, through: read.through)
                    }
                }
                owner.logger.info("\(processor.stateName) restored", metadata: metadata)
                owner.configuration.restoreObserver?(summary.records, summary.seconds)
            } else {
                for partition in partitions { states[partition] = Processor.PartitionState() }
            }
            guard !states.isEmpty else { return }
            owned.formUnion(states.keys)
            var output = StreamOutput(offsets: offsets)
            try processor.assigned(states, output: &output)
            try await write(output, offsets: [])
        }

        func write(_ output: StreamOutput, offsets: [KafkaMessage]) async throws {
            for (message, reason) in output.deadLetters {
                owner.logger.warning(
                    "dead-lettered a record",
                    metadata: [
                        "topic": "\(message.topic)", "partition": "\(message.partition)", "offset": "\(message.offset)",
                        "reason": "\(reason)",
                    ]
                )
            }
            owner.metrics.deadLettered(output.deadLetters.count)
            try await writes.begin(output, offsets: offsets)
        }

        /// Pauses or resumes the assigned input partitions as ``StreamWorker/pauseFetching(_:)``
        /// last asked.
        mutating func applyFetchPause() async {
            let wanted = owner.fetching.withLock { $0.paused }
            guard wanted != fetchPause else { return }
            if wanted.all && !fetchPause.all { owner.counters.withLock { $0.fetchPauses += 1 } }
            for topic in wanted.topics.subtracting(fetchPause.topics) { owner.counters.withLock { $0.topicPauses[topic, default: 0] += 1 } }
            fetchPause = wanted
            let covered = assigned.filter(wanted.covers)
            await pause(Array(covered.subtracting(pausedHere)))
            await resume(Array(pausedHere.subtracting(covered)))
        }

        mutating func pause(_ partitions: [TopicPartition]) async {
            guard !partitions.isEmpty else { return }
            do {
                try await owner.consumer.pause(partitions)
                pausedHere.formUnion(partitions)
            } catch {
                owner.logger.warning("could not pause fetching", metadata: ["partitions": "\(partitions)", "error": "\(error)"])
            }
        }

        mutating func resume(_ partitions: [TopicPartition]) async {
            guard !partitions.isEmpty else { return }
            do {
                try await owner.consumer.resume(partitions)
            } catch {
                owner.logger.warning("could not resume fetching", metadata: ["partitions": "\(partitions)", "error": "\(error)"])
            }
            pausedHere.subtract(partitions)
        }

        /// Partitions handed over or read again from the committed offset: where their
        /// processing stands is known again from their next record.
        mutating func forgetPositions(_ partitions: some Sequence<TopicPartition>) {
            for partition in partitions {
                next[partition] = nil
                offeredThrough[partition] = nil
            }
        }

        /// Another instance's fence came before this one's writes in `partitions`: their
        /// outputs are withheld from now on, and the processor lets them go.
        mutating func fencedOff(_ partitions: Set<Int32>) {
            let gone = partitions.filter { owned.contains($0) }.sorted()
            guard !gone.isEmpty else { return }
            processor.revoked(gone)
            owned.subtract(gone)
            let leaving = assigned.filter { gone.contains($0.partition) }
            offsets.forget(leaving)
            forgetPositions(leaving)
            for partition in gone { noteFencedOff(partition) }
        }

        /// Counts, logs and schedules the retake of a partition found fenced off.
        mutating func noteFencedOff(_ partition: Int32) {
            retakes[partition] = .now + owner.configuration.retakeDelay
            owner.counters.withLock { $0.fencedOff += 1 }
            owner.logger.warning(
                "\(processor.stateName) of partition \(partition) were taken over by another instance; outputs withheld, partition dropped",
                metadata: ["partition": "\(partition)"]
            )
            scheduleRetake()
        }

        /// Partitions fenced off earlier and still assigned here: read again from the group's
        /// committed offset with a fresh takeover.
        mutating func retake() async throws {
            let now = ContinuousClock.now
            let due = retakes.filter { $0.value <= now }.map(\.key).sorted()
            for partition in due { retakes[partition] = nil }
            defer { scheduleRetake() }
            guard !due.isEmpty else { return }
            let inputs = self.inputs
            let current = try owner.consumer.assignment().filter { inputs.contains($0.topic) }
            let still = due.filter { partition in current.contains { $0.partition == partition } && !owned.contains(partition) }
            guard !still.isEmpty else { return }
            try await writes.drain()
            let topicPartitions = current.filter { still.contains($0.partition) }
            offsets.forget(topicPartitions)
            forgetPositions(topicPartitions)
            let committed = try await owner.consumer.committedOffsets(for: topicPartitions)
            for partition in topicPartitions {
                // -2: librdkafka's "beginning" when the group committed nothing yet.
                try await owner.consumer.seek(partition, to: committed[partition] ?? -2)
            }
            owner.logger.warning(
                "taking fenced-off \(processor.stateName) over again (still assigned here)", metadata: ["partitions": "\(still)"])
            owner.counters.withLock { $0.retaken += still.count }
            try await restore(still)
        }

        mutating func scheduleRetake() {
            retakeTimer?.cancel()
            retakeTimer = nil
            guard let next = retakes.values.min() else { return }
            let inbox = self.inbox
            retakeTimer = Task {
                do { try await Task.sleep(until: next, clock: .continuous) } catch { return }
                if !Task.isCancelled { inbox.yield(.retake) }
            }
        }

        /// Points the timer at the processor's next punctuation.
        mutating func reschedule() {
            let next = processor.nextPunctuation()
            guard next?.due != timerDue?.due else { return }
            timer?.cancel()
            timerDue = next
            guard let next else {
                timer = nil
                return
            }
            let inbox = self.inbox
            timer = Task {
                if next.delay > .zero {
                    do { try await Task.sleep(for: next.delay) } catch { return }
                }
                if !Task.isCancelled { inbox.yield(.tick) }
            }
        }
    }
}

/// How a ``StreamWorker`` runs.
public struct StreamWorkerConfiguration: Sendable {
    /// The worker's name in logs and metrics (`worker` label).
    public var worker: String
    /// The cluster, for reading changelogs back.
    public var client: KafkaClientConfiguration
    /// Where records that cannot be processed go. Default `triage.dead-letter`.
    public var deadLetterTopic: String
    /// Steps whose outputs may be in flight at once before the next step waits. Default 8.
    public var maximumStepsInFlight: Int
    /// Called after each changelog restore with the records read and the seconds it took.
    public var restoreObserver: (@Sendable (_ records: Int, _ seconds: Double) -> Void)?
    /// Fenced changelogs: after another instance fenced this one off a partition that is still
    /// assigned here, how long to wait (for the group to hand it to its real owner) before
    /// taking it over again — a few session timeouts. Default 10 s.
    public var retakeDelay: Duration
    /// Whether records offered by this process (``StreamWorker/offer(_:)``) are taken: the
    /// worker then keeps where each partition's processing stands. Default `false`.
    public var acceptsOffers: Bool
    /// Told of the records of every write phase once the broker stored them (dead letters
    /// aside), with their delivery reports in the same order: how a worker hands what it wrote
    /// to another worker of the process that reads it (``OfferRelay``). Called on the
    /// producer's thread or the writer task; must not block. Default `nil`.
    public var storedObserver: StoredObserver?

    /// See ``storedObserver``.
    public struct StoredObserver: Sendable {
        public let stored: @Sendable (_ records: [KafkaProducerMessage], _ reports: [KafkaDeliveryReport]) -> Void
        public init(_ stored: @escaping @Sendable (_ records: [KafkaProducerMessage], _ reports: [KafkaDeliveryReport]) -> Void) {
            self.stored = stored
        }
    }

    public init(
        worker: String, client: KafkaClientConfiguration, deadLetterTopic: String = TriageTopic.deadLetter, maximumStepsInFlight: Int = 8,
        retakeDelay: Duration = .seconds(10), acceptsOffers: Bool = false, storedObserver: StoredObserver? = nil,
        restoreObserver: (@Sendable (_ records: Int, _ seconds: Double) -> Void)? = nil
    ) {
        self.storedObserver = storedObserver
        self.retakeDelay = retakeDelay
        self.acceptsOffers = acceptsOffers
        self.worker = worker
        self.client = client
        self.deadLetterTopic = deadLetterTopic
        self.maximumStepsInFlight = maximumStepsInFlight
        self.restoreObserver = restoreObserver
    }
}

/// What a ``StreamWorker`` holds and counted.
public struct StreamWorkerStatistics: Sendable, Hashable {
    /// Input partitions (of every input topic) assigned here now.
    public var assignedPartitions = 0
    /// Times another instance's fence was found before this one's writes (or after its own at
    /// a takeover): the partition's withheld outputs dropped, the partition let go.
    public var fencedOff = 0
    /// Partitions taken over again after being fenced off while still assigned here.
    public var retaken = 0
    /// Records offered by this process (``StreamWorker/offer(_:)``) processed before the
    /// consumer delivered them, and offered records left to the consumer.
    public var offeredTaken = 0
    public var offeredPassedOver = 0
    /// Times fetching was paused (``StreamWorker/pauseFetching(_:)``), counted once paused.
    public var fetchPauses = 0
    /// Times fetching of one input topic was paused (``StreamWorker/pauseFetching(_:topic:)``),
    /// by topic, counted once paused.
    public var topicPauses: [String: Int] = [:]
}
