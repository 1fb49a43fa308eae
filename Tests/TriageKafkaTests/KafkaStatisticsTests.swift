import Foundation
import MetricsTestKit
import Testing
import TriageKafka
import TriageKafkaTesting

/// librdkafka's statistics as swift-metrics gauges (issue 19, "Also").
@Suite("Kafka statistics as metrics")
struct KafkaStatisticsTests {
    /// The fields the gauges come from, in the shape librdkafka 2.0.2 writes them.
    @Test func aStatisticsDocumentBecomesGauges() throws {
        let json = """
            {"name": "triage#consumer-7", "type": "consumer", "msg_cnt": 12, "replyq": 3,
             "brokers": {"127.0.0.1:9092/1": {"nodeid": 1, "rtt": {"avg": 2500, "cnt": 4}},
                         "GroupCoordinator": {"nodeid": -1, "rtt": {"avg": 0, "cnt": 0}}},
             "topics": {"orders": {"partitions": {
                 "0": {"partition": 0, "consumer_lag": 42},
                 "1": {"partition": 1, "consumer_lag": -1},
                 "-1": {"partition": -1, "consumer_lag": -1}}}}}
            """
        let snapshot = try #require(KafkaStatistics.snapshot(json: Data(json.utf8)))
        #expect(snapshot.client == "triage#consumer-7")
        #expect(snapshot.consumerLag == [TopicPartition("orders", 0): 42], "unknown lag (-1) and the UA partition are left out")
        #expect(snapshot.brokerRoundTrip == ["127.0.0.1:9092/1": 0.0025], "brokers without samples are left out")
        #expect(snapshot.queuedMessages == 12 && snapshot.replyQueue == 3)

        let metrics = TestMetrics()
        KafkaStatistics.record(snapshot, factory: metrics)
        let client = ("client", "triage#consumer-7")
        #expect(try metrics.expectGauge("triage_kafka_consumer_lag", [client, ("topic", "orders"), ("partition", "0")]).lastValue == 42)
        #expect(try metrics.expectGauge("triage_kafka_broker_rtt_seconds", [client, ("broker", "127.0.0.1:9092/1")]).lastValue == 0.0025)
        #expect(try metrics.expectGauge("triage_kafka_queued_messages", [client]).lastValue == 12)
        #expect(try metrics.expectGauge("triage_kafka_reply_queue_ops", [client]).lastValue == 3)
        #expect(KafkaStatistics.snapshot(json: Data("not json".utf8)) == nil)
    }

    /// A consumer and a producer with `statisticsInterval` report through the factory they were
    /// given: the consumer's lag per partition reaches 0 once everything is committed.
    @Test func clientsReportTheirStatistics() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic("stats", partitions: 2)
        let metrics = TestMetrics()
        var client = cluster.embedded.clientConfiguration
        client.statisticsInterval = .milliseconds(200)
        client.metricsFactory = metrics

        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(1)), logger: cluster.logger)
        let producing = Task { try await producer.run() }
        defer { producing.cancel() }
        try await producer.sendAll(
            (0..<50).map { KafkaProducerMessage(topic: topic, key: Array("k\($0)".utf8), value: Array("\($0)".utf8)) })

        var configuration = cluster.consumerConfiguration(group: uniqueName("stats"), topics: [topic])
        configuration.client = client
        let consumer = try KafkaConsumer(configuration: configuration, logger: cluster.logger)
        let consuming = Task { try await consumer.run() }
        defer { consuming.cancel() }
        _ = try await withDeadline(.seconds(30)) { try await consumer.collect(50) }
        try await consumer.commit()

        try await eventually("the producer's gauges", timeout: .seconds(30)) {
            metrics.recorders(label: "triage_kafka_queued_messages").contains { $0.dimensions.contains { $0.1.contains("producer") } }
        }
        try await eventually("a broker round trip", timeout: .seconds(30)) {
            metrics.recorders(label: "triage_kafka_broker_rtt_seconds").contains { ($0.lastValue ?? 0) > 0 }
        }
        try await eventually("lag 0 on both partitions once committed", timeout: .seconds(15)) {
            let lags = metrics.recorders(label: "triage_kafka_consumer_lag").filter { $0.dimensions.contains { $0 == ("topic", topic) } }
            return Set(lags.compactMap { recorder in recorder.dimensions.first { $0.0 == "partition" }?.1 }) == ["0", "1"]
                && lags.allSatisfy { $0.lastValue == 0 }
        }
    }
}
