// Notifier benchmark (issue 6): webhook deliveries per second to a fast local receiver (requests
// waiting in the topic, and requests produced meanwhile), against the same POSTs sent straight
// with AsyncHTTPClient at the same concurrency (baseline, same run);
// and breach → webhook received latency through escalator + notifier. Prints; asserts nothing.
//
//   notifier-bench [--requests 20000] [--rounds 3] [--breaches 2000] [--breach-rate 200] [--linger-ms 1]
import AsyncHTTPClient
import BenchSupport
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import SwiftProtobuf
import Synchronization
import TriageEscalator
import TriageKafka
import TriageNotification
import TriageNotifierWorker
import TriageSLA
import TriageSchema
import TriageStreams

let requests = option("--requests", 20_000)
let breaches = option("--breaches", 2_000)
let breachRate = option("--breach-rate", 200)
let rounds = option("--rounds", 3)
/// The producer's linger (the notifier's ledger writes), as `NotifierInstance` sets it.
let lingerMilliseconds = option("--linger-ms", 1)
let partitions = 8
try ChildBroker.serveIfChild(topics: [
    (TriageTopic.incidentEvents, partitions), (TriageTopic.slaState, partitions), (TriageTopic.notificationRequests, partitions),
    (TriageTopic.notificationRetry, partitions), (TriageTopic.notificationLedger, partitions), (TriageTopic.deadLetter, 1),
])
let logger = {
    var logger = Logger(label: "triage.notifier-bench")
    logger.logLevel = .error
    return logger
}()

// A fast receiver: counts, remembers arrival times by incident id, and keeps the first request
// it gets (body and headers) for the baseline to send again.
final class Receiver: Sendable {
    let count = Atomic<Int>(0)
    let arrivals = Mutex<[String: Date]>([:])
    let port = Mutex<Int?>(nil)
    let sample = Mutex<(body: ByteBuffer, headers: [(String, String)])?>(nil)
    /// When ``count`` reached 1 and ``expected``: the time and the machine's CPU seconds (``cpu``).
    let first = Mutex<(at: ContinuousClock.Instant, cpu: Double)?>(nil)
    let last = Mutex<(at: ContinuousClock.Instant, cpu: Double)?>(nil)
    let expected = Atomic<Int>(0)
    let cpu = Mutex<(@Sendable () -> Double)?>(nil)

    /// Counts a request; notes the first and the expected one.
    func counted() {
        let count = count.add(1, ordering: .relaxed).newValue
        guard count == 1 || count == expected.load(ordering: .relaxed) else { return }
        let mark = (at: ContinuousClock.now, cpu: cpu.withLock { $0?() } ?? 0)
        if count == 1 { first.withLock { $0 = mark } }
        if count == expected.load(ordering: .relaxed) { last.withLock { $0 = mark } }
    }

    func reset(expecting expected: Int) {
        count.store(0, ordering: .relaxed)
        self.expected.store(expected, ordering: .relaxed)
        first.withLock { $0 = nil }
        last.withLock { $0 = nil }
    }
}
let receiver = Receiver()
let router = Router()
router.post("/hook") { request, _ -> HTTPResponse.Status in
    let body = try await request.body.collect(upTo: 1 << 16)
    let now = Date()
    receiver.sample.withLock { sample in
        guard sample == nil else { return }
        // What the sender chose; the client sets the connection's own (host, length) itself.
        let own: Set<String> = ["host", "content-length", "connection", "transfer-encoding"]
        sample = (body, request.headers.filter { !own.contains($0.name.canonicalName) }.map { ($0.name.rawName, $0.value) })
    }
    // Breach latency counts the escalation (level 1), not the SLA warnings before it.
    if let json = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any],
        json["template"] as? String == "escalated",
        let incident = json["incident_id"] as? String
    {
        receiver.arrivals.withLock { $0[incident] = $0[incident] ?? now }
    }
    receiver.counted()
    return .ok
}
let app = Application(
    router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
    onServerRunning: { channel in receiver.port.withLock { $0 = channel.localAddress?.port } }, logger: logger
)
let serving = Task { try await app.runService() }
while receiver.port.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(10)) }
let port = receiver.port.withLock { $0 }!
let concurrency = 32
emit(
    "notifier benchmark: \(requests) webhook requests to a local receiver (max_concurrency \(concurrency)); \(breaches) breaches at \(breachRate)/s"
)

