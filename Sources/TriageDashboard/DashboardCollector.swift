public import Foundation
public import Logging
public import ServiceLifecycle
import SwiftProtobuf
import Synchronization
import TriageAnalytics
public import TriageKafka
public import TriageRouting
public import TriageSLA
import TriageSchema

/// Keeps the dashboard's live view by following the topics (never a worker's memory), so it
/// shows the same whether the workers run in this process or elsewhere.
///
/// One ``KafkaTopicFollower`` per topic, outside any consumer group, from the beginning (each
/// on its own thread): the compacted incident state (open incidents and their SLA deadlines),
/// the lifecycle events (counted per bucket for the charts; only the buckets are kept), the
/// agent events and the compacted router state (agents, presence, load). Besides, every
/// ``DashboardConfiguration/lagInterval`` it measures each worker group's lag on its input
/// topic with a ``KafkaGroupLagReader`` (blocking calls on the Kafka blocking-call queue).
///
/// As a `Service`, ``run()`` reads until graceful shutdown, cancellation or ``stop()``;
/// ``snapshot()`` may be called from anywhere at any time.
public final class DashboardCollector: Service, Sendable {
    public let topics: DashboardTopics
    /// Worker consumer group → its input topic, sorted by group.
    public let groups: [(group: String, topic: String)]

    private let now: @Sendable () -> Date
    private let configuration: DashboardConfiguration
    private let logger: Logger
    private let followers: [KafkaTopicFollower]
    private let admin: KafkaAdmin
    private let lagReader: KafkaGroupLagReader
    private let groupPartitions: Mutex<[String: [Int32]]>
    private let shared: Shared
    private let stopping = Atomic<Bool>(false)

    /// The view, shared with the followers' callbacks.
    private final class Shared: Sendable {
        let state: Mutex<State>
        init(_ state: State) { self.state = Mutex(state) }
    }

    private struct State: Sendable {
        var incidents: IncidentBoard
        var agents = AgentBoard()
        var desks = DeskBoard()
        var queueTimes = QueueTimes()
        var series: EventSeries
        var lag: [String: DashboardSnapshot.GroupLag] = [:]
        var records = 0
        var undecodable = 0
    }

