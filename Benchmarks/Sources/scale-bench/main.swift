// Scale-out (issue 24): router and escalator throughput with 1, 2 and 4 worker processes in one
// consumer group, on a broker in a process of its own (the embedded broker, as `triage broker`
// runs it). Each worker process is this executable with `--serve-worker KIND`, reporting its
// progress on standard output. Baseline, same run: one process. Prints; asserts nothing.
//
//   scale-bench [--events 40000] [--partitions 12] [--processes 1,2,4] [--only escalator,router]
import BenchSupport
import Foundation
import Logging
import ServiceLifecycle
import SwiftProtobuf
import Synchronization
import TriageEscalator
import TriageKafka
import TriageRouterWorker
import TriageRouting
import TriageSLA
import TriageSchema
import TriageStreams

let events = option("--events", 40_000)
let partitions = option("--partitions", 12)
let counts = (option("--processes") ?? "1,2,4").split(separator: ",").compactMap { Int($0) }
let only = option("--only").map { Set($0.split(separator: ",").map(String.init)) }
let teams = (0..<4).map { "team-\($0)" }
let agentCount = 100

try ChildBroker.serveIfChild(
    topics: [
        TriageTopic.incidentEvents, TriageTopic.slaState, TriageTopic.notificationRequests, TriageTopic.agentEvents, TriageTopic.routing,
        TriageTopic.routingIndex, TriageTopic.routerState,
    ].map { ($0, option("--partitions", 12)) } + [(TriageTopic.deadLetter, 1)]
)
let logger = {
    var logger = Logger(label: "triage.scale-bench")
    logger.logLevel = .error
    return logger
}()

// MARK: A worker process

/// In a child: runs one worker against `--bootstrap` and prints `<partitions> <inputs> <agents>`
/// every 20 ms until killed.
if let kind = option("--serve-worker"), let bootstrap = option("--bootstrap") {
    let client = KafkaClientConfiguration(bootstrap: bootstrap, fetchWait: EmbeddedKafka.mockFetchWait)
    let progress: @Sendable () -> (Int, Int, Int)
    let group: ServiceGroup
    switch kind {
    case "escalator":
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                groupID: "scale-escalator", topics: [TriageTopic.incidentEvents], client: client, sessionTimeout: .seconds(6),
                heartbeatInterval: .milliseconds(500), fetchMaximumWait: .milliseconds(5)),
            logger: logger)
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(5)), logger: logger)
        let escalator = Escalator(consumer: consumer, producer: producer, client: client, policy: SlaPolicy(), logger: logger)
        group = ServiceGroup(
            configuration: .init(services: [.init(service: producer), .init(service: escalator), .init(service: consumer)], logger: logger))
        progress = { (escalator.statistics.partitions, escalator.statistics.eventsApplied, 0) }
    default:
        let instance = try await RouterInstance(
            client: client, policy: RoutingPolicy(), group: "scale-router", defaultTeam: "team-0", sessionTimeout: .seconds(6),
            logger: logger
        )
        group = ServiceGroup(configuration: .init(services: instance.services.map { .init(service: $0) }, logger: logger))
        let router = instance.router
        progress = { (router.statistics.partitions, router.statistics.inputs, router.statistics.agents) }
    }
    _ = Task { try await group.run() }
    while true {
        let (owned, inputs, agents) = progress()
        emit("\(owned) \(inputs) \(agents)")
        try await Task.sleep(for: .milliseconds(20))
    }
}

// MARK: The parent

/// A worker process and what it last reported.
final class WorkerProcess: Sendable {
    let process: Process
    let latest = Mutex<(partitions: Int, inputs: Int, agents: Int)>((0, 0, 0))

    init(kind: String, bootstrap: String) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = ["--serve-worker", kind, "--bootstrap", bootstrap]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let reader = pipe.fileHandleForReading
        // A thread of its own: reading a pipe blocks.
        Thread.detachNewThread { [self] in
            var buffer = Data()
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { return }
                buffer.append(chunk)
                while let end = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let fields = String(decoding: buffer[buffer.startIndex..<end], as: UTF8.self).split(separator: " ").compactMap {
                        Int($0)
                    }
                    buffer.removeSubrange(buffer.startIndex...end)
                    if fields.count == 3 { self.latest.withLock { $0 = (fields[0], fields[1], fields[2]) } }
                }
            }
        }
    }

    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

