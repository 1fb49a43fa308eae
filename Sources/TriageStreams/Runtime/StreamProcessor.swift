public import Foundation
public import TriageKafka

/// A stateful worker's logic, run by ``StreamWorker``: what it does with its partitions' state,
/// with each batch of input records, and when its timer fires. Everything else — the consumer
/// loop, the revocation handshake, restoring state from the changelog before a partition's
/// first record, dead letters, writing outputs in order, storing offsets once they are
/// acknowledged, health and metrics — is the runtime's.
///
/// The runtime calls a processor from one task only (a single writer), so its state needs no
/// locks. Its methods are synchronous: a step decides, the runtime writes. Outputs go into a
/// ``StreamOutput`` in ordered write phases.
///
/// A complete example, a key counter with a changelog and two write phases, is in
/// `docs/architecture.md` ("The worker runtime"); `StreamWorkerTests` runs it.
public protocol StreamProcessor: Sendable {
    /// The state of one input partition, restored from ``changelog``.
    associatedtype PartitionState: ChangelogState

    /// The topic consumed; records and assignments of other topics are not this processor's.
    var input: String { get }
    /// Further topics consumed, co-partitioned with ``input`` (a retry topic); default none.
    /// Partition *n* of any input shares the state of partition *n*.
    var additionalInputs: [String] { get }
    /// The compacted topic (co-partitioned with ``input``) each partition's state is restored
    /// from when the partition is assigned; `nil`: every partition starts with an empty state.
    var changelog: Changelog<PartitionState>? { get }
    /// What the state is called in logs and `/readyz` ("SLA state", "routing index").
    var stateName: String { get }

    /// Newly assigned partitions, their state restored (read to the end of the changelog).
    /// Outputs written here (timers that fell due while nobody owned the partition) have no
    /// input offsets.
    mutating func assigned(_ states: [Int32: PartitionState], output: inout StreamOutput) throws
    /// Partitions taken away (revoked or lost). Every output written so far was acknowledged
    /// and its offsets stored before this is called.
    mutating func revoked(_ partitions: [Int32])
    /// Input partitions about to be handed over (or the worker stopping): work the processor
    /// started on their records (``StreamOutput/completeLater(_:)``) must be finished or let go
    /// before this returns, so what finished is committed with the hand-over. Default: nothing.
    mutating func stop(_ partitions: [TopicPartition]) async
    /// A batch of records of owned partitions, in offset order per partition. Their offsets are
    /// stored once every output written here is acknowledged.
    mutating func process(_ records: [KafkaMessage], output: inout StreamOutput) throws
    /// When ``punctuate(output:)`` should run next; `nil`: no timer. Asked after every step.
    mutating func nextPunctuation() -> Punctuation?
    /// The timer fired (punctuation): outputs without input offsets.
    mutating func punctuate(output: inout StreamOutput) throws

    /// A value of the topic every instance reads whole beside its input; `Never`: none.
    associatedtype GlobalValue: Sendable = Never
    /// The topic every instance reads whole (Kafka Streams' global table: a roster of agents),
    /// read with the worker's `globalConsumer`; `nil` (the default): none.
    var global: GlobalTopic<GlobalValue>? { get }
    /// Values of the global topic in offset order per partition: at start its whole content,
    /// before any partition is restored (outputs written then are written before the first
    /// restore), then each batch as it arrives. Each record comes once, even when the global
    /// consumer (a group of its own that commits nothing) reads the topic again after a rebalance.
    mutating func update(global values: [GlobalValue], output: inout StreamOutput) throws
}

extension StreamProcessor {
    public var additionalInputs: [String] { [] }
    public mutating func stop(_ partitions: [TopicPartition]) async {}
    public mutating func nextPunctuation() -> Punctuation? { nil }
    public mutating func punctuate(output: inout StreamOutput) throws {}
}

extension StreamProcessor where GlobalValue == Never {
    public var global: GlobalTopic<Never>? { nil }
    public mutating func update(global values: [Never], output: inout StreamOutput) throws {}
}

/// A topic every instance of a worker reads whole, and how its records are read.
public struct GlobalTopic<Value: Sendable>: Sendable {
    public var topic: String
    /// A record's value from its key and value; `nil`: the record is skipped (a tombstone, or
    /// not for this worker). A processor that wants to say why a record is refused decodes to a
    /// `Result` and reports it in ``StreamProcessor/update(global:output:)``.
    public var decode: @Sendable (_ key: UnsafeRawBufferPointer?, _ value: UnsafeRawBufferPointer) -> Value?

    public init(topic: String, decode: @escaping @Sendable (_ key: UnsafeRawBufferPointer?, _ value: UnsafeRawBufferPointer) -> Value?) {
        self.topic = topic
        self.decode = decode
    }
}

/// When a processor's timer should fire: `due` identifies the instant (the timer is set again
/// only when it changes), `delay` is how long to sleep for it from now (on a scaled clock the
/// two differ).
public struct Punctuation: Sendable, Hashable {
    public var due: Date
    public var delay: Duration

