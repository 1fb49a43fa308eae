import Foundation
public import Logging
import Synchronization
public import TriageKafka
import TriageSchema

/// The dead letters of a dev cluster for its live lines: reads `triage.dead-letter` on from where
/// the last look ended and counts its records by source topic, keeping the latest reason. A dev run
/// should leave the topic empty; when it does not, the line says what was refused and why.
public final class DevDeadLetters: Sendable {
    public struct Tally: Sendable {
        public var total = 0
        public var byTopic: [String: Int] = [:]
        public var lastReason = ""
    }

    private let client: KafkaClientConfiguration
    private let logger: Logger
    private let state = Mutex<(tally: Tally, next: [Int32: Int64], partitions: [Int32])>((Tally(), [:], []))

    public init(client: KafkaClientConfiguration, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Reads what arrived since the last call and returns the tally so far; `nil` when the topic
    /// could not be read this time (the line says so rather than claiming zero).
    public func refresh() async -> Tally? {
        do {
            var (partitions, from) = state.withLock { ($0.partitions, $0.next) }
            if partitions.isEmpty {
                let admin = try KafkaAdmin(configuration: client, logger: logger)
                partitions = try await admin.describeTopic(TriageTopic.deadLetter).partitions.map(\.id)
                state.withLock { $0.partitions = partitions }
            }
            let found = Mutex<[(partition: Int32, offset: Int64, topic: String, reason: String)]>([])
            _ = try await KafkaPartitionReader.readToEnd(
                topic: TriageTopic.deadLetter, partitions: partitions, from: from, client: client, logger: logger, timeout: .seconds(10)
            ) { record in
                // (Read inline: a nested function capturing the borrowed view crashes Swift 6.3.1's SILGen.)
                let topic = record.header(TriageHeader.deadLetterTopic).map { String(decoding: $0, as: UTF8.self) } ?? ""
                let reason = record.header(TriageHeader.deadLetterReason).map { String(decoding: $0, as: UTF8.self) } ?? ""
                let entry = (record.partition, record.offset, topic, reason)
                found.withLock { $0.append(entry) }
            }
            let records = found.withLock { $0 }
            for record in records { from[record.partition] = max(from[record.partition] ?? 0, record.offset + 1) }
            return state.withLock { current in
                current.next = from
                for record in records {
                    current.tally.total += 1
                    current.tally.byTopic[record.topic.isEmpty ? "?" : record.topic, default: 0] += 1
                    current.tally.lastReason = record.reason
                }
                return current.tally
            }
        } catch {
            logger.debug("dead letters not read", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// The live line: `dead letters 0 (triage.dead-letter)`, with the sources and the latest
    /// reason when there are some.
    public static func line(_ tally: Tally?) -> String {
        guard let tally else { return "dead letters ? (\(TriageTopic.deadLetter) not readable just now)" }
        guard tally.total > 0 else { return "dead letters 0 (\(TriageTopic.deadLetter))" }
        let sources = tally.byTopic.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return "dead letters \(tally.total) (\(TriageTopic.deadLetter): \(sources); latest: \(tally.lastReason.prefix(160)))"
    }
}
