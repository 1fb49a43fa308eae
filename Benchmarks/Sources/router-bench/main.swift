// Router benchmark (issue 5): routing decisions per second of one desk (pure policy) against
// a round-robin baseline, and Opened → Assigned latency through a whole router instance at a
// fixed offered rate, against the plain produce → consume latency of the same broker in the
// same run. Prints; asserts nothing.
//
//   router-bench [--rate 5000] [--slow-rate 1000] [--seconds 10] [--agents 200] [--teams 4]
//
// On another broker (it creates its topics; a fresh broker per run, since incident ids repeat):
//   LD_LIBRARY_PATH=<newer librdkafka> router-bench --bootstrap 127.0.0.1:9092 --broker-pid <pid>
//
// It also checks what it measures: every harness consumer reports an offset it skipped, and
// every run says which incidents were not assigned, or assigned under two event ids.
import BenchSupport
import Foundation
import Logging
import ServiceLifecycle
import SwiftProtobuf
import Synchronization
import TriageKafka
import TriageRouterWorker
import TriageRouting
import TriageRoutingEvents
import TriageSLA
import TriageSchema
import TriageStreams

let logger = {
    var logger = Logger(label: "triage.router-bench")
    logger.logLevel = .error
    return logger
}()
let rate = option("--rate", 5_000)
/// The second, lower rate the router and the relay are measured at (same run).
let slowRate = option("--slow-rate", 1_000)
let seconds = option("--seconds", 10)
let rounds = option("--rounds", 3)
let agentCount = option("--agents", 200)
let teamCount = option("--teams", 4)
let teams = (0..<teamCount).map { "team-\($0)" }

let fixedTopics: [(String, Int)] = [
    (TriageTopic.incidentEvents, 8), (TriageTopic.agentEvents, 2), (TriageTopic.routing, 8), (TriageTopic.routingIndex, 8),
    (TriageTopic.routerState, 8), (TriageTopic.deadLetter, 1), ("bench.pipe", 8),
    ("bench.relay-in", 8), ("bench.relay-index", 8), ("bench.relay-routing", 8), ("bench.relay-state", 8), ("bench.relay-out", 8),
    ("bench.slow.incident-events", 8), ("bench.slow.routing", 8), ("bench.slow.routing-index", 8), ("bench.slow.router-state", 8),
    ("bench.slow.relay-in", 8), ("bench.slow.relay-index", 8), ("bench.slow.relay-routing", 8), ("bench.slow.relay-state", 8),
    ("bench.slow.relay-out", 8),
    ("bench.slow.full.relay-in", 8), ("bench.slow.full.relay-index", 8), ("bench.slow.full.relay-routing", 8),
    ("bench.slow.full.relay-state", 8), ("bench.slow.full.relay-notices", 8),
]
/// Each round's relay topics, and its router's (the first round's router uses the standard ones).
var roundTopicNames: [(String, Int)] = []
for round in 0..<rounds {
    var names = ["relay-in", "relay-index", "relay-routing", "relay-state", "relay-out"]
    if round > 0 { names += ["incident-events", "routing", "routing-index", "router-state"] }
    for name in names { roundTopicNames.append(("bench.r\(round).\(name)", 8)) }
    for name in ["relay-in", "relay-index", "relay-routing", "relay-state", "relay-notices"] {
        roundTopicNames.append(("bench.r\(round).full.\(name)", 8))
    }
}
try ChildBroker.serveIfChild(topics: fixedTopics + roundTopicNames)

// MARK: 1. One desk, pure policy

emit("router benchmark: \(agentCount) agents in \(teamCount) teams; offered \(rate) incidents/s for \(seconds) s")
let policy = RoutingPolicy()
var desk = TeamDesk(team: "team-0")
let deskAgents = 50
let now = Date()
for index in 0..<deskAgents {
    _ = desk.apply(.profile(Agent(id: "a\(index)", team: "team-0", skills: ["billing"], capacity: 6)), at: now, policy: policy)
    _ = desk.apply(.presence(agent: "a\(index)", .online), at: now, policy: policy)
}
let decisionsTarget = 200_000
var decisions = 0
let deskStarted = ContinuousClock.now
for index in 0..<decisionsTarget {
    let at = now.addingTimeInterval(Double(index) / 1000)
    decisions +=
        desk.apply(
            .opened(RoutingIncident(id: "I\(index)", team: "team-0", severity: [.a, .b, .c][index % 3], product: "billing", openedAt: at)),
            at: at, policy: policy
        ).count
    if index >= 50 { decisions += desk.apply(.released(incident: "I\(index - 50)"), at: at, policy: policy).count }
}
let deskSeconds = (ContinuousClock.now - deskStarted).secondsDouble
// Baseline: round-robin over the same agents with a plain load counter.
var loads = [Int](repeating: 0, count: deskAgents)
var holder: [String: Int] = [:]
let baselineStarted = ContinuousClock.now
for index in 0..<decisionsTarget {
    let agent = index % deskAgents
    loads[agent] += 1
    holder["I\(index)"] = agent
    if index >= 50, let previous = holder.removeValue(forKey: "I\(index - 50)") { loads[previous] -= 1 }
}
let baselineSeconds = (ContinuousClock.now - baselineStarted).secondsDouble
precondition(desk.checkInvariants(policy: policy).isEmpty)
// One team's stored core (50 agents, 60 open incidents), as every step writes it: the router's
// direct writer against JSONEncoder (what it used before; records are read with JSONDecoder).
var coreDesk = TeamDesk(team: "team-0")
let corePolicy = RoutingPolicy(closedIncidentMemory: 0)  // as the router runs desks
for index in 0..<deskAgents {
    _ = coreDesk.apply(
        .profile(Agent(id: "agent-\(index)", team: "team-0", skills: ["billing"], capacity: 30)), at: now, policy: corePolicy)
    _ = coreDesk.apply(.presence(agent: "agent-\(index)", .online), at: now, policy: corePolicy)
}
for index in 0..<60 {
    _ = coreDesk.apply(
        .opened(RoutingIncident(id: "B\(index)", team: "team-0", severity: .b, product: "billing", openedAt: now)), at: now,
        policy: corePolicy)
}
let coreSnapshot = DeskSnapshot(desk: coreDesk.core, outbox: [Data(repeating: 7, count: 120)])
let encodeRounds = 500
var coreBytes = 0
let directStarted = ContinuousClock.now
for _ in 0..<encodeRounds { coreBytes += coreSnapshot.jsonBytes.count }
let directSeconds = (ContinuousClock.now - directStarted).secondsDouble / Double(encodeRounds)
let encoderStarted = ContinuousClock.now
for _ in 0..<encodeRounds { coreBytes += try JSONEncoder().encode(coreSnapshot).count }
let encoderSeconds = (ContinuousClock.now - encoderStarted).secondsDouble / Double(encodeRounds)
emit(
    String(
        format: "core write  %.3f ms per core of %d bytes (direct writer)   baseline JSONEncoder %.3f ms   ratio %.2f",
        directSeconds * 1000, coreBytes / (2 * encodeRounds), encoderSeconds * 1000, directSeconds / encoderSeconds
    )
)
emit(
    String(
        format:
            "desk        %9.0f inputs/s (%d opens + %d closes, %d decisions) in one desk of %d agents   baseline round-robin %9.0f/s   ratio %.2f",
        Double(2 * decisionsTarget) / deskSeconds, decisionsTarget, decisionsTarget - 50, decisions, deskAgents,
        Double(2 * decisionsTarget) / baselineSeconds, baselineSeconds / deskSeconds
    )
)

// MARK: 2. Whole router instance on the embedded broker (child process)