    /// Finds the topics' partitions; fails with ``DashboardError/Code/missingTopic`` if one of
    /// `topics` does not exist. A group's input topic that does not exist (yet) is shown as an
    /// error in its lag row and looked up again at every measurement.
    ///
    /// - Parameters:
    ///   - groups: worker consumer group id → the topic it consumes, e.g. `["triage-escalator":
    ///     "triage.incident-events"]`.
    ///   - now: SLA time (the escalator's clock): countdowns are deadlines minus this.
    ///   - policy: the SLA policy the workers run (targets and calendars give the deadlines).
    public init(
        client: KafkaClientConfiguration,
        groups: [String: String],
        now: @escaping @Sendable () -> Date,
        policy: SlaPolicy = SlaPolicy(),
        topics: DashboardTopics = .init(),
        configuration: DashboardConfiguration = .init(),
        observer: (any DashboardObserver)? = nil,
        logger: Logger
    ) async throws {
        self.topics = topics
        self.groups = groups.sorted { $0.key < $1.key }.map { (group: $0.key, topic: $0.value) }
        self.now = now
        self.configuration = configuration
        self.logger = logger
        admin = try KafkaAdmin(configuration: client, logger: logger)
        lagReader = try KafkaGroupLagReader(client: client, logger: logger)
        var partitions: [String: [Int32]] = [:]
        for topic in Set(topics.all) {
            do {
                partitions[topic] = try await admin.describeTopic(topic).partitions.map(\.id)
            } catch {
                throw DashboardError(
                    code: .missingTopic, message: "cannot read topic '\(topic)'; create it or pass other DashboardTopics", underlying: error
                )
            }
        }
        var extra: [String] = []
        for topic in observer?.extraTopics ?? [] where partitions[topic] == nil {
            do {
                partitions[topic] = try await admin.describeTopic(topic).partitions.map(\.id)
                extra.append(topic)
            } catch {
                logger.warning("not following a missing topic", metadata: ["topic": "\(topic)", "error": "\(error)"])
            }
        }
        var known: [String: [Int32]] = [:]
        for topic in Set(groups.values) {
            if let found = partitions[topic] {
                known[topic] = found
            } else if let found = try? await admin.describeTopic(topic).partitions.map(\.id) {
                known[topic] = found
            }
        }
        groupPartitions = Mutex(known)
        let shared = Shared(
            State(
                incidents: IncidentBoard(rules: SlaRules(policy)),
                series: EventSeries(bucket: configuration.series.bucket, count: configuration.series.count),
                lag: Dictionary(
                    uniqueKeysWithValues: groups.map {
                        (
                            $0.key,
                            DashboardSnapshot.GroupLag(
                                group: $0.key, topic: $0.value, lag: nil, partitions: 0, notStarted: true, error: nil, measuredAt: nil)
                        )
                    }
                )
            )
        )

        self.shared = shared
        // The callbacks run on the followers' threads; they decode outside the lock.
        let state = shared
        let wallClock = configuration.wallClock
        func follower(_ topic: String, _ body: @escaping @Sendable (borrowing KafkaRecordView) -> Bool) -> KafkaTopicFollower {
            KafkaTopicFollower(topic: topic, partitions: partitions[topic] ?? [], start: .beginning, client: client, logger: logger) {
                record in
                let decoded = body(record)
                state.state.withLock {
                    $0.records += 1
                    if !decoded { $0.undecodable += 1 }
                }
            }
        }
        followers =
            [
                follower(topics.incidentState) { record in
                    guard let key = record.key else { return false }
                    guard let value = record.value else {
                        let incident = String(decoding: key, as: UTF8.self)
                        state.state.withLock { $0.incidents.remove(incident) }
                        observer?.incidentState(id: incident, snapshot: nil)
                        return true
                    }
                    guard let snapshot = try? IncidentSnapshot(jsonData: Data(value)) else { return false }
                    state.state.withLock { $0.incidents.apply(snapshot) }
                    observer?.incidentState(id: snapshot.incidentID, snapshot: snapshot)
                    return true
                },
                follower(topics.incidentEvents) { record in
                    guard let value = record.value, let event = try? IncidentEvent(serializedBytes: Array(value)) else { return false }
                    let instant = wallClock()
                    state.state.withLock {
                        _ = $0.series.record(event, at: instant)
                        $0.queueTimes.apply(event)
                    }
                    observer?.incidentEvent(event)
                    return true
                },
                follower(topics.agentEvents) { record in
                    guard let value = record.value, let event = try? AgentEvent(serializedBytes: Array(value)) else { return false }
                    state.state.withLock { $0.agents.apply(event) }
                    return true
                },
                follower(topics.routerState) { record in
                    guard let key = record.key else { return false }
                    let (partition, value) = (record.partition, record.value.map { Array($0) })
                    let writer = record.header(DeskLog.writerHeader).map { String(decoding: $0, as: UTF8.self) }
                    // Decoding a core under the lock keeps the records of a partition in order;
                    // the router writes a core per step, not per incident.
                    return state.state.withLock {
                        switch $0.desks.add(partition: partition, key: Array(key), value: value, writer: writer) {
                        case .core(let team, let desk):
                            $0.agents.apply(desk: desk, team: team)
                            return true
                        case .queue, .none: return true
                        case .undecodable: return false
                        }
                    }
                },
            ]
            + extra.map { topic in
                follower(topic) { record in
                    observer?.extraRecord(topic: topic, key: record.key.map { Array($0) }, value: record.value.map { Array($0) }) ?? true
                }
            }
    }

    /// Every team's desk as `triage.router-state` last told it, its queue included, by team.
    public func desks() -> [String: TeamDesk] {
        shared.state.withLock { $0.desks }.desks()
    }

    /// The agents as ``snapshot()`` lists them (sorted by team, then id).
    public func agentRows() -> [DashboardSnapshot.Agent] {
        shared.state.withLock { $0.agents }.rows()
    }

    /// When `incident` last went into its team's queue (SLA time), if it is queued as far as
    /// the lifecycle events tell.
    public func queuedSince(_ incident: String) -> Date? {
        shared.state.withLock { $0.queueTimes[incident] }
    }

    /// Every follower has read what its topic held when it started.
    public var isCaughtUp: Bool { followers.allSatisfy(\.isCaughtUp) }

    /// Returns once every follower is caught up (see ``isCaughtUp``); throws if one failed.
    public func waitUntilCaughtUp() async throws {
        for follower in followers { try await follower.waitUntilCaughtUp() }
    }

