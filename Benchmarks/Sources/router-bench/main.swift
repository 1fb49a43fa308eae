// Router benchmark (issue 5): routing decisions per second of one desk (pure policy) against
// a round-robin baseline, and Opened → Assigned latency through a whole router instance at a
// fixed offered rate, against the plain produce → consume latency of the same broker in the
// same run. Prints; asserts nothing.
//
//   router-bench [--rate 5000] [--seconds 10] [--agents 200] [--teams 4]
import BenchSupport
import Foundation
import Logging
import ServiceLifecycle
import SwiftProtobuf
import Synchronization
import TriageKafka
import TriageRouter
import TriageRouting
import TriageSLA
import TriageSchema
import TriageStreams

let logger = {
    var logger = Logger(label: "triage.router-bench")
    logger.logLevel = .error
    return logger
}()
let rate = option("--rate", 5_000)
let seconds = option("--seconds", 10)
let agentCount = option("--agents", 200)
let teamCount = option("--teams", 4)
let teams = (0..<teamCount).map { "team-\($0)" }

try ChildBroker.serveIfChild(topics: [
    (TriageTopic.incidentEvents, 8), (TriageTopic.agentEvents, 2), (TriageTopic.routing, 8), (TriageTopic.routingIndex, 8),
    (TriageTopic.routerState, 8), (TriageTopic.deadLetter, 1), ("bench.pipe", 8),
])

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
    decisions += desk.apply(.opened(RoutingIncident(id: "I\(index)", team: "team-0", severity: [.a, .b, .c][index % 3], product: "billing", openedAt: at)), at: at, policy: policy).count
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
emit(
    String(
        format: "desk        %9.0f inputs/s (%d opens + %d closes, %d decisions) in one desk of %d agents   baseline round-robin %9.0f/s   ratio %.2f",
        Double(2 * decisionsTarget) / deskSeconds, decisionsTarget, decisionsTarget - 50, decisions, deskAgents,
        Double(2 * decisionsTarget) / baselineSeconds, baselineSeconds / deskSeconds
    )
)

// MARK: 2. Whole router instance on the embedded broker (child process)

let (bootstrap, child) = try ChildBroker.start()
var client = KafkaClientConfiguration(bootstrap: bootstrap)
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
            $0.profile = .with { $0.team = teams[index % teamCount]; $0.products = ["billing"]; $0.capacity = 30 }
        },
        AgentEvent.with {
            $0.eventID = "\(id)-o"; $0.agentID = id; $0.occurredAt = Google_Protobuf_Timestamp(date: Date()); $0.presenceChanged = .with { $0.presence = .online }
        },
    ] {
        try await producer.enqueue(KafkaProducerMessage(topic: TriageTopic.agentEvents, key: Array(id.utf8), value: try event.serializedBytes()))
    }
}
try await producer.flush()

let instance = try await RouterInstance(client: client, policy: policy, group: "bench-router", defaultTeam: "team-0", sessionTimeout: .seconds(6), logger: logger)
let group = ServiceGroup(configuration: .init(services: instance.services.map { .init(service: $0) }, logger: logger))
let running = Task { try await group.run() }

// Watch the lifecycle topic for Assigned events; the Opened's occurred_at is its send time.
let openedAt = Mutex<[String: Date]>([:])
let latencies = Latencies()
let watcher = try KafkaConsumer(
    configuration: KafkaConsumerConfiguration(groupID: "bench-watch", topics: [TriageTopic.incidentEvents], client: client, fetchMaximumWait: .milliseconds(5)),
    logger: logger
)
let watching = Task {
    for try await batch in watcher.batches {
        let seen = Date()
        for message in batch {
            guard let value = message.valueBytes, let event = try? IncidentEvent(serializedBytes: Array(value)), case .assigned = event.event else { continue }
            if let opened = openedAt.withLock({ $0[event.incidentID] }) { latencies.record(seconds: seen.timeIntervalSince(opened)) }
        }
    }
}
// Stage 1 alone: Opened → forwarded on triage.routing (seen).
let forwardLatencies = Latencies()
let routingWatcher = try KafkaConsumer(
    configuration: KafkaConsumerConfiguration(groupID: "bench-watch-routing", topics: [TriageTopic.routing], client: client, fetchMaximumWait: .milliseconds(5)),
    logger: logger
)
let watchingRouting = Task {
    for try await batch in routingWatcher.batches {
        let seen = Date()
        for message in batch {
            guard let value = message.valueBytes, let event = try? IncidentEvent(serializedBytes: Array(value)), case .opened = event.event else { continue }
            forwardLatencies.record(seconds: seen.timeIntervalSince(event.occurredAt.date))
        }
    }
}
while instance.router.statistics.agents < agentCount || instance.router.statistics.partitions == 0 { try await Task.sleep(for: .milliseconds(50)) }
try await Task.sleep(for: .seconds(2))