/// `--bootstrap HOST:PORT`: a broker of the caller's (say tansu) instead of the embedded one; its
/// topics are created here, and `--broker-pid` names its process for the CPU figures.
let externalBootstrap = option("--bootstrap")
let bootstrap: String
let child: Process?
if let externalBootstrap {
    bootstrap = externalBootstrap
    child = nil
} else {
    let started = try ChildBroker.start(arguments: ["--rounds", String(rounds)])
    (bootstrap, child) = (started.bootstrap, started.process)
}
let brokerPID = child?.processIdentifier ?? Int32(option("--broker-pid", 0))
let brokerName = child == nil ? "the broker at \(bootstrap)" : "the embedded broker (child process)"
/// CPU seconds of this process and the broker's (when its process is known).
func machineCPU() -> Double { cpuSeconds() + (brokerPID > 0 ? cpuSeconds(of: brokerPID) : 0) }
/// The router's consumers' `fetch.wait.max.ms`: the embedded broker's (10 ms) unless
/// `--router-fetch-wait-ms` says otherwise; on another broker the worker default. 5 ms (the
/// relay's and the watchers') measured no better on the embedded broker: twice the fetches,
/// each a scan of the mock's log, slowed its acknowledgements.
let routerFetchWait =
    option("--router-fetch-wait-ms").flatMap { Int($0) }.map { Duration.milliseconds($0) }
    ?? (child == nil ? KafkaClientConfiguration.defaultFetchWait : EmbeddedKafka.mockFetchWait)
var client = KafkaClientConfiguration(bootstrap: bootstrap, fetchWait: routerFetchWait)
if child == nil {
    let admin = try KafkaAdmin(configuration: client, logger: logger)
    try await admin.createTopics(
        (fixedTopics + roundTopicNames).map { name, partitions in
            let compacted = name.hasSuffix("router-state") || name.hasSuffix("routing-index")
            return KafkaTopicSpecification(name: name, partitions: partitions, configs: compacted ? ["cleanup.policy": "compact"] : [:])
        })
}
if let overrides = ProcessInfo.processInfo.environment["BENCH_RDKAFKA"] {
    for pair in overrides.split(separator: ",") {
        let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
        if parts.count == 2 { client.librdkafkaOverrides[parts[0]] = parts[1] }
    }
}
let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(1)), logger: logger)
for index in 0..<agentCount {
    let id = "agent-\(index)"
    for event in [
        AgentEvent.with {
            $0.eventID = "\(id)-p"; $0.agentID = id; $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
            $0.profile = .with {
                $0.team = teams[index % teamCount]; $0.products = ["billing"]; $0.capacity = 30
            }
        },
        AgentEvent.with {
            $0.eventID = "\(id)-o"; $0.agentID = id; $0.occurredAt = Google_Protobuf_Timestamp(date: Date());
            $0.presenceChanged = .with { $0.presence = .online }
        },
    ] {
        try await producer.enqueue(
            KafkaProducerMessage(topic: TriageTopic.agentEvents, key: Array(id.utf8), value: try event.serializedBytes()))
    }
}
try await producer.flush()

/// A consumer of `topic` in a group of its own (5 ms fetch wait) and the detached task that
/// hands each batch to `body`, storing its offsets afterwards if `storingOffsets`.
func consuming(
    _ group: String, _ topic: String, client: KafkaClientConfiguration, storingOffsets: Bool = false,
    _ body: @escaping @Sendable ([KafkaMessage]) async throws -> Void
) throws -> (KafkaConsumer, Task<Void, any Error>) {
    let consumer = try KafkaConsumer(
        configuration: KafkaConsumerConfiguration(groupID: group, topics: [topic], client: client, fetchMaximumWait: .milliseconds(5)),
        logger: logger
    )
    let task = Task.detached {
        // Offsets are contiguous on these topics: a jump means records this consumer never saw.
        var next: [Int32: Int64] = [:]
        for try await batch in consumer.batches {
            for message in batch {
                if let expected = next[message.partition], message.offset != expected {
                    integrity.withLock { $0.offsetJumps += 1 }
                    emit("            \(group): \(topic)[\(message.partition)] went from offset \(expected) to \(message.offset)")
                }
                next[message.partition] = message.offset + 1
            }
            try await body(batch)
            if storingOffsets { try consumer.storeOffsets(batch) }
        }
    }
    return (consumer, task)
}

/// A consumer of `topic` that records, for every record `sentAt` can date (seconds since 1970),
/// the time from then until its batch arrived.
func latencyWatcher(
    _ group: String, _ topic: String, client: KafkaClientConfiguration, into latencies: Latencies,
    sentAt: @escaping @Sendable (KafkaMessage) -> Double?
) throws -> (KafkaConsumer, Task<Void, any Error>) {
    try consuming(group, topic, client: client) { batch in
        let seen = Date().timeIntervalSince1970
        for message in batch { if let sent = sentAt(message) { latencies.record(seconds: seen - sent) } }
    }
}
/// The record's event if it is of `type` (by its `triage-event-type` header, so the watchers do
/// not decode every other event: their CPU is the benchmark's, not the router's).
func incidentEvent(_ message: KafkaMessage, ofType type: String) -> IncidentEvent? {
    if let named = message.header(TriageHeader.eventType)?.stringValue, named != type { return nil }
    return message.valueBytes.flatMap { try? IncidentEvent(serializedBytes: Array($0)) }
}

