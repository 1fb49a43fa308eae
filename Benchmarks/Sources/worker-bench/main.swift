// End-to-end throughput per worker kind: each worker, in process, consumes records produced
// before it starts (a burst, for the router) from the embedded broker (a child process) and
// does all its work: decode, apply, publish its outputs, store offsets. Baseline, same run, same
// records: the binding's raw consume rate (a fresh group, `KafkaConsumer.batches` + storeOffsets).
// Prints; asserts nothing.
//
//   worker-bench [--events 50000] [--notifier-events 10000] [--partitions 8] [--only escalator,router,...] [--report-json PATH]
import BenchSupport
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import SwiftProtobuf
import Synchronization
import TriageAnalyticsFeed
import TriageEntitlements
import TriageEscalator
import TriageIntake
import TriageKafka
import TriageNotification
import TriageNotifierWorker
import TriageRouterWorker
import TriageRouting
import TriageSLA
import TriageSchema
import TriageStreams

let events = option("--events", 50_000)
let notifierEvents = option("--notifier-events", 10_000)
let partitions = option("--partitions", 8)
let only = option("--only").map { Set($0.split(separator: ",").map(String.init)) }

try ChildBroker.serveIfChild(
    topics: [
        TriageTopic.incidentEvents, TriageTopic.slaState, TriageTopic.notificationRequests, TriageTopic.notificationRetry,
        TriageTopic.notificationLedger, TriageTopic.analytics, TriageTopic.incidentState, TriageTopic.agentEvents, TriageTopic.routing,
        TriageTopic.routingIndex, TriageTopic.routerState, TriageTopic.entitlementRequests, TriageTopic.entitlements,
        TriageTopic.entitlementReplies, TriageTopic.incidentDirectory,
    ].map { ($0, option("--partitions", 8)) } + [(TriageTopic.deadLetter, 1)]
)
let logger = {
    var logger = Logger(label: "triage.worker-bench")
    logger.logLevel = .error
    return logger
}()

/// A running worker: its service group, and how many inputs it has finished.
struct RunningWorker {
    var group: ServiceGroup
    var task: Task<Void, any Error>
    var progress: @Sendable () -> Int
}

struct Outcome {
    var workerRate: Double
    var baselineRate: Double
    var seconds: Double
    var complete: Bool
}

/// Reads `count` records of `topic` in a fresh group, storing each batch's offsets; returns
/// records per second from the first batch to the last.
func rawConsume(topic: String, count: Int, client: KafkaClientConfiguration) async throws -> Double {
    let consumer = try KafkaConsumer(
        configuration: KafkaConsumerConfiguration(
            groupID: "raw-\(UUID())", topics: [topic], client: client, fetchMaximumWait: .milliseconds(5)),
        logger: logger
    )
    var received = 0
    var started: ContinuousClock.Instant?
    for try await batch in consumer.batches {
        if started == nil { started = .now }
        received += batch.count
        try consumer.storeOffsets(batch)
        if received >= count { break }
    }
    let elapsed = (ContinuousClock.now - started!).secondsDouble
    await consumer.close()
    precondition(received == count, "raw consume read \(received) of \(count)")
    return Double(count) / elapsed
}

/// Polls `progress` every millisecond until it is `target` past `base`; returns the rate from
/// the first progress seen to the end, the seconds that took, and how many were done (less than
/// `target` when `timeout` ran out first).
@MainActor func watch(progress: @Sendable () -> Int, target: Int, from base: Int = 0, timeout: Duration) async throws -> (
    rate: Double, seconds: Double, done: Int
) {
    let deadline = ContinuousClock.now + timeout
    var first: ContinuousClock.Instant?
    var done = 0
    while true {
        done = progress() - base
        if first == nil, done > 0 { first = .now }
        if done >= target || ContinuousClock.now > deadline { break }
        try await Task.sleep(for: .milliseconds(1))
    }
    let seconds = first.map { (ContinuousClock.now - $0).secondsDouble } ?? .nan
    return (Double(done) / seconds, seconds, done)
}