let publisher = IncidentEventPublisher(producer: producer)
// Warm-up: every group joined and every stage has seen traffic before anything is measured.
while (try? watcher.assignment())?.isEmpty ?? true || (try? routingWatcher.assignment())?.isEmpty ?? true {
    try await Task.sleep(for: .milliseconds(50))
}
for index in 0..<200 {
    let opened = IncidentEvent.with {
        $0.eventID = "w-\(index)"; $0.incidentID = "W\(index)"; $0.producer = "bench"; $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
        $0.opened = .with {
            $0.customerAccount = "acme"; $0.entitlementID = "p"; $0.product = "billing"; $0.severity = .c
            $0.coverage = .coverage24X7; $0.customerTimeZone = "UTC"; $0.title = "w"; $0.team = teams[index % teamCount]
        }
    }
    openedAt.withLock { $0["W\(index)"] = Date() }
    try await producer.enqueue(try publisher.record(for: opened))
}
while latencies.count < 200 { try await Task.sleep(for: .milliseconds(50)) }
for index in 0..<200 {
    let closed = IncidentEvent.with {
        $0.eventID = "wc-\(index)"; $0.incidentID = "W\(index)"; $0.producer = "bench"
        $0.occurredAt = Google_Protobuf_Timestamp(date: Date()); $0.closedResolved = .with { $0.closedBy = "bench" }
    }
    try await producer.enqueue(try publisher.record(for: closed))
}
try await producer.flush()
try await Task.sleep(for: .seconds(1))
latencies.reset()
forwardLatencies.reset()
let total = rate * seconds
let interval = Duration.seconds(1) / rate
let clock = ContinuousClock()
var next = clock.now
emit("offering \(total) Opened events at \(rate)/s (each closed 200 incidents later) ...")
let offerStarted = ContinuousClock.now
for index in 0..<total {
    let sent = Date()
    openedAt.withLock { $0["B\(index)"] = sent }
    let opened = IncidentEvent.with {
        $0.eventID = "b-\(index)"; $0.incidentID = "B\(index)"; $0.producer = "bench"; $0.occurredAt = Google_Protobuf_Timestamp(date: sent)
        $0.opened = .with {
            $0.customerAccount = "acme"; $0.entitlementID = "p"; $0.product = "billing"; $0.severity = [.a, .b, .c][index % 3]
            $0.coverage = .coverage24X7; $0.customerTimeZone = "UTC"; $0.title = "b"; $0.team = teams[index % teamCount]
        }
    }
    try await producer.enqueue(try publisher.record(for: opened))
    if index >= 200 {
        let closed = IncidentEvent.with {
            $0.eventID = "c-\(index - 200)"; $0.incidentID = "B\(index - 200)"; $0.producer = "bench"
            $0.occurredAt = Google_Protobuf_Timestamp(date: sent); $0.closedResolved = .with { $0.closedBy = "bench" }
        }
        try await producer.enqueue(try publisher.record(for: closed))
    }
    next = next.advanced(by: interval)
    if next > clock.now { try await Task.sleep(until: next, clock: clock) }
}
let offeredSeconds = (ContinuousClock.now - offerStarted).secondsDouble
let drainDeadline = ContinuousClock.now + .seconds(60)
while latencies.count < total, ContinuousClock.now < drainDeadline { try await Task.sleep(for: .milliseconds(100)) }
let routedSeconds = (ContinuousClock.now - offerStarted).secondsDouble