// Watch the lifecycle topic for Assigned events; the Opened's send time is remembered.
let openedAt = Mutex<[String: Date]>([:])
/// The event ids of the Assigned events the watcher saw, per incident (the latencies count the
/// first only; a repeat with the same event id is at-least-once delivery, another id is not).
let assignedSeen = Mutex<[String: Set<String>]>([:])
/// Where the watcher saw each incident's Opened (partition@offset).
let openedSeen = Mutex<[String: String]>([:])
/// What the harness found wrong with what it measured, over the whole run.
struct Integrity {
    /// Times a harness consumer was handed a record past the next offset it expected.
    var offsetJumps = 0
    /// Incidents offered whose Assigned the watcher never saw (within a minute of the last offer).
    var unassigned = 0
    /// Incidents the watcher saw assigned under more than one event id.
    var assignedTwice = 0
    var text: String {
        offsetJumps == 0 && unassigned == 0 && assignedTwice == 0
            ? "every incident offered was seen assigned, under one event id; no harness consumer skipped an offset"
            : "NOT CLEAN: \(unassigned) incidents never seen assigned, \(assignedTwice) assigned under two event ids, "
                + "\(offsetJumps) offsets skipped by harness consumers (the run's output names them)"
    }
}
let integrity = Mutex(Integrity())
/// Says which of the incidents `prefix` 0..<count were not assigned, or assigned more than once.
func reportUnassigned(_ count: Int, prefix: String) {
    let seen = assignedSeen.withLock { $0 }
    let missing = (0..<count).map { "\(prefix)\($0)" }.filter { seen[$0] == nil }
    let twice = seen.filter { $0.key.hasPrefix(prefix) && $0.value.count > 1 }.map(\.key).sorted()
    let opened = openedSeen.withLock { $0 }
    if !missing.isEmpty {
        emit(
            "            NOT ASSIGNED: \(missing.count), first \(missing.prefix(5).map { "\($0) (Opened seen at \(opened[$0] ?? "none"))" }.joined(separator: ", "))"
        )
    }
    if !twice.isEmpty { emit("            ASSIGNED MORE THAN ONCE: \(twice.count), first \(twice.prefix(5).joined(separator: ", "))") }
    integrity.withLock {
        $0.unassigned += missing.count
        $0.assignedTwice += twice.count
    }
}
let latencies = Latencies()
// Stage 1 alone: Opened → forwarded on the routing topic (seen); the Opened's occurred_at is its send time.
let forwardLatencies = Latencies()
/// Where an incident's time goes, from the records' CreateTime stamps (set by the producing
/// client, in whole milliseconds): Opened sent → its forward written (the dispatcher; needs the
/// forward watcher), forward written → Assigned written (the desks, with the acknowledgement of
/// the forward and of the desk's core), Opened sent → Assigned written, and Assigned written →
/// seen (the last hop).
let forwardWritten = Mutex<[String: Date]>([:])
let stageDispatch = Latencies()
let stageDesk = Latencies()
let stageBeforeLastHop = Latencies()
let stageLastHop = Latencies()
/// The stage figures of one run.
struct Stages {
    var dispatcher: LatencySummary
    var desks: LatencySummary
    var beforeLastHop: LatencySummary
    var lastHop: LatencySummary
    static var recorded: Stages {
        Stages(
            dispatcher: stageDispatch.summary, desks: stageDesk.summary, beforeLastHop: stageBeforeLastHop.summary,
            lastHop: stageLastHop.summary)
    }
    var text: String {
        "stages      Opened → forward written \(dispatcher.text)\n            forward → Assigned written \(desks.text)\n"
            + "            Opened → Assigned written \(beforeLastHop.text)\n            last hop \(lastHop.text)"
    }
}
/// 200 incidents opened (and, once assigned, closed) through `publisher`: every group joined and
/// every stage has seen traffic before anything is measured.
func warmUp(_ publisher: IncidentEventPublisher, prefix: String) async throws {
    latencies.reset()
    for index in 0..<200 {
        let opened = IncidentEvent.with {
            $0.eventID = "\(prefix)-\(index)"; $0.incidentID = "\(prefix)\(index)"; $0.producer = "bench";
            $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
            $0.opened = .with {
                $0.customerAccount = "acme"; $0.entitlementID = "p"; $0.product = "billing"; $0.severity = .c
                $0.coverage = .coverage24X7; $0.customerTimeZone = "UTC"; $0.title = "w"; $0.team = teams[index % teamCount]
            }
        }
        openedAt.withLock { $0["\(prefix)\(index)"] = Date() }
        try await producer.enqueue(try publisher.record(for: opened))
    }
    while latencies.count < 200 { try await Task.sleep(for: .milliseconds(50)) }
    for index in 0..<200 {
        let closed = IncidentEvent.with {
            $0.eventID = "\(prefix)c-\(index)"; $0.incidentID = "\(prefix)\(index)"; $0.producer = "bench"
            $0.occurredAt = Google_Protobuf_Timestamp(date: Date()); $0.closedResolved = .with { $0.closedBy = "bench" }
        }
        try await producer.enqueue(try publisher.record(for: closed))
    }
    try await producer.flush()
    try await Task.sleep(for: .seconds(1))
}
let total = rate * seconds
let interval = Duration.seconds(1) / rate
let clock = ContinuousClock()
var next = clock.now
/// Offers `count` Opened events (ids `prefix` + index) at `rate` through the router, each closed
/// 200 incidents later, and waits until they are all assigned (or a minute passed). Returns the
/// seconds the offering took and until the last was assigned.
func offerToRouter(
    _ count: Int, rate: Int, prefix: String, publisher: IncidentEventPublisher
) async throws -> (offered: Double, routed: Double) {
    latencies.reset()
    forwardLatencies.reset()
    for stage in [stageDispatch, stageDesk, stageBeforeLastHop, stageLastHop] { stage.reset() }
    let interval = Duration.seconds(1) / rate
    var next = clock.now
    let started = ContinuousClock.now
    for index in 0..<count {
        let sent = Date()
        openedAt.withLock { $0["\(prefix)\(index)"] = sent }
        let opened = IncidentEvent.with {
            $0.eventID = "\(prefix)-\(index)"; $0.incidentID = "\(prefix)\(index)"; $0.producer = "bench";
            $0.occurredAt = Google_Protobuf_Timestamp(date: sent)
            $0.opened = .with {
                $0.customerAccount = "acme"; $0.entitlementID = "p"; $0.product = "billing"; $0.severity = [.a, .b, .c][index % 3]
                $0.coverage = .coverage24X7; $0.customerTimeZone = "UTC"; $0.title = "b"; $0.team = teams[index % teamCount]
            }
        }
        try await producer.enqueue(try publisher.record(for: opened))
        if index >= 200 {
            let closed = IncidentEvent.with {
                $0.eventID = "\(prefix)c-\(index - 200)"; $0.incidentID = "\(prefix)\(index - 200)"; $0.producer = "bench"
                $0.occurredAt = Google_Protobuf_Timestamp(date: sent); $0.closedResolved = .with { $0.closedBy = "bench" }
            }
            try await producer.enqueue(try publisher.record(for: closed))
        }
        next = next.advanced(by: interval)
        if next > clock.now { try await Task.sleep(until: next, clock: clock) }
    }
    let offered = (ContinuousClock.now - started).secondsDouble
    let drainDeadline = ContinuousClock.now + .seconds(60)
    while latencies.count < count, ContinuousClock.now < drainDeadline { try await Task.sleep(for: .milliseconds(100)) }
    let routed = (ContinuousClock.now - started).secondsDouble
    reportUnassigned(count, prefix: prefix)
    // The last 200 are closed too, so the next run starts with desks as empty as the first.
    for index in max(0, count - 200)..<count {
        let closed = IncidentEvent.with {
            $0.eventID = "\(prefix)c-\(index)"; $0.incidentID = "\(prefix)\(index)"; $0.producer = "bench"
            $0.occurredAt = Google_Protobuf_Timestamp(date: Date()); $0.closedResolved = .with { $0.closedBy = "bench" }
        }
        try await producer.enqueue(try publisher.record(for: closed))
    }
    try await producer.flush()
    return (offered, routed)
}

/// The router's topics named `prefix.incident-events`, `-routing`, `-routing-index`,
/// `-router-state`; the standard ones for `nil`.
func routerTopics(_ prefix: String?) -> RouterTopics {
    var topics = RouterTopics()
    guard let prefix else { return topics }
    topics.incidentEvents = "\(prefix).incident-events"
    topics.routing = "\(prefix).routing"
    topics.routingIndex = "\(prefix).routing-index"
    topics.deskState = "\(prefix).router-state"
    return topics
}

