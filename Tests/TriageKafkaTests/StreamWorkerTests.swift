import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing
import TriageKafka
import TriageKafkaTesting
import TriageSchema
import TriageStreams

/// Counts records per key: the state a changelog restores, an echo of every record first and the
/// new count once the echo is stored (two write phases), a tick on its timer when asked to.
/// The worker of `docs/architecture.md`'s example, with test hooks.
struct KeyCounter: StreamProcessor {
    struct Counts: ChangelogState {
        var values: [String: Int] = [:]
        mutating func restore(_ value: Int, key: String) { values[key] = value }
        mutating func forget(key: String) { values[key] = nil }
    }

    let input: String
    let stateName = "key counts"
    let changelog: Changelog<Counts>?
    let echoes: String
    var counts: [Int32: Counts] = [:]
    /// Seen by the test: the batches processed, the states handed in.
    let seen: SeenByCounter
    var tickAt: Date?

    init(
        input: String, changelog: String, echoes: String, unreadable: UnreadableRecordPolicy = .skip, tickAt: Date? = nil,
        seen: SeenByCounter
    ) {
        self.input = input
        self.echoes = echoes
        self.seen = seen
        self.tickAt = tickAt
        self.changelog = Changelog(topic: changelog, unreadable: unreadable) { bytes in
            guard let count = Int(String(decoding: bytes, as: UTF8.self)) else { throw PoisonReason("not a number") }
            return count
        }
    }

    mutating func assigned(_ states: [Int32: Counts], output: inout StreamOutput) throws {
        counts.merge(states) { _, restored in restored }
        seen.restored.withLock { $0.merge(states.mapValues(\.values)) { _, new in new } }
    }

    mutating func revoked(_ partitions: [Int32]) {
        for partition in partitions { counts[partition] = nil }
    }

    mutating func process(_ records: [KafkaMessage], output: inout StreamOutput) throws {
        var counted = 0
        for record in records {
            guard let key = record.keyString, record.value != nil else {
                output.deadLetter(record, reason: PoisonReason("a record needs a key and a value"))
                continue
            }
            counted += 1
            let count = counts[record.partition]!.values[key, default: 0] + 1
            counts[record.partition]!.values[key] = count
            output.write(KafkaProducerMessage(topic: echoes, key: record.key, value: record.value, partition: record.partition), phase: 0)
            output.write(
                KafkaProducerMessage(
                    topic: changelog!.topic, key: record.key, value: Array(String(count).utf8), partition: record.partition), phase: 1
            )
        }
        let seen = self.seen
        output.whenDelivered { [counted] in seen.delivered.add(counted, ordering: .relaxed) }
    }

    mutating func nextPunctuation() -> Punctuation? { tickAt.map { Punctuation(at: $0) } }

    mutating func punctuate(output: inout StreamOutput) throws {
        tickAt = nil
        output.write(KafkaProducerMessage(topic: echoes, key: Array("tick".utf8), value: Array("tick".utf8), partition: 0))
    }
}

final class SeenByCounter: Sendable {
    let restored = Mutex<[Int32: [String: Int]]>([:])
    let delivered = Atomic<Int>(0)
}

@Suite("Stream worker runtime: restore, phases, offsets, dead letters, punctuation")
struct StreamWorkerTests {
    struct Fixture {
        let cluster: KafkaTestCluster
        let input: String
        let changelog: String
        let echoes: String
        let deadLetter: String
        let producer: KafkaProducer

        init(brokers: Int = 1) throws {
            cluster = try KafkaTestCluster(brokers: brokers)
            input = try cluster.makeTopic("input", partitions: 2)
            changelog = try cluster.makeTopic("counts", partitions: 2)
            echoes = try cluster.makeTopic("echoes", partitions: 2)
            deadLetter = try cluster.makeTopic("dead-letter", partitions: 1)
            producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        }

        /// A worker recording what it reads of `input` in the group `group` (in `box`), and its consumer.
        fileprivate func recorder(
            group: String, instanceID: String? = nil
        ) throws -> (worker: StreamWorker<Recorder>, consumer: KafkaConsumer, box: Recorder.Box) {
            var configuration = cluster.consumerConfiguration(group: group, topics: [input])
            configuration.groupInstanceID = instanceID
            let consumer = try KafkaConsumer(configuration: configuration, logger: cluster.logger)
            let box = Recorder.Box()
            let worker = StreamWorker(
                processor: Recorder(input: input, box: box), consumer: consumer, producer: producer,
                configuration: StreamWorkerConfiguration(worker: "recorder", client: cluster.embedded.clientConfiguration),
                logger: cluster.logger)
            return (worker, consumer, box)
        }

