import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization
public import TriageKafka
import TriageSLA
import TriageSchema
public import TriageStreams

/// Topics of the router's two stages (docs/architecture.md).
public struct RouterTopics: Sendable, Hashable {
    /// Lifecycle events in (keyed by incident); Assigned/Reassigned out.
    public var incidentEvents = TriageTopic.incidentEvents
    /// Agent profiles and presence (keyed by agent); every router instance reads all of it.
    public var agentEvents = TriageTopic.agentEvents
    /// Routing work re-keyed by team (explicit partition = stable hash of the team).
    public var routing = TriageTopic.routing
    /// Compacted incident → team index, co-partitioned with ``incidentEvents``.
    public var routingIndex = TriageTopic.routingIndex
    /// Compacted team desk snapshots, co-partitioned with ``routing``.
    public var deskState = TriageTopic.routerState
    public var deadLetter = TriageTopic.deadLetter

    public init() {}
}

/// The partition of `topic` with `partitions` partitions that owns `team`: a stable hash, so
/// every instance (and the dispatcher) agrees without asking the broker's partitioner.
public func routingPartition(team: String, partitions: Int) -> Int32 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in team.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
    return Int32(hash % UInt64(max(1, partitions)))
}

/// Header carrying the team on `triage.routing` records.
public let routingTeamHeader = "triage-team"
/// Headers a forwarded Reopened carries, from the index: what the desk needs to route the
/// incident again (its current severity, product and language).
public let routingSeverityHeader = "triage-severity"
public let routingProductHeader = "triage-product"
public let routingLanguageHeader = "triage-language"

/// Stage 1 of the router: re-keys the lifecycle events that matter for routing by team.
///
/// Only an Opened event names the team; the dispatcher remembers incident → team (with the
/// routing attributes and whether it is closed) per lifecycle partition, restored from the
/// compacted, co-partitioned `triage.routing-index` on assignment, and forwards later events
/// of the incident to the team's partition of `triage.routing`, unchanged except for a
/// `triage-team` header. A Reopened also carries the incident's severity, product and language,
/// so the desk routes it again like a new incident. Entries of incidents closed longer than
/// `closedRetention` are deleted (tombstones on the index topic); a Reopened after that is not
/// routed (logged and counted). Like the escalator it is a single writer per partition and
/// stores offsets only after its forwards and index records were delivered (at-least-once; the
/// desks are idempotent).
public final class RoutingDispatcher: Service, Sendable {
    public let health: WorkerHealth
    private let consumer: KafkaConsumer
    private let producer: KafkaProducer
    private let client: KafkaClientConfiguration
    private let topics: RouterTopics
    private let routingPartitions: Int
    private let defaultTeam: String
    private let logger: Logger
    private let decoder = IncidentEventDecoder(validator: .init(allowedClockSkew: 86_400 * 365))
    private let forwardedCount = Atomic<Int>(0)
    private let metrics = WorkerMetrics(worker: "router-dispatcher")
    private let unroutableCount = Atomic<Int>(0)
    private let forgottenCount = Atomic<Int>(0)
    private let closedRetention: Duration
    private let sweepInterval: Duration

    public init(
        consumer: KafkaConsumer, producer: KafkaProducer, client: KafkaClientConfiguration, topics: RouterTopics = .init(),
        routingPartitions: Int, defaultTeam: String = "general", closedRetention: Duration = .seconds(30 * 86_400),
        sweepInterval: Duration = .seconds(60), health: WorkerHealth = .init(), logger: Logger
    ) {
        self.closedRetention = closedRetention
        self.sweepInterval = sweepInterval
        self.consumer = consumer
        self.producer = producer
        self.client = client
        self.topics = topics
        self.routingPartitions = routingPartitions
        self.defaultTeam = defaultTeam
        self.health = health
        self.logger = logger
    }

    public var forwarded: Int { forwardedCount.load(ordering: .relaxed) }
    /// Reopened events of incidents the index no longer (or never) knew.
    public var unroutable: Int { unroutableCount.load(ordering: .relaxed) }
    /// Index entries deleted because their incident was closed longer than the retention.
    public var forgotten: Int { forgottenCount.load(ordering: .relaxed) }

