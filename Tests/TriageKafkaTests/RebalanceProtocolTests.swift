import Testing

@testable import TriageKafka

/// Which assign/unassign calls a rebalance makes. librdkafka reports the group's protocol, or
/// NULL when its group cannot answer: read as a C string, that NULL crashed a consumer closing
/// on a loaded CI machine ("Unexpectedly found nil while implicitly unwrapping an Optional" in
/// the rebalance callback). Without a report, the configured assignors decide.
@Suite("Rebalance protocol")
struct RebalanceProtocolTests {
    @Test(arguments: [
        ("COOPERATIVE", "range,roundrobin", true),
        ("EAGER", "cooperative-sticky", false),
        ("NONE", "cooperative-sticky", false),
    ])
    func theReportedProtocolDecides(reported: String, configured: String, cooperative: Bool) {
        #expect(ConsumerCore.isCooperative(reported: reported, configuredStrategy: configured) == cooperative)
    }

    @Test(arguments: [
        ("cooperative-sticky", true),
        (" cooperative-sticky ", true),
        ("cooperative-sticky,cooperative-sticky", true),
        ("range,roundrobin", false),
        ("range", false),
        ("roundrobin,cooperative-sticky", false),
        ("", false),
    ])
    func withoutAReportTheConfiguredAssignorsDecide(configured: String, cooperative: Bool) {
        #expect(ConsumerCore.isCooperative(reported: nil, configuredStrategy: configured) == cooperative)
    }

    @Test func theDefaultConfigurationIsCooperative() throws {
        let configuration = KafkaConsumerConfiguration(
            groupID: "g", topics: ["t"], client: KafkaClientConfiguration(bootstrap: "localhost:9092"))
        let strategy = try #require(try configuration.properties().last { $0.0 == "partition.assignment.strategy" }?.1)
        #expect(ConsumerCore.isCooperative(reported: nil, configuredStrategy: strategy))
    }
}
