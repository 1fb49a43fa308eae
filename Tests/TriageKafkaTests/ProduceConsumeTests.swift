import Foundation
import Logging
import Synchronization
import Testing
import TriageKafka
import TriageKafkaTesting

@Suite("Produce and consume against the embedded broker")
struct ProduceConsumeTests {
    @Test func roundTripWithKeysAndHeaders() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic(partitions: 3)
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        let sent = [
            KafkaProducerMessage(
                topic: topic,
                key: Array("incident-1".utf8),
                value: Array("opened".utf8),
                headers: [
                    KafkaHeader(name: "content-type", string: "application/x-protobuf"),
                    KafkaHeader(name: "triage-event-type", string: "Opened"),
                    KafkaHeader(name: "null-header", value: nil),
                ],
                timestamp: Date(timeIntervalSince1970: 1_770_000_000.123)
            ),
            KafkaProducerMessage(topic: topic, key: nil, value: Array("no key".utf8)),
            KafkaProducerMessage(topic: topic, key: Array("tombstone".utf8), value: nil),
            KafkaProducerMessage(topic: topic, key: [], value: []),
        ]
        var reports: [KafkaDeliveryReport] = []
        for message in sent { reports.append(try await producer.send(message)) }
        #expect(reports.allSatisfy { $0.topic == topic && $0.offset >= 0 && (0..<3).contains($0.partition) })
        #expect(producer.statistics.delivered == 4)

        let consumer = try KafkaConsumer(
            configuration: cluster.consumerConfiguration(group: uniqueName("g"), topics: [topic]),
            logger: cluster.logger
        )
        let received = try await withDeadline(.seconds(30)) { try await consumer.collect(4) }
        #expect(received.count == 4)
        let first = try #require(received.first { $0.keyString == "incident-1" })
        #expect(first.valueString == "opened")
        #expect(first.headers.map(\.name) == ["content-type", "triage-event-type", "null-header"])
        #expect(first.header("triage-event-type")?.stringValue == "Opened")
        #expect(first.header("null-header") != nil && first.header("null-header")?.value == nil)
        #expect(first.timestamp.map { abs($0.timeIntervalSince1970 - 1_770_000_000.123) < 0.002 } == true)
        #expect(first.timestampType == .createTime, "the producer set it: CreateTime")
        let report = try #require(reports.first)
        #expect(first.partition == report.partition && first.offset == report.offset)