// MARK: Set-up: the broker and the notifier (joined before any round is timed).

let (bootstrap, child) = try ChildBroker.start()
let client = KafkaClientConfiguration(bootstrap: bootstrap, fetchWait: EmbeddedKafka.mockFetchWait)
let endpoint = NotificationRules.Endpoint(
    name: "hook", kind: .webhook(.init(url: .url(URL(string: "http://127.0.0.1:\(port)/hook")!), secretVariable: "BENCH_KEY")),
    maxConcurrency: concurrency
)
let recipients = ["ops", "team-lead", "support-manager", "assigned-agent"]
let rules = NotificationRules(
    endpoints: ["hook": endpoint],
    recipients: Dictionary(uniqueKeysWithValues: recipients.map { ($0, NotificationRules.Recipient(name: $0, endpoints: ["hook"])) })
)
let producer = try KafkaProducer(
    configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(lingerMilliseconds)), logger: logger)
receiver.cpu.withLock { $0 = { cpuSeconds(withChild: child) } }
/// A notifier in the group `bench-notifier` (it goes on from the group's committed offsets),
/// running, its partitions assigned.
func startNotifier() async throws -> (notifier: Notifier, group: ServiceGroup, running: Task<Void, any Error>) {
    let consumer = try KafkaConsumer(
        configuration: KafkaConsumerConfiguration(
            groupID: "bench-notifier", topics: [TriageTopic.notificationRequests, TriageTopic.notificationRetry], client: client,
            sessionTimeout: .seconds(6), heartbeatInterval: .milliseconds(500), fetchMaximumWait: .milliseconds(5)
        ),
        logger: logger
    )
    let notifier = Notifier(
        consumer: consumer, producer: producer, client: client, rules: rules,
        deliverer: Deliverer(templates: .defaults, environment: ["BENCH_KEY": "bench-signing-key"], rules: rules), logger: logger
    )
    let group = ServiceGroup(configuration: .init(services: [.init(service: notifier), .init(service: consumer)], logger: logger))
    let running = Task { try await group.run() }
    while notifier.assignedPartitions == 0 { try await Task.sleep(for: .milliseconds(20)) }
    return (notifier, group, running)
}
let producing = ServiceGroup(configuration: .init(services: [.init(service: producer)], logger: logger))
let producerRunning = Task { try await producing.run() }
var notifierRun = try await startNotifier()

/// Baseline: the same POSTs straight from AsyncHTTPClient, `concurrency` at a time: the request
/// the notifier sent first (its body and headers, as the receiver got them), sent again. Seconds.
func postDirectly(_ http: HTTPClient) async throws -> Double {
    receiver.reset(expecting: requests)
    let (body, headers) = receiver.sample.withLock { $0 }!
    let started = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<concurrency {
            group.addTask {
                for _ in stride(from: worker, to: requests, by: concurrency) {
                    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/hook")
                    request.method = .POST
                    for (name, value) in headers { request.headers.add(name: name, value: value) }
                    request.body = .bytes(body)
                    let response = try await http.execute(request, timeout: .seconds(10))
                    _ = try await response.body.collect(upTo: 1024)
                }
            }
        }
        try await group.waitForAll()
    }
    return (ContinuousClock.now - started).secondsDouble
}

/// `count` new notification requests to `ops` (keys `bench-<label>-<index>`), enqueued.
func produceRequests(_ label: String, count: Int) async throws {
    for index in 0..<count {
        let request = NotificationRequest.with {
            $0.idempotencyKey = "bench-\(label)-\(index)"; $0.incidentID = "N\(label)-\(index)"
            $0.requestedAt = Google_Protobuf_Timestamp(date: Date())
            $0.recipient = "ops"; $0.template = "escalated"; $0.payload = ["level": "1", "reason": "bench"]
        }
        try await producer.enqueue(
            KafkaProducerMessage(
                topic: TriageTopic.notificationRequests, key: Array("ops-\(index % 64)".utf8), value: try request.serializedBytes())
        )
    }
}