        func send(_ topic: String, _ key: String, _ value: String?, partition: Int32) async throws {
            _ = try await producer.send(
                KafkaProducerMessage(topic: topic, key: Array(key.utf8), value: value.map { Array($0.utf8) }, partition: partition))
        }

        func worker(_ counter: KeyCounter, group: String) throws -> (StreamWorker<KeyCounter>, KafkaConsumer) {
            let consumer = try KafkaConsumer(
                configuration: cluster.consumerConfiguration(group: group, topics: [input]), logger: cluster.logger)
            let worker = StreamWorker(
                processor: counter, consumer: consumer, producer: producer,
                configuration: StreamWorkerConfiguration(
                    worker: "key-counter", client: cluster.embedded.clientConfiguration, deadLetterTopic: deadLetter),
                logger: cluster.logger
            )
            return (worker, consumer)
        }

        /// The latest value per key of `topic`.
        func latest(_ topic: String) async throws -> [String: String?] {
            let read = Mutex<[String: String?]>([:])
            _ = try await KafkaPartitionReader.readToEnd(
                topic: topic, partitions: [0, 1], client: cluster.embedded.clientConfiguration, logger: cluster.logger
            ) {
                record in
                guard let key = record.key else { return }
                let value = record.value.map { String(decoding: $0, as: UTF8.self) }
                read.withLock { $0[String(decoding: key, as: UTF8.self)] = value }
            }
            return read.withLock { $0 }
        }
    }

    @Test func stateIsRestoredBeforeTheFirstRecordAndUnreadableChangelogRecordsAreSkipped() async throws {
        let fixture = try Fixture()
        // The changelog as a previous owner left it: a=5; b unreadable; c=3 then deleted.
        try await fixture.send(fixture.changelog, "a", "5", partition: 0)
        try await fixture.send(fixture.changelog, "b", "five", partition: 0)
        try await fixture.send(fixture.changelog, "c", "3", partition: 1)
        try await fixture.send(fixture.changelog, "c", nil, partition: 1)
        for (key, partition) in [("a", Int32(0)), ("b", 0), ("c", 1), ("a", 0)] {
            try await fixture.send(fixture.input, key, "x", partition: partition)
        }
        // A record without a value is poison: dead-lettered with the reason, the rest goes on.
        try await fixture.send(fixture.input, "poison", nil, partition: 1)

        let seen = SeenByCounter()
        let groupID = uniqueName("counter")
        let (worker, consumer) = try fixture.worker(
            KeyCounter(input: fixture.input, changelog: fixture.changelog, echoes: fixture.echoes, seen: seen), group: groupID
        )
        let group = ServiceGroup(configuration: .init(services: [worker, consumer], logger: fixture.cluster.logger))
        let running = Task { try await group.run() }
        try await eventually("four records counted and stored", timeout: .seconds(90)) { seen.delivered.load(ordering: .relaxed) == 4 }
        #expect(seen.restored.withLock { $0 } == [0: ["a": 5], 1: [:]], "b unreadable (skipped), c deleted by its tombstone")
        let counts = try await fixture.latest(fixture.changelog)
        #expect(counts["a"] == "7")
        #expect(counts["b"] == "1", "an unreadable state counts from zero again")
        #expect(counts["c"] == "1")
        let dead = try await KafkaConsumer(
            configuration: fixture.cluster.consumerConfiguration(group: uniqueName("inspect"), topics: [fixture.deadLetter]),
            logger: fixture.cluster.logger
        ).collect(1)
        #expect(dead.first?.header(TriageHeader.deadLetterReason)?.stringValue == "a record needs a key and a value")
        #expect(dead.first?.header(TriageHeader.deadLetterOffset)?.stringValue == "1")

        await group.triggerGracefulShutdown()
        try await running.value
        // Every record, poison included, is committed: 3 on partition 0, 2 on partition 1.
        let probe = try KafkaConsumer(
            configuration: fixture.cluster.consumerConfiguration(group: groupID, topics: [fixture.input]), logger: fixture.cluster.logger)
        let committed = try await probe.committedOffsets(for: [TopicPartition(fixture.input, 0), TopicPartition(fixture.input, 1)])
        #expect(committed[TopicPartition(fixture.input, 0)] == 3)
        #expect(committed[TopicPartition(fixture.input, 1)] == 2, "the poison record does not hold the partition back")
        await probe.close()
    }

