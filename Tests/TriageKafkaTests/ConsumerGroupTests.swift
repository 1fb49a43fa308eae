import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing
import TriageKafka
import TriageKafkaTesting

/// What every consumer of a test saw, shared across tasks.
final class Ledger: Sendable {
    /// Value → every (partition, offset) at which it was processed.
    private let state = Mutex<
        (processed: [String: [TopicPartition: [Int64]]], assignments: [String: Set<TopicPartition>], revocations: Int)
    >(([:], [:], 0))

    func record(_ messages: [KafkaMessage]) {
        state.withLock { state in
            for message in messages {
                state.processed[message.valueString ?? "", default: [:]][message.topicPartition, default: []].append(message.offset)
            }
        }
    }

    func assign(_ member: String, _ partitions: [TopicPartition]) {
        state.withLock { $0.assignments[member, default: []].formUnion(partitions) }
    }

    func revoke(_ member: String, _ partitions: [TopicPartition]) {
        state.withLock {
            $0.assignments[member, default: []].subtract(partitions)
            $0.revocations += 1
        }
    }

    var uniqueCount: Int { state.withLock { $0.processed.count } }
    /// The same record (same offset) processed again: the consumer side of at-least-once.
    var redeliveries: Int {
        state.withLock { $0.processed.values.reduce(0) { total, places in total + places.values.reduce(0) { $0 + $1.count - 1 } } }
    }
    /// The same value stored at more than one offset: a producer duplicate.
    var producerDuplicates: Int {
        state.withLock { $0.processed.values.reduce(0) { total, places in total + places.values.reduce(0) { $0 + Set($1).count } - 1 } }
    }
    var processed: [String: Int] { state.withLock { $0.processed.mapValues { $0.values.reduce(0) { $0 + $1.count } } } }
    var revocations: Int { state.withLock { $0.revocations } }
    func assignment(of member: String) -> Set<TopicPartition> { state.withLock { $0.assignments[member] ?? [] } }
}

/// Consumes `consumer.events` until the stream ends: records, stores offsets, tracks assignment.
func runMember(_ name: String, _ consumer: KafkaConsumer, _ ledger: Ledger) async throws {
    for try await event in consumer.events {
        switch event {
        case .messages(let batch):
            ledger.record(batch)
            try consumer.storeOffsets(batch)
        case .partitionsAssigned(let partitions):
            ledger.assign(name, partitions)
        case .partitionsRevoked(let partitions), .partitionsLost(let partitions):
            ledger.revoke(name, partitions)
        }
    }
}