func producerFor(_ client: KafkaClientConfiguration) throws -> KafkaProducer {
    try KafkaProducer(configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(5)), logger: logger)
}

func consumerFor(_ group: String, _ topics: [String], _ client: KafkaClientConfiguration) throws -> KafkaConsumer {
    try KafkaConsumer(
        configuration: KafkaConsumerConfiguration(
            groupID: group, topics: topics, client: client, sessionTimeout: .seconds(6), heartbeatInterval: .milliseconds(500),
            fetchMaximumWait: .milliseconds(5)
        ),
        logger: logger
    )
}

func opened(_ index: Int, team: String = "team-\(0)") -> IncidentEvent {
    IncidentEvent.with {
        $0.eventID = "open-\(index)"; $0.incidentID = "INC-\(index + 10_000_000)"; $0.producer = "bench"
        $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
        $0.opened = .with {
            $0.customerAccount = "acme"; $0.entitlementID = "pack"; $0.product = "billing"; $0.language = "en"
            $0.severity = [.b, .c][index % 2]; $0.coverage = .coverage24X7; $0.customerTimeZone = "UTC"; $0.title = "bench \(index)";
            $0.team = team
        }
    }
}

func closed(_ index: Int) -> IncidentEvent {
    IncidentEvent.with {
        $0.eventID = "close-\(index)"; $0.incidentID = "INC-\(index + 10_000_000)"; $0.producer = "bench"
        $0.occurredAt = Google_Protobuf_Timestamp(date: Date()); $0.closedResolved = .with { $0.closedBy = "bench" }
    }
}

/// The record `IncidentEventPublisher` would send for `event`.
func record(for event: IncidentEvent) throws -> KafkaProducerMessage {
    KafkaProducerMessage(
        topic: TriageTopic.incidentEvents, key: Array(event.incidentID.utf8), value: try event.serializedBytes(),
        headers: event.kafkaHeaders(traceparent: nil).map { KafkaHeader(name: $0.name, string: $0.value) }
    )
}

func send(_ records: [KafkaProducerMessage], client: KafkaClientConfiguration) async throws {
    let producer = try producerFor(client)
    for record in records { try await producer.enqueue(record) }
    try await producer.flush(timeout: .seconds(120))
    await producer.close()
}

/// Stops the run when the embedded broker no longer holds every record written to `topic`: it
/// keeps about 5 MB per partition and drops the oldest beyond that, and a worker waiting for
/// records that are gone would only look slow until the timeout.
func checkKept(topic: String, expected: Int, client: KafkaClientConfiguration) async throws {
    let range = try await KafkaTopicRange.lookUp(topic: topic, since: nil, client: client, logger: logger)
    let dropped = range.partitions.filter { $0.start > 0 }
    guard !dropped.isEmpty else { return }
    emit(
        "error: the embedded broker kept \(range.count) of the \(expected) records written to \(topic) (it holds about 5 MB per "
            + "partition and dropped the oldest of partitions \(dropped.map(\.partition))); use fewer --events or more --partitions")
    exit(1)
}

