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
        // Without --from-beginning: the records written from now on. librdkafka's `latest` would
        // be the end as of the first fetch, after the group assigned the partitions (~3 s), and
        // records written meanwhile were never printed; the partitions start at their ends as of
        // now instead (`startOffsets`; a partition that did not exist now: from its start).
        let starts = fromBeginning ? [:] : try await Self.ends(of: topic, client: client, logger: logger)
        if !fromBeginning {
            logger.debug("reading the records written from now on", metadata: ["from": "\(starts.sorted { $0.key < $1.key })"])
        }
        var configuration = KafkaConsumerConfiguration(
            groupID: "triage-tail-\(UUID().uuidString.lowercased())",
            topics: [topic],
            client: client,
            autoOffsetReset: .earliest,
            sessionTimeout: .seconds(6),
            heartbeatInterval: .seconds(1),
            autoCommitInterval: nil,
            fetchMaximumWait: .milliseconds(100)
        )
        configuration.startOffsets = starts
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        let decoder = IncidentEventDecoder(validator: IncidentEventValidator(allowedClockSkew: .infinity))
        // `next`: the offset after the last record read of each partition, or where it starts.
        let progress = Mutex(Progress())
        let reader = Task {
            // However the reader ends (an error, the consumer gone), the wait below stops too.
            defer { progress.withLock { $0.ended = true } }
            for try await event in consumer.events {
                switch event {
                case .partitionsAssigned(let partitions):
                    progress.withLock { progress in
                        for partition in partitions where progress.next[partition] == nil { progress.next[partition] = starts[partition] }
                        progress.assigned = true
                        progress.lastRecord = .now
                    }
                case .messages(let batch):
                    progress.withLock { progress in
                        progress.lastRecord = .now
                        for message in batch { progress.next[message.topicPartition] = message.offset + 1 }
                    }
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
                let (assigned, last, next, ended) = progress.withLock { ($0.assigned, $0.lastRecord, $0.next, $0.ended) }
                if ended { break }
                let now = ContinuousClock.now
                if now - last > .seconds(10), now - asked > .seconds(10) {
                    asked = now
                    _ = try await connection.describe(topic, admin: admin, client: client)
                }
                guard assigned, now - last > .milliseconds(500) else { continue }
                // Asking where the group stands goes to the cluster too: gone, it times out.
                // Caught up: every assigned partition read up to its end, counting from where
                // the tail started it (a partition nothing was read from has no consumer
                // position: counting from the partition's start, a tail of new records on a
                // topic with old ones never ended).
                let ends: [TopicPartition: (low: Int64, high: Int64)]
                do {
                    ends = try await consumer.watermarks(for: consumer.assignment(), timeout: ConnectionOptions.reachTimeout)
                } catch {
                    throw ConnectionOptions.unreachable(client, error)
                }
                if ends.allSatisfy({ partition, bounds in bounds.high <= (next[partition] ?? max(bounds.low, 0)) }) { break }
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

    private struct Progress {
        var assigned = false
        var lastRecord = ContinuousClock.now
        var next: [TopicPartition: Int64] = [:]
        var ended = false
    }

    /// Each partition's end as of now; none for a topic that does not exist yet (whatever
    /// appears in it is new).
    private static func ends(of topic: String, client: KafkaClientConfiguration, logger: Logger) async throws
        -> [TopicPartition: Int64]
    {
        let range: KafkaTopicRange
        do {
            range = try await KafkaTopicRange.lookUp(topic: topic, since: nil, client: client, logger: logger)
        } catch {
            if error.code == .unknownTopicOrPartition { return [:] }
            throw error
        }
        var ends: [TopicPartition: Int64] = [:]
        for partition in range.partitions { ends[TopicPartition(topic, partition.partition)] = partition.end }
        return ends
    }
}
