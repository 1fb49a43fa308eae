import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization
import TriageAnalytics
public import TriageKafka
public import TriageSLA
import TriageSchema
public import TriageStreams

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
/// One writer per lifecycle partition: the snapshots of a partition's incidents (the
/// `TriageAnalytics` fold, which measures SLA time with the escalator's own clocks) are restored
/// from the co-partitioned compacted `triage.incident-state` when the partition is assigned
/// (`/readyz` says not ready meanwhile). Per batch, the analytics records and the latest snapshot
/// of each touched incident are published in order and acknowledged before the offsets are
/// stored. After a crash the events after the committed offset are applied again: those the
/// restored snapshot already holds are recognised by event id and dropped; a record whose
/// snapshot had not been written yet is published again with the same `event_id`.
public final class AnalyticsFeed: Service, Sendable {
    public let health: WorkerHealth
    private let consumer: KafkaConsumer
    private let producer: KafkaProducer
    private let client: KafkaClientConfiguration
    private let rules: SlaRules
    private let topics: AnalyticsFeedTopics
    private let logger: Logger
    private let decoder = IncidentEventDecoder(validator: .init(allowedClockSkew: 86_400 * 365))
    private let stats = Mutex(AnalyticsFeedStatistics())
    private let metrics = WorkerMetrics(worker: "analytics")

    public init(
        consumer: KafkaConsumer, producer: KafkaProducer, client: KafkaClientConfiguration, policy: SlaPolicy, topics: AnalyticsFeedTopics = .init(),
        health: WorkerHealth = .init(), logger: Logger
    ) {
        self.consumer = consumer
        self.producer = producer
        self.client = client
        self.rules = SlaRules(policy)
        self.topics = topics
        self.health = health
        self.logger = logger
    }

    public var statistics: AnalyticsFeedStatistics { stats.withLock { $0 } }

    /// Fails fast unless `triage.incident-state` exists with the lifecycle topic's partition count.
    public static func checkTopics(_ topics: AnalyticsFeedTopics, client: KafkaClientConfiguration, logger: Logger) async throws {
        try await checkCoPartitioned(
            input: topics.incidentEvents, companions: [CoPartitionedTopic(topics.incidentState, configs: ["cleanup.policy=compact"])],
            client: client, logger: logger
        )
    }

    public func run() async throws {
        health.markRunning(true, status: "running")
        defer { health.markRunning(false, status: "stopped") }
        var facts: [Int32: IncidentFacts] = [:]
        for try await event in consumer.events {
            switch event {
            case .partitionsAssigned(let partitions):
                let owned = partitions.filter { $0.topic == topics.incidentEvents }.map(\.partition)
                defer { health.markAssigned() }
                guard !owned.isEmpty else { continue }
                for (partition, restored) in try await restore(owned) { facts[partition] = restored }
            case .partitionsRevoked(let partitions), .partitionsLost(let partitions):
                for partition in partitions where partition.topic == topics.incidentEvents { facts[partition.partition] = nil }
            case .messages(let batch):
                let started = ContinuousClock.now
                var records: [KafkaProducerMessage] = []
                var touched: [Int32: [String]] = [:]
                var duplicates = 0
                var poison: [(KafkaMessage, PoisonReason)] = []
                for message in batch where facts[message.partition] != nil {
                    let event: IncidentEvent
                    switch decoder.decode(message) {
                    case .failure(let reason):
                        poison.append((message, reason))
                        continue
                    case .success(let decoded): event = decoded
                    }
                    guard let record = facts[message.partition]!.apply(event) else {
                        duplicates += 1
                        continue
                    }
                    records.append(
                        KafkaProducerMessage(
                            topic: topics.analytics, key: Array(event.incidentID.utf8), value: Array(try record.publishedJSON().utf8),
                            headers: [
                                KafkaHeader(name: TriageHeader.contentType, string: TriageHeader.jsonContentType),
                                KafkaHeader(name: TriageHeader.schema, string: "triage.v1.AnalyticsRecord"),
                            ]
                        )
                    )
                    if !(touched[message.partition]?.contains(event.incidentID) ?? false) { touched[message.partition, default: []].append(event.incidentID) }
                }
                // The snapshots after the records are acknowledged: a snapshot never gets ahead of
                // its records (they live in other partitions, on other brokers maybe, so sending
                // both at once could land the snapshot alone before a crash: the record would be
                // lost, its event recognised as applied on replay).
                try await producer.sendAll(records)
                let published = records.count
                records = []
                for (partition, incidents) in touched {
                    for incident in incidents {
                        guard let snapshot = facts[partition]?[incident] else { continue }
                        records.append(
                            KafkaProducerMessage(
                                topic: topics.incidentState, key: Array(incident.utf8), value: Array(try snapshot.jsonData()),
                                headers: [KafkaHeader(name: TriageHeader.contentType, string: TriageHeader.jsonContentType)], partition: partition
                            )
                        )
                    }
                }
                try await producer.sendAll(records)
                if !poison.isEmpty {
                    let deadLetters = DeadLetterQueue(producer: producer, topic: topics.deadLetter)
                    for (message, reason) in poison { try await deadLetters.send(message, reason: reason) }
                }
                try consumer.storeOffsets(batch.filter { facts[$0.partition] != nil })
                metrics.processed(batch.count, since: started)
                metrics.deadLettered(poison.count)
                let incidents = facts.values.reduce(0) { $0 + $1.count }
                stats.withLock {
                    $0.records += published
                    $0.duplicates += duplicates
                    $0.deadLettered += poison.count
                    $0.incidents = incidents
                }
            }
        }
        try? await gracefulShutdown()
    }

    private func restore(_ partitions: [Int32]) async throws -> [Int32: IncidentFacts] {
        health.beginRestore("incident state \(partitions)")
        defer { health.endRestore(status: "running") }
        let started = ContinuousClock.now
        let sink = SnapshotSink()
        _ = try await KafkaPartitionReader.readToEnd(topic: topics.incidentState, partitions: partitions, client: client, logger: logger) { record in
            sink.add(record)
        }
        var result = Dictionary(uniqueKeysWithValues: partitions.map { ($0, IncidentFacts(rules: rules)) })
        let (snapshots, unreadable) = sink.snapshots.withLock { ($0, sink.unreadable.load(ordering: .relaxed)) }
        for (partition, byIncident) in snapshots {
            for snapshot in byIncident.values { result[partition]?.restore(snapshot) }
        }
        let seconds = (ContinuousClock.now - started).components
        stats.withLock { $0.lastRestoreSeconds = Double(seconds.seconds) + Double(seconds.attoseconds) / 1e18 }
        if unreadable > 0 { logger.warning("incident-state records that could not be read were skipped", metadata: ["count": "\(unreadable)"]) }
        logger.info("incident state restored", metadata: ["partitions": "\(partitions)", "incidents": "\(snapshots.values.reduce(0) { $0 + $1.count })"])
        return result
    }
}

private final class SnapshotSink: Sendable {
    let snapshots = Mutex<[Int32: [String: IncidentSnapshot]]>([:])
    let unreadable = Atomic<Int>(0)
    func add(_ record: borrowing KafkaRecordView) {
        guard let key = record.key else { return }
        let incident = String(decoding: key, as: UTF8.self)
        guard let value = record.value else {
            snapshots.withLock { _ = $0[record.partition]?.removeValue(forKey: incident) }
            return
        }
        guard let snapshot = try? IncidentSnapshot(jsonData: Data(value)) else {
            unreadable.add(1, ordering: .relaxed)
            return
        }
        snapshots.withLock { $0[record.partition, default: [:]][incident] = snapshot }
    }
}
