internal import CRdKafka
public import CoreMetrics
public import Foundation

/// librdkafka's statistics (a JSON document every `statistics.interval.ms`, see
/// ``KafkaClientConfiguration/statisticsInterval``) as swift-metrics gauges. The `client`
/// dimension is librdkafka's instance name (`<client.id>#<kind>-<n>`), unique per client.
///
/// | Gauge | Dimensions | From the statistics |
/// |---|---|---|
/// | `triage_kafka_consumer_lag` | client, topic, partition | `topics.*.partitions.*.consumer_lag` (records; partitions this consumer fetches) |
/// | `triage_kafka_broker_rtt_seconds` | client, broker | `brokers.*.rtt.avg` (µs → s; brokers with samples) |
/// | `triage_kafka_queued_messages` | client | `msg_cnt`: records in the producer's queue |
/// | `triage_kafka_reply_queue_ops` | client | `replyq`: events waiting for the application (delivery reports, errors) |
public enum KafkaStatistics {
    /// Figures read from one statistics document.
    public struct Snapshot: Sendable, Hashable {
        public var client: String
        public var consumerLag: [TopicPartition: Int64] = [:]
        public var brokerRoundTrip: [String: Double] = [:]
        public var queuedMessages: Int64?
        public var replyQueue: Int64?
    }

    /// Parses a statistics document; `nil` if it is not one.
    public static func snapshot(json: Data) -> Snapshot? {
        guard let root = try? JSONSerialization.jsonObject(with: json) as? [String: Any], let name = root["name"] as? String else {
            return nil
        }
        var snapshot = Snapshot(client: name)
        snapshot.queuedMessages = (root["msg_cnt"] as? NSNumber)?.int64Value
        snapshot.replyQueue = (root["replyq"] as? NSNumber)?.int64Value
        for (broker, value) in (root["brokers"] as? [String: Any]) ?? [:] {
            guard let rtt = (value as? [String: Any])?["rtt"] as? [String: Any], let average = (rtt["avg"] as? NSNumber)?.doubleValue,
                let count = (rtt["cnt"] as? NSNumber)?.intValue, count > 0
            else { continue }
            snapshot.brokerRoundTrip[broker] = average / 1_000_000
        }
        for (topic, value) in (root["topics"] as? [String: Any]) ?? [:] {
            for (_, entry) in ((value as? [String: Any])?["partitions"] as? [String: Any]) ?? [:] {
                guard let partition = entry as? [String: Any], let id = (partition["partition"] as? NSNumber)?.int32Value, id >= 0,
                    let lag = (partition["consumer_lag"] as? NSNumber)?.int64Value, lag >= 0
                else { continue }
                snapshot.consumerLag[TopicPartition(topic, id)] = lag
            }
        }
        return snapshot
    }

    /// Records `snapshot` as gauges with `factory`.
    public static func record(_ snapshot: Snapshot, factory: any MetricsFactory) {
        let client = ("client", snapshot.client)
        for (partition, lag) in snapshot.consumerLag {
            Gauge(
                label: "triage_kafka_consumer_lag",
                dimensions: [client, ("topic", partition.topic), ("partition", "\(partition.partition)")], factory: factory
            )
            .record(lag)
        }
        for (broker, seconds) in snapshot.brokerRoundTrip {
            Gauge(label: "triage_kafka_broker_rtt_seconds", dimensions: [client, ("broker", broker)], factory: factory).record(seconds)
        }
        if let queued = snapshot.queuedMessages {
            Gauge(label: "triage_kafka_queued_messages", dimensions: [client], factory: factory).record(queued)
        }
        if let replies = snapshot.replyQueue {
            Gauge(label: "triage_kafka_reply_queue_ops", dimensions: [client], factory: factory).record(replies)
        }
    }

    /// A document from librdkafka (stats callback or event), recorded with the context's factory.
    static func received(_ json: UnsafePointer<CChar>, length: Int, context: RDKafkaCallbackContext) {
        guard let factory = context.metricsFactory else { return }
        guard let snapshot = snapshot(json: Data(bytes: json, count: length)) else {
            context.logger.debug("librdkafka statistics not understood")
            return
        }
        record(snapshot, factory: factory)
    }
}

/// librdkafka's stats callback (clients that serve their queues with callbacks). Returns 0:
/// librdkafka frees the document.
let statisticsCallback: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int, UnsafeMutableRawPointer?) -> Int32 = {
    handle, json, length, _ in
    guard let json, let context = RDKafkaCallbackContext.from(handle) else { return 0 }
    KafkaStatistics.received(json, length: length, context: context)
    return 0
}