/// One worker kind on a broker of its own: produce `records` (unless `burst`), measure the raw
/// consume of `input`, then start the worker and time it through `target` inputs.
@MainActor func measure(
    _ name: String, input: String, records: @escaping () throws -> [KafkaProducerMessage], burst: Bool = false,
    timeout: Duration = .seconds(option("--timeout", 120)), start: (KafkaClientConfiguration) async throws -> RunningWorker
) async throws -> Outcome {
    let (bootstrap, child) = try ChildBroker.start(arguments: ["--partitions", String(partitions)])
    defer { kill(child.processIdentifier, SIGKILL) }  // the broker child ignores SIGTERM (librdkafka threads)
    let client = KafkaClientConfiguration(bootstrap: bootstrap, fetchWait: EmbeddedKafka.mockFetchWait)
    let inputs = try records()
    if !burst {
        try await send(inputs, client: client)
        try await checkKept(topic: input, expected: inputs.count, client: client)
    }
    let worker = try await start(client)
    let base = worker.progress()
    let started = ContinuousClock.now
    async let sent: Void = burst ? send(inputs, client: client) : ()
    let (rate, seconds, done) = try await watch(progress: worker.progress, target: inputs.count, from: base, timeout: timeout)
    try await sent
    emit(
        String(
            format: "  %@ worker: %.0f records/s (%d of %d in %.2f s; %.1f s after start)", name, rate, done, inputs.count, seconds,
            (ContinuousClock.now - started).secondsDouble))
    await worker.group.triggerGracefulShutdown()
    _ = try? await worker.task.value
    let baseline = try await rawConsume(topic: input, count: inputs.count, client: client)
    emit(String(format: "  %@ baseline raw consume of the same records: %.0f records/s", name, baseline))
    return Outcome(workerRate: rate, baselineRate: baseline, seconds: seconds, complete: done >= inputs.count)
}

var report = BenchReport(bench: "worker-bench")
var section = BenchSection(
    id: "20-workers", title: "End-to-end throughput per worker kind",
    howMeasured: """
        Each worker runs in process against an embedded broker of its own (a child process; \(partitions) partitions per topic) and consumes \
        records written before it starts: \(events.formatted()) Opened events (escalator, analytics feed), \(events.formatted()) ledger \
        commands (intake's entitlement ledger: 64 contract grants then `open` commands carrying their Opened event), \(notifierEvents.formatted()) \
        notification requests (notifier, each a signed webhook POST to a local Hummingbird receiver, max_concurrency 32). The router \
        (dispatcher + router, 100 agents online in 4 teams, capacity 30 each) gets \(events.formatted()) Opened events, each incident \
        closed 200 incidents later (as in router-bench), as a burst produced once its agents are loaded; its rate counts desk inputs \
        (opens and closes). A worker's rate counts its finished inputs (statistics polled every millisecond) from the \
        first one to the last, so group join and restore are left out; each does its whole job: decode, apply, publish its outputs \
        (SLA changelog, analytics records + snapshots, Assigned events + desk snapshots, Opened events + directory + entitlement states + \
        replies, webhooks + ledger), store offsets. Baseline, same run, same broker, same records: the binding's raw consume rate \
        (a fresh group, `KafkaConsumer.batches` + `storeOffsets`, first batch to last). Ratio = worker / raw consume.
        """
)
emit("worker benchmark: \(events) events per worker (notifier \(notifierEvents)), \(partitions) partitions")

@MainActor func figure(_ name: String, _ outcome: Outcome, unit: String = "events/s", notes: String? = nil) throws {
    let incomplete = outcome.complete ? nil : "did not finish within the time limit: the rate is over what it did"
    section.figures.append(
        BenchFigure(
            name: name, value: outcome.workerRate, unit: unit, baselineName: "raw consume, same records",
            baselineValue: outcome.baselineRate,
            ratioMeaning: "worker / raw consume", notes: [notes, incomplete].compactMap { $0 }.joined(separator: "; ")
        )
    )
    // Written after every worker, so that a later failure keeps what was measured.
    report.sections = [section]
    try report.write()
}

func wanted(_ name: String) -> Bool { only?.contains(name) ?? true }

// MARK: Escalator

if wanted("escalator") {
    let outcome = try await measure(
        "escalator", input: TriageTopic.incidentEvents,
        records: {
            try (0..<events).map { try record(for: opened($0)) }
        }
    ) { client in
        let consumer = try consumerFor("bench-escalator", [TriageTopic.incidentEvents], client)
        let producer = try producerFor(client)
        let escalator = Escalator(consumer: consumer, producer: producer, client: client, policy: SlaPolicy(), logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: producer), .init(service: escalator), .init(service: consumer)], logger: logger))
        return RunningWorker(group: group, task: Task { try await group.run() }, progress: { escalator.statistics.eventsApplied })
    }
    try figure("escalator (Opened → SLA state tracked, changelog written)", outcome)
}