    public init(due: Date, delay: Duration) {
        self.due = due
        self.delay = delay
    }

    /// A wall-clock instant.
    public init(at due: Date) {
        self.due = due
        let seconds = max(0, due.timeIntervalSinceNow)
        self.delay = .milliseconds(Int64((seconds * 1000).rounded(.up)))
    }
}

/// What one step writes, in ordered phases: every record of a phase is acknowledged before any
/// record of the next phase is produced, and the input offsets are stored only after the last
/// phase is acknowledged. Phases are how a worker keeps its state from getting ahead of its
/// outputs: the events first, then the changelog record saying they were published.
///
/// Phases of successive steps keep step order (phase *n* of a step is produced after phase *n*
/// of every earlier step), so a later snapshot of a key never lands before an earlier one.
public struct StreamOutput: Sendable {
    /// Records by phase (index 0 first).
    public private(set) var phases: [[KafkaProducerMessage]] = []
    /// Per record of ``phases``, the input partition it was written on behalf of (see
    /// ``write(_:phase:on:)``).
    private(set) var owners: [[Int32?]] = []
    /// Input records that could not be processed, with why (written to the dead-letter topic
    /// in the first phase).
    public private(set) var deadLetters: [(message: KafkaMessage, reason: PoisonReason)] = []
    /// Called once every phase was acknowledged, in step order (statistics, callbacks).
    public private(set) var afterDelivery: [@Sendable () -> Void] = []
    /// Where records finished later are registered (set by the runtime).
    let offsets: OffsetTracker?
    /// Records of later phases built from where the first phase's records were stored.
    public private(set) var derived: [(phase: Int, build: @Sendable ([KafkaDeliveryReport]) throws -> [KafkaProducerMessage])] = []

    public init() { offsets = nil }

    init(offsets: OffsetTracker) { self.offsets = offsets }

    /// Adds `record` to `phase` (0 is written first).
    ///
    /// `partition`: the input partition the record is written on behalf of. With a fenced
    /// changelog (``ChangelogFencing``) such a record is not produced once another instance's
    /// fence is found in that partition of the changelog — checked after every phase, so a
    /// decision written in a later phase than its state is published only if the state was
    /// written by the partition's current owner.
    public mutating func write(_ record: KafkaProducerMessage, phase: Int = 0, on partition: Int32? = nil) {
        precondition(phase >= 0, "write phases start at 0")
        grow(to: phase)
        phases[phase].append(record)
        owners[phase].append(partition)
    }

    public mutating func write(contentsOf records: some Sequence<KafkaProducerMessage>, phase: Int = 0, on partition: Int32? = nil) {
        for record in records { write(record, phase: phase, on: partition) }
    }

    private mutating func grow(to phase: Int) {
        while phases.count <= phase {
            phases.append([])
            owners.append([])
        }
    }

    /// Adds to `phase` (1 or later) the records `build` makes, once the step's phase-0 records
    /// are stored, from their delivery reports (one per phase-0 record, in the order written):
    /// for an answer that says where the events it announces landed. A throw stops the worker
    /// like a failed delivery.
    public mutating func write(
        phase: Int, fromFirstPhase build: @escaping @Sendable (_ stored: [KafkaDeliveryReport]) throws -> [KafkaProducerMessage]
    ) {
        precondition(phase >= 1, "records built from the first phase's reports go in a later phase")
        grow(to: phase)
        derived.append((phase, build))
    }

    /// `message` goes to the dead-letter topic with `reason`; processing goes on.
    public mutating func deadLetter(_ message: KafkaMessage, reason: PoisonReason) {
        deadLetters.append((message, reason))
    }

    /// `message` (an input record of this step) is finished later, by work the processor
    /// started (a delivery): its offset, and every later one of its partition, is stored only
    /// once the returned completion is called (see ``StreamProcessor/stop(_:)``).
    public mutating func completeLater(_ message: KafkaMessage) -> RecordCompletion {
        offsets?.defer(message)
        return RecordCompletion(offsets: offsets, message: message)
    }

    /// Runs `action` once this step's outputs are all acknowledged.
    public mutating func whenDelivered(_ action: @escaping @Sendable () -> Void) {
        afterDelivery.append(action)
    }

    public var recordCount: Int { phases.reduce(0) { $0 + $1.count } }
    public var isEmpty: Bool { recordCount == 0 && deadLetters.isEmpty && afterDelivery.isEmpty && derived.isEmpty }
}

/// Finishes an input record whose handling went on after its step (``StreamOutput/completeLater(_:)``).
public struct RecordCompletion: Sendable {
    let offsets: OffsetTracker?
    let message: KafkaMessage

    /// The record is done with: its offset may be stored once every earlier record of its partition is.
    public func callAsFunction() { offsets?.done(message) }
}
