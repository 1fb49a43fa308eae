import Metrics
public import ServiceLifecycle
public import TriageKafka

/// Publishes a consumer's lag per topic as `triage_consumer_lag{worker,topic}` every `interval`,
/// until the service group shuts down: the records not yet processed
/// (``KafkaConsumer/unprocessed(timeout:)``), fetched or not.
public struct ConsumerLagReporter: Service {
    public let consumer: KafkaConsumer
    public let worker: String
    public let interval: Duration

    public init(consumer: KafkaConsumer, worker: String, interval: Duration = .seconds(5)) {
        self.consumer = consumer
        self.worker = worker
        self.interval = interval
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var gauges: [String: Gauge] = [:]
            while !Task.isCancelled {
                if let lag = try? await consumer.unprocessed() {
                    var byTopic: [String: Int64] = [:]
                    for (partition, value) in lag { byTopic[partition.topic, default: 0] += max(0, value) }
                    for (topic, value) in byTopic {
                        let gauge =
                            gauges[topic] ?? Gauge(label: "triage_consumer_lag", dimensions: [("worker", worker), ("topic", topic)])
                        gauges[topic] = gauge
                        gauge.record(value)
                    }
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
