import Foundation
public import ServiceLifecycle
public import TriageKafka

/// Reads the self-check records back, measuring end-to-end latency, and commits.
public struct SelfCheckReader: Service {
    let consumer: KafkaConsumer
    let statistics: SelfCheckStatistics

    public init(consumer: KafkaConsumer, statistics: SelfCheckStatistics) {
        self.consumer = consumer
        self.statistics = statistics
    }

    public func run() async throws {
        for try await batch in consumer.batches {
            let now = Date().timeIntervalSince1970
            statistics.consumed(
                latencies: batch.compactMap { $0.header("sent-at")?.stringValue.flatMap(Double.init) }.map { (now - $0) * 1000 }
            )
            try consumer.storeOffsets(batch)
        }
        try await gracefulShutdown()
    }
}
