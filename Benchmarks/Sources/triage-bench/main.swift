// Kafka binding benchmark: TriageKafka against minimal librdkafka C-API loops, same process,
// same embedded broker, alternating rounds; then the peer reference: one consume → produce
// passthrough written with TriageKafka and with Debian's python3-confluent-kafka (same
// librdkafka), alternating rounds on the same records. Prints figures and ratios; asserts nothing.
//
//   triage-bench [--messages 160000] [--size 200] [--rounds 5] [--passthrough-rounds 3]
//                [--python /usr/bin/python3] [--peer-script Benchmarks/peer/passthrough.py] [--report-json PATH]
import BenchSupport
import CRdKafkaBaseline
import Foundation
import Logging
import TriageKafka

let arguments = CommandLine.arguments
let count = option("--messages", 160_000)
let size = option("--size", 200)
let rounds = option("--rounds", 5)
/// `--only produce` or `--only consume` measures one direction (for profiling); the report needs both.
let only = option("--only")
// The embedded broker keeps ~5 MB per partition (about 20,000 records of 200 B) and drops older
// ones. Records for the consume runs are spread evenly (explicit partitions) over 16 partitions,
// 10,000 each; produce runs use the default partitioner (loss in the broker does not matter there).
let partitions = option("--partitions", 16)

let logger = {
    var logger = Logger(label: "triage.bench")
    logger.logLevel = .error
    return logger
}()
let kafka = try EmbeddedKafka(brokers: 1, logger: logger)
let bootstrap = kafka.bootstrapServers
let payload = [UInt8](repeating: UInt8(ascii: "x"), count: size)

/// CPU ticks per thread name (from /proc), for --verbose.
func threadTicks() -> [String: Int] {
    var result: [String: Int] = [:]
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    for task in tasks {
        guard let stat = try? String(contentsOfFile: "/proc/self/task/\(task)/stat", encoding: .utf8),
            let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
        else { continue }
        let name = String(stat[stat.index(after: open)..<close])
        let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        let ticks = (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
        result[name, default: 0] += ticks
    }
    return result
}

func rate(_ seconds: Double) -> Double { Double(count) / seconds }
func format(_ value: Double) -> String { String(format: "%10.0f msg/s", value) }

func swiftProduce(topic: String, on kafka: EmbeddedKafka) async throws -> Double {
    let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: kafka.clientConfiguration), logger: logger)
    let started = ContinuousClock.now
    // The same record every time, as the C loop passes the same topic and payload every time.
    let message = KafkaProducerMessage(topic: topic, value: payload)
    for _ in 0..<count {
        try await producer.enqueue(message)
    }
    try await producer.flush(timeout: .seconds(60))
    let elapsed = ContinuousClock.now - started
    precondition(producer.statistics.delivered == count, "delivered \(producer.statistics.delivered) of \(count)")
    await producer.close()
    return elapsed.secondsDouble
}

/// Writes `count` records spread evenly over the partitions, for the consume runs.
func fill(topic: String, on kafka: EmbeddedKafka) async throws {
    let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: kafka.clientConfiguration), logger: logger)
    for index in 0..<count {
        try await producer.enqueue(KafkaProducerMessage(topic: topic, value: payload, partition: Int32(index % partitions)))
    }
    try await producer.flush(timeout: .seconds(60))
    await producer.close()
}

/// How the Swift side reads: `recordBatches` (views into librdkafka's buffers, the binding's
/// fastest path) or `batches` (every record copied into a `KafkaMessage`, what the workers read).
enum ConsumeMode { case views, messages }