    public func run() async throws {
        health.markRunning(true, status: "running")
        defer { health.markRunning(false, status: "stopped") }
        var index: [Int32: [String: IndexEntry]] = [:]
        var lastSweep = ContinuousClock.now
        // A batch's forwards are handed over without waiting for them: the next batch is read
        // while they are in flight, and offsets are stored in order once delivered.
        let offsets = PipelinedOffsets(consumer: consumer)
        for try await event in consumer.events {
            switch event {
            case .partitionsAssigned(let partitions):
                let owned = partitions.filter { $0.topic == topics.incidentEvents }.map(\.partition)
                guard !owned.isEmpty else { continue }
                health.beginRestore("routing index \(owned)")
                let sink = IndexSink(partitions: owned)
                _ = try await KafkaPartitionReader.readToEnd(topic: topics.routingIndex, partitions: owned, client: client, logger: logger) { record in
                    sink.add(record)
                }
                for (partition, map) in sink.maps.withLock({ $0 }) { index[partition] = map }
                lastSweep = .now - sweepInterval  // sweep what was restored with the next batch
                health.endRestore(status: "running")
            case .partitionsRevoked(let partitions), .partitionsLost(let partitions):
                // Offsets of what was forwarded are stored before the partitions go (and are
                // committed with the revocation).
                try await offsets.drain()
                for partition in partitions where partition.topic == topics.incidentEvents { index[partition.partition] = nil }
            case .messages(let batch):
                try offsets.check()
                let started = ContinuousClock.now
                var records: [KafkaProducerMessage] = []
                var poison: [(KafkaMessage, PoisonReason)] = []
                for message in batch where index[message.partition] != nil {
                    let event: IncidentEvent
                    switch decoder.decode(message) {
                    case .failure(let reason):
                        poison.append((message, reason))
                        continue
                    case .success(let decoded): event = decoded
                    }
                    guard Self.mattersForRouting(event) else { continue }
                    let known = index[message.partition]![event.incidentID]
                    var changed: IndexEntry?
                    var extraHeaders: [KafkaHeader] = []
                    switch event.event {
                    case .opened(let opened):
                        // A repeated Opened of a closed incident (a replay, a duplicate) is not
                        // routed again; desks do not remember closed incidents.
                        if known?.closedAt != nil { continue }
                        let entry = IndexEntry(
                            team: opened.team.isEmpty ? defaultTeam : opened.team, severity: opened.severity, product: opened.product,
                            language: opened.language, closedAt: nil
                        )
                        if known != entry { changed = entry }
                    case .severityChanged(let change):
                        if var entry = known, entry.severity != change.to {
                            entry.severity = change.to
                            changed = entry
                        }
                    case .closedResolved, .closedUnresolved, .closeRequestedByCustomer:
                        if var entry = known, entry.closedAt == nil {
                            entry.closedAt = event.occurredAt.date.timeIntervalSince1970
                            changed = entry
                        }
                    case .reopened:
                        guard var entry = known else {
                            unroutableCount.add(1, ordering: .relaxed)
                            logger.warning(
                                "reopened incident not in the routing index (never opened here, or closed longer than the retention); not routed",
                                metadata: ["incident_id": "\(event.incidentID)"]
                            )
                            continue
                        }
                        // Only a closed incident is reopened; a repeated Reopened is ignored.
                        guard entry.closedAt != nil else { continue }
                        entry.closedAt = nil
                        changed = entry
                        extraHeaders = [
                            KafkaHeader(name: routingSeverityHeader, string: String(entry.severity.rawValue)),
                            KafkaHeader(name: routingProductHeader, string: entry.product),
                            KafkaHeader(name: routingLanguageHeader, string: entry.language),
                        ]
                    default:
                        break
                    }
                    if let changed {
                        index[message.partition]![event.incidentID] = changed
                        records.append(
                            KafkaProducerMessage(
                                topic: topics.routingIndex, key: Array(event.incidentID.utf8), value: Array(changed.encoded.utf8), partition: message.partition
                            )
                        )
                    }
                    guard let team = (changed ?? known)?.team else { continue }  // opened before our history; nothing to route
                    records.append(
                        KafkaProducerMessage(
                            topic: topics.routing, key: Array(team.utf8), value: message.value,
                            headers: message.headers + [KafkaHeader(name: routingTeamHeader, string: team)] + extraHeaders,
                            partition: routingPartition(team: team, partitions: routingPartitions)
                        )
                    )
                }
                if ContinuousClock.now - lastSweep >= sweepInterval {
                    lastSweep = .now
                    records += forgetClosed(in: &index, before: Date().addingTimeInterval(-Double(closedRetention.components.seconds)))
                }
                // Dead letters first (rare): the batch's offsets may be stored as soon as its forwards land.
                if !poison.isEmpty {
                    let deadLetters = DeadLetterQueue(producer: producer, topic: topics.deadLetter)
                    for (message, reason) in poison { try await deadLetters.send(message, reason: reason) }
                }
                let ticket = try await offsets.begin(batch.filter { index[$0.partition] != nil })
                await producer.submit(records) { error in offsets.delivered(ticket, error: error) }
                forwardedCount.add(records.count { $0.topic == topics.routing }, ordering: .relaxed)
                metrics.processed(batch.count, since: started)
                metrics.deadLettered(poison.count)
            }
        }
        try? await offsets.drain()
        try? await gracefulShutdown()
    }