/// Through Kafka and the notifier: `requests` new requests produced (in this process) while the
/// notifier delivers them, timed until the receiver has counted them all. Seconds.
func deliverThroughNotifier(round: Int, count: Int = requests) async throws -> Double {
    receiver.reset(expecting: count)
    let started = ContinuousClock.now
    try await produceRequests("\(round)", count: count)
    while receiver.count.load(ordering: .relaxed) < count { try await Task.sleep(for: .milliseconds(10)) }
    return (ContinuousClock.now - started).secondsDouble
}

/// Seconds and the machine's CPU seconds from the first request the receiver counted to the
/// expected one, once it came.
func receivedSpan() async throws -> (seconds: Double, cpu: Double) {
    while receiver.last.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(10)) }
    let (first, last) = (receiver.first.withLock { $0 }!, receiver.last.withLock { $0 }!)
    return ((last.at - first.at).secondsDouble, last.cpu - first.cpu)
}

// One delivery before the rounds: the request the baseline sends again.
_ = try await deliverThroughNotifier(round: -1, count: 1)
// As many connections as requests in flight, as the notifier keeps for an endpoint of that
// max_concurrency (AsyncHTTPClient's default is 8 per host).
var baselineConfiguration = HTTPClient.Configuration()
baselineConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = concurrency
let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: baselineConfiguration)
var notifierRates: [Double] = []
var baselineRates: [Double] = []
var ratios: [Double] = []
/// Through the notifier with the requests already waiting (``drainRates``), by round.
var drainRates: [Double] = []
var drainRatios: [Double] = []
/// CPU microseconds per request (this process and the broker child), by round.
var notifierCPU: [Double] = []
var baselineCPU: [Double] = []
var drainCPU: [Double] = []
/// Times the notifier paused fetching (its read-ahead in hand) while draining, by round.
var drainPauses: [Int] = []
for round in 0..<rounds {
    var notifierRate = 0.0
    var baselineRate = 0.0
    var drainRate = 0.0
    var notifierMicros = 0.0
    var baselineMicros = 0.0
    var drainMicros = 0.0
    // Alternate which goes first.
    for side in round % 2 == 0 ? [0, 1, 2] : [2, 1, 0] {
        let cpu = cpuSeconds(withChild: child)
        if side == 0 {
            baselineRate = Double(requests) / (try await postDirectly(http))
            baselineMicros = (cpuSeconds(withChild: child) - cpu) * 1e6 / Double(requests)
        } else if side == 1 {
            notifierRate = Double(requests) / (try await deliverThroughNotifier(round: round))
            notifierMicros = (cpuSeconds(withChild: child) - cpu) * 1e6 / Double(requests)
        } else {
            // The requests wait in the topic while no notifier runs; one of the same group then
            // delivers them, timed from its first webhook to its last (its join and ledger
            // restore before it left out), as a notifier catching up on requests others produced.
            await notifierRun.group.triggerGracefulShutdown()
            try await notifierRun.running.value
            try await produceRequests("queued-\(round)", count: requests)
            try await producer.flush()
            receiver.reset(expecting: requests)
            notifierRun = try await startNotifier()
            let span = try await receivedSpan()
            drainRate = Double(requests - 1) / span.seconds
            drainMicros = span.cpu * 1e6 / Double(requests - 1)
            drainPauses.append(notifierRun.notifier.statistics.fetchPauses)
        }
    }
    notifierRates.append(notifierRate)
    baselineRates.append(baselineRate)
    drainRates.append(drainRate)
    ratios.append(notifierRate / baselineRate)
    drainRatios.append(drainRate / baselineRate)
    notifierCPU.append(notifierMicros)
    baselineCPU.append(baselineMicros)
    drainCPU.append(drainMicros)
    emit(
        String(
            format:
                "round %d: deliveries %7.0f webhooks/s through Kafka and the notifier (requests waiting; signed, ledger written)   AsyncHTTPClient alone %7.0f/s   ratio %.2f   CPU per request %.0f µs vs %.0f µs",
            round, drainRate, baselineRate, drainRate / baselineRate, drainMicros, baselineMicros
        )
    )
    emit(
        String(
            format:
                "round %d: deliveries %7.0f webhooks/s with the requests produced here meanwhile   ratio %.2f   CPU per request %.0f µs",
            round, notifierRate, notifierRate / baselineRate, notifierMicros
        )
    )
}
try await http.shutdown().get()
emit(
    String(
        format:
            "deliveries: median %.0f webhooks/s (requests waiting), AsyncHTTPClient alone median %.0f/s, median ratio %.2f; with the requests produced here meanwhile %.0f/s, ratio %.2f (%d rounds)",
        median(drainRates), median(baselineRates), median(drainRatios), median(notifierRates), median(ratios), rounds)
)

