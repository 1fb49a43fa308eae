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

/// Stage 1 of the router: re-keys the lifecycle events that matter for routing by team.
///
/// Only an Opened event names the team; the dispatcher remembers incident → team per
/// lifecycle partition (restored from the compacted, co-partitioned `triage.routing-index` on
/// assignment) and forwards later events of the incident to the team's partition of
/// `triage.routing`, unchanged except for a `triage-team` header. Like the escalator it is a
/// single writer per partition and stores offsets only after its forwards and index records
/// were delivered (at-least-once; the desks are idempotent).
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

    public init(
        consumer: KafkaConsumer, producer: KafkaProducer, client: KafkaClientConfiguration, topics: RouterTopics = .init(),
        routingPartitions: Int, defaultTeam: String = "general", health: WorkerHealth = .init(), logger: Logger
    ) {
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

    public func run() async throws {
        health.markRunning(true, status: "running")
        defer { health.markRunning(false, status: "stopped") }
        var index: [Int32: [String: String]] = [:]
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
                health.endRestore(status: "running")
            case .partitionsRevoked(let partitions), .partitionsLost(let partitions):
                for partition in partitions where partition.topic == topics.incidentEvents { index[partition.partition] = nil }
            case .messages(let batch):
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
                    var team = known.map(IndexEntry.init)
                    var changed: IndexEntry?
                    switch event.event {
                    case .opened(let opened):
                        // A repeated Opened of a closed incident (a replay, a duplicate) is not
                        // routed again; desks do not remember closed incidents.
                        if team?.closed == true { continue }
                        let named = opened.team.isEmpty ? defaultTeam : opened.team
                        if team?.team != named { changed = IndexEntry(team: named, closed: false) }
                    case .closedResolved, .closedUnresolved, .closeRequestedByCustomer:
                        if let current = team, !current.closed { changed = IndexEntry(team: current.team, closed: true) }
                    case .reopened:
                        if let current = team, current.closed { changed = IndexEntry(team: current.team, closed: false) }
                    default:
                        break
                    }
                    if let changed {
                        team = changed
                        index[message.partition]![event.incidentID] = changed.encoded
                        records.append(
                            KafkaProducerMessage(
                                topic: topics.routingIndex, key: Array(event.incidentID.utf8), value: Array(changed.encoded.utf8), partition: message.partition
                            )
                        )
                    }
                    guard let team = team?.team else { continue }  // opened before our history; nothing to route
                    records.append(
                        KafkaProducerMessage(
                            topic: topics.routing, key: Array(team.utf8), value: message.value,
                            headers: message.headers + [KafkaHeader(name: routingTeamHeader, string: team)],
                            partition: routingPartition(team: team, partitions: routingPartitions)
                        )
                    )
                }
                try await producer.sendAll(records)
                if !poison.isEmpty {
                    let deadLetters = DeadLetterQueue(producer: producer, topic: topics.deadLetter)
                    for (message, reason) in poison { try await deadLetters.send(message, reason: reason) }
                }
                try consumer.storeOffsets(batch.filter { index[$0.partition] != nil })
                forwardedCount.add(records.count, ordering: .relaxed)
            }
        }
        try? await gracefulShutdown()
    }

    /// Events that change who should work on an incident or how much load it is.
    static func mattersForRouting(_ event: IncidentEvent) -> Bool {
        switch event.event {
        case .opened, .acknowledged, .severityChanged, .closedResolved, .closedUnresolved, .closeRequestedByCustomer, .reopened:
            return true
        case .escalated(let escalated):
            return escalated.reassignRequested
        case .reassigned(let reassigned):
            // An explicit request from a person or tool: a Reassigned without a target.
            return event.producer != routerProducerName && reassigned.toAgentID.isEmpty
        default:
            return false
        }
    }
}

/// An index value: the team, and `\n` + `closed` once the incident is closed.
struct IndexEntry {
    var team: String
    var closed: Bool
    init(team: String, closed: Bool) {
        self.team = team
        self.closed = closed
    }
    init(_ encoded: String) {
        if encoded.hasSuffix("\nclosed") {
            team = String(encoded.dropLast(7))
            closed = true
        } else {
            team = encoded
            closed = false
        }
    }
    var encoded: String { closed ? team + "\nclosed" : team }
}

/// The name the router publishes under.
public let routerProducerName = "router"

private final class IndexSink: Sendable {
    let maps: Mutex<[Int32: [String: String]]>
    init(partitions: [Int32]) { maps = Mutex(Dictionary(uniqueKeysWithValues: partitions.map { ($0, [:]) })) }
    func add(_ record: KafkaRecordView) {
        guard let key = record.key else { return }
        let incident = String(decoding: key, as: UTF8.self)
        let team = record.value.map { String(decoding: $0, as: UTF8.self) }
        maps.withLock { $0[record.partition]?[incident] = team }
    }
}