/// A whole router instance on `topics` with its two watchers (Assigned into `latencies`,
/// forwards into `forwardLatencies` unless `watchingForwards` is false), every agent loaded and
/// 200 incidents through it.
struct RunningRouter {
    let group: ServiceGroup
    let running: Task<Void, any Error>
    let watchers: [(KafkaConsumer, Task<Void, any Error>)]
    let publisher: IncidentEventPublisher
    let instance: RouterInstance
}
func startRouter(
    _ topics: RouterTopics, name: String, client: KafkaClientConfiguration, watchingForwards: Bool = true
) async throws -> RunningRouter {
    let instance = try await RouterInstance(
        client: client, policy: policy, group: "bench-router-\(name)", defaultTeam: "team-0", sessionTimeout: .seconds(6), logger: logger,
        topics: topics)
    let group = ServiceGroup(configuration: .init(services: instance.services.map { .init(service: $0) }, logger: logger))
    let running = Task.detached { try await group.run() }
    let watcher = try latencyWatcher("bench-watch-\(name)", topics.incidentEvents, client: client, into: latencies) { message in
        if message.header(TriageHeader.eventType)?.stringValue == "Opened", let key = message.keyBytes {
            let id = String(decoding: key, as: UTF8.self)
            openedSeen.withLock { $0[id] = "\(message.partition)@\(message.offset)" }
        }
        guard let event = incidentEvent(message, ofType: "Assigned"), case .assigned = event.event else { return nil }
        guard let sent = openedAt.withLock({ $0[event.incidentID] }) else { return nil }
        let first = assignedSeen.withLock { seen in
            defer { seen[event.incidentID, default: []].insert(event.eventID) }
            return seen[event.incidentID] == nil
        }
        if first, let written = message.timestamp {
            stageBeforeLastHop.record(seconds: written.timeIntervalSince(sent))
            stageLastHop.record(seconds: Date().timeIntervalSince(written))
            if let forwarded = forwardWritten.withLock({ $0[event.incidentID] }) {
                stageDispatch.record(seconds: forwarded.timeIntervalSince(sent))
                stageDesk.record(seconds: written.timeIntervalSince(forwarded))
            }
        }
        return first ? sent.timeIntervalSince1970 : nil
    }
    var watchers = [watcher]
    if watchingForwards {
        watchers.append(
            try latencyWatcher("bench-watch-routing-\(name)", topics.routing, client: client, into: forwardLatencies) { message in
                guard let event = incidentEvent(message, ofType: "Opened"), case .opened = event.event else { return nil }
                if let written = message.timestamp { forwardWritten.withLock { $0[event.incidentID] = written } }
                return event.occurredAt.date.timeIntervalSince1970
            })
    }
    while instance.router.statistics.agents < agentCount || instance.router.statistics.partitions == 0 {
        try await Task.sleep(for: .milliseconds(50))
    }
    try await Task.sleep(for: .seconds(2))
    while watchers.contains(where: { (try? $0.0.assignment())?.isEmpty ?? true }) {
        try await Task.sleep(for: .milliseconds(50))
    }
    let publisher = IncidentEventPublisher(producer: producer, topic: topics.incidentEvents)
    try await warmUp(publisher, prefix: "W\(name)-")
    return RunningRouter(group: group, running: running, watchers: watchers, publisher: publisher, instance: instance)
}
func stopRouter(_ router: RunningRouter) async {
    let runtime = router.instance.router.runtimeStatistics
    emit(
        "            forwards the desks took as their dispatcher stored them: \(runtime.offeredTaken); "
            + "left to their consumer: \(runtime.offeredPassedOver)")
    await router.group.triggerGracefulShutdown()
    _ = try? await router.running.value
    for (consumer, _) in router.watchers { await consumer.close() }
    for (_, task) in router.watchers { _ = try? await task.value }
}
/// A relay's stages and watcher, and the producer its stages write with.
struct RunningRelay {
    let parts: [(KafkaConsumer, Task<Void, any Error>)]
    let producer: KafkaProducer
}
func stopRelay(_ relay: RunningRelay) async {
    for (consumer, _) in relay.parts { await consumer.close() }
    for (_, task) in relay.parts { _ = try? await task.value }
    await relay.producer.close()
}

// Baseline: the same producer → consumer path without the router (records on a plain topic).
let pipeLatencies = Latencies()
let (pipeConsumer, piping) = try latencyWatcher("bench-pipe", "bench.pipe", client: client, into: pipeLatencies) { message in
    message.valueBytes.flatMap { Double(String(decoding: $0, as: UTF8.self)) }
}
while (try? pipeConsumer.assignment())?.isEmpty ?? true { try await Task.sleep(for: .milliseconds(50)) }
// Warm-up, as for the router: the first fetches of a fresh consumer are not what is measured.
for _ in 0..<200 {
    try await producer.enqueue(KafkaProducerMessage(topic: "bench.pipe", key: nil, value: String(Date().timeIntervalSince1970)))
}
try await producer.flush()
try await Task.sleep(for: .seconds(1))
pipeLatencies.reset()
next = clock.now
for _ in 0..<min(total, rate * 3) {
    try await producer.enqueue(KafkaProducerMessage(topic: "bench.pipe", key: nil, value: String(Date().timeIntervalSince1970)))
    next = next.advanced(by: interval)
    if next > clock.now { try await Task.sleep(until: next, clock: clock) }
}
try await Task.sleep(for: .seconds(2))
// Its watcher goes: a consumer left polling would keep the embedded broker walking this topic's
// log on every fetch for the rest of the run (its Fetch cost grows with the retained log).
await pipeConsumer.close()
_ = try? await piping.value

// Baseline 2: the router's shape without its logic, same rate and duration, fresh topics of the
// same partition counts. Stage A (like the dispatcher) forwards every record re-keyed by team and
// writes an index record, waiting for both acknowledgements before its next batch; stage B (like a
// desk) writes one 2-KB state record per team touched, then, after that acknowledgement, one
// output record per "open"; a watcher sees the outputs. Whatever the router costs beyond this
// relay is its own logic; what the relay costs is the broker and the pipeline's shape.
let relayLatencies = Latencies()
let stateBlob = [UInt8](repeating: 0x61, count: 2_048)
/// The router's records, each kind built as the router builds it, for the relay that writes them
/// (``startRelay(_:client:full:)``): its records have the router's sizes and headers.
struct RouterRecords: Sendable {
    let opened: KafkaProducerMessage
    let closed: KafkaProducerMessage
    let assigned: KafkaProducerMessage
    /// The headers the dispatcher adds to a forward of an Opened.
    let forwardHeaders: [KafkaHeader]
    /// A routing-index entry (the dispatcher's line format).
    let index: [UInt8]
    let agentNotice: KafkaProducerMessage
    let customerNotice: KafkaProducerMessage
    /// A desk core as the router stores it (50 agents, 60 open incidents).
    let core: [UInt8]

    init(core: [UInt8]) throws {
        let at = Date()
        let openedEvent = IncidentEvent.with {
            $0.eventID = "B0--12345"; $0.incidentID = "B0-12345"; $0.producer = "bench"; $0.occurredAt = Google_Protobuf_Timestamp(date: at)
            $0.opened = .with {
                $0.customerAccount = "acme"; $0.entitlementID = "p"; $0.product = "billing"; $0.severity = .b
                $0.coverage = .coverage24X7; $0.customerTimeZone = "UTC"; $0.title = "b"; $0.team = "team-1"
            }
        }
        let closedEvent = IncidentEvent.with {
            $0.eventID = "B0-c-12345"; $0.incidentID = "B0-12345"; $0.producer = "bench";
            $0.occurredAt = Google_Protobuf_Timestamp(date: at)
            $0.closedResolved = .with { $0.closedBy = "bench" }
        }
        var desk = TeamDesk(team: "team-1")
        _ = desk.apply(.profile(Agent(id: "agent-17", team: "team-1", skills: ["billing"], capacity: 30)), at: at, policy: policy)
        _ = desk.apply(.presence(agent: "agent-17", .online), at: at, policy: policy)
        let decisions = desk.apply(
            .opened(RoutingIncident(id: "B0-12345", team: "team-1", severity: .b, product: "billing", openedAt: at)), at: at, policy: policy
        )
        guard let decision = decisions.first, let assignedEvent = IncidentEvent(routing: decision, trigger: "B0--12345", at: at) else {
            fatalError("a desk with an online agent did not assign")
        }
        opened = try openedEvent.kafkaRecord()
        closed = try closedEvent.kafkaRecord()
        assigned = try assignedEvent.kafkaRecord()
        forwardHeaders = [
            KafkaHeader(name: routingTeamHeader, string: "team-1"), KafkaHeader(name: routingSeverityHeader, string: "2"),
            KafkaHeader(name: routingProductHeader, string: "billing"), KafkaHeader(name: routingLanguageHeader, string: ""),
            KafkaHeader(name: routingCustomerHeader, string: "acme"),
            KafkaHeader(name: routingOpenedAtHeader, string: String(at.timeIntervalSince1970)),
        ]
        index = Array(
            ["team-1", "2", "billing", "", "", "acme", "UTC", String(at.timeIntervalSince1970), "agent-17"].joined(separator: "\n").utf8)
        let facts = IncidentFacts(
            team: "team-1", severity: .b, product: "billing", customer: "acme", customerTimeZone: "UTC", agent: "agent-17")
        func notice(_ event: IncidentEvent) throws -> KafkaProducerMessage {
            guard let request = IncidentNotices.requests(for: event, facts: facts, settings: NoticeSettings()).first else {
                fatalError("no notice for \(event.eventID)")
            }
            return KafkaProducerMessage(
                topic: "", key: Array(request.recipient.utf8), value: try request.serializedBytes(),
                headers: [
                    KafkaHeader(name: TriageHeader.contentType, string: TriageHeader.protobufContentType),
                    KafkaHeader(
                        name: TriageHeader.schema, string: "\(NotificationRequest.protoMessageName); v=\(TriageHeader.schemaVersion)"),
                    KafkaHeader(name: TriageHeader.idempotencyKey, string: request.idempotencyKey),
                ])
        }
        agentNotice = try notice(assignedEvent)
        customerNotice = try notice(closedEvent)
        self.core = core
    }
}
/// The header carrying a relay record's send time, kind and team ("1733..|open|team-1") when its
/// value is one of ``RouterRecords``.
let relayHeader = "bench-relay"
let routerTemplates = try RouterRecords(core: coreSnapshot.jsonBytes)

