// Notifier benchmark (issue 6): webhook deliveries per second to a fast local receiver, against
// the same POSTs sent straight with AsyncHTTPClient at the same concurrency (baseline, same run);
// and breach → webhook received latency through escalator + notifier. Prints; asserts nothing.
//
//   notifier-bench [--requests 20000] [--rounds 3] [--breaches 2000] [--breach-rate 200]
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
    receiver.count.add(1, ordering: .relaxed)
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
let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(1)), logger: logger)
let notifierConsumer = try KafkaConsumer(
    configuration: KafkaConsumerConfiguration(
        groupID: "bench-notifier", topics: [TriageTopic.notificationRequests, TriageTopic.notificationRetry], client: client,
        sessionTimeout: .seconds(6), heartbeatInterval: .milliseconds(500), fetchMaximumWait: .milliseconds(5)
    ),
    logger: logger
)
let notifier = Notifier(
    consumer: notifierConsumer, producer: producer, client: client, rules: rules,
    deliverer: Deliverer(templates: .defaults, environment: ["BENCH_KEY": "bench-signing-key"]), logger: logger
)
let group = ServiceGroup(
    configuration: .init(services: [.init(service: producer), .init(service: notifier), .init(service: notifierConsumer)], logger: logger)
)
let running = Task { try await group.run() }
while notifier.assignedPartitions == 0 { try await Task.sleep(for: .milliseconds(20)) }

