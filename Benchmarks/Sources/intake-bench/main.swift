// Intake benchmark (issue 7): OpenIncident through gRPC, authorisation and the entitlement ledger
// (request/reply over Kafka) against the same Opened events published straight to Kafka at the
// same concurrency (baseline, same run); and a direct call (Acknowledge: gRPC + one publish).
// Prints; asserts nothing.
//
//   intake-bench [--calls 4000] [--concurrency 32] [--rounds 3]
import BenchSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle
import SwiftProtobuf
import Synchronization
import TriageEntitlements
import TriageIntake
import TriageKafka
import TriageSchema
import TriageStreams

let calls = option("--calls", 4_000)
let concurrency = option("--concurrency", 32)
let rounds = option("--rounds", 3)
let partitions = 6
try ChildBroker.serveIfChild(topics: [
    (TriageTopic.incidentEvents, partitions), (TriageTopic.entitlementRequests, partitions), (TriageTopic.entitlements, partitions),
    (TriageTopic.entitlementReplies, partitions), (TriageTopic.incidentDirectory, partitions), (TriageTopic.incidentState, partitions),
    (TriageTopic.deadLetter, 1),
])
let logger = {
    var logger = Logger(label: "triage.intake-bench")
    logger.logLevel = .error
    return logger
}()
let (bootstrap, child) = try ChildBroker.start()
let client = KafkaClientConfiguration(bootstrap: bootstrap, fetchWait: EmbeddedKafka.mockFetchWait)
emit("intake benchmark: \(calls) calls at concurrency \(concurrency), \(rounds) rounds, broker in a child process")

/// Runs `calls` operations, `concurrency` at a time; returns calls/s and the latencies.
func measure(_ operation: @escaping @Sendable (Int) async throws -> Void) async throws -> (rate: Double, latencies: LatencySummary) {
    let latencies = Latencies()
    let started = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<concurrency {
            group.addTask {
                for index in stride(from: worker, to: calls, by: concurrency) {
                    let begun = ContinuousClock.now
                    try await operation(index)
                    latencies.record(seconds: (ContinuousClock.now - begun).secondsDouble)
                }
            }
        }
        try await group.waitForAll()
    }
    return (Double(calls) / (ContinuousClock.now - started).secondsDouble, latencies.summary)
}

func line(_ name: String, _ result: (rate: Double, latencies: LatencySummary)) -> String {
    String(format: "%@: %.0f/s, ", name, result.rate) + result.latencies.text
}

var report = BenchReport(bench: "intake-bench")
var section = BenchSection(
    id: "60-intake", title: "Intake: gRPC calls per second",
    howMeasured: """
        \(calls.formatted()) calls, \(concurrency) in flight, against an in-process `IntakeInstance` (gRPC over loopback HTTP/2, bearer-token \
        authorisation, the entitlement ledger as request/reply over Kafka; embedded broker in a child process). OpenIncident goes through \
        the ledger (command → decision → Opened + directory entry + state → reply); Acknowledge is gRPC + one publish. Baseline, same run: \
        the same number of Opened events published straight to `triage.incident-events` (acks=all) at the same concurrency. Latencies per \
        call in an HdrHistogram. \(rounds) rounds (the baseline and OpenIncident alternating which goes first, Acknowledge on the round's \
        incidents last; the intake is up, idle, during the baseline); each figure is the median over the rounds (the latency figures: the round with the median rate's).
        """
)

// MARK: Baseline: Opened events published straight to the lifecycle topic.

let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(1)), logger: logger)
let producing = Task { try await producer.run() }
let publisher = IncidentEventPublisher(producer: producer)
func publishDirectly(round: Int) async throws -> (rate: Double, latencies: LatencySummary) {
    try await measure { index in
        let event = IncidentEvent.with {
            $0.eventID = "base-\(round)-\(index)"; $0.incidentID = "INC-BASE-\(round)-\(index)"; $0.producer = "bench";
            $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
            $0.opened = .with {
                $0.customerAccount = "acme"; $0.entitlementID = "ACME-24X7"; $0.product = "billing"; $0.language = "en"; $0.severity = .b
                $0.coverage = .coverage24X7; $0.customerTimeZone = "UTC"; $0.title = "baseline"
            }
        }
        _ = try await publisher.publish(event)
    }
}

// MARK: The intake, in process, with its ledger.

let token = "bench-token"
let tenants = try TenantDirectory.load(
    yaml: "tenants:\n  - name: bench\n    token: \(token)\n    accounts: [acme]\n", file: "(bench)", environment: [:])
let instance = try await IntakeInstance(
    client: client, tenants: tenants, billing: .standard, port: 0, sessionTimeout: .seconds(6), logger: logger)