// MARK: Breach → webhook received, through the escalator.

let escalatorConsumer = try KafkaConsumer(
    configuration: KafkaConsumerConfiguration(
        groupID: "bench-escalator", topics: [TriageTopic.incidentEvents], client: client, sessionTimeout: .seconds(6),
        heartbeatInterval: .milliseconds(500), fetchMaximumWait: .milliseconds(5)
    ),
    logger: logger
)
let escalatorProducer = try KafkaProducer(
    configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(1)), logger: logger)
let escalator = Escalator(consumer: escalatorConsumer, producer: escalatorProducer, client: client, policy: SlaPolicy(), logger: logger)
let escalation = ServiceGroup(
    configuration: .init(
        services: [.init(service: escalatorProducer), .init(service: escalator), .init(service: escalatorConsumer)], logger: logger
    )
)
let escalating = Task { try await escalation.run() }
while (try? escalatorConsumer.assignment())?.isEmpty ?? true { try await Task.sleep(for: .milliseconds(20)) }
let publisher = IncidentEventPublisher(producer: producer, topic: TriageTopic.incidentEvents)
let firstDue = Date().addingTimeInterval(4)
var dueByIncident: [String: Date] = [:]
for index in 0..<breaches {
    let due = firstDue.addingTimeInterval(Double(index) / Double(breachRate))
    let id = "DUE-\(index)"
    dueByIncident[id] = due
    // Sev A, 24x7: the first-response target (120 min) falls due at `due`; level 1 tells team-lead.
    let event = IncidentEvent.with {
        $0.eventID = "open-\(index)"; $0.incidentID = id; $0.producer = "bench"
        $0.occurredAt = Google_Protobuf_Timestamp(date: due.addingTimeInterval(-120 * 60))
        $0.opened = .with {
            $0.customerAccount = "acme"; $0.entitlementID = "pack"; $0.product = "billing"; $0.severity = .a
            $0.coverage = .coverage24X7; $0.customerTimeZone = "UTC"; $0.title = "bench"
        }
    }
    try await producer.enqueue(try publisher.record(for: event))
}
try await producer.flush()
let lastDue = firstDue.addingTimeInterval(Double(breaches) / Double(breachRate))
while receiver.arrivals.withLock({ arrivals in dueByIncident.keys.filter { arrivals[$0] != nil }.count }) < breaches,
    Date() < lastDue.addingTimeInterval(60)
{
    try await Task.sleep(for: .milliseconds(100))
}
let arrivals = receiver.arrivals.withLock { $0 }
let lags = Latencies()
for (id, due) in dueByIncident { if let arrived = arrivals[id] { lags.record(seconds: arrived.timeIntervalSince(due)) } }
let lag = lags.summary
emit("breach → webhook received: \(lag.count) of \(breaches); \(lag.text) (deadline → escalator → notification request → notifier → HTTP)")

