import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization
public import TriageKafka
public import TriageOps
public import TriageRouting
import TriageRoutingEvents
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
    /// Notices for agents, customers and leads (keyed by recipient).
    public var notificationRequests = TriageTopic.notificationRequests
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
/// Headers a forwarded TeamChanged also carries: the customer account and when the incident was
/// opened (Unix seconds), so the new team's desk queues it in its place.
public let routingCustomerHeader = "triage-customer"
public let routingOpenedAtHeader = "triage-opened-at"

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
///
/// A TeamChanged (the router moved the incident to another team: overflow, follow-the-sun)
/// changes the entry's team and is forwarded to the new team's desk with the incident's
/// attributes and `openedAt`, like a Reopened. The dispatcher also writes the router's
/// notices (``IncidentNotices``) to `triage.notification-requests`: `assigned` to the agent
/// on Assigned/Reassigned, `customer-update` to the customer on Acknowledged,
/// SolutionDelivered and the closes — in the same step as the event's forwards, so before its
/// offset is stored (a repeat asks again under the same idempotency key).
public final class RoutingDispatcher: Service, Sendable {
    public let health: WorkerHealth
    private let worker: StreamWorker<DispatchProcessor>
    private let figures: DispatchFigures

    public init(
        consumer: KafkaConsumer, producer: KafkaProducer, client: KafkaClientConfiguration, topics: RouterTopics = .init(),
        routingPartitions: Int, defaultTeam: String = "general", closedRetention: Duration = .seconds(30 * 86_400),
        sweepInterval: Duration = .seconds(60), notices: NoticeSettings = NoticeSettings(), health: WorkerHealth = .init(), logger: Logger,
        forwardsTo relay: OfferRelay? = nil
    ) {
        let figures = DispatchFigures()
        self.figures = figures
        self.health = health
        let processor = DispatchProcessor(
            topics: topics, routingPartitions: routingPartitions, defaultTeam: defaultTeam, closedRetention: closedRetention,
            sweepInterval: sweepInterval, notices: notices, figures: figures, logger: logger
        )
        worker = StreamWorker(
            processor: processor, consumer: consumer, producer: producer,
            configuration: StreamWorkerConfiguration(
                worker: "router-dispatcher", client: client, deadLetterTopic: topics.deadLetter, storedObserver: relay?.observer),
            health: health, logger: logger
        )
    }

    public var forwarded: Int { figures.forwarded.load(ordering: .relaxed) }
    /// Reopened events of incidents the index no longer (or never) knew.
    public var unroutable: Int { figures.unroutable.load(ordering: .relaxed) }
    /// Index entries deleted because their incident was closed longer than the retention.
    public var forgotten: Int { figures.forgotten.load(ordering: .relaxed) }
    /// Notification requests written (agent and customer notices).
    public var notices: Int { figures.notices.load(ordering: .relaxed) }

    public func run() async throws {
        try await worker.run()
    }
}

final class DispatchFigures: Sendable {
    let forwarded = Atomic<Int>(0)
    let unroutable = Atomic<Int>(0)
    let forgotten = Atomic<Int>(0)
    let notices = Atomic<Int>(0)
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
    let notices: NoticeSettings
    let figures: DispatchFigures
    let logger: Logger
    let decoder = IncidentEventDecoder(validator: .init(allowedClockSkew: 86_400 * 365))
    var index: [Int32: [String: IndexEntry]] = [:]
    var nextSweep = Date()

