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

            Without --follow it stops once it has read every partition up to its end as of its \
            start (half a second after its group assigned it the partitions; on a topic written to \
            all the time, what is written later is not printed). It joins no existing group and \
            commits nothing.

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
                        progress.assignedAt = progress.assignedAt ?? .now
                        progress.lastRecord = .now
                    }
                case .messages(let batch):
                    let target = progress.withLock { progress in
                        progress.lastRecord = .now
                        for message in batch { progress.next[message.topicPartition] = message.offset + 1 }
                        return progress.target
                    }
                    for message in batch {
                        if let end = target?[message.topicPartition], message.offset >= end { continue }  // after the tail's end
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
            // Stop once every partition is read up to its end as of half a second after the
            // assignment (the target: fixed, so a topic written to all the time does not keep
            // the tail chasing its end; records past it are not printed). A consumer whose
            // cluster went away waits for it for ever: after 10 s without progress the cluster
            // is asked again, and a tail of a cluster that stopped answering says so.
            var asked = ContinuousClock.now
            var target: [TopicPartition: (low: Int64, high: Int64)]?
            // The partitions' starts, asked again while no record comes: retention may delete
            // what is left to read while the tail reads (librdkafka then moves the position
            // without handing anything out, and on a busy topic it may keep doing so).
            var starts: [TopicPartition: Int64] = [:]
            var startsAsked = ContinuousClock.now
            while true {
                try await Task.sleep(for: .milliseconds(200))
                let (assignedAt, last, next, ended) = progress.withLock { ($0.assignedAt, $0.lastRecord, $0.next, $0.ended) }
                if ended { break }
                let now = ContinuousClock.now
                if now - last > .seconds(10), now - asked > .seconds(10) {
                    asked = now
                    _ = try await connection.describe(topic, admin: admin, client: client)
                }
                guard let assignedAt, now - assignedAt > .milliseconds(500) else { continue }
                let quiet = now - last > .seconds(1) && now - startsAsked > .seconds(1)
                if target == nil || quiet {
                    // Asking goes to the cluster too: gone, it times out.
                    let ends: [TopicPartition: (low: Int64, high: Int64)]
                    do {
                        ends = try await consumer.watermarks(for: consumer.assignment(), timeout: ConnectionOptions.reachTimeout)
                    } catch {
                        throw ConnectionOptions.unreachable(client, error)
                    }
                    startsAsked = now
                    starts = ends.mapValues { max($0.low, 0) }
                    if target == nil {
                        target = ends
                        progress.withLock { $0.target = ends.mapValues(\.high) }
                    }
                }
                // Caught up: every assigned partition read up to its target, counting from
                // where the tail started it (a partition nothing was read from has no consumer
                // position: counting from the partition's start, a tail of new records on a
                // topic with old ones never ended), or with nothing left before it.
                if target!.allSatisfy({ partition, bounds in bounds.high <= max(next[partition] ?? 0, starts[partition] ?? 0) }) { break }
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
        var assignedAt: ContinuousClock.Instant?
        var lastRecord = ContinuousClock.now
        /// Without --follow: where each partition's reading ends, once fixed.
        var target: [TopicPartition: Int64]?
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