// MARK: Analytics feed

if wanted("analytics") {
    let outcome = try await measure(
        "analytics feed", input: TriageTopic.incidentEvents,
        records: {
            try (0..<events).map { try record(for: opened($0)) }
        }
    ) { client in
        let consumer = try consumerFor("bench-analytics", [TriageTopic.incidentEvents], client)
        let producer = try producerFor(client)
        let feed = AnalyticsFeed(consumer: consumer, producer: producer, client: client, policy: SlaPolicy(), logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: producer), .init(service: feed), .init(service: consumer)], logger: logger))
        return RunningWorker(group: group, task: Task { try await group.run() }, progress: { feed.statistics.records })
    }
    try figure("analytics feed (Opened → analytics record + incident snapshot)", outcome)
}

// MARK: Router

if wanted("router") {
    let teams = (0..<4).map { "team-\($0)" }
    let agentCount = 100
    let outcome = try await measure(
        "router", input: TriageTopic.incidentEvents,
        records: {
            // Each incident is closed 200 incidents later (as in router-bench), so desks stay the size of a real shift.
            var records: [KafkaProducerMessage] = []
            for index in 0..<events {
                records.append(try record(for: opened(index, team: teams[index % teams.count])))
                if index >= 200 { records.append(try record(for: closed(index - 200))) }
            }
            return records
        },
        burst: true
    ) { client in
        var agents: [KafkaProducerMessage] = []
        for index in 0..<agentCount {
            let id = "agent-\(index)"
            for event in [
                AgentEvent.with {
                    $0.eventID = "\(id)-p"; $0.agentID = id; $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
                    $0.profile = .with {
                        $0.team = teams[index % teams.count]; $0.products = ["billing"]; $0.capacity = 30
                    }
                },
                AgentEvent.with {
                    $0.eventID = "\(id)-o"; $0.agentID = id; $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
                    $0.presenceChanged = .with { $0.presence = .online }
                },
            ] {
                agents.append(KafkaProducerMessage(topic: TriageTopic.agentEvents, key: Array(id.utf8), value: try event.serializedBytes()))
            }
        }
        try await send(agents, client: client)
        let instance = try await RouterInstance(
            client: client, policy: RoutingPolicy(), group: "bench-router", defaultTeam: "team-0", sessionTimeout: .seconds(6),
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: instance.services.map { .init(service: $0) }, logger: logger))
        let task = Task { try await group.run() }
        while instance.router.statistics.agents < agentCount || instance.router.statistics.partitions == 0 {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .seconds(1))
        let router = instance.router
        return RunningWorker(group: group, task: task, progress: { router.statistics.inputs })
    }
    try figure(
        "router (Opened → dispatcher → desk → Assigned; Closed → released)", outcome,
        notes: "burst produced after the agents were loaded; counts desk inputs (opens and closes)"
    )
}

// MARK: Intake (the entitlement ledger)

