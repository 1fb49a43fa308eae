import ArgumentParser
import Foundation
import Logging
import Synchronization
import TriageKafka
import TriageSchema
import TriageStreams

struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print a topic's records as JSON lines, decoded by their headers.",
        discussion: """
            Lifecycle events print in their canonical JSON form with `topic`, `partition` and \
            `offset` added; records that do not decode print their metadata, headers and the reason. \
            Without --follow it stops once it has caught up with every partition. It joins no \
            existing group and commits nothing.
            """
    )

    @Argument(help: "The topic.") var topic: String = TriageTopic.incidentEvents
    @Flag(help: "Start at the oldest retained record (default: only new records).") var fromBeginning = false
    @Flag(help: "Keep printing new records until Ctrl-C.") var follow = false
    @Option(help: "Only records of this incident.") var incident: String?
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var common: CommonOptions

    func run() async throws {
        let logger = common.bootstrapLogging(label: "triage.tail")
        let client = try connection.clientConfiguration()
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                groupID: "triage-tail-\(UUID().uuidString.lowercased())",
                topics: [topic],
                client: client,
                autoOffsetReset: fromBeginning ? .earliest : .latest,
                sessionTimeout: .seconds(6),
                heartbeatInterval: .seconds(1),
                autoCommitInterval: nil,
                fetchMaximumWait: .milliseconds(100)
            ),
            logger: logger
        )
        let decoder = IncidentEventDecoder(validator: IncidentEventValidator(allowedClockSkew: .infinity))
        let progress = Mutex((assigned: false, lastRecord: ContinuousClock.now))
        let reader = Task {
            for try await event in consumer.events {
                switch event {
                case .partitionsAssigned:
                    progress.withLock { $0.assigned = true; $0.lastRecord = .now }
                case .messages(let batch):
                    progress.withLock { $0.lastRecord = .now }
                    for message in batch { if let line = render(message, decoder: decoder) { print(line) } }
                    fflush(nil)
                case .partitionsRevoked, .partitionsLost:
                    break
                }
            }
        }
        if !follow {
            // Stop once assigned, caught up everywhere, and quiet for half a second.
            while true {
                try await Task.sleep(for: .milliseconds(200))
                let (assigned, last) = progress.withLock { ($0.assigned, $0.lastRecord) }
                guard assigned, ContinuousClock.now - last > .milliseconds(500) else { continue }
                if try await consumer.lag().values.allSatisfy({ $0 == 0 }) { break }
            }
            await consumer.close()
        } else {
            await withTaskCancellationHandler {
                _ = await reader.result
            } onCancel: {
                Task { await consumer.close() }
            }
        }
        _ = try await reader.value
    }

    func render(_ message: KafkaMessage, decoder: IncidentEventDecoder) -> String? {
        var object: [String: Any] = ["topic": message.topic, "partition": Int(message.partition), "offset": Int(message.offset)]
        switch decoder.decode(message) {
        case .success(let event):
            if let incident, event.incidentID != incident { return nil }
            if let json = try? event.jsonUTF8Data(), let decoded = try? JSONSerialization.jsonObject(with: json) as? [String: Any] {
                object.merge(decoded) { first, _ in first }
            }
        case .failure(let reason):
            if let incident, message.keyString != incident { return nil }
            object["key"] = message.keyString
            object["error"] = reason.text
            object["headers"] = Dictionary(message.headers.map { ($0.name, $0.stringValue ?? "") }) { first, _ in first }
            object["value"] = message.valueString
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
