import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization
public import TriageKafka
public import TriageOps
import TriageSLA
import TriageSchema
import TriageStreams

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
/// `closedRetention` are deleted (tombstones on the index topic, every `sweepInterval`); a
/// Reopened after that is not routed (logged and counted). It runs on ``StreamWorker``: a
/// single writer per partition whose forwards and index records are pipelined, offsets stored
/// once they are acknowledged (at-least-once; the desks are idempotent).
public final class RoutingDispatcher: Service, Sendable {
    public let health: WorkerHealth
    private let worker: StreamWorker<DispatchProcessor>
    private let figures: DispatchFigures

    public init(
        consumer: KafkaConsumer, producer: KafkaProducer, client: KafkaClientConfiguration, topics: RouterTopics = .init(),
        routingPartitions: Int, defaultTeam: String = "general", closedRetention: Duration = .seconds(30 * 86_400),
        sweepInterval: Duration = .seconds(60), health: WorkerHealth = .init(), logger: Logger
    ) {
        let figures = DispatchFigures()
        self.figures = figures
        self.health = health
        let processor = DispatchProcessor(
            topics: topics, routingPartitions: routingPartitions, defaultTeam: defaultTeam, closedRetention: closedRetention,
            sweepInterval: sweepInterval, figures: figures, logger: logger
        )
        worker = StreamWorker(
            processor: processor, consumer: consumer, producer: producer,
            configuration: StreamWorkerConfiguration(worker: "router-dispatcher", client: client, deadLetterTopic: topics.deadLetter),
            health: health, logger: logger
        )
    }

    public var forwarded: Int { figures.forwarded.load(ordering: .relaxed) }
    /// Reopened events of incidents the index no longer (or never) knew.
    public var unroutable: Int { figures.unroutable.load(ordering: .relaxed) }
    /// Index entries deleted because their incident was closed longer than the retention.
    public var forgotten: Int { figures.forgotten.load(ordering: .relaxed) }

    public func run() async throws {
        try await worker.run()
    }
}

final class DispatchFigures: Sendable {
    let forwarded = Atomic<Int>(0)
    let unroutable = Atomic<Int>(0)
    let forgotten = Atomic<Int>(0)
}

/// The dispatcher's logic: the routing index per partition, forwards by team.
struct DispatchProcessor: StreamProcessor {
    let input: String
    let stateName = "routing index"
    let changelog: Changelog<KeyedState<IndexEntry>>?
    let topics: RouterTopics
    let routingPartitions: Int
    let defaultTeam: String
    let closedRetention: Duration
    let sweepInterval: Duration
    let figures: DispatchFigures
    let logger: Logger
    let decoder = IncidentEventDecoder(validator: .init(allowedClockSkew: 86_400 * 365))
    var index: [Int32: [String: IndexEntry]] = [:]
    var nextSweep = Date()

    init(
        topics: RouterTopics, routingPartitions: Int, defaultTeam: String, closedRetention: Duration, sweepInterval: Duration,
        figures: DispatchFigures, logger: Logger
    ) {
        self.input = topics.incidentEvents
        self.changelog = Changelog(topic: topics.routingIndex) { bytes in IndexEntry(String(decoding: bytes, as: UTF8.self)) }
        self.topics = topics
        self.routingPartitions = routingPartitions
        self.defaultTeam = defaultTeam
        self.closedRetention = closedRetention
        self.sweepInterval = sweepInterval
        self.figures = figures
        self.logger = logger
    }

    mutating func assigned(_ states: [Int32: KeyedState<IndexEntry>], output: inout StreamOutput) throws {
        for (partition, state) in states { index[partition] = state.values }
        nextSweep = Date()  // sweep what was restored at once
    }

    mutating func revoked(_ partitions: [Int32]) {
        for partition in partitions { index[partition] = nil }
    }

    mutating func nextPunctuation() -> Punctuation? {
        index.isEmpty ? nil : Punctuation(at: nextSweep)
    }

    mutating func punctuate(output: inout StreamOutput) throws {
        let seconds = Double(sweepInterval.components.seconds) + Double(sweepInterval.components.attoseconds) / 1e18
        nextSweep = Date().addingTimeInterval(max(0.001, seconds))
        output.write(contentsOf: forgetClosed(before: Date().addingTimeInterval(-Double(closedRetention.components.seconds))))
    }

    mutating func process(_ records: [KafkaMessage], output: inout StreamOutput) throws {
        var forwards = 0
        for message in records {
            let event: IncidentEvent
            switch decoder.decode(message) {
            case .failure(let reason):
                output.deadLetter(message, reason: reason)
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
                    figures.unroutable.add(1, ordering: .relaxed)
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
                output.write(
                    KafkaProducerMessage(
                        topic: topics.routingIndex, key: Array(event.incidentID.utf8), value: Array(changed.encoded.utf8),
                        partition: message.partition)
                )
            }
            guard let team = (changed ?? known)?.team else { continue }  // opened before our history; nothing to route
            output.write(
                KafkaProducerMessage(
                    topic: topics.routing, key: Array(team.utf8), value: message.value,
                    headers: message.headers + [KafkaHeader(name: routingTeamHeader, string: team)] + extraHeaders,
                    partition: routingPartition(team: team, partitions: routingPartitions)
                )
            )
            forwards += 1
        }
        figures.forwarded.add(forwards, ordering: .relaxed)
    }

    /// Tombstones for the entries of incidents closed before `cutoff`, removed from the index.
    mutating func forgetClosed(before cutoff: Date) -> [KafkaProducerMessage] {
        let limit = cutoff.timeIntervalSince1970
        var tombstones: [KafkaProducerMessage] = []
        for (partition, entries) in index {
            for (incident, entry) in entries {
                guard let closedAt = entry.closedAt, closedAt < limit else { continue }
                index[partition]![incident] = nil
                tombstones.append(
                    KafkaProducerMessage(
                        topic: topics.routingIndex, key: Array(incident.utf8), value: nil as [UInt8]?, partition: partition))
            }
        }
        if !tombstones.isEmpty {
            figures.forgotten.add(tombstones.count, ordering: .relaxed)
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
struct IndexEntry: Equatable, Sendable {
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