    /// Stops reading and measuring; ``run()`` returns shortly after.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        for follower in followers { follower.stop() }
    }

    /// Follows the topics and measures lag until graceful shutdown, cancellation or ``stop()``.
    /// Throws if a follower fails (a topic deleted, the handle refused).
    public func run() async throws {
        defer { logger.debug("dashboard collector stopped") }
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for follower in followers { group.addTask { try await follower.run() } }
                group.addTask { await self.measureLag() }
                // Followers end only when stopped (or failing): then stop the rest.
                defer {
                    stop()
                    group.cancelAll()
                }
                try await group.next()
            }
        } onGracefulShutdown: {
            self.stop()
        }
        await lagReader.close()
    }

    /// The live view at this instant: countdowns at ``now`` (SLA time), charts ending at the
    /// current wall-clock bucket.
    public func snapshot() -> DashboardSnapshot {
        let slaNow = now()
        let wallNow = configuration.wallClock()
        let (incidents, agents, desks, queueTimes, series, lag, records, undecodable) = shared.state.withLock {
            ($0.incidents, $0.agents, $0.desks, $0.queueTimes, $0.series, $0.lag, $0.records, $0.undecodable)
        }
        // Computed on copies, outside the lock the followers take per record.
        let rows = incidents.rows(now: slaNow, limit: .max)
        let agentRows = agents.rows()
        let queues = desks.queues { queueTimes[$0] }
        let routing = RoutingPolicy(severityWeights: configuration.loadWeights)
        var figures = DashboardSnapshot.Figures()
        figures.openIncidents = rows.count
        figures.breachedIncidents = rows.filter { $0.sla?.breached == true }.count
        // Waiting on the customer, whatever clock is left: an acknowledged incident without a
        // resolution target has no countdown at all, yet it is paused.
        figures.pausedIncidents = rows.filter(\.isPaused).count
        figures.queuedIncidents = queues.reduce(0) { $0 + $1.depth }
        figures.agents = agentRows.count
        figures.agentsOnline = agentRows.filter { $0.presence == "online" }.count
        figures.warnings = series.totals[EventSeries.Kind.warning.rawValue]
        figures.breaches = series.totals[EventSeries.Kind.breach.rawValue]
        figures.escalations = series.totals[EventSeries.Kind.escalation.rawValue]
        figures.opened = series.totals[EventSeries.Kind.opened.rawValue]
        figures.closed = series.totals[EventSeries.Kind.closed.rawValue]
        figures.records = records
        figures.undecodable = undecodable
        figures.caughtUp = isCaughtUp
        return DashboardSnapshot(
            now: slaNow, wallClock: wallNow, incidents: Array(rows.prefix(max(0, configuration.maximumIncidents))),
            incidentTotal: rows.count,
            agents: agentRows,
            loadWeights: .init(a: routing.weight(of: .a), b: routing.weight(of: .b), c: routing.weight(of: .c)), queues: queues,
            series: series.series(endingAt: wallNow), lag: lag.values.sorted { $0.group < $1.group }, figures: figures
        )
    }

    // MARK: Lag

    private func measureLag() async {
        while !Task.isCancelled && !stopping.load(ordering: .acquiring) {
            for (group, topic) in groups {
                let row = await measure(group: group, topic: topic)
                shared.state.withLock { $0.lag[group] = row }
            }
            try? await Task.sleep(for: configuration.lagInterval)
        }
    }

    private func measure(group: String, topic: String) async -> DashboardSnapshot.GroupLag {
        let measuredAt = configuration.wallClock()
        do {
            let partitions: [Int32]
            if let known = groupPartitions.withLock({ $0[topic] }) {
                partitions = known
            } else {
                partitions = try await admin.describeTopic(topic).partitions.map(\.id)
                groupPartitions.withLock { $0[topic] = partitions }
            }
            let lag = try await lagReader.lag(group: group, topic: topic, partitions: partitions, timeout: configuration.lagTimeout)
            return .init(
                group: group, topic: topic, lag: lag.lag, partitions: partitions.count, notStarted: !lag.hasStarted, error: nil,
                measuredAt: measuredAt)
        } catch {
            logger.debug("lag measurement failed", metadata: ["group": "\(group)", "error": "\(error)"])
            return .init(group: group, topic: topic, lag: nil, partitions: 0, notStarted: false, error: "\(error)", measuredAt: measuredAt)
        }
    }
}