    @Test func anUnreadableChangelogRecordStopsTheWorkerWhenThePolicySaysFail() async throws {
        let fixture = try Fixture()
        try await fixture.send(fixture.changelog, "a", "5", partition: 0)
        try await fixture.send(fixture.changelog, "b", "five", partition: 1)
        try await fixture.send(fixture.input, "a", "x", partition: 0)
        let seen = SeenByCounter()
        let (worker, consumer) = try fixture.worker(
            KeyCounter(input: fixture.input, changelog: fixture.changelog, echoes: fixture.echoes, unreadable: .fail, seen: seen),
            group: uniqueName("counter")
        )
        let group = ServiceGroup(configuration: .init(services: [worker, consumer], logger: fixture.cluster.logger))
        do {
            try await withDeadline(.seconds(90)) { try await group.run() }
            Issue.record("the worker must stop on an unreadable changelog record")
        } catch let read as ChangelogReadError {
            #expect(read.topic == fixture.changelog && read.partition == 1 && read.offset == 0 && read.key == "b")
            #expect(read.description.contains("not a number"), "\(read)")
        }
        #expect(seen.delivered.load(ordering: .relaxed) == 0, "nothing is processed on a state that could not be read")
    }

    @Test func laterPhasesFollowEarlierOnesInStepOrderAndOffsetsFollowBoth() async throws {
        let fixture = try Fixture()
        let keys = 40
        let rounds = 25
        let seen = SeenByCounter()
        let group = uniqueName("counter")
        let (worker, consumer) = try fixture.worker(
            KeyCounter(input: fixture.input, changelog: fixture.changelog, echoes: fixture.echoes, seen: seen), group: group
        )
        let services = ServiceGroup(configuration: .init(services: [worker, consumer], logger: fixture.cluster.logger))
        let running = Task { try await services.run() }
        // Many small steps in flight at once.
        for round in 0..<rounds {
            for key in 0..<keys { try await fixture.send(fixture.input, "k\(key)", "r\(round)", partition: Int32(key % 2)) }
        }
        try await eventually("every record counted", timeout: .seconds(120)) { seen.delivered.load(ordering: .relaxed) == keys * rounds }
        // Every count record of a key is one more than the one before it (a later step's state
        // never landed before an earlier one's), and the last is the number of rounds.
        let sequences = Mutex<[String: [Int]]>([:])
        _ = try await KafkaPartitionReader.readToEnd(
            topic: fixture.changelog, partitions: [0, 1], client: fixture.cluster.embedded.clientConfiguration,
            logger: fixture.cluster.logger
        ) { record in
            let key = String(decoding: record.key!, as: UTF8.self)
            let count = Int(String(decoding: record.value!, as: UTF8.self))!
            sequences.withLock { $0[key, default: []].append(count) }
        }
        let written = sequences.withLock { $0 }
        #expect(written.count == keys)
        #expect(
            written.values.allSatisfy { $0 == Array(1...rounds) },
            "\(written.first { $0.value != Array(1...rounds) }.map { "\($0)" } ?? "")")
        let echoes = try await fixture.latest(fixture.echoes)
        #expect(echoes.count == keys, "every echo (the first phase) was written")
        await services.triggerGracefulShutdown()
        try await running.value
        let probe = try KafkaConsumer(
            configuration: fixture.cluster.consumerConfiguration(group: group, topics: [fixture.input]), logger: fixture.cluster.logger)
        let committed = try await probe.committedOffsets(for: [TopicPartition(fixture.input, 0), TopicPartition(fixture.input, 1)])
        #expect(committed[TopicPartition(fixture.input, 0)] == Int64(keys / 2 * rounds))
        #expect(committed[TopicPartition(fixture.input, 1)] == Int64(keys / 2 * rounds))
        await probe.close()
    }

    /// A step's later phase goes to the producer as soon as its own first phase is stored, not
    /// once an earlier step's later phase is acknowledged: with the changelog's broker answering
    /// 3 s late, the count of a record sent 0.5 s after another is written about 0.5 s after
    /// that one's, not 3 s (the desks' Assigned events waited like this for the previous step's).
    @Test func aLaterPhaseDoesNotWaitForAnEarlierStepsLaterPhase() async throws {
        let fixture = try Fixture(brokers: 2)
        for topic in [fixture.input, fixture.echoes] {
            for partition: Int32 in [0, 1] {
                try fixture.cluster.embedded.setPartitionLeader(topic: topic, partition: partition, broker: 1)
            }
        }
        try fixture.cluster.embedded.setPartitionLeader(topic: fixture.deadLetter, partition: 0, broker: 1)
        for partition: Int32 in [0, 1] {
            try fixture.cluster.embedded.setPartitionLeader(topic: fixture.changelog, partition: partition, broker: 2)
        }
        // The group's coordinator on the fast broker: on the slow one (picked by the group name's
        // hash) every heartbeat, join and commit of the worker's consumer would take 3 s as well.
        let group = uniqueName("counter")
        try fixture.cluster.embedded.setGroupCoordinator(group, broker: 1)
        let seen = SeenByCounter()
        let (worker, consumer) = try fixture.worker(
            KeyCounter(input: fixture.input, changelog: fixture.changelog, echoes: fixture.echoes, seen: seen), group: group
        )
        let services = ServiceGroup(configuration: .init(services: [worker, consumer], logger: fixture.cluster.logger))
        let running = Task { try await services.run() }
        // Joined, and connected to both brokers, before the changelog's broker slows down.
        try await fixture.send(fixture.input, "warm-up", "x", partition: 0)
        try await eventually("the warm-up record counted", timeout: .seconds(60)) { seen.delivered.load(ordering: .relaxed) == 1 }
        try fixture.cluster.embedded.setRoundTripTime(.seconds(3), broker: 2)
        try await fixture.send(fixture.input, "a", "x", partition: 0)
        try await Task.sleep(for: .milliseconds(500))
        try await fixture.send(fixture.input, "b", "x", partition: 0)
        try await eventually("both records counted", timeout: .seconds(60)) { seen.delivered.load(ordering: .relaxed) == 3 }
        try fixture.cluster.embedded.setRoundTripTime(.zero, broker: 2)
        /// When each key's record was handed to the producer (CreateTime), per topic.
        func written(_ topic: String) async throws -> [String: Date] {
            let written = Mutex<[String: Date]>([:])
            _ = try await KafkaPartitionReader.readToEnd(
                topic: topic, partitions: [0, 1], client: fixture.cluster.embedded.clientConfiguration, logger: fixture.cluster.logger
            ) { record in
                guard let key = record.key, let timestamp = record.timestamp else { return }
                written.withLock { $0[String(decoding: key, as: UTF8.self)] = timestamp }
            }
            return written.withLock { $0 }
        }
        let counts = try await written(fixture.changelog)
        let echoes = try await written(fixture.echoes)
        let a = try #require(counts["a"])
        let b = try #require(counts["b"])
        let bEcho = try #require(echoes["b"])
        #expect(b > a, "b's count is written after a's")
        // b's count goes as soon as b's echo (its first phase) is stored, on the fast broker:
        // waiting for a's count (3 s to acknowledge) put it about 2.5 s after b's echo. (Measured
        // from b's own echo, a busy machine that is late to process b does not count.)
        #expect(b.timeIntervalSince(bEcho) < 1.5, "b's count waited \(b.timeIntervalSince(bEcho)) s after b's echo")
        await services.triggerGracefulShutdown()
        try await running.value
    }

    @Test func thePunctuationFiresWithoutInput() async throws {
        let fixture = try Fixture()
        let seen = SeenByCounter()
        let (worker, consumer) = try fixture.worker(
            KeyCounter(
                input: fixture.input, changelog: fixture.changelog, echoes: fixture.echoes, tickAt: Date().addingTimeInterval(0.5),
                seen: seen
            ),
            group: uniqueName("counter")
        )
        let group = ServiceGroup(configuration: .init(services: [worker, consumer], logger: fixture.cluster.logger))
        let running = Task { try await group.run() }
        try await eventually("the tick was written", timeout: .seconds(90)) { try await fixture.latest(fixture.echoes)["tick"] == "tick" }
        await group.triggerGracefulShutdown()
        try await running.value
    }

    /// Records built from the first phase's delivery reports (the ledger's answers name where
    /// the events they announce were stored) land in their phase, pointing at the right records.
    @Test func laterRecordsCanSayWhereTheFirstPhaseWasStored() async throws {
        let fixture = try Fixture()
        let answers = try fixture.cluster.makeTopic("answers", partitions: 1)
        for index in 0..<30 { try await fixture.send(fixture.input, "k\(index)", "v\(index)", partition: Int32(index % 2)) }
        let consumer = try KafkaConsumer(
            configuration: fixture.cluster.consumerConfiguration(group: uniqueName("announcer"), topics: [fixture.input]),
            logger: fixture.cluster.logger
        )
        let worker = StreamWorker(
            processor: Announcer(input: fixture.input, echoes: fixture.echoes, answers: answers), consumer: consumer,
            producer: fixture.producer,
            configuration: StreamWorkerConfiguration(worker: "announcer", client: fixture.cluster.embedded.clientConfiguration),
            logger: fixture.cluster.logger
        )
        let group = ServiceGroup(configuration: .init(services: [worker, consumer], logger: fixture.cluster.logger))
        let running = Task { try await group.run() }
        let inspector = try KafkaConsumer(
            configuration: fixture.cluster.consumerConfiguration(group: uniqueName("inspect"), topics: [fixture.echoes, answers]),
            logger: fixture.cluster.logger
        )
        let read = try await withDeadline(.seconds(120)) { try await inspector.collect(60) }
        await group.triggerGracefulShutdown()
        try await running.value
        await inspector.close()
        let echoes = Dictionary(
            uniqueKeysWithValues: read.filter { $0.topic == fixture.echoes }.map { ("\($0.partition):\($0.offset)", $0.keyString ?? "") }
        )
        let said = read.filter { $0.topic == answers }.map {
            ($0.keyString ?? "", $0.value.map { String(decoding: $0, as: UTF8.self) } ?? "")
        }
        #expect(echoes.count == 30)
        #expect(said.count == 30)
        for (key, position) in said { #expect(echoes[position] == key, "the answer of \(key) names \(position)") }
    }

    /// A record finished later (a delivery task of its own) holds back its partition's offset
    /// until it is done, however many later records finished first; a revocation lets the
    /// processor stop that work first.
    @Test func recordsFinishedLaterHoldTheirPartitionsOffsetsUntilDone() async throws {
        let fixture = try Fixture()
        for index in 0..<10 { try await fixture.send(fixture.input, "k\(index)", "v\(index)", partition: 0) }
        let later = LateFinisher.Box()
        let consumer = try KafkaConsumer(
            configuration: fixture.cluster.consumerConfiguration(group: uniqueName("late"), topics: [fixture.input]),
            logger: fixture.cluster.logger
        )
        let worker = StreamWorker(
            processor: LateFinisher(input: fixture.input, later: later), consumer: consumer, producer: fixture.producer,
            configuration: StreamWorkerConfiguration(worker: "late", client: fixture.cluster.embedded.clientConfiguration),
            logger: fixture.cluster.logger
        )
        let group = ServiceGroup(configuration: .init(services: [worker, consumer], logger: fixture.cluster.logger))
        let running = Task { try await group.run() }
        try await eventually("every record was handed over for later", timeout: .seconds(60)) {
            later.completions.withLock { $0.count } == 10
        }
        let partition = TopicPartition(fixture.input, 0)
        @Sendable func committed() async throws -> Int64 { try await consumer.committedOffsets(for: [partition])[partition] ?? -1 }
        // Every record but the first (offset 0) is done, in reverse order: nothing may be stored.
        for completion in later.completions.withLock({ $0 }).sorted(by: { $0.offset > $1.offset }) where completion.offset > 0 {
            completion.done()
        }
        try await Task.sleep(for: .seconds(1))  // several auto-commit intervals (200 ms)
        #expect(try await committed() < 1, "offset 0 is not done: nothing after it may be committed")
        later.completions.withLock { $0 }.first { $0.offset == 0 }!.done()
        try await eventually("the whole partition is committed once the first record is done", timeout: .seconds(20)) {
            try await committed() == 10
        }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(later.stopped.withLock { $0 }.contains(partition), "the processor was asked to stop its work before the hand-over")
    }
}