let group = ServiceGroup(configuration: .init(services: instance.services.map { .init(service: $0) }, logger: logger))
let running = Task { try await group.run() }
let port = try await instance.server.boundPort()
let ledger = LedgerClient(
    producer: producer, client: client, replyPartitions: Array(0..<Int32(partitions)), timeout: .seconds(60), logger: logger)
let replies = Task { try await ledger.run() }
let contract = GrantSpec(
    id: "ACME-24X7", kind: .twentyFourSeven, account: "acme", purchasedAt: Date().addingTimeInterval(-86_400), timeZone: "UTC",
    credits: nil,
    coverage: nil, calendar: nil, termYears: 1
)
_ = try await ledger.submit(.grant(contract), entitlementID: contract.id, requestID: "bench-grant-\(UUID())", requestedBy: "bench").outcome
    .get()
while instance.entitlements["ACME-24X7"] == nil { try await Task.sleep(for: .milliseconds(20)) }

var metadata = Metadata()
metadata.addString("Bearer \(token)", forKey: "authorization")
typealias Run = (rate: Double, latencies: LatencySummary)
var baselines: [Run] = []
var opens: [Run] = []
var acks: [Run] = []
try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)) {
    grpc in
    let intake = Triage_V1_IncidentIntake.Client(wrapping: grpc)
    for round in 0..<rounds {
        let incidents = Mutex<[Int: String]>([:])
        // Alternate which goes first.
        for side in round % 2 == 0 ? [0, 1] : [1, 0] {
            if side == 0 {
                baselines.append(try await publishDirectly(round: round))
                emit("round \(round): " + line("baseline (publish Opened to Kafka, acks=all)", baselines.last!))
                continue
            }
            let offeredBefore = instance.ledger.runtimeStatistics
            opens.append(
                try await measure { index in
                    let receipt = try await intake.openIncident(
                        .with {
                            $0.requestID = "bench-\(round)-\(index)"; $0.customerAccount = "acme"; $0.product = "billing";
                            $0.language = "en"
                            $0.severity = .b; $0.customerTimeZone = "UTC"; $0.title = "bench \(index)"
                        },
                        metadata: metadata
                    )
                    incidents.withLock { $0[index] = receipt.incidentID }
                })
            emit("round \(round): " + line("OpenIncident (gRPC → ledger over Kafka → Opened + directory + state → reply)", opens.last!))
            let offeredAfter = instance.ledger.runtimeStatistics
            emit(
                "  commands decided as this intake stored them: \(offeredAfter.offeredTaken - offeredBefore.offeredTaken); "
                    + "left to the ledger's consumer: \(offeredAfter.offeredPassedOver - offeredBefore.offeredPassedOver)")
        }
        acks.append(
            try await measure { index in
                let incident = incidents.withLock { $0[index] }!
                _ = try await intake.acknowledge(
                    .with {
                        $0.requestID = "ack-\(round)-\(index)"; $0.incidentID = incident; $0.agentID = "ana"
                    }, metadata: metadata)
            })
        emit("round \(round): " + line("Acknowledge (gRPC → one publish)", acks.last!))
    }
}

// The run with the median rate (its latencies go with it).
let baseline = median(baselines, by: \.rate)
let open = median(opens, by: \.rate)
let ack = median(acks, by: \.rate)
emit(line("median baseline (publish Opened to Kafka, acks=all)", baseline))
emit(line("median OpenIncident", open))
emit(
    String(
        format: "  ratio to the baseline: throughput %.2f, p50 latency ×%.1f", open.rate / baseline.rate,
        open.latencies.p50 / baseline.latencies.p50))
emit(line("median Acknowledge", ack))
section.figures.append(
    BenchFigure(
        name: "OpenIncident", value: open.rate, unit: "calls/s", baselineName: "publish Opened", baselineValue: baseline.rate,
        notes: "target ≥ 2,295 calls/s"))
section.figures.append(
    BenchFigure(
        name: "OpenIncident p99", value: open.latencies.p99, unit: "ms", baselineName: "publish Opened p99",
        baselineValue: baseline.latencies.p99,
        ratioMeaning: "figure / baseline (lower is better)", notes: "target ≤ 20 ms"
    )
)
section.figures.append(
    BenchFigure(name: "Acknowledge", value: ack.rate, unit: "calls/s", baselineName: "publish Opened", baselineValue: baseline.rate))
func rates(_ runs: [Run]) -> String { runs.map { String(format: "%.0f", $0.rate) }.joined(separator: ", ") }
section.notes.append(
    "all rounds, calls/s — OpenIncident: \(rates(opens)); Acknowledge: \(rates(acks)); publish Opened: \(rates(baselines))")
report.add(section)
try report.write()
await group.triggerGracefulShutdown()
_ = await running.result
replies.cancel()
producing.cancel()
kill(child.processIdentifier, SIGKILL)  // the broker child ignores SIGTERM (librdkafka threads)