var report = BenchReport(bench: "notifier-bench")
var section = BenchSection(
    id: "50-notifier", title: "Notifier: webhook deliveries per second",
    howMeasured: """
        Each round delivers \(requests.formatted()) notification requests through a `Notifier` (max_concurrency \(concurrency); embedded \
        broker in a child process, 8 partitions), each as a signed webhook POST to a local Hummingbird receiver, its ledger written. The \
        main figure: the requests are produced to `triage.notification-requests` while no notifier runs, then a notifier of the same group \
        starts on them (as one catching up on requests others produced); timed from the first webhook the receiver gets to the last, so \
        the group's join and the ledger's restore before it are left out; with more requests waiting than its read-ahead \
        (\(Notifier.defaultReadAhead.formatted()) deliveries in hand), it pauses fetching now and then, as it would. Second figure: the requests are produced by this process while \
        the running notifier delivers them, timed from the first request produced until the receiver has counted them all (what earlier \
        runs reported: producing the requests takes its share of the same 2 cores). Baseline, same run, same receiver: the same number of \
        POSTs sent straight with AsyncHTTPClient, \(concurrency) at a time over as many connections (the notifier keeps as many as its \
        endpoints' max_concurrency) — the request the notifier sent first (one delivery before the rounds), its body and headers as the \
        receiver got them, sent again. \(rounds) rounds, alternating which goes first; the medians are reported, each ratio being the \
        median of the rounds' ratios. CPU per request: the CPU time of this process and of the broker child over each measured span, \
        divided by the requests. The breach → webhook figure runs a real \
        escalator too: \(breaches.formatted()) Sev A deadlines fall due at \(breachRate)/s; latency = webhook received minus deadline (HdrHistogram).
        """
)
section.figures.append(
    BenchFigure(
        name: "webhook deliveries through Kafka and the notifier (requests waiting)", value: median(drainRates), unit: "webhooks/s",
        baselineName: "AsyncHTTPClient alone", baselineValue: median(baselineRates), ratio: median(drainRatios),
        ratioMeaning: "median of the rounds' figure / baseline", notes: "target ≥ 0.7"
    )
)
section.figures.append(
    BenchFigure(
        name: "the same, the requests produced by this process meanwhile", value: median(notifierRates), unit: "webhooks/s",
        baselineName: "AsyncHTTPClient alone", baselineValue: median(baselineRates), ratio: median(ratios),
        ratioMeaning: "median of the rounds' figure / baseline", notes: "producing the requests shares the 2 cores"
    )
)
section.figures.append(
    BenchFigure(
        name: "CPU per delivery (this process + broker), requests waiting", value: median(drainCPU), unit: "µs",
        baselineName: "AsyncHTTPClient alone, CPU per request", baselineValue: median(baselineCPU),
        ratioMeaning: "median of the rounds / median of the baseline's rounds (lower is better)",
        notes: "the sender and the receiver count on both sides"
    )
)
section.figures.append(
    BenchFigure(
        name: "CPU per delivery, the requests produced by this process meanwhile", value: median(notifierCPU), unit: "µs",
        baselineName: "AsyncHTTPClient alone, CPU per request", baselineValue: median(baselineCPU),
        ratioMeaning: "median of the rounds / median of the baseline's rounds (lower is better)",
        notes: "producing the requests counts too"
    )
)
for (name, value) in [("p50", lag.p50), ("p99", lag.p99), ("p99.9", lag.p999), ("max", lag.max)] {
    section.figures.append(BenchFigure(name: "breach → webhook received \(name)", value: value, unit: "ms"))
}
section.notes.append(
    "all rounds — through the notifier, requests waiting: \(drainRates.map { String(format: "%.0f", $0) }.joined(separator: ", ")); ratios: \(drainRatios.map { String(format: "%.2f", $0) }.joined(separator: ", ")); CPU per request, µs: \(drainCPU.map { String(format: "%.0f", $0) }.joined(separator: ", ")); fetch pauses (read-ahead in hand): \(drainPauses.map(String.init).joined(separator: ", "))"
)
section.notes.append(
    "all rounds — through the notifier, requests produced meanwhile: \(notifierRates.map { String(format: "%.0f", $0) }.joined(separator: ", ")); AsyncHTTPClient alone: \(baselineRates.map { String(format: "%.0f", $0) }.joined(separator: ", ")); ratios: \(ratios.map { String(format: "%.2f", $0) }.joined(separator: ", "))"
)
section.notes.append(
    "CPU per request, µs — through the notifier, requests produced meanwhile: \(notifierCPU.map { String(format: "%.0f", $0) }.joined(separator: ", ")); AsyncHTTPClient alone: \(baselineCPU.map { String(format: "%.0f", $0) }.joined(separator: ", "))"
)
section.notes.append("\(lag.count) of \(breaches) breach webhooks received.")
report.add(section)
try report.write()
await escalation.triggerGracefulShutdown()
_ = try? await escalating.value
await notifierRun.group.triggerGracefulShutdown()
_ = try? await notifierRun.running.value
await producing.triggerGracefulShutdown()
_ = try? await producerRunning.value
serving.cancel()
kill(child.processIdentifier, SIGKILL)  // the broker child ignores SIGTERM (librdkafka threads)
emit("done")