/// The relay on the topics named `prefix.relay-in`, `-index`, `-routing`, `-state`, `-out`: its
/// two stages and its watcher (into `relayLatencies`), started and warmed up.
///
/// `full`: the relay writes the records the router writes, with their sizes and headers
/// (``RouterRecords``), on `-in`, `-index`, `-routing`, `-state` and `-notices`. Its inputs are
/// the router's Opened and Closed records; stage B's outputs (Assigned records) go back onto the
/// input topic, as the router's Assigned events go onto the lifecycle topic its dispatcher reads;
/// stage A writes an index entry for every record it reads, forwards opens and closes with the
/// dispatcher's routing headers, and writes an agent notice for each output and a customer notice
/// for each close; stage B writes a desk core per team touched; the watcher reads the input topic
/// for the outputs. Ten records per incident, like the router. Send time, kind and team travel
/// in one more header (``relayHeader``); no stage decodes a value.
func startRelay(_ prefix: String, client: KafkaClientConfiguration, full: Bool = false) async throws -> RunningRelay {
    let outputTopic = full ? "\(prefix).relay-in" : "\(prefix).relay-out"
    let records = routerTemplates
    // The stages write with a producer of their own, as a router instance does (records of one
    // producer share batches on the broker; the offered records come from the harness's).
    let stageProducer = try KafkaProducer(
        configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(1)), logger: logger)
    let relayA = try consuming("\(prefix)-relay-a", "\(prefix).relay-in", client: client, storingOffsets: true) { batch in
        var out: [KafkaProducerMessage] = []
        for message in batch {
            guard let value = message.valueBytes, let fields = relayFields(message) else { continue }
            let team = String(fields[2])
            let key = message.keyBytes.map(Array.init)
            out.append(
                KafkaProducerMessage(
                    topic: "\(prefix).relay-index", key: key, value: full ? records.index : Array(value), partition: message.partition))
            if full, fields[1] != "open" {
                let notice = fields[1] == "close" ? records.customerNotice : records.agentNotice
                out.append(
                    KafkaProducerMessage(topic: "\(prefix).relay-notices", key: notice.key, value: notice.value, headers: notice.headers))
            }
            guard fields[1] != "assigned" else { continue }
            var headers = message.headers
            if full { headers += [KafkaHeader(name: routingTeamHeader, string: team)] + records.forwardHeaders.dropFirst() }
            out.append(
                KafkaProducerMessage(
                    topic: "\(prefix).relay-routing", key: Array(team.utf8), value: Array(value), headers: headers,
                    partition: routingPartition(team: team, partitions: 8)))
        }
        _ = try await stageProducer.sendAll(out)
    }
    let relayB = try consuming("\(prefix)-relay-b", "\(prefix).relay-routing", client: client, storingOffsets: true) { batch in
        var teams: Set<String> = []
        var outputs: [KafkaProducerMessage] = []
        for message in batch {
            guard let value = message.valueBytes, let fields = relayFields(message) else { continue }
            teams.insert(String(fields[2]))
            guard fields[1] == "open" else { continue }
            let key = message.keyBytes.map(Array.init)
            if full {
                outputs.append(
                    KafkaProducerMessage(
                        topic: outputTopic, key: key, value: records.assigned.value,
                        headers: records.assigned.headers + [KafkaHeader(name: relayHeader, string: "\(fields[0])|assigned|\(fields[2])")]))
            } else {
                outputs.append(KafkaProducerMessage(topic: outputTopic, key: key, value: Array(value)))
            }
        }
        _ = try await stageProducer.sendAll(
            teams.map {
                KafkaProducerMessage(
                    topic: "\(prefix).relay-state", key: Array($0.utf8), value: full ? records.core : stateBlob,
                    partition: routingPartition(team: $0, partitions: 8))
            })
        _ = try await stageProducer.sendAll(outputs)
    }
    let relayWatcher = try latencyWatcher("\(prefix)-relay-watch", outputTopic, client: client, into: relayLatencies) {
        message in
        guard let fields = relayFields(message), !full || fields[1] == "assigned" else { return nil }
        return Double(fields[0])
    }
    while [relayA, relayB, relayWatcher].contains(where: { (try? $0.0.assignment())?.isEmpty ?? true }) {
        try await Task.sleep(for: .milliseconds(50))
    }
    for index in 0..<200 { try await producer.enqueue(relayRecord(index, "open", prefix: prefix, full: full)) }  // warm-up
    try await producer.flush()
    while relayLatencies.count < 200 { try await Task.sleep(for: .milliseconds(50)) }
    try await Task.sleep(for: .seconds(1))
    relayLatencies.reset()
    return RunningRelay(parts: [relayA, relayB, relayWatcher], producer: stageProducer)
}
/// A relay record's send time, kind and team: its ``relayHeader``, or else its value.
func relayFields(_ message: KafkaMessage) -> [Substring]? {
    let bytes = message.header(relayHeader)?.value ?? message.valueBytes.map(Array.init)
    guard let bytes else { return nil }
    let fields = String(decoding: bytes, as: UTF8.self).split(separator: "|")
    return fields.count == 3 ? fields : nil
}
/// A relay input; `direct`: straight onto the re-keyed topic (the shape without stage A); `full`:
/// the router's Opened or Closed record, with the relay's fields in a header.
func relayRecord(_ index: Int, _ kind: String, direct: Bool = false, prefix: String = "bench", full: Bool = false)
    -> KafkaProducerMessage
{
    let team = teams[index % teamCount]
    let fields = "\(Date().timeIntervalSince1970)|\(kind)|\(team)"
    if full {
        let template = kind == "open" ? routerTemplates.opened : routerTemplates.closed
        return KafkaProducerMessage(
            topic: "\(prefix).relay-in", key: Array("B0-\(index)".utf8), value: template.value,
            headers: template.headers + [KafkaHeader(name: relayHeader, string: fields)])
    }
    let value = Array(fields.utf8)
    if direct {
        return KafkaProducerMessage(
            topic: "\(prefix).relay-routing", key: Array(team.utf8), value: value, partition: routingPartition(team: team, partitions: 8))
    }
    return KafkaProducerMessage(topic: "\(prefix).relay-in", key: Array("R\(index)".utf8), value: value)
}
/// Offers `count` opens (each closed 200 later) at `rate` and returns the latencies seen at the end.
func offerToRelay(direct: Bool, count: Int = total, rate: Int = rate, prefix: String = "bench", full: Bool = false) async throws
    -> LatencySummary
{
    relayLatencies.reset()
    let interval = Duration.seconds(1) / rate
    var next = clock.now
    for index in 0..<count {
        try await producer.enqueue(relayRecord(index, "open", direct: direct, prefix: prefix, full: full))
        if index >= 200 { try await producer.enqueue(relayRecord(index - 200, "close", direct: direct, prefix: prefix, full: full)) }
        next = next.advanced(by: interval)
        if next > clock.now { try await Task.sleep(until: next, clock: clock) }
    }
    let deadline = ContinuousClock.now + .seconds(60)
    while relayLatencies.count < count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
    return relayLatencies.summary
}
// Rounds: the router and the relay at the same rate, alternating which goes first, each on topics
// of its own (single runs of either spread widely on this machine: one relay p99 of 199 ms against
// 55-57 ms in the reruns; and both slow down run after run on the same, growing logs).
struct RouterRun {
    var assigned: LatencySummary
    var forward: LatencySummary
    var stages: Stages
    var offeredSeconds: Double
    var routedSeconds: Double
}
/// Records written so far to `topics` (high watermarks summed over their partitions; a topic
/// not created yet counts 0).
func written(_ topics: [String]) async -> Int64 {
    var sum: Int64 = 0
    for topic in topics {
        guard let range = try? await KafkaTopicRange.lookUp(topic: topic, since: nil, client: client, logger: logger) else { continue }
        sum += range.partitions.reduce(0) { $0 + $1.end }
    }
    return sum
}
/// Every topic a router on `topics` reads or writes, besides the agents'.
func brokerTopics(_ topics: RouterTopics) -> [String] {
    [topics.incidentEvents, topics.routing, topics.routingIndex, topics.deskState, topics.notificationRequests, topics.deadLetter]
}
func relayTopics(_ prefix: String) -> [String] { ["in", "index", "routing", "state", "out", "notices"].map { "\(prefix).relay-\($0)" } }
var routerRuns: [RouterRun] = []
/// Records written through the broker per offered incident (router: events, forwards, index,
/// desk records, notices; relay: its input, forwards, index, state and outputs), by round.
var routerRecords: [Double] = []
var relayRecords: [Double] = []
var relayRuns: [LatencySummary] = []
var ratios: [Double] = []
/// The relay writing the router's records (``startRelay(_:client:full:)``), by round.
var fullRelayRuns: [LatencySummary] = []
var fullRelayRecords: [Double] = []
var fullRelayCPU: [Double] = []
var fullRatios: [Double] = []
/// CPU microseconds per offered incident (this process and the broker child) while offering, by round.
var routerCPU: [Double] = []
var relayCPU: [Double] = []
for round in 0..<rounds {
    for side in round % 2 == 0 ? [0, 2, 1] : [2, 0, 1] {
        if side == 0 {
            // The first round on the standard topics, the others on fresh ones: the embedded broker's
            // fetches slow down as its logs grow.
            let topics = routerTopics(round == 0 ? nil : "bench.r\(round)")
            let router = try await startRouter(topics, name: "r\(round)", client: client)
            emit("round \(round): offering \(total) Opened events at \(rate)/s to the router (each closed 200 incidents later) ...")
            let before = await written(brokerTopics(topics))
            let cpu = machineCPU()
            let (offered, routed) = try await offerToRouter(total, rate: rate, prefix: "B\(round)-", publisher: router.publisher)
            routerCPU.append((machineCPU() - cpu) * 1e6 / Double(total))
            routerRecords.append(Double(await written(brokerTopics(topics)) - before) / Double(total))
            emit(Stages.recorded.text)
            routerRuns.append(
                RouterRun(
                    assigned: latencies.summary, forward: forwardLatencies.summary, stages: .recorded, offeredSeconds: offered,
                    routedSeconds: routed))
            await stopRouter(router)
        } else if side == 2 {
            let prefix = "bench.r\(round).full"
            let relays = try await startRelay(prefix, client: client, full: true)
            emit("round \(round): offering \(total) records at \(rate)/s through the relay writing the router's records ...")
            let before = await written(relayTopics(prefix))
            let cpu = machineCPU()
            fullRelayRuns.append(try await offerToRelay(direct: false, prefix: prefix, full: true))
            fullRelayCPU.append((machineCPU() - cpu) * 1e6 / Double(total))
            fullRelayRecords.append(Double(await written(relayTopics(prefix)) - before) / Double(total))
            await stopRelay(relays)
        } else {
            let relays = try await startRelay("bench.r\(round)", client: client)
            emit("round \(round): offering \(total) records at \(rate)/s through the router's shape without its logic (relay) ...")
            let before = await written(relayTopics("bench.r\(round)"))
            let cpu = machineCPU()
            relayRuns.append(try await offerToRelay(direct: false, prefix: "bench.r\(round)"))
            relayCPU.append((machineCPU() - cpu) * 1e6 / Double(total))
            relayRecords.append(Double(await written(relayTopics("bench.r\(round)")) - before) / Double(total))
            await stopRelay(relays)
        }
        try await Task.sleep(for: .seconds(1))
    }
    ratios.append(routerRuns.last!.assigned.p99 / relayRuns.last!.p99)
    fullRatios.append(routerRuns.last!.assigned.p99 / fullRelayRuns.last!.p99)
    emit(
        String(
            format:
                "round %d: relay writing the router's records: p99 %.1f ms, router's ratio to it %.2f; CPU per incident %.0f µs; records written per incident %.2f",
            round, fullRelayRuns.last!.p99, fullRatios.last!, fullRelayCPU.last!, fullRelayRecords.last!))
    emit(
        String(
            format:
                "round %d: Opened → Assigned p99 %.1f ms, relay p99 %.1f ms, ratio %.2f; CPU per incident %.0f µs, relay %.0f µs; records written per incident %.2f, relay %.2f",
            round, routerRuns.last!.assigned.p99, relayRuns.last!.p99, ratios.last!, routerCPU.last!, relayCPU.last!, routerRecords.last!,
            relayRecords.last!))
}
/// The run with the median p99 (its other figures go with it).
let routerRun = median(routerRuns, by: \.assigned.p99)
let assigned = routerRun.assigned
let forward = routerRun.forward
let offeredSeconds = routerRun.offeredSeconds
let routedSeconds = routerRun.routedSeconds
let relay = median(relayRuns, by: \.p99)
let medianRatio = median(ratios)
let fullRelay = median(fullRelayRuns, by: \.p99)
let medianFullRatio = median(fullRatios)
// The same without the dispatcher's stage: records published already keyed by team.
var relays = try await startRelay("bench", client: client)
emit("relay       again, published straight to the re-keyed topic (no stage A) ...")
let shortRelay = try await offerToRelay(direct: true)