extension StreamWorkerTests {
    /// A worker over `fixture.input` whose consumer's empty Fetch is held 6 s by the embedded
    /// broker: a record offered while that Fetch is parked can only be processed as offered.
    private func offerFixture(accepting: Bool = true) throws -> (Fixture, StreamWorker<Recorder>, KafkaConsumer, Recorder.Box) {
        let fixture = try Fixture()
        var configuration = fixture.cluster.consumerConfiguration(group: uniqueName("offers"), topics: [fixture.input])
        configuration.fetchMaximumWait = .seconds(6)
        let consumer = try KafkaConsumer(configuration: configuration, logger: fixture.cluster.logger)
        let box = Recorder.Box()
        let worker = StreamWorker(
            processor: Recorder(input: fixture.input, box: box), consumer: consumer, producer: fixture.producer,
            configuration: StreamWorkerConfiguration(
                worker: "recorder", client: fixture.cluster.embedded.clientConfiguration, acceptsOffers: accepting),
            logger: fixture.cluster.logger
        )
        return (fixture, worker, consumer, box)
    }

    /// Stores `values` in `partition` and returns them as the consumer would read them.
    private func store(_ values: [String], partition: Int32, with fixture: Fixture) async throws -> [KafkaMessage] {
        let messages = values.map {
            KafkaProducerMessage(topic: fixture.input, key: Array("k".utf8), value: Array($0.utf8), partition: partition)
        }
        let reports = try await fixture.producer.sendAll(messages)
        return zip(messages, reports).map { message, report in
            KafkaMessage(
                topic: report.topic, partition: report.partition, offset: report.offset, key: message.key, value: message.value,
                headers: message.headers, timestamp: report.timestamp
            )
        }
    }