func swiftConsume(topic: String, group: String, on kafka: EmbeddedKafka, mode: ConsumeMode = .views) async throws -> Double {
    let consumer = try KafkaConsumer(
        configuration: KafkaConsumerConfiguration(
            groupID: group, topics: [topic], client: kafka.clientConfiguration, fetchMaximumWait: .milliseconds(10)
        ),
        logger: logger
    )
    var received = 0
    var bytes = 0
    var batches = 0
    var started: ContinuousClock.Instant?
    var lastBatch = ContinuousClock.now
    var longestGap = Duration.zero
    var cpuAtStart = 0.0
    var ticksAtStart: [String: Int] = [:]
    func batchArrived() {
        if started == nil {
            started = .now; cpuAtStart = cpuSeconds(); ticksAtStart = threadTicks()
        } else {
            longestGap = max(longestGap, .now - lastBatch)
        }
        lastBatch = .now
        batches += 1
    }
    switch mode {
    case .views:
        for try await batch in consumer.recordBatches {
            batchArrived()
            // Touch every record, as the C loop does (a batch is not a Sequence: borrowed views).
            // swift-format-ignore: ReplaceForEachWithForLoop
            batch.forEach { record in bytes += record.value?.count ?? 0 }
            received += batch.count
            try consumer.storeOffsets(batch)  // at-least-once: offsets stored after processing
            if received >= count { break }
        }
    case .messages:
        for try await batch in consumer.batches {
            batchArrived()
            for message in batch { bytes += message.valueBytes?.count ?? 0 }
            received += batch.count
            try consumer.storeOffsets(batch)
            if received >= count { break }
        }
    }
    let elapsed = ContinuousClock.now - started!
    if arguments.contains("--verbose") {
        emit(
            "  threads (ticks): "
                + threadTicks().map { ($0.key, $0.value - (ticksAtStart[$0.key] ?? 0)) }.filter { $0.1 > 0 }.sorted { $0.1 > $1.1 }.map {
                    "\($0.0)=\($0.1)"
                }.joined(separator: " "))
        emit(
            "  swift consume (\(mode)): cpu \(String(format: "%.2f", cpuSeconds() - cpuAtStart)) s in \(elapsed), \(batches) batches, \(received / max(batches, 1)) records per batch, longest gap \(longestGap)"
        )
    }
    await consumer.close()
    precondition(received == count && bytes == count * size, "consumed \(received) of \(count) (\(bytes) bytes)")
    return elapsed.secondsDouble
}

if arguments.contains("--profile-produce") {
    // Swift produce only, each run on a fresh broker, for a profiler.
    for _ in 1...option("--profile-rounds", 8) {
        let broker = try EmbeddedKafka(brokers: 1, logger: logger)
        try broker.createTopic("profile", partitions: partitions)
        emit("produce \(format(rate(try await swiftProduce(topic: "profile", on: broker))))")
        broker.shutdown()
    }
    exit(0)
}

if arguments.contains("--profile-consume") {
    // Swift consume only, for a profiler: every topic is filled first, then "filled" is printed
    // and the runs start two seconds later (attach `perf record -p` meanwhile).
    let runs = option("--profile-rounds", 3)
    for round in 1...runs {
        try kafka.createTopic("profile-\(round)", partitions: partitions)
        try await fill(topic: "profile-\(round)", on: kafka)
    }
    emit("filled")
    try await Task.sleep(for: .seconds(2))
    for round in 1...runs {
        if arguments.contains("--c") {
            emit(
                "consume C \(format(rate(baseline_consume(kafka.bootstrapServers, "profile-\(round)", "profile-\(round)", Int64(count)))))")
        } else {
            emit("consume \(format(rate(try await swiftConsume(topic: "profile-\(round)", group: "profile-\(round)", on: kafka))))")
        }
    }
    exit(0)
}

emit("# TriageKafka binding vs librdkafka C API")
emit(
    "machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory / 1_073_741_824) GiB; librdkafka \(KafkaLibrary.version); embedded broker (mock cluster, 1 broker, \(partitions) partitions)"
)
emit("workload: \(count) records × \(size) B per run, \(rounds) alternating rounds, median reported\n")