// Baseline: the same producer → consumer path without the router (records on a plain topic).
let pipeLatencies = Latencies()
let pipeConsumer = try KafkaConsumer(
    configuration: KafkaConsumerConfiguration(groupID: "bench-pipe", topics: ["bench.pipe"], client: client, fetchMaximumWait: .milliseconds(5)),
    logger: logger
)
let piping = Task {
    for try await batch in pipeConsumer.batches {
        let seen = Date().timeIntervalSince1970
        for message in batch { if let sent = message.valueBytes.flatMap({ Double(String(decoding: $0, as: UTF8.self)) }) { pipeLatencies.record(seconds: seen - sent) } }
    }
}
while (try? pipeConsumer.assignment())?.isEmpty ?? true { try await Task.sleep(for: .milliseconds(50)) }
// Warm-up, as for the router: the first fetches of a fresh consumer are not what is measured.
for _ in 0..<200 { try await producer.enqueue(KafkaProducerMessage(topic: "bench.pipe", key: nil, value: String(Date().timeIntervalSince1970))) }
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

let assigned = latencies.summary
let forward = forwardLatencies.summary
let pipe = pipeLatencies.summary
emit("stage 1     Opened → forwarded by the dispatcher: \(forward.text)")
emit(
    String(
        format: "router      %d of %d assigned; %.0f decisions/s sustained (offered %.0f/s over %.1f s, all routed after %.1f s)",
        assigned.count, total, Double(assigned.count) / routedSeconds, Double(total) / offeredSeconds, offeredSeconds, routedSeconds
    )
)
emit("latency     Opened → Assigned seen: \(assigned.text)   baseline produce → consume \(pipe.text)   target p99 ≤ 10 ms")

var report = BenchReport(bench: "router-bench")
var section = BenchSection(
    id: "30-router", title: "Router: Opened → Assigned latency at \(rate.formatted()) incidents/s",
    howMeasured: """
        A whole `RouterInstance` (dispatcher + router, \(agentCount) agents online in \(teamCount) teams, capacity 30 each) on the embedded \
        broker (child process). Opened events are offered at a fixed \(rate.formatted())/s for \(seconds) s (\(total.formatted()) incidents, \
        each closed 200 incidents later so agents free up), after a 200-incident warm-up. Latency = the time a watcher consumer sees the \
        `Assigned` event on `triage.incident-events` minus the time the Opened was sent, recorded in an HdrHistogram. Baseline, same run, \
        same producer and broker: plain produce → consume of timestamped records on a plain topic at the same rate for 3 s (the floor any \
        Kafka hop costs here). The desk figure is the pure routing policy (one desk of 50 agents) against round-robin assignment.
        """
)
for (name, value, base) in [("p50", assigned.p50, pipe.p50), ("p99", assigned.p99, pipe.p99), ("p99.9", assigned.p999, pipe.p999), ("max", assigned.max, pipe.max)] {
    section.figures.append(
        BenchFigure(
            name: "Opened → Assigned \(name)", value: value, unit: "ms", baselineName: "produce → consume \(name)", baselineValue: base,
            ratioMeaning: "figure / baseline (lower is better)", notes: name == "p99" ? "target ≤ 10 ms" : nil
        )
    )
}
section.figures.append(BenchFigure(name: "Opened → forwarded by the dispatcher (stage 1) p99", value: forward.p99, unit: "ms", baselineName: "produce → consume p99", baselineValue: pipe.p99, ratioMeaning: "figure / baseline (lower is better)"))
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
section.notes.append("\(assigned.count) of \(total) incidents assigned; \(pipe.count) baseline records.")
report.add(section)
try report.write()
await group.triggerGracefulShutdown()
_ = try? await running.value
await watcher.close()
await pipeConsumer.close()
await routingWatcher.close()
_ = try? await watchingRouting.value
_ = try? await watching.value
_ = try? await piping.value
kill(child.processIdentifier, SIGKILL)  // the broker child ignores SIGTERM (librdkafka threads)
emit("done")