func opened(_ index: Int, team: String) -> IncidentEvent {
    IncidentEvent.with {
        $0.eventID = "open-\(index)"; $0.incidentID = "INC-\(index + 10_000_000)"; $0.producer = "bench"
        $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
        $0.opened = .with {
            $0.customerAccount = "acme"; $0.entitlementID = "pack"; $0.product = "billing"; $0.language = "en"
            $0.severity = [.b, .c][index % 2]; $0.coverage = .coverage24X7; $0.customerTimeZone = "UTC"; $0.title = "bench \(index)"
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

func send(_ records: [KafkaProducerMessage], client: KafkaClientConfiguration) async throws {
    let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(5)), logger: logger)
    for record in records { try await producer.enqueue(record) }
    try await producer.flush(timeout: .seconds(120))
    await producer.close()
}

/// One run: a fresh broker, `processes` workers of `kind` joined and settled, then a burst of
/// `records`; the rate counts the workers' finished inputs from the first to `target`.
func run(kind: String, processes: Int, records: [KafkaProducerMessage], target: Int) async throws -> (rate: Double, complete: Bool) {
    let (bootstrap, broker) = try ChildBroker.start(arguments: ["--partitions", String(partitions)])
    defer { kill(broker.processIdentifier, SIGKILL) }
    let client = KafkaClientConfiguration(bootstrap: bootstrap, fetchWait: EmbeddedKafka.mockFetchWait)
    if kind == "router" {
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
    }
    let workers = try (0..<processes).map { _ in try WorkerProcess(kind: kind, bootstrap: bootstrap) }
    defer { for worker in workers { worker.stop() } }
    // Joined and settled: every partition owned by someone (and, for routers, every agent known),
    // unchanged for two seconds.
    var settledSince: ContinuousClock.Instant?
    let joinDeadline = ContinuousClock.now + .seconds(90)
    while ContinuousClock.now < joinDeadline {
        let states = workers.map { $0.latest.withLock { $0 } }
        let owned = states.reduce(0) { $0 + $1.partitions }
        let ready = owned == partitions && states.allSatisfy { $0.partitions > 0 && (kind != "router" || $0.agents >= agentCount) }
        if ready { settledSince = settledSince ?? .now } else { settledSince = nil }
        if let settledSince, ContinuousClock.now - settledSince > .seconds(2) { break }
        try await Task.sleep(for: .milliseconds(50))
    }
    let base = workers.reduce(0) { $0 + $1.latest.withLock { $0.inputs } }
    let sending = Task { try await send(records, client: client) }
    var first: ContinuousClock.Instant?
    var done = 0
    let deadline = ContinuousClock.now + .seconds(180)
    while ContinuousClock.now < deadline {
        done = workers.reduce(0) { $0 + $1.latest.withLock { $0.inputs } } - base
        if first == nil, done > 0 { first = .now }
        if done >= target { break }
        try await Task.sleep(for: .milliseconds(5))
    }
    try await sending.value
    let seconds = first.map { (ContinuousClock.now - $0).secondsDouble } ?? .nan
    return (Double(done) / seconds, done >= target)
}

var report = BenchReport(bench: "scale-bench")
var section = BenchSection(
    id: "80-scale-out", title: "Scale-out: 1, 2 and 4 worker processes in one group",
    howMeasured: """
        Each row runs N separate worker processes (this benchmark's executable with `--serve-worker`, each a whole `Escalator` or \
        `RouterInstance` with its own Kafka clients) in one consumer group against the embedded broker in a process of its own, on a \
        fresh broker per row (\(partitions) partitions per topic). Once every partition is owned and the assignment has not changed for \
        two seconds (routers: every agent loaded, 100 agents online in 4 teams, capacity 30), a burst is produced: \(events.formatted()) \
        Opened events (escalator), or the same Opened events each closed 200 incidents later (router; its rate counts desk inputs, opens \
        and closes). Rate = inputs finished by all processes together (each reports every 20 ms) from the first to the last. \
        Baseline, same run: one process. All processes share this machine's cores with the broker process.
        """
)
emit("scale-out benchmark: \(events) events, \(partitions) partitions, processes \(counts)")
for kind in ["escalator", "router"] where only?.contains(kind) ?? true {
    var records: [KafkaProducerMessage] = []
    for index in 0..<events {
        let team = teams[index % teams.count]
        records.append(try opened(index, team: team).kafkaRecord())
        if kind == "router", index >= 200 { records.append(try closed(index - 200).kafkaRecord()) }
    }
    var single: Double?
    for processes in counts {
        let outcome = try await run(kind: kind, processes: processes, records: records, target: records.count)
        emit(String(format: "%@ × %d: %.0f inputs/s%@", kind, processes, outcome.rate, outcome.complete ? "" : " (incomplete)"))
        if single == nil { single = outcome.rate }
        section.figures.append(
            BenchFigure(
                name: "\(kind), \(processes) process\(processes == 1 ? "" : "es")", value: outcome.rate,
                unit: kind == "router" ? "inputs/s" : "events/s", baselineName: "1 process", baselineValue: single,
                notes: outcome.complete ? nil : "did not finish within 180 s: the rate is over what it did"))
        report.sections = [section]
        try report.write()
    }
}
section.notes.append(
    "this machine has \(ProcessInfo.processInfo.activeProcessorCount) cores for the broker and every worker process together")
report.sections = [section]
try report.write()
