import Foundation
import Synchronization
import Testing
import TriageKafka
import TriageKafkaTesting

/// Issue 19, fault 3: `flush()` and producers waiting for room in a full queue.
@Suite("Producer: flush beside writers waiting for queue space", .timeLimit(.minutes(2)))
struct ProducerFlushTests {
    /// With delivery reports served by `rd_kafka_flush` itself, writers suspended on a full queue
    /// were only woken from the driver's drain, which then found nothing to serve: with a
    /// 500-record queue and a concurrent flush loop the writer hung between record 500 and 2,036
    /// with nothing in flight. Reports are now only ever served by the driver, which wakes them.
    @Test func writersWaitingForRoomFinishWhileAnotherTaskFlushes() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic("flush", partitions: 2)
        var configuration = cluster.producerConfiguration()
        configuration.maximumQueuedMessages = 500
        let producer = try KafkaProducer(configuration: configuration, logger: cluster.logger)
        let running = Task { try await producer.run() }
        defer { running.cancel() }
        let total = 5_000
        let written = Counter()
        let writing = Task {
            for index in 0..<total {
                try await producer.enqueue(
                    KafkaProducerMessage(topic: topic, key: Array("k\(index % 7)".utf8), value: Array("\(index)".utf8)))
                written.value.add(1, ordering: .relaxed)
            }
        }
        let flushing = Task {
            var flushes = 0
            while written.value.load(ordering: .relaxed) < total && !Task.isCancelled {
                try? await producer.flush(timeout: .milliseconds(200))
                flushes += 1
            }
            return flushes
        }
        do {
            try await withDeadline(.seconds(60)) { try await writing.value }
        } catch {
            Issue.record(
                "the writer hung at record \(written.value.load(ordering: .relaxed)) of \(total), \(producer.statistics.inFlight) in flight: \(error)"
            )
        }
        flushing.cancel()
        let flushes = await flushing.value
        try await producer.flush(timeout: .seconds(30))
        #expect(written.value.load(ordering: .relaxed) == total)
        #expect(producer.statistics.delivered == total, "\(producer.statistics)")
        #expect(flushes > 0)
    }
}

private final class Counter: Sendable {
    let value = Atomic<Int>(0)
}