var produceC: [Double] = []
var produceSwift: [Double] = []
var consumeC: [Double] = []
var consumeSwift: [Double] = []
var consumeMessages: [Double] = []
for round in 0...rounds {  // round 0 warms up (code paths, first group join) and is not counted
    // Each phase of each round runs on a fresh embedded broker: the mock keeps every record it was
    // sent in memory, and a broker that already holds earlier rounds' topics gets slower (measured:
    // the same produce run fell from 1.9 M to 0.8 M records/s over ten runs on one broker).
    // Produce: alternate which side goes first.
    if only != "consume" {
        let broker = try EmbeddedKafka(brokers: 1, logger: logger)
        defer { broker.shutdown() }
        try broker.createTopic("produce-c", partitions: partitions)
        try broker.createTopic("produce-swift", partitions: partitions)
        if round % 2 == 1 {
            produceC.append(baseline_produce(broker.bootstrapServers, "produce-c", Int64(count), Int32(size)))
            produceSwift.append(try await swiftProduce(topic: "produce-swift", on: broker))
        } else {
            produceSwift.append(try await swiftProduce(topic: "produce-swift", on: broker))
            produceC.append(baseline_produce(broker.bootstrapServers, "produce-c", Int64(count), Int32(size)))
        }
    }
    // Consume: one evenly filled topic, read by a fresh group on each side.
    if only != "produce" {
        let broker = try EmbeddedKafka(brokers: 1, logger: logger)
        defer { broker.shutdown() }
        try broker.createTopic("consume", partitions: partitions)
        try await fill(topic: "consume", on: broker)
        if round % 2 == 1 {
            consumeC.append(baseline_consume(broker.bootstrapServers, "consume", "bench-c", Int64(count)))
            consumeSwift.append(try await swiftConsume(topic: "consume", group: "bench-swift", on: broker))
            consumeMessages.append(try await swiftConsume(topic: "consume", group: "bench-swift-messages", on: broker, mode: .messages))
        } else {
            consumeMessages.append(try await swiftConsume(topic: "consume", group: "bench-swift-messages", on: broker, mode: .messages))
            consumeSwift.append(try await swiftConsume(topic: "consume", group: "bench-swift", on: broker))
            consumeC.append(baseline_consume(broker.bootstrapServers, "consume", "bench-c", Int64(count)))
        }
    }
    if only == "consume" { produceC.append(.nan); produceSwift.append(.nan) }
    if only == "produce" { consumeC.append(.nan); consumeSwift.append(.nan); consumeMessages.append(.nan) }
    guard produceC.last! > 0 || only == "consume", consumeC.last! > 0 || only == "produce" else {
        fatalError("the C baseline failed; see stderr")
    }
    if round == 0 {
        produceC = []; produceSwift = []; consumeC = []; consumeSwift = []; consumeMessages = []
        emit("warm-up done")
        continue
    }
    emit(
        "round \(round): produce C \(format(rate(produceC.last!)))  Swift \(format(rate(produceSwift.last!)))   consume C \(format(rate(consumeC.last!)))  Swift \(format(rate(consumeSwift.last!)))  (as KafkaMessage \(format(rate(consumeMessages.last!))))"
    )
}

let produceRatio = median(produceC) / median(produceSwift)
let consumeRatio = median(consumeC) / median(consumeSwift)
emit(
    """

    | workload | C baseline | TriageKafka | ratio (Swift/C) |
    |---|---|---|---|
    | produce \(size) B | \(format(rate(median(produceC)))) | \(format(rate(median(produceSwift)))) | \(String(format: "%.2f", produceRatio)) |
    | consume \(size) B | \(format(rate(median(consumeC)))) | \(format(rate(median(consumeSwift)))) | \(String(format: "%.2f", consumeRatio)) |
    | consume \(size) B as KafkaMessage | \(format(rate(median(consumeC)))) | \(format(rate(median(consumeMessages)))) | \(String(format: "%.2f", median(consumeC) / median(consumeMessages))) |

    target: ratio >= 0.90 for both
    """)