// MARK: 3. The lower rate: a fresh router and a fresh relay on topics of their own
// (the embedded broker's fetches slow down as its logs grow, so the runs above would weigh on
// both). The relay above is stopped first.
await stopRelay(relays)
let slowTotal = slowRate * seconds
let slowTopics = routerTopics("bench.slow")
let slowRouter = try await startRouter(slowTopics, name: "slow", client: client, watchingForwards: false)
emit("offering \(slowTotal) Opened events at \(slowRate)/s to a fresh router (each closed 200 incidents later) ...")
let (slowOfferedSeconds, slowRoutedSeconds) = try await offerToRouter(
    slowTotal, rate: slowRate, prefix: "S", publisher: slowRouter.publisher)
let slowAssigned = latencies.summary
let slowStages = Stages.recorded
emit(slowStages.text)
await stopRouter(slowRouter)
emit("relay       offering \(slowTotal) records at \(slowRate)/s through a fresh relay ...")
relays = try await startRelay("bench.slow", client: client)
let slowRelay = try await offerToRelay(direct: false, count: slowTotal, rate: slowRate, prefix: "bench.slow")
await stopRelay(relays)
emit("relay       offering \(slowTotal) records at \(slowRate)/s through a fresh relay writing the router's records ...")
relays = try await startRelay("bench.slow.full", client: client, full: true)
let slowFullRelay = try await offerToRelay(direct: false, count: slowTotal, rate: slowRate, prefix: "bench.slow.full", full: true)

