import Foundation
public import ServiceLifecycle
public import TriageKafka

/// Publishes timestamped records at a fixed rate until shutdown.
public struct SelfCheckWriter: Service {
    let producer: KafkaProducer
    let topic: String
    let rate: Int
    let statistics: SelfCheckStatistics

    public init(producer: KafkaProducer, topic: String, rate: Int, statistics: SelfCheckStatistics) {
        self.producer = producer
        self.topic = topic
        self.rate = rate
        self.statistics = statistics
    }

    public func run() async throws {
        let interval = Duration.seconds(1) / rate
        await cancelWhenGracefulShutdown {
            let clock = ContinuousClock()
            var next = clock.now
            var sequence = 0
            while !Task.isCancelled {
                let sentAt = String(Date().timeIntervalSince1970)
                do {
                    try await producer.enqueue(
                        KafkaProducerMessage(
                            topic: topic,
                            key: "incident-\(sequence % 64)",
                            value: "self-check \(sequence)",
                            headers: [KafkaHeader(name: "sent-at", string: sentAt)]
                        )
                    )
                    statistics.produced()
                } catch {
                    statistics.failed()
                }
                sequence += 1
                next = next.advanced(by: interval)
                if next > clock.now { try? await Task.sleep(until: next, clock: clock) } else { next = clock.now }
            }
        }
    }
}