if only != nil { exit(0) }
var report = BenchReport(bench: "triage-bench")
var binding = BenchSection(
    id: "10-binding", title: "Kafka binding vs librdkafka's C API",
    howMeasured: """
        \(count) records × \(size) B per run, a fresh in-process embedded broker for each phase of each round (librdkafka mock cluster, 1 broker, \(partitions) partitions), \
        \(rounds) rounds after a warm-up round, the two sides alternating which goes first; the median run is reported. \
        Produce: enqueue every record, then flush, until every delivery report is in (idempotent, acks=all, linger 5 ms on both sides). \
        Consume: a fresh group reads an evenly filled topic, from the first record to the last, and adds up the value sizes; TriageKafka \
        reads `recordBatches` (views into librdkafka's buffers) and stores the offsets of each batch after reading it (at-least-once), \
        the C loop is a plain `rd_kafka_consumer_poll` loop with automatic offset store. The "as KafkaMessage" row reads `batches` \
        instead, where every record is copied into a `KafkaMessage` (what the workers read), measured in the same rounds. \
        Baseline: `CRdKafkaBaseline/baseline.c`, compiled with -O2, same process, same broker.
        """
)
binding.figures.append(
    BenchFigure(
        name: "produce \(size) B", value: rate(median(produceSwift)), unit: "records/s", baselineName: "C API loop",
        baselineValue: rate(median(produceC)), notes: "target ratio ≥ 0.90"
    )
)
binding.figures.append(
    BenchFigure(
        name: "consume \(size) B", value: rate(median(consumeSwift)), unit: "records/s", baselineName: "C API loop",
        baselineValue: rate(median(consumeC)), notes: "target ratio ≥ 0.90; `recordBatches` (views, no copy)"
    )
)
binding.figures.append(
    BenchFigure(
        name: "consume \(size) B as KafkaMessage", value: rate(median(consumeMessages)), unit: "records/s", baselineName: "C API loop",
        baselineValue: rate(median(consumeC)), notes: "`batches`: every record copied into a `KafkaMessage` (what the workers read)"
    )
)
binding.notes.append(
    "all rounds, records/s — produce C: \(produceC.map { String(format: "%.0f", rate($0)) }.joined(separator: ", ")); produce Swift: \(produceSwift.map { String(format: "%.0f", rate($0)) }.joined(separator: ", "))"
)
binding.notes.append(
    "consume C: \(consumeC.map { String(format: "%.0f", rate($0)) }.joined(separator: ", ")); consume Swift: \(consumeSwift.map { String(format: "%.0f", rate($0)) }.joined(separator: ", "))"
)
report.add(binding)

// MARK: Peer reference: consume → produce passthrough, TriageKafka vs python3-confluent-kafka

let passthroughRounds = option("--passthrough-rounds", 3)
let python = option("--python") ?? "/usr/bin/python3"  // Debian's python, where python3-confluent-kafka lives
let peerScript = option("--peer-script") ?? "Benchmarks/peer/passthrough.py"

/// Runs the python peer; returns its JSON line, decoded.
func runPeer(_ extra: [String]) -> [String: Any] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [peerScript] + extra
    let pipe = Pipe()
    process.standardOutput = pipe
    do { try process.run() } catch { return ["error": "could not start \(python) \(peerScript): \(error)"] }
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let line = String(decoding: output, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
    guard let json = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
        return ["error": "the python peer printed no result (exit \(process.terminationStatus)): \(line)"]
    }
    if process.terminationStatus != 0, json["error"] == nil {
        return json.merging(["error": "the python peer failed (exit \(process.terminationStatus)): \(line)"]) { $1 }
    }
    return json
}

/// The Swift passthrough: a fresh group reads `input`; each batch is enqueued to `output`, then
/// its offsets are stored; timed from the first record received to the last delivery report.
func swiftPassthrough(input: String, output: String, group: String, on kafka: EmbeddedKafka) async throws -> Double {
    let consumer = try KafkaConsumer(
        configuration: KafkaConsumerConfiguration(
            groupID: group, topics: [input], client: kafka.clientConfiguration, fetchMaximumWait: .milliseconds(10)),
        logger: logger
    )
    let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: kafka.clientConfiguration), logger: logger)
    var received = 0
    var started: ContinuousClock.Instant?
    for try await batch in consumer.batches {
        if started == nil { started = .now }
        for message in batch { try await producer.enqueue(KafkaProducerMessage(topic: output, key: message.key, value: message.value)) }
        try consumer.storeOffsets(batch)
        received += batch.count
        if received >= count { break }
    }
    try await producer.flush(timeout: .seconds(60))
    let elapsed = ContinuousClock.now - started!
    precondition(received == count && producer.statistics.delivered == count, "passed \(producer.statistics.delivered) of \(count)")
    await consumer.close()
    await producer.close()
    return elapsed.secondsDouble
}