@Suite("Consumer groups against the embedded broker")
struct ConsumerGroupTests {
    @Test func membersSplitPartitionsAndARebalanceLosesNothing() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic(partitions: 6)
        let group = uniqueName("router")
        let ledger = Ledger()
        let total = 6_000
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        let configuration = cluster.consumerConfiguration(group: group, topics: [topic])
        let a = try KafkaConsumer(configuration: configuration, logger: cluster.logger)
        let b = try KafkaConsumer(configuration: configuration, logger: cluster.logger)

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await runMember("a", a, ledger) }
            tasks.addTask { try await runMember("b", b, ledger) }
            // A steady stream, so the rebalance happens while records flow.
            tasks.addTask {
                for index in 0..<total {
                    try await producer.enqueue(KafkaProducerMessage(topic: topic, key: "incident-\(index % 97)", value: "\(index)"))
                    if index % 200 == 199 { try await Task.sleep(for: .milliseconds(40)) }
                }
                try await producer.flush()
            }
            try await eventually("a and b share the six partitions") {
                let (ofA, ofB) = (ledger.assignment(of: "a"), ledger.assignment(of: "b"))
                return !ofA.isEmpty && !ofB.isEmpty && ofA.isDisjoint(with: ofB) && ofA.union(ofB).count == 6
            }
            let c = try KafkaConsumer(configuration: configuration, logger: cluster.logger)
            tasks.addTask { try await runMember("c", c, ledger) }
            try await eventually("c joins and takes partitions") {
                let all = ["a", "b", "c"].map(ledger.assignment(of:))
                return !all[2].isEmpty && all.allSatisfy { !$0.isEmpty }
                    && all[0].union(all[1]).union(all[2]).count == 6
                    && all[0].count + all[1].count + all[2].count == 6
            }
            try await eventually("every record processed", timeout: .seconds(60)) { ledger.uniqueCount == total }
            await a.close()
            await b.close()
            await c.close()
            try await tasks.waitForAll()
        }
        #expect(ledger.uniqueCount == total, "lost records")
        #expect(ledger.revocations >= 1, "the third member should have caused a revocation")
        #expect(ledger.producerDuplicates == 0)
        // Revocations wait for the application and commit before handing over, so normally nothing
        // is redone. But the embedded broker refuses every commit while a rebalance is in progress
        // (it waits session.timeout.ms for members), and under cooperative-sticky members keep
        // processing meanwhile, so a moved partition may restart from the last commit before the
        // rebalance began (seen: 0 idle; 132 and 1,733 of 6,000 under load). At-least-once: loss
        // and producer duplicates are the failures; redeliveries are reported.
        print("rebalance test: \(total) records, \(ledger.redeliveries) redelivered after hand-over")
        await producer.close()
    }

    /// A batch finished after its partition was revoked: storing its offsets is not an error
    /// (the worker would fail over it at shutdown); nothing is stored, the new owner re-reads.
    @Test func offsetsOfPartitionsNoLongerAssignedAreSkipped() async throws {
        let cluster = try KafkaTestCluster()
        let mine = try cluster.makeTopic("mine")
        let other = try cluster.makeTopic("other")
        let group = uniqueName("store")
        let consumer = try KafkaConsumer(configuration: cluster.consumerConfiguration(group: group, topics: [mine]), logger: cluster.logger)
        // Joined first: closing a consumer in the middle of its join trips an assertion in librdkafka 2.0.2.
        for try await event in consumer.events {
            if case .partitionsAssigned = event { break }
        }
        let stray = KafkaMessage(topic: other, partition: 0, offset: 41, key: nil, value: Array("x".utf8), headers: [], timestamp: nil)
        #expect(throws: Never.self) { try consumer.storeOffsets([stray]) }
        try await consumer.commit()
        await consumer.close()
        let lag = try await KafkaGroupLagReader(
            client: KafkaClientConfiguration(bootstrap: cluster.bootstrapServers, fetchWait: EmbeddedKafka.mockFetchWait),
            logger: cluster.logger
        )
        .lag(group: group, topic: other, partitions: [0])
        #expect(lag.partitions.first?.committed == nil, "nothing was stored for the stray partition: \(lag)")
    }

    @Test func committedOffsetsSurviveARestart() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic(partitions: 2)
        let group = uniqueName("escalator")
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        for index in 0..<100 { try await producer.enqueue(KafkaProducerMessage(topic: topic, key: "k\(index)", value: "first-\(index)")) }
        try await producer.flush()

        let first = try KafkaConsumer(configuration: cluster.consumerConfiguration(group: group, topics: [topic]), logger: cluster.logger)
        let firstBatch = try await withDeadline(.seconds(30)) { try await first.collect(100) }
        #expect(firstBatch.count == 100)
        try await first.commit()
        let partitions = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
        let committed = try await first.committedOffsets(for: partitions)
        #expect(committed.values.reduce(0, +) == 100)
        await first.close()

        for index in 0..<100 { try await producer.enqueue(KafkaProducerMessage(topic: topic, key: "k\(index)", value: "second-\(index)")) }
        try await producer.flush()
        let second = try KafkaConsumer(configuration: cluster.consumerConfiguration(group: group, topics: [topic]), logger: cluster.logger)
        let secondBatch = try await withDeadline(.seconds(30)) { try await second.collect(100) }
        #expect(secondBatch.allSatisfy { $0.valueString?.hasPrefix("second-") == true }, "a restarted member re-read committed records")
        #expect(Set(secondBatch.compactMap(\.valueString)).count == 100)
        await second.close()
        await producer.close()
    }

    @Test func pauseAndResumeOnePartition() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic(partitions: 2)
        let consumer = try KafkaConsumer(
            configuration: cluster.consumerConfiguration(group: uniqueName("notifier"), topics: [topic]),
            logger: cluster.logger
        )
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        let paused = TopicPartition(topic, 0)
        try await withDeadline(.seconds(60)) {
            var iterator = consumer.events.makeAsyncIterator()
            // Wait for the assignment before pausing.
            while let event = try await iterator.next() {
                if case .partitionsAssigned(let partitions) = event, partitions.count == 2 { break }
            }
            try await consumer.pause([paused])
            for index in 0..<50 {
                try await producer.enqueue(KafkaProducerMessage(topic: topic, value: Array("p0-\(index)".utf8), partition: 0))
                try await producer.enqueue(KafkaProducerMessage(topic: topic, value: Array("p1-\(index)".utf8), partition: 1))
            }
            try await producer.flush()
            var fromOne = 0
            while fromOne < 50, let event = try await iterator.next() {
                guard case .messages(let batch) = event else { continue }
                #expect(batch.allSatisfy { $0.partition == 1 }, "records of a paused partition arrived")
                fromOne += batch.count
            }
            // Give the paused partition time to (wrongly) deliver; then check lag shows it waiting.
            try await Task.sleep(for: .milliseconds(500))
            let lag = try await consumer.lag()
            #expect(lag[paused] == 50)
            try await consumer.resume([paused])
            var fromZero = 0
            while fromZero < 50, let event = try await iterator.next() {
                guard case .messages(let batch) = event else { continue }
                #expect(batch.allSatisfy { $0.partition == 0 })
                fromZero += batch.count
            }
            #expect(fromZero == 50)
        }
        await consumer.close()
        await producer.close()
    }

    @Test func seekRewindsAndPositionsReportProgress() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic(partitions: 1)
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        for index in 0..<10 { try await producer.enqueue(KafkaProducerMessage(topic: topic, key: nil, value: "\(index)")) }
        try await producer.flush()
        let consumer = try KafkaConsumer(
            configuration: cluster.consumerConfiguration(group: uniqueName("replay"), topics: [topic]),
            logger: cluster.logger
        )
        let partition = TopicPartition(topic, 0)
        try await withDeadline(.seconds(60)) {
            var iterator = consumer.messages.makeAsyncIterator()
            var seen: [Int64] = []
            while seen.count < 10, let message = try await iterator.next() { seen.append(message.offset) }
            #expect(seen == Array(0..<10))
            #expect(try consumer.positions(for: [partition])[partition] == 10)
            #expect(try await consumer.lag()[partition] == 0)
            #expect(try consumer.assignment() == [partition])
            try await consumer.seek(partition, to: 3, timeout: .seconds(60))
            let replayed = try await iterator.next()
            #expect(replayed?.offset == 3, "after seek(3) the next record must be offset 3")
        }
        await consumer.close()
        await producer.close()
    }

    /// Outside attack: a worker's `triage_consumer_lag` said 0 while its whole read-ahead was
    /// stuck (fetched, never finished): it counted from the fetch position. It now counts the
    /// records not stored as processed (`unprocessed`), from the committed offset before any.
    @Test func unprocessedCountsRecordsFetchedButNotFinished() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic(partitions: 1)
        let partition = TopicPartition(topic, 0)
        let group = uniqueName("unprocessed")
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        _ = try await producer.sendAll((0..<30).map { KafkaProducerMessage(topic: topic, key: nil, value: "\($0)") })
        func consumer() throws -> KafkaConsumer {
            try KafkaConsumer(configuration: cluster.consumerConfiguration(group: group, topics: [topic]), logger: cluster.logger)
        }
        let first = try consumer()
        try await withDeadline(.seconds(60)) {
            let fetched = try await first.collect(30, storingOffsets: false)
            #expect(fetched.count == 30)
            #expect(try await first.lag()[partition] == 0, "every record fetched")
            #expect(try await first.unprocessed()[partition] == 30, "none finished")
            try first.storeOffsets(Array(fetched.prefix(10)))
            #expect(try await first.unprocessed()[partition] == 20)
            try await first.commit()
        }
        await first.close()
        // A new member: nothing stored yet, so counted from the group's committed offset.
        _ = try await producer.sendAll((0..<5).map { KafkaProducerMessage(topic: topic, key: nil, value: "more-\($0)") })
        await producer.close()
        let second = try consumer()
        try await withDeadline(.seconds(60)) {
            for try await event in second.events {
                if case .partitionsAssigned = event { break }
            }
            #expect(try await second.unprocessed()[partition] == 25)
        }
        await second.close()
    }

    /// With the partitions' leader gone, asking their watermarks (and the lag built on them)
    /// gives up at the timeout. librdkafka 2.0.2's `rd_kafka_query_watermark_offsets` waited for
    /// the answer without a limit, and a worker's lag metric, its graceful stop and `triage tail`
    /// waited with it.
    @Test func watermarksOfPartitionsWhoseLeaderIsGoneTimeOut() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic(partitions: 2)
        let partitions = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        for index in 0..<6 {
            try await producer.enqueue(KafkaProducerMessage(topic: topic, value: Array("\(index)".utf8), partition: Int32(index % 2)))
        }
        try await producer.flush()
        await producer.close()
        let consumer = try KafkaConsumer(
            configuration: cluster.consumerConfiguration(group: uniqueName("gone"), topics: [topic]), logger: cluster.logger)
        for try await event in consumer.events {
            if case .partitionsAssigned(let assigned) = event, assigned.count == 2 { break }
        }
        let bounds = try await consumer.watermarks(for: partitions, timeout: .seconds(10))
        #expect(bounds.mapValues { [$0.low, $0.high] } == [partitions[0]: [0, 3], partitions[1]: [0, 3]])

        try cluster.embedded.setBrokerDown(1)
        for question in ["watermarks", "lag"] {
            let asked = ContinuousClock.now
            let error = await #expect(throws: KafkaError.self) {
                if question == "watermarks" {
                    _ = try await consumer.watermarks(for: partitions, timeout: .seconds(2))
                } else {
                    _ = try await consumer.lag(timeout: .seconds(2))
                }
            }
            // Not a speed check: without a limit the call waits for the request to fail, well
            // over a minute.
            let waited = ContinuousClock.now - asked
            #expect(waited < .seconds(30), "\(question): answered after \(waited)")
            #expect(error?.code == .timedOut || error?.code == .transport, "\(question): \(String(describing: error))")
        }
        await consumer.close()
    }

    @Test func brokerDownAndUpMidStreamLosesNothing() async throws {
        let cluster = try KafkaTestCluster(brokers: 3)
        let topic = try cluster.makeTopic(partitions: 3, replicationFactor: 3)
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        let consumer = try KafkaConsumer(
            configuration: cluster.consumerConfiguration(group: uniqueName("analytics"), topics: [topic]),
            logger: cluster.logger
        )
        let ledger = Ledger()
        let total = 3_000
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await runMember("solo", consumer, ledger) }
            tasks.addTask {
                for index in 0..<total {
                    try await producer.enqueue(KafkaProducerMessage(topic: topic, key: "k\(index)", value: "\(index)"))
                    if index % 100 == 99 { try await Task.sleep(for: .milliseconds(20)) }
                }
                try await producer.flush(timeout: .seconds(60))
            }
            try await eventually("records flowing", timeout: .seconds(60)) { ledger.uniqueCount > 200 }
            try cluster.embedded.setBrokerDown(2)
            try await Task.sleep(for: .seconds(2))
            try cluster.embedded.setBrokerUp(2)
            try await eventually("every record consumed after the broker came back", timeout: .seconds(90)) { ledger.uniqueCount == total }
            await consumer.close()
            try await tasks.waitForAll()
        }
        #expect(ledger.uniqueCount == total)
        #expect(producer.statistics.failed == 0)
        // The idempotent producer's retries must not store a record twice.
        #expect(ledger.producerDuplicates == 0)
        // If the coordinator was the broker that went down, no commit succeeds during the outage and
        // the member may be fenced and re-read from its last commit before it: at-least-once, with
        // a window as long as the outage (seen: 0 idle, 500 and 1,845 of 3,000 under load). Loss and
        // producer duplicates are the failures; redeliveries are reported.
        print("broker outage test: \(total) records, \(ledger.redeliveries) redelivered")
        await producer.close()
    }

    @Test func gracefulShutdownFinishesWorkCommitsAndEndsTheStream() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic(partitions: 2)
        let group = uniqueName("worker")
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        for index in 0..<300 { try await producer.enqueue(KafkaProducerMessage(topic: topic, key: "k\(index)", value: "\(index)")) }
        try await producer.flush()

        var configuration = cluster.consumerConfiguration(group: group, topics: [topic])
        configuration.autoCommitInterval = nil  // only revocation/close commits: proves shutdown commits
        // A session that outlives a starved machine: CI once saw sessions of 3 s time out while
        // tests took minutes; the member then lost its partitions (and the offsets it had stored),
        // was given them again and was shut down before it re-read them, so nothing was left to
        // commit ("committed [:]; processed 300"). This test is about the shutdown, not that.
        configuration.sessionTimeout = .seconds(30)
        configuration.heartbeatInterval = .seconds(1)
        let consumer = try KafkaConsumer(configuration: configuration, logger: cluster.logger)
        let ledger = Ledger()
        let worker = MemberService(name: "worker", consumer: consumer, ledger: ledger)
        // The worker is listed first: ServiceGroup signals shutdown in reverse order, so the consumer
        // stops fetching first and the worker drains what it was given until the stream ends, then
        // waits for its own signal.
        let serviceGroup = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: worker),
                    .init(service: consumer),
                ],
                logger: cluster.logger
            )
        )
        let running = Task { try await serviceGroup.run() }
        // 60 s: started with the whole suite, the first group join and 300 records took over 30 s
        // once on a clean-clone run (load from every test starting at once); a hang still fails.
        try await eventually("all records processed", timeout: .seconds(60)) { ledger.uniqueCount == 300 }
        let revokedBeforeShutdown = ledger.revocations
        await serviceGroup.triggerGracefulShutdown()
        try await withDeadline(.seconds(30)) { try await running.value }
        // A new member of the group starts after everything: shutdown committed.
        let probe = try KafkaConsumer(configuration: cluster.consumerConfiguration(group: group, topics: [topic]), logger: cluster.logger)
        // Asked again while the answer is short: on a loaded machine the group coordinator can
        // answer a partition with an error (no offset) for a while; a commit that was never made
        // stays short for good.
        var committed: [TopicPartition: Int64] = [:]
        var lastError: (any Error)?
        // 90 s: a clean-clone run once saw every ask time out (`_TIMED_OUT`) for 30 s in the
        // suite's busiest minutes, which says nothing about the commit.
        let deadline = ContinuousClock.now + .seconds(90)
        repeat {
            do {
                committed = try await probe.committedOffsets(for: [TopicPartition(topic, 0), TopicPartition(topic, 1)])
            } catch {
                lastError = error
            }
            if committed.values.reduce(0, +) == 300 { break }
            try await Task.sleep(for: .milliseconds(500))
        } while ContinuousClock.now < deadline
        // Say which way it failed: the shutdown did not commit (answers short), or the probe could
        // not ask (errors only).
        #expect(
            committed.values.reduce(0, +) == 300,
            "committed \(committed); last error asking: \(lastError.map { "\($0)" } ?? "none"); processed \(ledger.uniqueCount); revocations before the shutdown \(revokedBeforeShutdown)"
        )
        await probe.close()
        await producer.close()
    }
}

struct MemberService: Service {
    let name: String
    let consumer: KafkaConsumer
    let ledger: Ledger
    func run() async throws {
        try await runMember(name, consumer, ledger)
        // The stream ended because the consumer is shutting down; a service returns on its own signal.
        try await gracefulShutdown()
    }
}