    /// Tombstones for the entries of incidents closed before `cutoff`, removed from `index`.
    private func forgetClosed(in index: inout [Int32: [String: IndexEntry]], before cutoff: Date) -> [KafkaProducerMessage] {
        let limit = cutoff.timeIntervalSince1970
        var tombstones: [KafkaProducerMessage] = []
        for (partition, entries) in index {
            for (incident, entry) in entries {
                guard let closedAt = entry.closedAt, closedAt < limit else { continue }
                index[partition]![incident] = nil
                tombstones.append(KafkaProducerMessage(topic: topics.routingIndex, key: Array(incident.utf8), value: nil as [UInt8]?, partition: partition))
            }
        }
        if !tombstones.isEmpty {
            forgottenCount.add(tombstones.count, ordering: .relaxed)
            logger.info("routing index: forgot incidents closed longer than the retention", metadata: ["count": "\(tombstones.count)"])
        }
        return tombstones
    }

    /// Events that change who should work on an incident or how much load it is.
    static func mattersForRouting(_ event: IncidentEvent) -> Bool {
        switch event.event {
        case .opened, .acknowledged, .severityChanged, .closedResolved, .closedUnresolved, .closeRequestedByCustomer, .reopened:
            return true
        case .escalated(let escalated):
            return escalated.reassignRequested
        case .reassignRequested:
            return true
        default:
            return false
        }
    }
}

/// An index value: the incident's team and routing attributes, and when it was closed.
///
/// Encoded as text lines `team`, `severity`, `product`, `language`, `closed_at` (Unix seconds,
/// empty while open). Entries written before the attributes existed (`team`, or
/// `team\nclosed`) still decode.
struct IndexEntry: Equatable {
    var team: String
    var severity: Severity
    var product: String
    var language: String
    var closedAt: Double?

    init(team: String, severity: Severity, product: String, language: String, closedAt: Double?) {
        self.team = team
        self.severity = severity
        self.product = product
        self.language = language
        self.closedAt = closedAt
    }

    init(_ encoded: String) {
        let lines = encoded.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        team = lines[0]
        if lines.count >= 5 {
            severity = Int(lines[1]).flatMap(Severity.init(rawValue:)) ?? .unspecified
            product = lines[2]
            language = lines[3]
            closedAt = Double(lines[4])
        } else {
            severity = .unspecified
            product = ""
            language = ""
            closedAt = lines.count == 2 && lines[1] == "closed" ? 0 : nil
        }
    }

    var encoded: String {
        [team, String(severity.rawValue), product, language, closedAt.map { String($0) } ?? ""].joined(separator: "\n")
    }
}

/// The name the router publishes under.
public let routerProducerName = "router"

private final class IndexSink: Sendable {
    let maps: Mutex<[Int32: [String: IndexEntry]]>
    init(partitions: [Int32]) { maps = Mutex(Dictionary(uniqueKeysWithValues: partitions.map { ($0, [:]) })) }
    func add(_ record: borrowing KafkaRecordView) {
        guard let key = record.key else { return }
        let incident = String(decoding: key, as: UTF8.self)
        let entry = record.value.map { IndexEntry(String(decoding: $0, as: UTF8.self)) }
        maps.withLock { $0[record.partition]?[incident] = entry }
    }
}
