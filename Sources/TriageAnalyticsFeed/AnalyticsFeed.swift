import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization
import TriageAnalytics
public import TriageKafka
public import TriageOps
public import TriageSLA
import TriageSchema
import TriageStreams

/// Topics of the analytics feed.
public struct AnalyticsFeedTopics: Sendable, Hashable {
    /// Lifecycle events in (keyed by incident).
    public var incidentEvents = TriageTopic.incidentEvents
    /// One flat JSON record per lifecycle event out (keyed by incident).
    public var analytics = TriageTopic.analytics
    /// Compacted latest snapshot per incident, co-partitioned with ``incidentEvents``: the
    /// feed's own state and what a KTable or a database sink loads.
    public var incidentState = TriageTopic.incidentState
    public var deadLetter = TriageTopic.deadLetter

    public init() {}
}

/// Figures of a feed since it started.
public struct AnalyticsFeedStatistics: Sendable, Hashable {
    public var records = 0
    /// Events already applied (a redelivery), dropped by event id.
    public var duplicates = 0
    public var deadLettered = 0
    public var incidents = 0
    public var lastRestoreSeconds = 0.0
}

/// The analytics worker: lifecycle events in, `triage.analytics` records and
/// `triage.incident-state` snapshots out.
///
/// Runs on ``StreamWorker``: the snapshots of a partition's incidents (the `TriageAnalytics`
/// fold, which measures SLA time with the escalator's own clocks) are restored from the
/// co-partitioned compacted `triage.incident-state` when the partition is assigned (`/readyz`
/// says not ready meanwhile). Per step, the analytics records are written first and the latest
/// snapshot of each touched incident once they are acknowledged; the offsets are stored after
/// both. After a crash the events after the committed offset are applied again: those the
/// restored snapshot already holds are recognised by event id and dropped; a record whose
/// snapshot had not been written yet is published again with the same `event_id`.
public final class AnalyticsFeed: Service, Sendable {
    public let health: WorkerHealth
    private let worker: StreamWorker<AnalyticsProcessor>
    private let figures: AnalyticsFigures

    public init(
        consumer: KafkaConsumer, producer: KafkaProducer, client: KafkaClientConfiguration, policy: SlaPolicy,
        topics: AnalyticsFeedTopics = .init(),
        health: WorkerHealth = .init(), logger: Logger
    ) {
        let figures = AnalyticsFigures()
        self.figures = figures
        self.health = health
        worker = StreamWorker(
            processor: AnalyticsProcessor(rules: SlaRules(policy), topics: topics, figures: figures), consumer: consumer,
            producer: producer,
            configuration: StreamWorkerConfiguration(
                worker: "analytics", client: client, deadLetterTopic: topics.deadLetter,
                restoreObserver: { _, seconds in figures.value.withLock { $0.lastRestoreSeconds = seconds } }
            ),
            health: health, logger: logger
        )
    }

    public var statistics: AnalyticsFeedStatistics { figures.value.withLock { $0 } }

    /// Fails fast unless `triage.incident-state` exists with the lifecycle topic's partition count.
    public static func checkTopics(_ topics: AnalyticsFeedTopics, client: KafkaClientConfiguration, logger: Logger) async throws {
        try await checkCoPartitioned(
            input: topics.incidentEvents, companions: [CoPartitionedTopic(topics.incidentState, configs: ["cleanup.policy=compact"])],
            client: client, logger: logger
        )
    }

    public func run() async throws {
        try await worker.run()
    }
}

final class AnalyticsFigures: Sendable {
    let value = Mutex(AnalyticsFeedStatistics())
}