let pipe = pipeLatencies.summary
emit("checked     \(integrity.withLock { $0.text })")
emit("stage 1     Opened → forwarded by the dispatcher: \(forward.text)")
emit(
    String(
        format: "router      %d of %d assigned; %.0f decisions/s sustained (offered %.0f/s over %.1f s, all routed after %.1f s)",
        assigned.count, total, Double(assigned.count) / routedSeconds, Double(total) / offeredSeconds, offeredSeconds, routedSeconds
    )
)
emit("latency     Opened → Assigned seen (the median round): \(assigned.text)   target p99 ≤ 1.3 × the relay's")
emit("baselines   one hop produce → consume \(pipe.text)")
emit("            the router's shape without its logic (relay, the median round, \(relay.count) records) \(relay.text)")
emit(
    "            Opened → Assigned p99 against the relay's, per round: \(ratios.map { String(format: "%.2f", $0) }.joined(separator: ", ")); "
        + String(format: "median %.2f", medianRatio))
emit(
    "            the relay writing the router's records (the median round) \(fullRelay.text); router's p99 against it, per round: "
        + fullRatios.map { String(format: "%.2f", $0) }.joined(separator: ", ") + String(format: "; median %.2f", medianFullRatio))
emit("            the same relay without its first stage (published keyed by team, \(shortRelay.count) records) \(shortRelay.text)")
emit(
    String(
        format: "at %d/s     %d of %d assigned (offered %.0f/s over %.1f s, all routed after %.1f s)", slowRate, slowAssigned.count,
        slowTotal, Double(slowTotal) / slowOfferedSeconds, slowOfferedSeconds, slowRoutedSeconds))
emit("            Opened → Assigned seen: \(slowAssigned.text)   target p99 ≤ 25 ms")
emit("            relay (\(slowRelay.count) records) \(slowRelay.text)")
emit("            relay writing the router's records (\(slowFullRelay.count) records) \(slowFullRelay.text)")

var report = BenchReport(bench: "router-bench")
var section = BenchSection(
    id: "30-router", title: "Router: Opened → Assigned latency at \(rate.formatted()) incidents/s",
    howMeasured: """
        A whole `RouterInstance` (dispatcher + router, \(agentCount) agents online in \(teamCount) teams, capacity 30 each) on \(brokerName); its consumers' fetch wait is \(routerFetchWait.components.seconds * 1000 + routerFetchWait.components.attoseconds / 1_000_000_000_000_000) ms \
        (the relay's and the watchers' 5 ms). Opened events are offered at a fixed \(rate.formatted())/s for \(seconds) s (\(total.formatted()) incidents, \
        each closed 200 incidents later so agents free up), after a 200-incident warm-up, in \(rounds) rounds alternating with the relay \
        below (which goes first alternates; each round's router and relay on fresh topics and in fresh groups; the figures are the round \
        with the median p99, the ratio to the relay the median of the rounds' ratios, every round listed in the notes). Latency = the time a watcher consumer sees the \
        `Assigned` event on `triage.incident-events` minus the time the Opened was sent, recorded in an HdrHistogram. Baseline, same run, \
        same producer and broker: plain produce → consume of timestamped records on a plain topic at the same rate for 3 s (the floor any \
        Kafka hop costs here). Second baseline, same run and rate, fresh topics of the same partition counts: a relay of the router's \
        shape without its logic (stage A forwards each record re-keyed by team plus an index record and waits for both acknowledgements; \
        stage B writes a 2-KB state record per team touched, waits, then one output per opened record; a watcher sees the outputs) — \
        what the broker and the shape cost before any routing work (each relay's stages write with a producer of their own, as \
        a router instance does: records of one producer share batches on the broker); then the same relay fed straight onto its re-keyed topic \
        (no first stage: what publishing Opened keyed by team would leave). That relay writes about 7 records per incident where the \
        router writes about 10 (its Assigned event, read back by the dispatcher; an index record for it; an agent notice and a \
        customer notice), so each round also runs a third baseline on fresh topics: the relay writing the router's records, of \
        the router's kinds, sizes and headers (its inputs are the router's Opened and Closed records; stage A forwards them with \
        the dispatcher's routing headers, writes an index entry in the dispatcher's format for everything it reads, an agent \
        notice for each output and a customer notice for each close; stage B writes a desk core of 50 agents and 60 incidents per \
        team touched and an Assigned record per open, back onto the input topic, which the watcher reads; send time, kind and team \
        travel in one more header, so no stage decodes a value) — records per incident, counted from the topics' high watermarks, \
        are in the table. Where the time goes: from the CreateTime stamps (whole milliseconds, set by the producing client) of \
        the forward (seen by a second watcher on the routing topic, in the \(rate.formatted())/s rounds only) and of the Assigned \
        event — Opened sent → forward written (the dispatcher), forward written → Assigned written (the desks: the forward's \
        acknowledgement, the step, the desk core's acknowledgement), Assigned written → seen. Not the same in one respect: the router's desks take \
        the forwards of their own instance's dispatcher as they are stored (the runtime's offers; how many, per run, in the output), \
        while the relays' stage B always waits for its consumer's fetch. The \(slowRate.formatted())/s figures, after those runs: \
        the router and the relay (with its first stage) stopped, then a fresh router instance (same agents, 200-incident warm-up), a \
        fresh relay and a fresh relay writing the router's records, each on topics of their own (the embedded broker's fetches slow down as its logs grow), offered \
        \(slowRate.formatted())/s for \(seconds) s each (\(slowTotal.formatted()) incidents, each closed 200 later); the router's figure \
        against the relay's. CPU per incident: the CPU time of this process and of the broker child while the rate is offered, divided by the incidents (or relay records) offered — what the machine spends per incident, harness included. The desk figure is the pure routing policy (one desk of 50 agents) \
        against round-robin assignment; the core-write figure is one team's stored core (50 agents, 60 incidents) written by the \
        router's direct JSON writer against `JSONEncoder`.
        """
)
for (name, value, base) in [
    ("p50", assigned.p50, pipe.p50), ("p99", assigned.p99, pipe.p99), ("p99.9", assigned.p999, pipe.p999), ("max", assigned.max, pipe.max),
] {
    section.figures.append(
        BenchFigure(
            name: "Opened → Assigned \(name)", value: value, unit: "ms", baselineName: "produce → consume \(name)", baselineValue: base,
            ratioMeaning: "figure / baseline (lower is better)", notes: name == "p99" ? "target: ≤ 1.3 × the relay's p99 (below)" : nil
        )
    )
}
section.figures.append(
    BenchFigure(
        name: "Opened → forwarded by the dispatcher (stage 1) p99", value: forward.p99, unit: "ms", baselineName: "produce → consume p99",
        baselineValue: pipe.p99, ratioMeaning: "figure / baseline (lower is better)"))