var peer = BenchSection(
    id: "70-peer", title: "Peer reference: consume → produce passthrough, TriageKafka vs python3-confluent-kafka",
    howMeasured: """
        The same passthrough written twice: a fresh consumer group reads \(count) records × \(size) B from topic A (\(partitions) partitions, \
        filled once), produces each record's key and value to a new topic B (idempotent, acks=all, linger 5 ms), and stores the offsets \
        of each batch after handing it to the producer; timed from the first record received to the last delivery report. \
        Swift: `KafkaConsumer.batches` + `KafkaProducer.enqueue` (TriageKafka). Peer: `Benchmarks/peer/passthrough.py` with Debian's \
        `python3-confluent-kafka` (`Consumer.consume(10000)` batches, `Producer.produce`, `store_offsets`), run as a child process \
        against the same in-process broker. \(passthroughRounds) rounds each, alternating; the median is reported. Figure = TriageKafka, \
        baseline = confluent-kafka-python.
        """
)
let version = runPeer(["--version"])
if let error = version["error"] as? String {
    peer.notes.append("not measured: \(error)")
    emit("peer reference not measured: \(error)")
} else {
    let peerLibrary = version["libversion"] as? String ?? "?"
    emit(
        "\npeer: confluent-kafka-python \(version["client"] as? String ?? "?") on librdkafka \(peerLibrary); TriageKafka on librdkafka \(KafkaLibrary.version)"
    )
    peer.notes.append(
        "confluent-kafka-python \(version["client"] as? String ?? "?") (Debian python3-confluent-kafka) runs on librdkafka \(peerLibrary); "
            + "TriageKafka runs on librdkafka \(KafkaLibrary.version)"
            + (peerLibrary == KafkaLibrary.version ? " (the same)." : " — NOT the same library version.")
    )
    let input = "bench-passthrough-in"
    try kafka.createTopic(input, partitions: partitions)
    try await fill(topic: input, on: kafka)
    var swiftRuns: [Double] = []
    var peerRuns: [Double] = []
    var failure: String?
    for round in 1...passthroughRounds {
        for side in (round % 2 == 1 ? ["swift", "python"] : ["python", "swift"]) {
            let output = "bench-passthrough-out-\(side)-\(round)"
            try kafka.createTopic(output, partitions: partitions)
            if side == "swift" {
                swiftRuns.append(try await swiftPassthrough(input: input, output: output, group: "passthrough-swift-\(round)", on: kafka))
            } else {
                let result = runPeer([
                    "--bootstrap", bootstrap, "--input", input, "--output", output, "--group", "passthrough-python-\(round)", "--count",
                    String(count),
                ])
                if let error = result["error"] as? String { failure = error; break }
                peerRuns.append(result["seconds"] as? Double ?? .nan)
            }
        }
        if let failure { emit("peer failed: \(failure)"); break }
        emit(
            "passthrough round \(round): TriageKafka \(format(rate(swiftRuns.last!)))  confluent-kafka-python \(format(rate(peerRuns.last!)))"
        )
    }
    if let failure {
        peer.notes.append("not measured: \(failure)")
    } else {
        peer.figures.append(
            BenchFigure(
                name: "passthrough \(size) B (TriageKafka)", value: rate(median(swiftRuns)), unit: "records/s",
                baselineName: "confluent-kafka-python",
                baselineValue: rate(median(peerRuns))
            )
        )
        peer.notes.append(
            "all rounds, records/s — TriageKafka: \(swiftRuns.map { String(format: "%.0f", rate($0)) }.joined(separator: ", ")); confluent-kafka-python: \(peerRuns.map { String(format: "%.0f", rate($0)) }.joined(separator: ", "))"
        )
        emit(
            String(
                format: "passthrough median: TriageKafka %.0f/s, confluent-kafka-python %.0f/s, ratio %.2f", rate(median(swiftRuns)),
                rate(median(peerRuns)), median(peerRuns) / median(swiftRuns)))
    }
}
report.add(peer)
try report.write()
kafka.shutdown()