/// The feed's logic: each event folded into its incident's facts, a flat record per event.
struct AnalyticsProcessor: StreamProcessor {
    let input: String
    let stateName = "incident state"
    let changelog: Changelog<KeyedState<IncidentSnapshot>>?
    let rules: SlaRules
    let topics: AnalyticsFeedTopics
    let figures: AnalyticsFigures
    let decoder = IncidentEventDecoder(validator: .init(allowedClockSkew: 86_400 * 365))
    /// The same for every record: built once, shared by every message.
    let recordHeaders = [
        KafkaHeader(name: TriageHeader.contentType, string: TriageHeader.jsonContentType),
        KafkaHeader(name: TriageHeader.schema, string: "triage.v1.AnalyticsRecord"),
    ]
    let snapshotHeaders = [KafkaHeader(name: TriageHeader.contentType, string: TriageHeader.jsonContentType)]
    var facts: [Int32: IncidentFacts] = [:]

    /// The records first, the snapshots once they are acknowledged: a snapshot never gets ahead
    /// of its records (they live in other partitions, on other brokers maybe, so written at
    /// once the snapshot could land alone before a crash: the record would be lost, its event
    /// recognised as applied on replay).
    static let recordsPhase = 0
    static let snapshotsPhase = 1

    init(rules: SlaRules, topics: AnalyticsFeedTopics, figures: AnalyticsFigures) {
        self.input = topics.incidentEvents
        self.changelog = Changelog(topic: topics.incidentState) { bytes in try IncidentSnapshot(jsonData: Data(bytes)) }
        self.rules = rules
        self.topics = topics
        self.figures = figures
    }

    mutating func assigned(_ states: [Int32: KeyedState<IncidentSnapshot>], output: inout StreamOutput) throws {
        for (partition, state) in states {
            var restored = IncidentFacts(rules: rules)
            for snapshot in state.values.values { restored.restore(snapshot) }
            facts[partition] = restored
        }
        updateCount()
    }

    mutating func revoked(_ partitions: [Int32]) {
        for partition in partitions { facts[partition] = nil }
        updateCount()
    }

    mutating func process(_ records: [KafkaMessage], output: inout StreamOutput) throws {
        // Each incident once, in the order first touched (incident ids are partition keys).
        var touched: [(partition: Int32, incident: String)] = []
        var seen: Set<String> = []
        var duplicates = 0
        var published = 0
        var poisoned = 0
        for message in records {
            let event: IncidentEvent
            switch decoder.decode(message) {
            case .failure(let reason):
                output.deadLetter(message, reason: reason)
                poisoned += 1
                continue
            case .success(let decoded): event = decoded
            }
            guard let record = facts[message.partition]!.apply(event) else {
                duplicates += 1
                continue
            }
            output.write(
                KafkaProducerMessage(
                    topic: topics.analytics, key: Array(event.incidentID.utf8), value: try record.publishedJSONBytes(),
                    headers: recordHeaders
                ),
                phase: Self.recordsPhase
            )
            published += 1
            if seen.insert(event.incidentID).inserted { touched.append((message.partition, event.incidentID)) }
        }
        // The snapshots are serialized by the runtime's writer once the records are stored, on
        // its task rather than this loop's (a third of a step's work): held as they are now.
        let snapshots = touched.compactMap { partition, incident in facts[partition]?.frozen(incident).map { (partition, $0) } }
        if !snapshots.isEmpty {
            let (topic, headers) = (topics.incidentState, snapshotHeaders)
            output.write(phase: Self.snapshotsPhase) { [snapshots] _ in
                try snapshots.map { partition, snapshot in
                    KafkaProducerMessage(
                        topic: topic, key: Array(snapshot.incidentID.utf8), value: try snapshot.jsonBytes(), headers: headers,
                        partition: partition
                    )
                }
            }
        }
        let figures = self.figures
        output.whenDelivered { [published, duplicates, poisoned] in
            figures.value.withLock {
                $0.records += published
                $0.duplicates += duplicates
                $0.deadLettered += poisoned
            }
        }
        updateCount()
    }

    func updateCount() {
        let incidents = facts.values.reduce(0) { $0 + $1.count }
        figures.value.withLock { $0.incidents = incidents }
    }
}
