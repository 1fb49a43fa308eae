// Kafka binding benchmark: TriageKafka against minimal librdkafka C-API loops, same process,
// same embedded broker, alternating rounds. Prints figures and ratios; asserts nothing.
import CRdKafkaBaseline
import Foundation
import Logging
import TriageKafka

/// Prints and flushes at once, so progress shows while the benchmark runs.
func emit(_ text: String) {
    print(text)
    fflush(nil)
}
let arguments = CommandLine.arguments
func option(_ name: String, _ fallback: Int) -> Int {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count, let value = Int(arguments[index + 1]) else { return fallback }
    return value
}
let count = option("--messages", 160_000)
let size = option("--size", 200)
let rounds = option("--rounds", 5)
// The embedded broker keeps ~5 MB per partition (about 20,000 records of 200 B) and drops older
// ones. Records for the consume runs are spread evenly (explicit partitions) over 16 partitions,
// 10,000 each; produce runs use the default partitioner (loss in the broker does not matter there).
let partitions = 16

let logger = {
    var logger = Logger(label: "triage.bench")
    logger.logLevel = .error
    return logger
}()
let kafka = try EmbeddedKafka(brokers: 1, logger: logger)
let bootstrap = kafka.bootstrapServers
let payload = [UInt8](repeating: UInt8(ascii: "x"), count: size)

func rate(_ seconds: Double) -> Double { Double(count) / seconds }
func format(_ value: Double) -> String { String(format: "%10.0f msg/s", value) }
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

func swiftProduce(topic: String) async throws -> Double {
    let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: kafka.clientConfiguration), logger: logger)
    let started = ContinuousClock.now
    for _ in 0..<count {
        try await producer.enqueue(KafkaProducerMessage(topic: topic, value: payload))
    }
    try await producer.flush(timeout: .seconds(60))
    let elapsed = ContinuousClock.now - started
    precondition(producer.statistics.delivered == count, "delivered \(producer.statistics.delivered) of \(count)")
    await producer.close()
    return elapsed.secondsDouble
}

/// Writes `count` records spread evenly over the partitions, for the consume runs.
func fill(topic: String) async throws {
    let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: kafka.clientConfiguration), logger: logger)
    for index in 0..<count {
        try await producer.enqueue(KafkaProducerMessage(topic: topic, value: payload, partition: Int32(index % partitions)))
    }
    try await producer.flush(timeout: .seconds(60))
    await producer.close()
}

func swiftConsume(topic: String, group: String) async throws -> Double {
    let consumer = try KafkaConsumer(
        configuration: KafkaConsumerConfiguration(
            groupID: group, topics: [topic], client: kafka.clientConfiguration, fetchMaximumWait: .milliseconds(10)
        ),
        logger: logger
    )
    var received = 0
    var batches = 0
    var started: ContinuousClock.Instant?
    var lastBatch = ContinuousClock.now
    var longestGap = Duration.zero
    for try await batch in consumer.batches {
        if started == nil { started = .now } else { longestGap = max(longestGap, .now - lastBatch) }
        lastBatch = .now
        received += batch.count
        batches += 1
        try consumer.storeOffsets(batch)  // the at-least-once path every worker uses
        if received >= count { break }
    }
    let elapsed = ContinuousClock.now - started!
    if arguments.contains("--verbose") { emit("  swift consume: \(batches) batches, \(received / max(batches, 1)) records per batch, longest gap \(longestGap)") }
    await consumer.close()
    precondition(received == count, "consumed \(received) of \(count)")
    return elapsed.secondsDouble
}

extension Duration {
    var secondsDouble: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

if arguments.contains("--profile-consume") {
    // Swift consume only, for a profiler.
    for round in 1...3 {
        let topic = "profile-\(round)"
        try kafka.createTopic(topic, partitions: partitions)
        try await fill(topic: topic)
        emit("consume \(format(rate(try await swiftConsume(topic: topic, group: "profile-\(round)"))))")
    }
    exit(0)
}

emit("# TriageKafka binding vs librdkafka C API")
emit("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory / 1_073_741_824) GiB; librdkafka \(KafkaLibrary.version); embedded broker (mock cluster, 1 broker, \(partitions) partitions)")
emit("workload: \(count) records × \(size) B per run, \(rounds) alternating rounds, median reported\n")

var produceC: [Double] = []
var produceSwift: [Double] = []
var consumeC: [Double] = []
var consumeSwift: [Double] = []
for round in 0...rounds {  // round 0 warms up (metadata, producer ids, first group join) and is not counted
    // Produce: alternate which side goes first.
    let cTopic = "bench-produce-c-\(round)"
    let swiftTopic = "bench-produce-swift-\(round)"
    try kafka.createTopic(cTopic, partitions: partitions)
    try kafka.createTopic(swiftTopic, partitions: partitions)
    if round % 2 == 1 {
        produceC.append(baseline_produce(bootstrap, cTopic, Int64(count), Int32(size)))
        produceSwift.append(try await swiftProduce(topic: swiftTopic))
    } else {
        produceSwift.append(try await swiftProduce(topic: swiftTopic))
        produceC.append(baseline_produce(bootstrap, cTopic, Int64(count), Int32(size)))
    }
    // Consume one evenly filled topic with a fresh group each.
    let consumeTopic = "bench-consume-\(round)"
    try kafka.createTopic(consumeTopic, partitions: partitions)
    try await fill(topic: consumeTopic)
    if round % 2 == 1 {
        consumeC.append(baseline_consume(bootstrap, consumeTopic, "bench-c-\(round)", Int64(count)))
        consumeSwift.append(try await swiftConsume(topic: consumeTopic, group: "bench-swift-\(round)"))
    } else {
        consumeSwift.append(try await swiftConsume(topic: consumeTopic, group: "bench-swift-\(round)"))
        consumeC.append(baseline_consume(bootstrap, consumeTopic, "bench-c-\(round)", Int64(count)))
    }
    guard produceC.last! > 0, consumeC.last! > 0 else { fatalError("the C baseline failed; see stderr") }
    if round == 0 {
        produceC = []; produceSwift = []; consumeC = []; consumeSwift = []
        emit("warm-up done")
        continue
    }
    emit("round \(round): produce C \(format(rate(produceC.last!)))  Swift \(format(rate(produceSwift.last!)))   consume C \(format(rate(consumeC.last!)))  Swift \(format(rate(consumeSwift.last!)))")
}

let produceRatio = median(produceC) / median(produceSwift)
let consumeRatio = median(consumeC) / median(consumeSwift)
emit("""

| workload | C baseline | TriageKafka | ratio (Swift/C) |
|---|---|---|---|
| produce \(size) B | \(format(rate(median(produceC)))) | \(format(rate(median(produceSwift)))) | \(String(format: "%.2f", produceRatio)) |
| consume \(size) B | \(format(rate(median(consumeC)))) | \(format(rate(median(consumeSwift)))) | \(String(format: "%.2f", consumeRatio)) |

target: ratio >= 0.80 for both
""")
kafka.shutdown()
