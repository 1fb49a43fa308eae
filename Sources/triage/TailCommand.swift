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
            Every record is decoded by its `triage-schema` header, whatever the topic. Lifecycle \
            events (triage.v1.IncidentEvent) print in their canonical JSON form with `topic`, \
            `partition`, `offset`, `key` and `timestamp` (the record's, RFC 3339 UTC) added, so the \
            output pipes into `triage sla explain --events -`, `triage publish` and `triage sla \
            backtest --file`. Other Triage messages print the metadata, `schema` \
            and `value` (the message as JSON); JSON records (content-type application/json, e.g. \
            \(TriageTopic.analytics)) print their JSON as `value`; anything else (an unknown schema, \
            binary state) prints `valueBase64` with the `schema` header named. A record whose header \
            names a message it does not decode as prints `error` with its headers; a dead letter \
            prints its `headers` too (`triage-dlq-reason`, `-topic`, `-partition`, `-offset`).

            Without --follow it stops once it has caught up with every partition. It joins no \
            existing group and commits nothing.

            Example: triage tail --from-beginning --incident inc-1001 | triage sla explain --events -
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
        // A consumer waits for a broker forever; a tail of an unreachable cluster says so instead.
        let admin = try await connection.reachableAdmin(client, logger: logger)
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
                    progress.withLock {
                        $0.assigned = true; $0.lastRecord = .now
                    }
                case .messages(let batch):
                    progress.withLock { $0.lastRecord = .now }
                    for message in batch {
                        let (line, incident) = TopicRecordJSON.line(for: message, decoder: decoder)
                        if self.incident == nil || incident == self.incident { print(line) }
                    }
                    fflush(nil)
                case .partitionsRevoked, .partitionsLost:
                    break
                }
            }
        }
        if !follow {
            // Stop once assigned, caught up everywhere, and quiet for half a second. A consumer
            // whose cluster went away waits for it for ever: after 10 s without progress the
            // cluster is asked again, and a tail of a cluster that stopped answering says so.
            var asked = ContinuousClock.now
            while true {
                try await Task.sleep(for: .milliseconds(200))
                let (assigned, last) = progress.withLock { ($0.assigned, $0.lastRecord) }
                let now = ContinuousClock.now
                if now - last > .seconds(10), now - asked > .seconds(10) {
                    asked = now
                    _ = try await connection.describe(topic, admin: admin, client: client)
                }
                guard assigned, now - last > .milliseconds(500) else { continue }
                // Asking where the group stands goes to the cluster too: gone, it times out.
                var lag: [TopicPartition: Int64]
                do { lag = try await consumer.lag() } catch { throw ConnectionOptions.unreachable(client, error) }
                if !fromBeginning {
                    // Started at the end: a partition nothing was read from has no position, and
                    // its lag counts from its start (a tail of a non-empty topic never ended).
                    // Nothing read from it since the end is nothing to catch up with.
                    let read = try consumer.positions(for: Array(lag.keys))
                    lag = lag.filter { read[$0.key] != nil }
                }
                if lag.values.allSatisfy({ $0 == 0 }) { break }
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
}