/// Baseline: the same POSTs straight from AsyncHTTPClient, `concurrency` at a time: the request
/// the notifier sent first (its body and headers, as the receiver got them), sent again. Seconds.
func postDirectly(_ http: HTTPClient) async throws -> Double {
    receiver.count.store(0, ordering: .relaxed)
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

/// Through Kafka and the notifier: `requests` new requests produced, timed until the receiver
/// has counted them all. Seconds.
func deliverThroughNotifier(round: Int, count: Int = requests) async throws -> Double {
    receiver.count.store(0, ordering: .relaxed)
    let started = ContinuousClock.now
    for index in 0..<count {
        let request = NotificationRequest.with {
            $0.idempotencyKey = "bench-\(round)-\(index)"; $0.incidentID = "N\(round)-\(index)"
            $0.requestedAt = Google_Protobuf_Timestamp(date: Date())
            $0.recipient = "ops"; $0.template = "escalated"; $0.payload = ["level": "1", "reason": "bench"]
        }
        try await producer.enqueue(
            KafkaProducerMessage(
                topic: TriageTopic.notificationRequests, key: Array("ops-\(index % 64)".utf8), value: try request.serializedBytes())
        )
    }
    while receiver.count.load(ordering: .relaxed) < count { try await Task.sleep(for: .milliseconds(10)) }
    return (ContinuousClock.now - started).secondsDouble
}

// One delivery before the rounds: the request the baseline sends again.
_ = try await deliverThroughNotifier(round: -1, count: 1)
let http = HTTPClient(eventLoopGroupProvider: .singleton)
var notifierRates: [Double] = []
var baselineRates: [Double] = []
var ratios: [Double] = []
/// CPU microseconds per request (this process and the broker child), by round.
var notifierCPU: [Double] = []
var baselineCPU: [Double] = []
for round in 0..<rounds {
    var notifierRate = 0.0
    var baselineRate = 0.0
    var notifierMicros = 0.0
    var baselineMicros = 0.0
    // Alternate which goes first.
    for side in round % 2 == 0 ? [0, 1] : [1, 0] {
        let cpu = cpuSeconds(withChild: child)
        if side == 0 {
            baselineRate = Double(requests) / (try await postDirectly(http))
            baselineMicros = (cpuSeconds(withChild: child) - cpu) * 1e6 / Double(requests)
        } else {
            notifierRate = Double(requests) / (try await deliverThroughNotifier(round: round))
            notifierMicros = (cpuSeconds(withChild: child) - cpu) * 1e6 / Double(requests)
        }
    }
    notifierRates.append(notifierRate)
    baselineRates.append(baselineRate)
    ratios.append(notifierRate / baselineRate)
    notifierCPU.append(notifierMicros)
    baselineCPU.append(baselineMicros)
    emit(
        String(
            format:
                "round %d: deliveries %7.0f webhooks/s through Kafka and the notifier (signed, ledger written)   AsyncHTTPClient alone %7.0f/s   ratio %.2f   CPU per request %.0f µs vs %.0f µs (ratio %.2f)",
            round, notifierRate, baselineRate, notifierRate / baselineRate, notifierMicros, baselineMicros, baselineMicros / notifierMicros
        )
    )
}
try await http.shutdown().get()
emit(
    String(
        format: "deliveries: median %.0f webhooks/s, AsyncHTTPClient alone median %.0f/s, median ratio %.2f (%d rounds)",
        median(notifierRates), median(baselineRates), median(ratios), rounds)
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
        \(requests.formatted()) notification requests are produced to `triage.notification-requests` (8 partitions, embedded broker in a child \
        process) while a `Notifier` (max_concurrency \(concurrency)) delivers each as a signed webhook POST to a local Hummingbird receiver \
        and writes its ledger; timed from the first request produced until the receiver has counted all of them. Baseline, same run, same \
        receiver: the same number of POSTs sent straight with AsyncHTTPClient, \(concurrency) at a time — the request the notifier sent \
        first (one delivery before the rounds), its body and headers as the receiver got them, sent again. \(rounds) rounds, alternating which \
        goes first (the broker and the joined notifier are up, idle, during the baseline); the medians are reported, the ratio being the \
        median of the rounds' ratios. CPU per request: the CPU time of this process and of the broker child during each side of a round, divided by the requests. The breach → webhook figure runs a real \
        escalator too: \(breaches.formatted()) Sev A deadlines fall due at \(breachRate)/s; latency = webhook received minus deadline (HdrHistogram).
        """
)
section.figures.append(
    BenchFigure(
        name: "webhook deliveries through Kafka and the notifier", value: median(notifierRates), unit: "webhooks/s",
        baselineName: "AsyncHTTPClient alone", baselineValue: median(baselineRates), ratio: median(ratios),
        ratioMeaning: "median of the rounds' figure / baseline", notes: "target ≥ 0.7"
    )
)
section.figures.append(
    BenchFigure(
        name: "CPU per delivery (this process + broker)", value: median(notifierCPU), unit: "µs",
        baselineName: "AsyncHTTPClient alone, CPU per request", baselineValue: median(baselineCPU),
        ratioMeaning: "median of the rounds / median of the baseline's rounds (lower is better)",
        notes: "the sender, the receiver and (through the notifier) the producer of the requests all count"
    )
)
for (name, value) in [("p50", lag.p50), ("p99", lag.p99), ("p99.9", lag.p999), ("max", lag.max)] {
    section.figures.append(BenchFigure(name: "breach → webhook received \(name)", value: value, unit: "ms"))
}
section.notes.append(
    "all rounds — through the notifier: \(notifierRates.map { String(format: "%.0f", $0) }.joined(separator: ", ")); AsyncHTTPClient alone: \(baselineRates.map { String(format: "%.0f", $0) }.joined(separator: ", ")); ratios: \(ratios.map { String(format: "%.2f", $0) }.joined(separator: ", "))"
)
section.notes.append(
    "CPU per request, µs — through the notifier: \(notifierCPU.map { String(format: "%.0f", $0) }.joined(separator: ", ")); AsyncHTTPClient alone: \(baselineCPU.map { String(format: "%.0f", $0) }.joined(separator: ", "))"
)
section.notes.append("\(lag.count) of \(breaches) breach webhooks received.")
report.add(section)
try report.write()
await escalation.triggerGracefulShutdown()
_ = try? await escalating.value
await group.triggerGracefulShutdown()
_ = try? await running.value
serving.cancel()
kill(child.processIdentifier, SIGKILL)  // the broker child ignores SIGTERM (librdkafka threads)
emit("done")