    init(
        topics: RouterTopics, routingPartitions: Int, defaultTeam: String, closedRetention: Duration, sweepInterval: Duration,
        notices: NoticeSettings, figures: DispatchFigures, logger: Logger
    ) {
        self.notices = notices
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
        var noticeCount = 0
        for message in records {
            let event: IncidentEvent
            switch decoder.decode(message) {
            case .failure(let reason):
                output.deadLetter(message, reason: reason)
                continue
            case .success(let decoded): event = decoded
            }
            let known = index[message.partition]![event.incidentID]
            for request in IncidentNotices.requests(for: event, facts: known?.facts, settings: notices) {
                output.write(try Self.record(request, topic: topics.notificationRequests, trace: message))
                noticeCount += 1
            }
            var changed: IndexEntry?
            // Who holds the incident, for the customer notices that do not name the agent.
            switch event.event {
            case .assigned(let assigned):
                if var entry = known, entry.agent != assigned.agentID {
                    entry.agent = assigned.agentID
                    changed = entry
                }
            case .reassigned(let moved):
                if var entry = known, entry.agent != moved.toAgentID {
                    entry.agent = moved.toAgentID
                    changed = entry
                }
            case .returnedToQueue:
                if var entry = known, !entry.agent.isEmpty {
                    entry.agent = ""
                    changed = entry
                }
            default:
                break
            }
            if let holder = changed {
                index[message.partition]![event.incidentID] = holder
                output.write(
                    KafkaProducerMessage(
                        topic: topics.routingIndex, key: Array(event.incidentID.utf8), value: Array(holder.encoded.utf8),
                        partition: message.partition)
                )
                changed = nil
            }
            guard Self.mattersForRouting(event) else { continue }
            var extraHeaders: [KafkaHeader] = []
            var forward = true
            switch event.event {
            case .opened(let opened):
                // A repeated Opened of a closed incident (a replay, a duplicate) is not
                // routed again; desks do not remember closed incidents.
                if known?.closedAt != nil { continue }
                var entry = IndexEntry(
                    team: opened.team.isEmpty ? defaultTeam : opened.team, severity: opened.severity, product: opened.product,
                    language: opened.language, closedAt: nil
                )
                entry.customer = opened.customerAccount
                entry.customerTimeZone = opened.customerTimeZone
                entry.openedAt = event.occurredAt.date.timeIntervalSince1970
                entry.agent = known?.agent ?? ""
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
                extraHeaders = entry.attributeHeaders
            case .teamChanged(let moved):
                guard var entry = known, !moved.toTeam.isEmpty else {
                    figures.unroutable.add(1, ordering: .relaxed)
                    logger.warning(
                        "team change of an incident not in the routing index; not routed",
                        metadata: ["incident_id": "\(event.incidentID)", "to_team": "\(moved.toTeam)"]
                    )
                    continue
                }
                guard entry.team != moved.toTeam else { continue }  // a repeat
                entry.team = moved.toTeam
                entry.agent = ""
                changed = entry
                // Closed meanwhile: the new team is remembered for a Reopened, nothing to place now.
                forward = entry.closedAt == nil
                extraHeaders = entry.attributeHeaders
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
            guard forward, let team = (changed ?? known)?.team else { continue }  // opened before our history; nothing to route
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
        figures.notices.add(noticeCount, ordering: .relaxed)
    }

    /// A notification request as the escalator writes them: keyed by recipient, with the
    /// idempotency key and the schema in headers; the trace of the event that caused it goes on.
    static func record(_ request: NotificationRequest, topic: String, trace message: KafkaMessage) throws -> KafkaProducerMessage {
        var headers = [
            KafkaHeader(name: TriageHeader.contentType, string: TriageHeader.protobufContentType),
            KafkaHeader(name: TriageHeader.schema, string: "\(NotificationRequest.protoMessageName); v=\(TriageHeader.schemaVersion)"),
            KafkaHeader(name: TriageHeader.idempotencyKey, string: request.idempotencyKey),
        ]
        if let traceparent = message.header(TriageHeader.traceparent)?.stringValue, let trace = TraceContext(traceparent: traceparent) {
            headers.append(KafkaHeader(name: TriageHeader.traceparent, string: trace.child().traceparent))
        }
        return KafkaProducerMessage(
            topic: topic, key: Array(request.recipient.utf8), value: try request.serializedBytes(), headers: headers)
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
        case .reassignRequested, .teamChanged:
            return true
        default:
            return false
        }
    }
}

/// An index value: the incident's team and routing attributes, and when it was closed.
///
/// Encoded as text lines `team`, `severity`, `product`, `language`, `closed_at` (Unix seconds,
/// empty while open), then `customer`, `customer_time_zone`, `opened_at` (Unix seconds) and
/// `agent` (who holds it). Entries written before the attributes existed (`team`, or
/// `team\nclosed`), or before the customer lines (five lines), still decode.
struct IndexEntry: Equatable, Sendable {
    var team: String
    var severity: Severity
    var product: String
    var language: String
    var closedAt: Double?
    var customer = ""
    var customerTimeZone = ""
    var openedAt: Double?
    var agent = ""

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
            if lines.count >= 9 {
                customer = lines[5]
                customerTimeZone = lines[6]
                openedAt = Double(lines[7])
                agent = lines[8]
            }
        } else {
            severity = .unspecified
            product = ""
            language = ""
            closedAt = lines.count == 2 && lines[1] == "closed" ? 0 : nil
        }
    }

    var encoded: String {
        [
            team, String(severity.rawValue), product, language, closedAt.map { String($0) } ?? "", customer, customerTimeZone,
            openedAt.map { String($0) } ?? "", agent,
        ].joined(separator: "\n")
    }

    /// What the notices say about the incident.
    var facts: IncidentFacts {
        IncidentFacts(
            team: team, severity: severity, product: product, customer: customer, language: language, customerTimeZone: customerTimeZone,
            agent: agent)
    }

    /// The headers of a forward that places the incident again (Reopened, TeamChanged).
    var attributeHeaders: [KafkaHeader] {
        var headers = [
            KafkaHeader(name: routingSeverityHeader, string: String(severity.rawValue)),
            KafkaHeader(name: routingProductHeader, string: product),
            KafkaHeader(name: routingLanguageHeader, string: language),
        ]
        if !customer.isEmpty { headers.append(KafkaHeader(name: routingCustomerHeader, string: customer)) }
        if let openedAt { headers.append(KafkaHeader(name: routingOpenedAtHeader, string: String(openedAt))) }
        return headers
    }
}
