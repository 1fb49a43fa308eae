import Foundation
public import Logging
public import ServiceLifecycle
public import TriageKafka
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
/// - **Health and metrics** (`triage_events_processed_total`, `triage_processing_seconds`,
///   `triage_dead_lettered_total` by worker) from one place.
///
/// Any failure (a delivery, a changelog that cannot be read) ends `run()` with the error: the
/// service group stops, and a restart reads again from the committed offsets.
///
/// In a `ServiceGroup`: producer, worker, consumer (shutdown runs in reverse: the consumer
/// stops fetching first, the worker finishes and drains its writes, the producer flushes last).
public final class StreamWorker<Processor: StreamProcessor>: Service, Sendable {
    public let configuration: StreamWorkerConfiguration
    public let health: WorkerHealth
    public let metrics: WorkerMetrics
    private let processor: Processor
    private let consumer: KafkaConsumer
    private let producer: KafkaProducer
    private let logger: Logger

    public init(
        processor: Processor, consumer: KafkaConsumer, producer: KafkaProducer, configuration: StreamWorkerConfiguration,
        health: WorkerHealth = .init(), logger: Logger
    ) {
        self.processor = processor
        self.consumer = consumer
        self.producer = producer
        self.configuration = configuration
        self.health = health
        self.metrics = WorkerMetrics(worker: configuration.worker)
        self.logger = logger
    }

    private enum Input: Sendable {
        case kafka(KafkaConsumerEvent, CheckedContinuation<Void, Never>)
        case tick
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
        let writes = OrderedWrites(
            producer: producer, consumer: consumer, deadLetterTopic: configuration.deadLetterTopic, worker: configuration.worker,
            maximumInFlight: configuration.maximumStepsInFlight
        )
        let writer = Task { await writes.run() }
        var loop = Loop(owner: self, processor: processor, writes: writes, inbox: inbox)
        health.markRunning(true, status: "running")
        var failure: (any Error)?
        for await input in mailbox {
            do {
                switch input {
                case .kafka(let event, let handled):
                    defer { handled.resume() }
                    try await loop.handle(event)
                case .tick:
                    loop.timerDue = nil
                    var output = StreamOutput()
                    try loop.processor.punctuate(output: &output)
                    try await loop.write(output, offsets: [])
                case .failed(let error):
                    throw error
                }
            } catch {
                failure = error
                break
            }
            loop.reschedule()
        }
        loop.timer?.cancel()
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
        let inbox: AsyncStream<Input>.Continuation
        var owned: Set<Int32> = []
        var timer: Task<Void, Never>?
        var timerDue: Punctuation?

        init(owner: StreamWorker, processor: Processor, writes: OrderedWrites, inbox: AsyncStream<Input>.Continuation) {
            self.owner = owner
            self.processor = processor
            self.writes = writes
            self.inbox = inbox
        }

        mutating func handle(_ event: KafkaConsumerEvent) async throws {
            let input = processor.input
            switch event {
            case .partitionsAssigned(let partitions):
                let fresh = partitions.filter { $0.topic == input && !owned.contains($0.partition) }.map(\.partition).sorted()
                if !fresh.isEmpty { try await restore(fresh) }
                owner.health.markAssigned()
            case .partitionsRevoked(let partitions), .partitionsLost(let partitions):
                let gone = partitions.filter { $0.topic == input && owned.contains($0.partition) }.map(\.partition).sorted()
                guard !gone.isEmpty else { return }
                // Outputs in flight are acknowledged and their offsets stored before the
                // partitions go (a revocation commits them; a lost partition's are ignored).
                try await writes.drain()
                processor.revoked(gone)
                owned.subtract(gone)
                owner.logger.info("\(processor.stateName) handed over", metadata: ["partitions": "\(gone)"])
            case .messages(let batch):
                try writes.check()
                let started = ContinuousClock.now
                let records = batch.filter { $0.topic == input && owned.contains($0.partition) }
                var output = StreamOutput()
                if !records.isEmpty { try processor.process(records, output: &output) }
                try await write(output, offsets: records)
                owner.metrics.processed(batch.count, since: started)
            }
        }

        mutating func restore(_ partitions: [Int32]) async throws {
            var states: [Int32: Processor.PartitionState] = [:]
            if let changelog = processor.changelog {
                owner.health.beginRestore("\(processor.stateName) \(partitions)")
                defer { owner.health.endRestore(status: "running") }
                let (restored, summary) = try await changelog.restore(
                    partitions, client: owner.configuration.client, worker: owner.configuration.worker, logger: owner.logger
                )
                states = restored
                owner.logger.info(
                    "\(processor.stateName) restored",
                    metadata: [
                        "partitions": "\(partitions)", "records": "\(summary.records)", "unreadable": "\(summary.unreadable)",
                        "seconds": "\(String(format: "%.2f", summary.seconds))",
                    ]
                )
                owner.configuration.restoreObserver?(summary.records, summary.seconds)
            } else {
                for partition in partitions { states[partition] = Processor.PartitionState() }
            }
            owned.formUnion(partitions)
            var output = StreamOutput()
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

    public init(
        worker: String, client: KafkaClientConfiguration, deadLetterTopic: String = TriageTopic.deadLetter, maximumStepsInFlight: Int = 8,
        restoreObserver: (@Sendable (_ records: Int, _ seconds: Double) -> Void)? = nil
    ) {
        self.worker = worker
        self.client = client
        self.deadLetterTopic = deadLetterTopic
        self.maximumStepsInFlight = maximumStepsInFlight
        self.restoreObserver = restoreObserver
    }
}
