import Foundation
public import Logging
public import TriageKafka
import TriageSchema

/// Waits until the notifier and analytics groups have consumed their inputs to the end (what
/// the audit's notification and event rows depend on), printing their lag every 10 s.
public func waitForWorkersToCatchUp(client: KafkaClientConfiguration, logger: Logger, within limit: Duration) async throws {
    let admin = try KafkaAdmin(configuration: client, logger: logger)
    let lags = try KafkaGroupLagReader(client: client, logger: logger)
    let deadline = ContinuousClock.now + limit
    var lastReport = ContinuousClock.now
    for (group, topic) in [(TriageGroup.notifier, TriageTopic.notificationRequests), (TriageGroup.analytics, TriageTopic.incidentEvents)] {
        let partitions = try await admin.describeTopic(topic).partitions.map(\.id)
        while ContinuousClock.now < deadline {
            let lag = try? await lags.lag(group: group, topic: topic, partitions: partitions)
            if let lag, lag.hasStarted, lag.lag == 0 { break }
            if ContinuousClock.now - lastReport >= .seconds(10) {
                lastReport = .now
                print("settling: \(group) has \(lag.map { "\($0.lag)" } ?? "?") records of \(topic) to go")
                fflush(nil)
            }
            try await Task.sleep(for: .seconds(1))
        }
    }
    await lags.close()
}
