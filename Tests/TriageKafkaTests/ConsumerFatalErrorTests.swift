import Foundation
import Testing
import TriageKafka
import TriageKafkaTesting

/// A consumer off the happy path (issue 19): fatal errors.
@Suite("Consumer fatal errors", .serialized)
struct ConsumerFatalErrorTests {
    static func configuration(_ cluster: KafkaTestCluster, topic: String, interval: Duration, instance: String? = nil)
        -> KafkaConsumerConfiguration
    {
        var configuration = cluster.consumerConfiguration(group: uniqueName("liveness"), topics: [topic])
        configuration.maximumPollInterval = interval
        configuration.groupInstanceID = instance
        return configuration
    }

    /// A fatal error (another member took this static member's place) ends `events` with a
    /// fatal `KafkaError` instead of a warning in the log.
    @Test func aFencedStaticMemberEndsItsEventsWithAFatalError() async throws {
        let cluster = try KafkaTestCluster()
        let topic = try cluster.makeTopic("fenced", partitions: 1)
        try cluster.embedded.failNextRequests(.syncGroup, with: [.fencedInstanceID])
        let consumer = try KafkaConsumer(
            configuration: Self.configuration(cluster, topic: topic, interval: .seconds(30), instance: "pod-0"), logger: cluster.logger
        )
        let running = Task { try await consumer.run() }
        defer { running.cancel() }
        let outcome: Result<Int, KafkaError> = try await withDeadline(.seconds(40)) {
            var events = 0
            do {
                for try await _ in consumer.events { events += 1 }
                return .success(events)
            } catch let error as KafkaError {
                return .failure(error)
            }
        }
        guard case .failure(let error) = outcome else {
            Issue.record("events ended without an error: \(outcome)")
            return
        }
        #expect(error.isFatal, "\(error)")
        #expect(error.code == .fencedInstanceID || error.code == .fatal, "\(error)")
    }
}