if wanted("intake") {
    let contracts = 64
    let outcome = try await measure(
        "intake ledger", input: TriageTopic.entitlementRequests,
        records: {
            func request(_ id: String, _ entitlement: String, _ command: LedgerCommand, _ events: [IncidentEvent] = []) throws
                -> KafkaProducerMessage
            {
                var request = EntitlementRequest()
                request.requestID = id
                request.entitlementID = entitlement
                request.setLedgerCommand(command)
                request.events = events
                request.requestedBy = "bench"
                request.requestedAt = Google_Protobuf_Timestamp(date: Date())
                return KafkaProducerMessage(
                    topic: TriageTopic.entitlementRequests, key: Array(entitlement.utf8), value: try request.serializedBytes())
            }
            var records: [KafkaProducerMessage] = []
            for index in 0..<contracts {
                let spec = GrantSpec(
                    id: "ACME-\(index)", kind: .twentyFourSeven, account: "acme", purchasedAt: Date().addingTimeInterval(-86_400),
                    timeZone: "UTC",
                    credits: nil, coverage: nil, calendar: nil, termYears: 1
                )
                records.append(try request("grant-\(index)", spec.id, .grant(spec)))
            }
            for index in 0..<(events - contracts) {
                var event = opened(index)
                event.opened.entitlementID = "ACME-\(index % contracts)"
                records.append(
                    try request(
                        "open-\(index)", "ACME-\(index % contracts)",
                        .open(incidentID: event.incidentID, account: "acme", at: Date(), parentIncidentID: nil), [event]
                    )
                )
            }
            return records
        }
    ) { client in
        let consumer = try consumerFor("bench-ledger", [TriageTopic.entitlementRequests], client)
        let producer = try producerFor(client)
        let ledger = EntitlementLedgerWorker(consumer: consumer, producer: producer, client: client, policy: .standard, logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: producer), .init(service: ledger), .init(service: consumer)], logger: logger))
        return RunningWorker(
            group: group, task: Task { try await group.run() }, progress: { ledger.statistics.accepted + ledger.statistics.rejected })
    }
    try figure("intake: entitlement ledger (open command → Opened + directory + state + reply)", outcome, unit: "commands/s")
}

// MARK: Notifier

if wanted("notifier") {
    final class Receiver: Sendable {
        let count = Atomic<Int>(0)
        let port = Mutex<Int?>(nil)
    }
    let receiver = Receiver()
    let router = Router()
    router.post("/hook") { request, _ -> HTTPResponse.Status in
        _ = try await request.body.collect(upTo: 1 << 16)
        receiver.count.add(1, ordering: .relaxed)
        return .ok
    }
    let app = Application(
        router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in receiver.port.withLock { $0 = channel.localAddress?.port } },
        logger: {
            var quiet = logger
            quiet.logLevel = .critical  // its shutdown on cancellation logs errors that mean nothing here
            return quiet
        }()
    )
    let serving = Task { try await app.runService() }
    while receiver.port.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(10)) }
    let port = receiver.port.withLock { $0 }!
    let outcome = try await measure(
        "notifier", input: TriageTopic.notificationRequests,
        records: {
            try (0..<notifierEvents).map { index in
                let request = NotificationRequest.with {
                    $0.idempotencyKey = "bench-\(index)"; $0.incidentID = "N\(index)";
                    $0.requestedAt = Google_Protobuf_Timestamp(date: Date())
                    $0.recipient = "ops"; $0.template = "escalated"; $0.payload = ["level": "1", "reason": "bench"]
                }
                return KafkaProducerMessage(
                    topic: TriageTopic.notificationRequests, key: Array("ops-\(index % 64)".utf8), value: try request.serializedBytes())
            }
        }
    ) { client in
        let endpoint = NotificationRules.Endpoint(
            name: "hook", kind: .webhook(.init(url: .url(URL(string: "http://127.0.0.1:\(port)/hook")!), secretVariable: "BENCH_KEY")),
            maxConcurrency: 32
        )
        let rules = NotificationRules(
            endpoints: ["hook": endpoint], recipients: ["ops": NotificationRules.Recipient(name: "ops", endpoints: ["hook"])])
        let consumer = try consumerFor("bench-notifier", [TriageTopic.notificationRequests, TriageTopic.notificationRetry], client)
        let producer = try producerFor(client)
        let notifier = Notifier(
            consumer: consumer, producer: producer, client: client, rules: rules,
            deliverer: Deliverer(templates: .defaults, environment: ["BENCH_KEY": "bench-signing-key"], rules: rules), logger: logger
        )
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: producer), .init(service: notifier), .init(service: consumer)], logger: logger))
        return RunningWorker(group: group, task: Task { try await group.run() }, progress: { notifier.statistics.delivered })
    }
    serving.cancel()
    try figure(
        "notifier (request → signed webhook POST → ledger)", outcome, unit: "requests/s", notes: "bounded by HTTP; see the webhook section")
}

report.sections = [section]
try report.write()
emit("done")