        let noKey = try #require(received.first { $0.valueString == "no key" })
        #expect(noKey.key == nil)
        let tombstone = try #require(received.first { $0.keyString == "tombstone" })
        #expect(tombstone.value == nil)
        let empty = try #require(received.first { $0.key == [] })
        #expect(empty.value == [])
        await consumer.close()
        await producer.close()
    }

    /// A partition read from a given offset (catching up after an earlier read) sees only the
    /// records from there, with their timestamps; one without an offset is read from the start.
    @Test func partitionReadsStartWhereTheyAreTold() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic(partitions: 2)
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        let sent = Date(timeIntervalSince1970: 1_800_000_000)
        for index in 0..<10 {
            for partition in [Int32(0), 1] {
                _ = try await producer.send(
                    KafkaProducerMessage(topic: topic, value: Array("\(partition)-\(index)".utf8), partition: partition, timestamp: sent))
            }
        }
        let seen = Mutex<[(Int32, Int64, String, Date?)]>([])
        let types = Mutex<Set<KafkaTimestampType?>>([])
        let summary = try await KafkaPartitionReader.readToEnd(
            topic: topic, partitions: [0, 1], from: [0: 7],
            client: KafkaClientConfiguration(bootstrap: cluster.bootstrapServers, fetchWait: EmbeddedKafka.mockFetchWait),
            logger: cluster.logger
        ) {
            record in
            let value = String(decoding: record.value ?? UnsafeRawBufferPointer(start: nil, count: 0), as: UTF8.self)
            seen.withLock { $0.append((record.partition, record.offset, value, record.timestamp)) }
            types.withLock { _ = $0.insert(record.timestampType) }
        }
        let records = seen.withLock { $0 }
        #expect(summary.records == 13)
        #expect(records.filter { $0.0 == 0 }.map(\.1) == [7, 8, 9])
        #expect(records.filter { $0.0 == 0 }.map(\.2) == ["0-7", "0-8", "0-9"])
        #expect(records.filter { $0.0 == 1 }.count == 10)
        #expect(records.allSatisfy { $0.3 == sent }, "record timestamps come through")
        #expect(types.withLock { $0 } == [.createTime])
        await producer.close()
    }

    @Test func recordsOfABatchShareBytesButBehaveAsValues() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic()
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        for index in 0..<50 { try await producer.enqueue(KafkaProducerMessage(topic: topic, key: "k\(index)", value: "value-\(index)")) }
        try await producer.flush()
        let consumer = try KafkaConsumer(
            configuration: cluster.consumerConfiguration(group: uniqueName("g"), topics: [topic]), logger: cluster.logger
        )
        let received = try await withDeadline(.seconds(30)) { try await consumer.collect(50) }
        #expect(received.map(\.valueString) == (0..<50).map { "value-\($0)" })
        #expect(received.map(\.keyString) == (0..<50).map { "k\($0)" })
        // A record rebuilt from copies equals (and hashes like) the shared one.
        let first = received[0]
        let rebuilt = KafkaMessage(
            topic: first.topic, partition: first.partition, offset: first.offset, key: first.key, value: first.value,
            headers: first.headers, timestamp: first.timestamp
        )
        #expect(rebuilt == first && rebuilt.hashValue == first.hashValue)
        // Changing one record's value leaves its batch neighbours alone.
        var changed = received[1]
        changed.value = Array("changed".utf8)
        #expect(changed.valueString == "changed")
        #expect(received[1].valueString == "value-1" && received[2].valueString == "value-2")
        #expect(received[3].valueBytes.map(Array.init) == Array("value-3".utf8))
        await consumer.close()
        await producer.close()
    }

    @Test func sendAllKeepsTheOrderAndWaitsForEveryAcknowledgement() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic(partitions: 2)
        // A tiny queue forces queue-full waits in the middle of the batch.
        var configuration = cluster.producerConfiguration()
        configuration.maximumQueuedMessages = 16
        let producer = try KafkaProducer(configuration: configuration, logger: cluster.logger)
        let records = (0..<600).map {
            KafkaProducerMessage(topic: topic, key: Array("k".utf8), value: Array("\($0)".utf8), partition: Int32($0 % 2))
        }
        try await producer.sendAll(records)
        #expect(producer.statistics.delivered == 600, "every record acknowledged when sendAll returns")
        let consumer = try KafkaConsumer(
            configuration: cluster.consumerConfiguration(group: uniqueName("order"), topics: [topic]), logger: cluster.logger)
        let received = try await withDeadline(.seconds(30)) { try await consumer.collect(600) }
        for partition in Int32(0)...1 {
            let values = received.filter { $0.partition == partition }.compactMap {
                $0.valueBytes.map { Int(String(decoding: $0, as: UTF8.self))! }
            }
            #expect(values == Array(stride(from: Int(partition), to: 600, by: 2)), "partition \(partition) in send order")
        }
        // A failing record (unknown partition) fails the batch after the others completed.
        await #expect(throws: KafkaError.self) {
            try await producer.sendAll([
                KafkaProducerMessage(topic: topic, key: "k", value: "x"),
                KafkaProducerMessage(topic: topic, key: Array("k".utf8), value: Array("y".utf8), partition: 99),
            ])
        }
        await consumer.close()
    }

    @Test func sendEachAndSubmitEachReportEveryRecordInOrder() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic(partitions: 2)
        var configuration = cluster.producerConfiguration()
        configuration.maximumQueuedMessages = 16  // queue-full waits in the middle of a batch
        let producer = try KafkaProducer(configuration: configuration, logger: cluster.logger)
        // Every 50th record goes to a partition that does not exist: it fails, its neighbours do not.
        let records = (0..<300).map {
            KafkaProducerMessage(
                topic: topic, key: Array("k".utf8), value: Array("\($0)".utf8), partition: $0 % 50 == 7 ? 99 : Int32($0 % 2))
        }
        let outcomes = await producer.sendEach(records)
        #expect(outcomes.count == 300)
        for (index, outcome) in outcomes.enumerated() {
            switch outcome {
            case .success(let report):
                #expect(index % 50 != 7, "record \(index) should have failed")
                #expect(report.partition == Int32(index % 2) && report.topic == topic)
            case .failure(let error):
                #expect(index % 50 == 7, "record \(index) failed: \(error)")
            }
        }
        // Pipelined: three batches handed over before the first is acknowledged keep their order.
        let batches = (0..<3).map { batch in
            (0..<200).map { KafkaProducerMessage(topic: topic, key: Array("k".utf8), value: Array("b\(batch)-\($0)".utf8), partition: 0) }
        }
        let (done, finished) = AsyncStream.makeStream(of: (Int, [Result<KafkaDeliveryReport, KafkaError>]).self)
        for (index, batch) in batches.enumerated() {
            await producer.submitEach(batch) { finished.yield((index, $0)) }
        }
        var offsets: [Int: [Int64]] = [:]
        for await (index, results) in done {
            offsets[index] = results.map { (try? $0.get().offset) ?? -1 }
            if offsets.count == 3 { break }
        }
        let all = (0..<3).flatMap { offsets[$0] ?? [] }
        #expect(all.count == 600 && !all.contains(-1))
        #expect(all == all.sorted() && Set(all).count == 600, "batches stored in the order they were handed over")
        #expect(await producer.sendEach([]).isEmpty)
        await producer.close()
    }

    /// Regression: a waiter for room was woken before the reported records were destroyed (which
    /// is when librdkafka gives their room back), retried into a still-full queue and waited for a
    /// next batch of reports; when the whole queue was in that one report, none ever came. A linger
    /// long enough to put every queued record into one request makes that the usual case.
    @Test func waitersForRoomResumeWhenOneReportHeldTheWholeQueue() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic(partitions: 1)
        var configuration = cluster.producerConfiguration()
        configuration.maximumQueuedMessages = 4
        configuration.linger = .milliseconds(20)
        let producer = try KafkaProducer(configuration: configuration, logger: cluster.logger)
        let records = (0..<40).map { KafkaProducerMessage(topic: topic, key: Array("k".utf8), value: Array("\($0)".utf8), partition: 0) }
        // Forty records take well under a second; the deadline only ends a hang (the full suite
        // on 2 cores has stretched tests to minutes).
        let outcomes = try await withDeadline(.seconds(120)) { await producer.sendEach(records) }
        #expect(outcomes.map { (try? $0.get().offset) ?? -1 } == Array(0..<40))
        let stored = try await withDeadline(.seconds(120)) { try await producer.sendAll(records) }
        #expect(stored.map(\.offset) == Array(40..<80))
        await producer.close()
    }

    @Test func orderingPerKey() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic(partitions: 4)
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        let keys = (0..<20).map { "incident-\($0)" }
        let perKey = 100
        for sequence in 0..<perKey {
            for key in keys {
                try await producer.enqueue(KafkaProducerMessage(topic: topic, key: key, value: "\(sequence)"))
            }
        }
        try await producer.flush()
        #expect(producer.statistics.delivered == keys.count * perKey)

        let consumer = try KafkaConsumer(
            configuration: cluster.consumerConfiguration(group: uniqueName("g"), topics: [topic]),
            logger: cluster.logger
        )
        let received = try await withDeadline(.seconds(30)) { try await consumer.collect(keys.count * perKey) }
        var sequences: [String: [Int]] = [:]
        var partitionOfKey: [String: Int32] = [:]
        for message in received {
            let key = try #require(message.keyString)
            sequences[key, default: []].append(Int(message.valueString!)!)
            #expect(partitionOfKey[key, default: message.partition] == message.partition, "a key moved partitions")
            partitionOfKey[key] = message.partition
        }
        #expect(sequences.count == keys.count)
        for (key, values) in sequences {
            #expect(values == Array(0..<perKey), "records of \(key) out of order")
        }
        #expect(Set(partitionOfKey.values).count > 1, "20 keys should spread over 4 partitions")
        await consumer.close()
        await producer.close()
    }

    @Test func backPressureWaitsInsteadOfDropping() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic(partitions: 2)
        var configuration = cluster.producerConfiguration()
        configuration.maximumQueuedMessages = 10  // tiny queue: most enqueues must wait
        let producer = try KafkaProducer(configuration: configuration, logger: cluster.logger)
        let total = 2_000
        try await withDeadline(.seconds(60)) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        for index in stride(from: worker, to: total, by: 4) {
                            try await producer.enqueue(KafkaProducerMessage(topic: topic, key: "k\(index)", value: "\(index)"))
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await producer.flush()
        }
        #expect(producer.statistics.delivered == total)
        #expect(producer.statistics.failed == 0)
        let consumer = try KafkaConsumer(
            configuration: cluster.consumerConfiguration(group: uniqueName("g"), topics: [topic]),
            logger: cluster.logger
        )
        let received = try await withDeadline(.seconds(30)) { try await consumer.collect(total) }
        #expect(Set(received.compactMap(\.valueString)) == Set((0..<total).map(String.init)))
        await consumer.close()
        await producer.close()
    }

    @Test func sendReportsTypedErrorsAndSurvivesFailedHeaders() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic(partitions: 1)
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        _ = try await producer.send(KafkaProducerMessage(topic: topic, key: "warm-up", value: "x"))
        // Partition 7 does not exist: the partitioner fails inside produceva, with headers attached
        // (the path on which librdkafka 2.0.2 double-frees headers it owns).
        for _ in 0..<50 {
            let message = KafkaProducerMessage(
                topic: topic, value: Array("x".utf8), headers: [KafkaHeader(name: "h", string: "v")], partition: 7
            )
            let error = await #expect(throws: KafkaError.self) { try await producer.send(message) }
            #expect(error?.code == .unknownPartition)
        }
        // The producer is still healthy.
        let report = try await producer.send(KafkaProducerMessage(topic: topic, key: "after", value: "ok"))
        #expect(report.offset == 1)
        await producer.close()
    }

    @Test func closedProducerRefusesWork() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic()
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        await producer.close()
        await producer.close()  // twice is fine
        let error = await #expect(throws: KafkaError.self) {
            try await producer.send(KafkaProducerMessage(topic: topic, key: "k", value: "v"))
        }
        #expect(error?.code == .shuttingDown)
    }

    @Test func closeFlushesOutstandingRecords() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic()
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        for index in 0..<500 { try await producer.enqueue(KafkaProducerMessage(topic: topic, key: nil, value: "\(index)")) }
        await producer.close()
        #expect(producer.statistics.delivered == 500)

        let consumer = try KafkaConsumer(
            configuration: cluster.consumerConfiguration(group: uniqueName("g"), topics: [topic]),
            logger: cluster.logger
        )
        let received = try await withDeadline(.seconds(30)) { try await consumer.collect(500) }
        #expect(received.count == 500)
        await consumer.close()
    }

    /// `--kafka-property max.poll.interval.ms=10000` (below the 45 s default session timeout) is
    /// meant for a worker's group consumer, but every client gets the overrides: the partition
    /// reader and topic follower (which never join a group) failed librdkafka's check
    /// `max.poll.interval.ms >= session.timeout.ms` when a worker restored its state.
    @Test func readersAcceptALoweredPollIntervalOverride() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic("poll-override", partitions: 1)
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        let producing = Task { try await producer.run() }
        defer { producing.cancel() }
        try await producer.sendAll((0..<3).map { KafkaProducerMessage(topic: topic, key: nil, value: Array("\($0)".utf8)) })
        var client = cluster.embedded.clientConfiguration
        client.librdkafkaOverrides = ["max.poll.interval.ms": "10000"]
        let summary = try await KafkaPartitionReader.readToEnd(topic: topic, partitions: [0], client: client, logger: cluster.logger) { _ in
        }
        #expect(summary.records == 3)
        let follower = KafkaTopicFollower(topic: topic, partitions: [0], start: .beginning, client: client, logger: cluster.logger) { _ in }
        let following = Task { try await follower.run() }
        try await withDeadline(.seconds(20)) { try await follower.waitUntilCaughtUp() }
        follower.stop()
        try await following.value
    }
}