// Where the time goes (the median round, and the 1,000/s run), from the records' CreateTime stamps.
let stages = routerRun.stages
for (name, stage, rateShown) in [
    ("Opened sent → forward written (dispatcher)", stages.dispatcher, rate),
    ("forward written → Assigned written (desks)", stages.desks, rate),
    ("Assigned written → seen (last hop)", stages.lastHop, rate),
    ("Opened sent → Assigned written", slowStages.beforeLastHop, slowRate),
    ("Assigned written → seen (last hop)", slowStages.lastHop, slowRate),
] {
    section.figures.append(
        BenchFigure(
            name: "\(name) p99 at \(rateShown.formatted())/s", value: stage.p99, unit: "ms", baselineName: "one hop produce → consume p99",
            baselineValue: pipe.p99, ratioMeaning: "figure / baseline (lower is better)",
            notes: String(format: "p50 %.1f ms; from the records' CreateTime (whole ms)", stage.p50)))
}
section.figures.append(
    BenchFigure(
        name: "routing decisions sustained", value: Double(assigned.count) / routedSeconds, unit: "incidents/s", baselineName: "offered",
        baselineValue: Double(total) / offeredSeconds
    )
)
section.figures.append(
    BenchFigure(
        name: "one desk, pure policy", value: Double(2 * decisionsTarget) / deskSeconds, unit: "inputs/s", baselineName: "round-robin",
        baselineValue: Double(2 * decisionsTarget) / baselineSeconds
    )
)
section.figures.append(
    BenchFigure(
        name: "relay of the router's shape, no logic, p99", value: relay.p99, unit: "ms", baselineName: "one hop produce → consume p99",
        baselineValue: pipe.p99,
        ratioMeaning: "figure / baseline: the floor of three stop-and-wait stages on this broker"
    )
)
section.figures.append(
    BenchFigure(
        name: "relay without its first stage (input keyed by team), p99", value: shortRelay.p99, unit: "ms", baselineName: "relay p99",
        baselineValue: relay.p99, ratioMeaning: "figure / baseline: what dropping the dispatcher's hop could save"
    )
)
section.figures.append(
    BenchFigure(
        name: "Opened → Assigned p99 against the relay", value: assigned.p99, unit: "ms", baselineName: "relay p99",
        baselineValue: relay.p99, ratio: medianRatio,
        ratioMeaning: "median of the rounds' figure / baseline: what the router's own work adds",
        notes: "target ≤ 1.3; this relay writes fewer records per incident than the router (below)"
    )
)
section.figures.append(
    BenchFigure(
        name: "relay writing the router's records, p99", value: fullRelay.p99, unit: "ms", baselineName: "relay p99",
        baselineValue: relay.p99, ratioMeaning: "figure / baseline: what the router's extra records cost the broker and the pipeline"
    )
)
section.figures.append(
    BenchFigure(
        name: "Opened → Assigned p99 against the relay writing the router's records", value: assigned.p99, unit: "ms",
        baselineName: "that relay's p99", baselineValue: fullRelay.p99, ratio: medianFullRatio,
        ratioMeaning: "median of the rounds' figure / baseline: what the router's own work adds, records alike",
        notes: "target ≤ 1.3"
    )
)
section.figures.append(
    BenchFigure(
        name: "CPU per incident at \(rate.formatted())/s (this process + broker)", value: median(routerCPU), unit: "µs",
        baselineName: "relay, CPU per record", baselineValue: median(relayCPU),
        ratioMeaning: "median of the rounds / median of the relay's rounds (lower is better)",
        notes: "2 cores give \(Int(2e6 / Double(rate))) µs per incident at this rate, for everything"
    )
)
section.figures.append(
    BenchFigure(
        name: "records written through the broker per incident", value: median(routerRecords), unit: "records",
        baselineName: "relay, per record offered", baselineValue: median(relayRecords),
        ratioMeaning: "median of the rounds / median of the relay's rounds: the broker work the two shapes differ by",
        notes: "router: events in and out, forwards, index, desk records, notices"
    )
)
section.figures.append(
    BenchFigure(
        name: "records per incident, relay writing the router's records", value: median(fullRelayRecords), unit: "records",
        baselineName: "router", baselineValue: median(routerRecords),
        ratioMeaning: "median of the rounds / median of the router's rounds (1: the same broker work)"
    )
)
section.figures.append(
    BenchFigure(
        name: "CPU per incident, relay writing the router's records", value: median(fullRelayCPU), unit: "µs",
        baselineName: "router", baselineValue: median(routerCPU),
        ratioMeaning: "median of the rounds / median of the router's rounds: the router's own work is the rest"
    )
)
section.figures.append(
    BenchFigure(
        name: "Opened → Assigned p50 at \(slowRate.formatted())/s", value: slowAssigned.p50, unit: "ms",
        baselineName: "relay p50 at \(slowRate.formatted())/s", baselineValue: slowRelay.p50,
        ratioMeaning: "figure / baseline: what the router's own work adds"
    )
)
section.figures.append(
    BenchFigure(
        name: "Opened → Assigned p99 at \(slowRate.formatted())/s", value: slowAssigned.p99, unit: "ms",
        baselineName: "relay p99 at \(slowRate.formatted())/s", baselineValue: slowRelay.p99,
        ratioMeaning: "figure / baseline: what the router's own work adds", notes: "target p99 ≤ 25 ms"
    )
)
section.figures.append(
    BenchFigure(
        name: "Opened → Assigned p99 at \(slowRate.formatted())/s against the relay writing the router's records", value: slowAssigned.p99,
        unit: "ms", baselineName: "that relay's p99 at \(slowRate.formatted())/s", baselineValue: slowFullRelay.p99,
        ratioMeaning: "figure / baseline: what the router's own work adds, records alike"
    )
)
section.figures.append(
    BenchFigure(
        name: "writing one desk core (direct writer)", value: directSeconds * 1000, unit: "ms", baselineName: "JSONEncoder",
        baselineValue: encoderSeconds * 1000,
        ratioMeaning: "figure / baseline (lower is better)"
    )
)
section.notes.append("checked: \(integrity.withLock { $0.text }).")
section.notes.append("\(assigned.count) of \(total) incidents assigned; \(pipe.count) one-hop and \(relay.count) relay baseline records.")
section.notes.append(
    "all rounds at \(rate.formatted())/s — Opened → Assigned p99: \(routerRuns.map { String(format: "%.1f", $0.assigned.p99) }.joined(separator: ", ")) ms; "
        + "relay p99: \(relayRuns.map { String(format: "%.1f", $0.p99) }.joined(separator: ", ")) ms; ratios: \(ratios.map { String(format: "%.2f", $0) }.joined(separator: ", ")); "
        + "CPU per incident, router: \(routerCPU.map { String(format: "%.0f", $0) }.joined(separator: ", ")) µs, relay: \(relayCPU.map { String(format: "%.0f", $0) }.joined(separator: ", ")) µs; "
        + "relay writing the router's records, p99: \(fullRelayRuns.map { String(format: "%.1f", $0.p99) }.joined(separator: ", ")) ms, "
        + "ratios: \(fullRatios.map { String(format: "%.2f", $0) }.joined(separator: ", ")); records per incident, router: "
        + "\(routerRecords.map { String(format: "%.2f", $0) }.joined(separator: ", ")), relay: \(relayRecords.map { String(format: "%.2f", $0) }.joined(separator: ", ")), "
        + "relay writing the router's records: \(fullRelayRecords.map { String(format: "%.2f", $0) }.joined(separator: ", "))"
)
section.notes.append(
    "at \(slowRate.formatted())/s: \(slowAssigned.count) of \(slowTotal) incidents assigned; \(slowRelay.count) relay baseline records.")
report.add(section)
try report.write()
await stopRelay(relays)
if let child { kill(child.processIdentifier, SIGKILL) }  // the broker child ignores SIGTERM (librdkafka threads)
emit("done")
