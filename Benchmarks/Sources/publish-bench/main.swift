// `triage publish --file` (issue 24): JSON lines of Opened events read, completed, validated,
// published and reported line by line, against producing the same records already encoded
// (baseline, same run, same broker). Also the old way, one round trip per line, on fewer lines.
// Prints; asserts nothing.
//
//   publish-bench [--events 50000] [--rounds 3]
import BenchSupport
import Foundation
import Logging
import SwiftProtobuf
import TriageKafka
import TriageSchema
import TriageStreams

let events = option("--events", 50_000)
let rounds = option("--rounds", 3)
let oneByOne = min(events, 1_000)
let partitions = 8
try ChildBroker.serveIfChild(topics: [(TriageTopic.incidentEvents, partitions), ("publish-baseline", partitions)])
let logger = {
    var logger = Logger(label: "triage.publish-bench")
    logger.logLevel = .error
    return logger
}()
let (bootstrap, child) = try ChildBroker.start()
// What `triage publish` builds: the default producer configuration for the cluster.
let client = KafkaClientConfiguration(bootstrap: bootstrap)
emit("publish benchmark: \(events) Opened lines, \(rounds) rounds, broker in a child process")

/// The text `triage publish --file` reads: one Opened event per line, as `triage tail` or an
/// export would write it, without an event id (filled in, as most hand-written files need).
func lines(round: Int, count: Int) -> String {
    var text = ""
    text.reserveCapacity(count * 330)
    for index in 0..<count {
        text +=
            #"{"incidentId":"inc-\#(round)-\#(index)","occurredAt":"2026-12-05T08:00:00Z","producer":"bench","opened":{"customerAccount":"acme","entitlementId":"ACME-24X7","product":"billing","language":"en","severity":"SEVERITY_B","coverage":"COVERAGE_24X7","customerTimeZone":"Europe/Berlin","title":"Printer on floor \#(index % 7) is offline"}}"#
        text += "\n"
    }
    return text
}

/// The CLI's path: read the text, fill in ids, validate, publish pipelined, format every line's report.
func publishFile(_ text: String, producer: KafkaProducer) async -> (seconds: Double, published: Int, output: Int) {
    let started = ContinuousClock.now
    let entries = IncidentEventText.read(text)
    let bulk = IncidentEventBulkPublisher(publisher: IncidentEventPublisher(producer: producer))
    var output = 0
    let (published, _) = await bulk.publish(
        entries, prepare: { if $0.eventID.isEmpty { $0.eventID = RandomEventID.make() } },
        report: { outcome in
            if case .success(let report) = outcome.result, let event = outcome.event {
                let line =
                    "line \(outcome.line): \(event.incidentID) \(event.eventTypeName ?? "?") -> \(report.topic)[\(report.partition)]@\(report.offset)"
                output += line.utf8.count + 1
            }
        })
    return ((ContinuousClock.now - started).secondsDouble, published, output)
}

/// Baseline: the same events, already encoded as records, handed to the producer and flushed.
func produceEncoded(_ records: [KafkaProducerMessage], producer: KafkaProducer) async throws -> Double {
    let started = ContinuousClock.now
    for record in records { try await producer.enqueue(record) }
    try await producer.flush()
    return (ContinuousClock.now - started).secondsDouble
}

let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client), logger: logger)
let producing = Task { try await producer.run() }
var fileRates: [Double] = []
var baselineRates: [Double] = []
// A warm-up round of each (connections, metadata), not counted.
_ = await publishFile(lines(round: -1, count: 2_000), producer: producer)
for round in 0..<rounds {
    let text = lines(round: round, count: events)
    let records = try IncidentEventText.events(text).map { event in
        var event = event
        event.eventID = UUID().uuidString.lowercased()
        return try event.kafkaRecord(topic: "publish-baseline")
    }
    // Alternate which goes first.
    for side in round % 2 == 0 ? [0, 1] : [1, 0] {
        if side == 0 {
            let run = await publishFile(text, producer: producer)
            precondition(run.published == events, "published \(run.published) of \(events)")
            fileRates.append(Double(events) / run.seconds)
            emit(String(format: "round %d: publish --file path %.0f lines/s (%d bytes of report)", round, fileRates.last!, run.output))
        } else {
            let seconds = try await produceEncoded(records, producer: producer)
            baselineRates.append(Double(events) / seconds)
            emit(String(format: "round %d: produce encoded records %.0f records/s", round, baselineRates.last!))
        }
    }
}

// The old way: one send (one round trip) per line.
let old = lines(round: 99, count: oneByOne)
let oldStarted = ContinuousClock.now
let publisher = IncidentEventPublisher(producer: producer)
for entry in IncidentEventText.read(old) {
    var event = try entry.event.get()
    event.eventID = UUID().uuidString.lowercased()
    _ = try await publisher.publish(event)
}
let oldRate = Double(oneByOne) / (ContinuousClock.now - oldStarted).secondsDouble
emit(String(format: "one round trip per line: %.0f lines/s", oldRate))

let file = median(fileRates)
let baseline = median(baselineRates)

var report = BenchReport(bench: "publish-bench")
var section = BenchSection(
    id: "15-publish", title: "`triage publish --file`: lines per second",
    howMeasured: """
        \(events.formatted()) JSON lines of Opened events (each without an event id, so one is filled in) go the way `triage publish --file` \
        takes them, in process: `IncidentEventText.read`, the id filled in, validation, `IncidentEventBulkPublisher` (chunks of 1,000 \
        events, 16 chunks in flight, every line's partition and offset reported in input order and formatted as the command prints it), \
        on the default producer configuration (idempotent, acks=all) to `triage.incident-events` (\(partitions) partitions, embedded broker \
        in a child process), timed from the text to the last line's report. Baseline, same run, same broker: the same events already \
        encoded as records, enqueued and flushed (what any producer pays). \(rounds) rounds, alternating which goes first; the median is \
        reported. The old way (one `send` per line, waiting for each acknowledgement) is measured on \(oneByOne.formatted()) lines.
        """
)
section.figures.append(
    BenchFigure(
        name: "publish --file, Opened lines", value: file, unit: "lines/s", baselineName: "produce the encoded records",
        baselineValue: baseline,
        notes: "target ≥ 50,000 lines/s"))
section.figures.append(
    BenchFigure(
        name: "one round trip per line (before)", value: oldRate, unit: "lines/s", baselineName: "publish --file", baselineValue: file))
section.notes.append(
    "all rounds — publish --file: \(fileRates.map { String(format: "%.0f", $0) }.joined(separator: ", ")); produce encoded: \(baselineRates.map { String(format: "%.0f", $0) }.joined(separator: ", "))"
)
report.add(section)
try report.write()
await producer.close()
producing.cancel()
kill(child.processIdentifier, SIGKILL)  // the broker child ignores SIGTERM (librdkafka threads)