    /// Runs the worker, stores "r0" in partition 0 and returns once it was fetched and processed
    /// and the consumer's next Fetch is parked at the broker (held 6 s from about then).
    private func startWithFirstRecordFetched(
        _ fixture: Fixture, _ worker: StreamWorker<Recorder>, _ consumer: KafkaConsumer, _ box: Recorder.Box
    ) async throws -> (ServiceGroup, Task<Void, any Error>) {
        let group = ServiceGroup(configuration: .init(services: [worker, consumer], logger: fixture.cluster.logger))
        let running = Task { try await group.run() }
        _ = try await store(["r0"], partition: 0, with: fixture)
        try await eventually("the first record is fetched", timeout: .seconds(60)) { box.values.withLock { $0.count } == 1 }
        try await Task.sleep(for: .milliseconds(300))
        return (group, running)
    }

    /// A fatal error while fetching is paused (here: the group answers a heartbeat with
    /// FENCED_INSTANCE_ID, another pod took this static member's place) still ends the worker
    /// with that error: a paused worker keeps serving its consumer's queue, where librdkafka
    /// raises a consumer's fatal errors.
    @Test func aFatalErrorWhileFetchingIsPausedEndsTheWorker() async throws {
        let fixture = try Fixture()
        let (worker, consumer, _) = try fixture.recorder(group: uniqueName("paused-fatal"), instanceID: "pod-0")
        let group = ServiceGroup(configuration: .init(services: [worker, consumer], logger: fixture.cluster.logger))
        let running = Task { try await group.run() }
        defer { running.cancel() }
        try await eventually("both partitions assigned", timeout: .seconds(60)) { worker.statistics.assignedPartitions == 2 }
        worker.pauseFetching(true)
        try await eventually("paused", timeout: .seconds(10)) { worker.statistics.fetchPauses == 1 }
        try fixture.cluster.embedded.failNextRequests(.heartbeat, with: Array(repeating: .fencedInstanceID, count: 5))
        let outcome: Result<Void, any Error> = try await withDeadline(.seconds(30)) {
            do {
                try await running.value
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        guard case .failure(let error) = outcome else {
            Issue.record("the paused worker ended without an error")
            return
        }
        #expect("\(error)".contains("FENCED_INSTANCE_ID"), "\(error)")
    }

    /// The broker going away while fetching is paused leaves a worker that still stops when asked:
    /// its graceful stop (finish, commit, leave the group) gives up on the broker in bounded time
    /// instead of waiting for it.
    @Test func aWorkerPausedWhenItsBrokerWentAwayStillStops() async throws {
        let fixture = try Fixture()
        let (worker, consumer, box) = try fixture.recorder(group: uniqueName("paused-gone"))
        let group = ServiceGroup(configuration: .init(services: [worker, consumer], logger: fixture.cluster.logger))
        let running = Task { try await group.run() }
        let ended = Atomic(false)
        Task {
            _ = try? await running.value
            ended.store(true, ordering: .relaxed)
        }
        try await eventually("both partitions assigned", timeout: .seconds(60)) { worker.statistics.assignedPartitions == 2 }
        _ = try await store(["a0"], partition: 0, with: fixture)
        try await eventually("processed", timeout: .seconds(30)) { box.values.withLock { $0.count } == 1 }
        worker.pauseFetching(true)
        try await eventually("paused", timeout: .seconds(10)) { worker.statistics.fetchPauses == 1 }
        try fixture.cluster.embedded.setBrokerDown(1)
        try await Task.sleep(for: .seconds(1))
        let asked = ContinuousClock.now
        await group.triggerGracefulShutdown()
        // Not a speed check: a stop that waits for the broker never ends.
        try await eventually("the worker stopped", timeout: .seconds(120)) { ended.load(ordering: .relaxed) }
        print("paused worker without its broker stopped \(ContinuousClock.now - asked) after it was asked")
    }

    /// Paused fetching holds every input partition, also one that goes to another member and
    /// comes back during the pause (librdkafka keeps a partition's pause across a revocation, so
    /// the worker lifts its own pause before a partition goes, and pauses it again if it comes
    /// back); after the pause every record is processed, once.
    @Test func pausedFetchingHoldsPartitionsThatGoAndComeBack() async throws {
        let fixture = try Fixture()
        let group = uniqueName("pause")
        func recorder() throws -> (StreamWorker<Recorder>, KafkaConsumer, Recorder.Box) { try fixture.recorder(group: group) }
        let (first, firstConsumer, firstBox) = try recorder()
        let firstGroup = ServiceGroup(configuration: .init(services: [first, firstConsumer], logger: fixture.cluster.logger))
        let firstRunning = Task { try await firstGroup.run() }
        try await eventually("both partitions assigned", timeout: .seconds(60)) { first.statistics.assignedPartitions == 2 }
        _ = try await store(["a0"], partition: 0, with: fixture)
        _ = try await store(["a1"], partition: 1, with: fixture)
        try await eventually("fetched", timeout: .seconds(30)) { firstBox.values.withLock { $0.count } == 2 }

        first.pauseFetching(true)
        try await eventually("paused", timeout: .seconds(10)) { first.statistics.fetchPauses == 1 }
        try await Task.sleep(for: .milliseconds(500))
        _ = try await store(["b0"], partition: 0, with: fixture)
        _ = try await store(["b1"], partition: 1, with: fixture)
        try await Task.sleep(for: .seconds(1))
        #expect(firstBox.values.withLock { $0.count } == 2, "a paused worker fetched")

        // A second member takes one partition, then leaves: it comes back during the pause.
        let (second, secondConsumer, secondBox) = try recorder()
        let secondGroup = ServiceGroup(configuration: .init(services: [second, secondConsumer], logger: fixture.cluster.logger))
        let secondRunning = Task { try await secondGroup.run() }
        try await eventually("the partitions shared", timeout: .seconds(60)) {
            second.statistics.assignedPartitions == 1 && first.statistics.assignedPartitions == 1
        }
        try await eventually("the second member read its partition's new record", timeout: .seconds(30)) {
            secondBox.values.withLock { $0.count } == 1
        }
        // Fetching goes on while the second member still holds its partition; then that one
        // comes back. Paused when it left, it must fetch here now.
        first.pauseFetching(false)
        try await eventually("the first member read its partition's new record", timeout: .seconds(30)) {
            firstBox.values.withLock { $0.count } == 3
        }
        await secondGroup.triggerGracefulShutdown()
        try await secondRunning.value
        try await eventually("both partitions back", timeout: .seconds(60)) { first.statistics.assignedPartitions == 2 }
        _ = try await store(["c0"], partition: 0, with: fixture)
        _ = try await store(["c1"], partition: 1, with: fixture)
        let secondSaw = secondBox.values.withLock { $0.map(\.value) }
        try await eventually("every record processed", timeout: .seconds(30)) {
            Set(firstBox.values.withLock { $0.map(\.value) } + secondSaw) == ["a0", "a1", "b0", "b1", "c0", "c1"]
        }
        try await Task.sleep(for: .seconds(1))
        let all = firstBox.values.withLock { $0.map(\.value) } + secondSaw
        // A partition that changed hands is read from its committed offset: a record may be
        // processed by both members (at least once); none by one member twice.
        #expect(firstBox.values.withLock { Set($0.map(\.value)).count == $0.count }, "\(all)")
        await firstGroup.triggerGracefulShutdown()
        try await firstRunning.value
    }

    /// Records stored by this process and offered right after are processed at once when they
    /// continue their partition, and once only: the consumer's copies are skipped; the offsets
    /// are committed as for fetched records.
    @Test func offeredRecordsThatContinueTheirPartitionAreProcessedOnceWithoutTheFetch() async throws {
        let (fixture, worker, consumer, box) = try offerFixture()
        let (group, running) = try await startWithFirstRecordFetched(fixture, worker, consumer, box)
        let offered = try await store(["r1", "r2", "r3", "r4", "r5"], partition: 0, with: fixture)
        worker.offer(offered)
        try await eventually("the offered records are processed", timeout: .seconds(20)) { box.values.withLock { $0.count } == 6 }
        #expect(worker.statistics.offeredTaken == 5)
        #expect(worker.statistics.offeredPassedOver == 0)
        // The Fetch returns the same records after its hold: they must not be processed again.
        let partition = TopicPartition(fixture.input, 0)
        try await eventually("the offsets are committed", timeout: .seconds(20)) {
            try await consumer.committedOffsets(for: [partition])[partition] == 6
        }
        try await Task.sleep(for: .seconds(7))
        #expect(box.values.withLock { $0 }.map(\.value) == ["r0", "r1", "r2", "r3", "r4", "r5"])
        #expect(box.values.withLock { $0 }.map(\.offset) == Array(0...5))
        // Offered again (a repeat): behind the partition's position, passed over.
        worker.offer(offered)
        try await eventually("the repeat is passed over", timeout: .seconds(5)) { worker.statistics.offeredPassedOver == 5 }
        #expect(box.values.withLock { $0.count } == 6)
        await group.triggerGracefulShutdown()
        try await running.value
    }

    /// An offered record that does not continue its partition (a record before it was not
    /// processed yet, or nothing of the partition was) is left to the consumer: every record is
    /// still processed once, in partition order.
    @Test func anOfferedRecordAfterAGapIsLeftToTheConsumer() async throws {
        let (fixture, worker, consumer, box) = try offerFixture()
        let (group, running) = try await startWithFirstRecordFetched(fixture, worker, consumer, box)
        // r1 was stored by "another process" (not offered); r2 is offered; partition 1 has had
        // nothing processed here, so its first record cannot be placed either.
        _ = try await store(["r1"], partition: 0, with: fixture)
        worker.offer(try await store(["r2"], partition: 0, with: fixture))
        worker.offer(try await store(["p1"], partition: 1, with: fixture))
        try await eventually("both offers are passed over", timeout: .seconds(5)) { worker.statistics.offeredPassedOver == 2 }
        try await eventually("the consumer brings the rest", timeout: .seconds(20)) { box.values.withLock { $0.count } == 4 }
        try await Task.sleep(for: .seconds(1))
        let seen = box.values.withLock { $0 }
        #expect(seen.filter { $0.partition == 0 }.map(\.value) == ["r0", "r1", "r2"])
        #expect(seen.filter { $0.partition == 1 }.map(\.value) == ["p1"])
        #expect(worker.statistics.offeredTaken == 0)
        await group.triggerGracefulShutdown()
        try await running.value
    }
}

extension StreamWorkerTests {
    /// Offers are opt-in: a worker configured without them passes every offer over and reads
    /// its partitions as it always did.
    @Test func aWorkerThatDoesNotAcceptOffersLeavesThemToTheConsumer() async throws {
        let (fixture, worker, consumer, box) = try offerFixture(accepting: false)
        let (group, running) = try await startWithFirstRecordFetched(fixture, worker, consumer, box)
        worker.offer(try await store(["r1"], partition: 0, with: fixture))
        try await eventually("the offer is passed over", timeout: .seconds(5)) { worker.statistics.offeredPassedOver == 1 }
        try await eventually("the consumer brings r1", timeout: .seconds(20)) { box.values.withLock { $0.count } == 2 }
        try await Task.sleep(for: .seconds(1))
        #expect(box.values.withLock { $0 }.map(\.value) == ["r0", "r1"])
        #expect(worker.statistics.offeredTaken == 0)
        await group.triggerGracefulShutdown()
        try await running.value
    }
}

/// Records what it processes, in order.
private struct Recorder: StreamProcessor {
    typealias PartitionState = NoPartitionState
    final class Box: Sendable {
        let values = Mutex<[(partition: Int32, offset: Int64, value: String)]>([])
    }
    let input: String
    let box: Box
    let stateName = "nothing"
    let changelog: Changelog<NoPartitionState>? = nil

    mutating func assigned(_ states: [Int32: NoPartitionState], output: inout StreamOutput) throws {}
    mutating func revoked(_ partitions: [Int32]) {}
    mutating func process(_ records: [KafkaMessage], output: inout StreamOutput) throws {
        let seen = records.map { ($0.partition, $0.offset, $0.valueString ?? "") }
        box.values.withLock { $0 += seen }
    }
}

/// Hands every record over to be finished later, by the test.
private struct LateFinisher: StreamProcessor {
    typealias PartitionState = NoPartitionState
    final class Box: Sendable {
        let completions = Mutex<[(offset: Int64, done: RecordCompletion)]>([])
        let stopped = Mutex<[TopicPartition]>([])
    }
    let input: String
    let later: Box
    let stateName = "nothing"
    let changelog: Changelog<NoPartitionState>? = nil

    mutating func assigned(_ states: [Int32: NoPartitionState], output: inout StreamOutput) throws {}
    mutating func revoked(_ partitions: [Int32]) {}
    mutating func stop(_ partitions: [TopicPartition]) async { later.stopped.withLock { $0 += partitions } }
    mutating func process(_ records: [KafkaMessage], output: inout StreamOutput) throws {
        for record in records {
            let completion = output.completeLater(record)
            later.completions.withLock { $0.append((record.offset, completion)) }
        }
    }
}

/// Echoes each record, then answers with where its echo was stored.
private struct Announcer: StreamProcessor {
    typealias PartitionState = NoPartitionState
    let input: String
    let echoes: String
    let answers: String
    let stateName = "nothing"
    let changelog: Changelog<NoPartitionState>? = nil

    mutating func assigned(_ states: [Int32: NoPartitionState], output: inout StreamOutput) throws {}
    mutating func revoked(_ partitions: [Int32]) {}
    mutating func process(_ records: [KafkaMessage], output: inout StreamOutput) throws {
        output.write(contentsOf: records.map { KafkaProducerMessage(topic: echoes, key: $0.key, value: $0.value, partition: $0.partition) })
        let keys = records.map(\.key)
        let answers = self.answers
        output.write(phase: 1) { stored in
            zip(keys, stored).map { key, report in
                KafkaProducerMessage(topic: answers, key: key, value: Array("\(report.partition):\(report.offset)".utf8))
            }
        }
    }
}
