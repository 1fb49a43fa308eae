// Escalator benchmark (issue 4): memory per tracked incident, changelog restore time, and
// breach detection lag while 1,000 deadlines per second fall due with 1,000,000 incidents
// tracked. Each figure comes with a baseline measured in the same run. Prints; asserts nothing.
//
//   escalator-bench [--incidents 1000000] [--partitions 64] [--due 10000] [--rate 1000]
import BenchSupport
import Foundation
import Logging
import ServiceLifecycle
import SwiftProtobuf
import Synchronization
import TriageCore
import TriageEscalator
import TriageKafka
import TriageSLA
import TriageSLAEvents
import TriageSchema
import TriageStreams

let logger = {
    var logger = Logger(label: "triage.escalator-bench")
    logger.logLevel = .error
    return logger
}()

// The embedded broker runs in a child process so its memory does not count as ours.
try ChildBroker.serveIfChild(topics: [
    (TriageTopic.incidentEvents, option("--partitions", 64)), (TriageTopic.slaState, option("--partitions", 64)),
    (TriageTopic.notificationRequests, 8), (TriageTopic.deadLetter, 1),
])

let incidents = option("--incidents", 1_000_000)
let partitions = option("--partitions", 64)
let dueCount = option("--due", 10_000)
let dueRate = option("--rate", 1_000)

func incidentID(_ index: Int) -> String { "INC-" + String(index + 10_000_000) }  // 12 characters

let rules = SlaRules(SlaPolicy())
let now = Date()
/// A tracked incident whose first-response clock is due far in the future (weeks), so it is
/// held, not fired, during the run. One in ten runs in business hours.
func farState(_ index: Int) -> IncidentSla {
    let opened = now.addingTimeInterval(Double(index % 86_400))
    let severity: SupportSeverity = [.a, .b, .c][index % 3]
    var state = IncidentSla(
        openedAt: opened.addingTimeInterval(14 * 86_400), severity: severity, coverage: index % 10 == 0 ? .businessHours : .twentyFourSeven,
        team: nil, rules: rules
    )
    state.appliedThrough = Int64(index)
    return state
}

// MARK: 1. Memory per tracked incident (in-process books vs a bare id → deadline map)

emit("escalator benchmark: \(incidents) tracked incidents, \(partitions) partitions, \(dueCount) deadlines at \(dueRate)/s")
let states = (0..<1_000).map(farState)  // 1,000 distinct shapes, reused
var scratch: [Int] = Array(repeating: 0, count: 1 << 20)  // warm the allocator a little
scratch.removeAll()

let baselineBefore = residentBytes()
var baseline: [String: Double] = [:]
baseline.reserveCapacity(incidents)
for index in 0..<incidents { baseline[incidentID(index)] = states[index % 1_000].nextDueSeconds }
let baselinePerIncident = Double(residentBytes() - baselineBefore) / Double(incidents)

let booksBefore = residentBytes()
var books = Array(repeating: SlaBook(), count: partitions)
for index in 0..<incidents { books[index % partitions].restore(incidentID(index), state: states[index % 1_000]) }
let booksPerIncident = Double(residentBytes() - booksBefore) / Double(incidents)
emit(
    String(
        format:
            "memory      %6.0f bytes per tracked incident (state + heap + index)   baseline id→deadline map %5.0f B   ratio %.2f   target ≤ 512 B",
        booksPerIncident, baselinePerIncident, booksPerIncident / max(1, baselinePerIncident)
    )
)
let trackedInBooks = books.reduce(0) { $0 + $1.count }
precondition(trackedInBooks == incidents, "books hold \(trackedInBooks)")
baseline = [:]
books = []

// MARK: 2. Changelog restore (escalator) vs a bare read of the same partitions

let (bootstrap, child) = try ChildBroker.start(arguments: ["--partitions", String(partitions)])
defer { kill(child.processIdentifier, SIGKILL) }
let client = KafkaClientConfiguration(bootstrap: bootstrap, fetchWait: EmbeddedKafka.mockFetchWait)

emit("writing \(incidents) SLA states to \(TriageTopic.slaState) ...")
let writer = try KafkaProducer(
    configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(20), compression: .none), logger: logger)
let writeStarted = ContinuousClock.now
for index in 0..<incidents {
    try await writer.enqueue(
        KafkaProducerMessage(
            topic: TriageTopic.slaState, key: Array(incidentID(index).utf8),
            value: IncidentSlaCodec.encode(states[index % 1_000], rules: rules), partition: Int32(index % partitions)
        )
    )
}
try await writer.flush(timeout: .seconds(120))
emit(String(format: "written in %.1f s", (ContinuousClock.now - writeStarted).secondsDouble))

let rawCount = Atomic<Int>(0)
let raw = try await KafkaPartitionReader.readToEnd(
    topic: TriageTopic.slaState, partitions: (0..<Int32(partitions)).map { $0 }, client: client, logger: logger
) { record in rawCount.add(record.value == nil ? 0 : 1, ordering: .relaxed) }
precondition(
    raw.records == incidents, "read back \(raw.records) of \(incidents) (the broker keeps ~5 MB per partition: raise --partitions)")

let lags = Latencies()
let rssBeforeEscalator = residentBytes()
let consumer = try KafkaConsumer(
    configuration: KafkaConsumerConfiguration(
        groupID: "bench-escalator", topics: [TriageTopic.incidentEvents], client: client,
        sessionTimeout: .seconds(6), heartbeatInterval: .milliseconds(500), fetchMaximumWait: .milliseconds(10)
    ),
    logger: logger
)
let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(1)), logger: logger)
let escalator = Escalator(
    consumer: consumer, producer: producer, client: client, policy: SlaPolicy(), logger: logger,
    onEmit: { event in
        guard case .escalated(let escalated) = event.event, escalated.level == 1 else { return }
        let lag = Date().timeIntervalSince(event.occurredAt.date)
        lags.record(seconds: lag)
    })
let group = ServiceGroup(
    configuration: .init(services: [.init(service: producer), .init(service: escalator), .init(service: consumer)], logger: logger)
)
let running = Task { try await group.run() }
let joinStarted = ContinuousClock.now
while escalator.statistics.tracked < incidents || !escalator.health.isReady {
    try await Task.sleep(for: .milliseconds(20))
    if ContinuousClock.now - joinStarted > .seconds(180) { fatalError("restore did not finish in 180 s") }
}
let restoreSeconds = escalator.statistics.lastRestoreSeconds
emit(
    String(
        format:
            "restore     %6.2f s for %d states (%.0f/s; assignment → ready %.1f s incl. the group join)   baseline bare read %.2f s   ratio %.2f   target ≤ 20 s",
        restoreSeconds, incidents, Double(incidents) / restoreSeconds, (ContinuousClock.now - joinStarted).secondsDouble,
        raw.duration.secondsDouble, restoreSeconds / raw.duration.secondsDouble
    )
)
let processPerIncident = Double(residentBytes() - rssBeforeEscalator) / Double(incidents)
emit(
    String(
        format: "memory      %6.0f bytes per tracked incident in the running escalator (process RSS growth incl. client buffers)",
        processPerIncident))

// MARK: 3. Breach detection lag while deadlines fall due at --rate per second

let publisher = IncidentEventPublisher(producer: producer, topic: TriageTopic.incidentEvents)
let firstDue = Date().addingTimeInterval(5)
emit("publishing \(dueCount) Sev A incidents whose deadlines fall due at \(dueRate)/s from \(firstDue.formatted(.iso8601)) ...")
for index in 0..<dueCount {
    let due = firstDue.addingTimeInterval(Double(index) / Double(dueRate))
    let event = IncidentEvent.with {
        $0.eventID = "bench-\(index)"
        $0.incidentID = "DUE-\(index)"
        $0.occurredAt = Google_Protobuf_Timestamp(date: due.addingTimeInterval(-120 * 60))
        $0.producer = "bench"
        $0.opened = .with {
            $0.customerAccount = "acme"; $0.entitlementID = "pack"; $0.product = "billing"; $0.severity = .a
            $0.coverage = .coverage24X7; $0.customerTimeZone = "UTC"; $0.title = "bench"
        }
    }
    try await producer.enqueue(try publisher.record(for: event))
}
try await producer.flush()
let windowEnd = firstDue.addingTimeInterval(Double(dueCount) / Double(dueRate) + 10)
while Date() < windowEnd, lags.count < dueCount { try await Task.sleep(for: .milliseconds(100)) }

// Baseline: a bare timer (Task.sleep) aimed at the same kind of instants, same process.
let timerLags = Latencies()
for index in 0..<200 {
    let target = Date().addingTimeInterval(0.005 + Double(index % 10) / 1_000)
    try await Task.sleep(for: .seconds(target.timeIntervalSinceNow))
    timerLags.record(seconds: Date().timeIntervalSince(target))
}
let lag = lags.summary
let timer = timerLags.summary
emit(
    "breach lag  \(lag.text) over \(lag.count) escalations (deadline → Escalated handed to the producer)   baseline bare timer \(timer.text)   target p99 ≤ 1000 ms"
)
if lag.count < dueCount { emit("warning: only \(lag.count) of \(dueCount) escalations seen in the window") }

var report = BenchReport(bench: "escalator-bench")
var section = BenchSection(
    id: "40-escalator",
    title: "Escalator at \(incidents.formatted()) open incidents: memory per tracked incident, restore, breach detection lag",
    howMeasured: """
        Memory: \(incidents.formatted()) tracked incidents (1,000 distinct SLA shapes, 12-character ids, deadlines weeks away) restored into \
        \(partitions) `SlaBook`s in this process; the figure is the growth of the resident set divided by the incident count. Baseline, same \
        run, same ids: a bare `[String: Double]` id → next-deadline map. Running escalator: process RSS growth while a real `Escalator` \
        restores the same \(incidents.formatted()) states from `triage.sla-state` (\(partitions) partitions) on the embedded broker (a child \
        process, so its memory is not counted). Restore: changelog read and rebuilt, against a bare `KafkaPartitionReader` read of the same \
        partitions. Breach lag: with the \(incidents.formatted()) incidents tracked, \(dueCount.formatted()) Sev A incidents are opened whose \
        first-response deadlines fall due at \(dueRate)/s; lag = wall time when the level-1 `Escalated` event is handed to the producer minus \
        the deadline, recorded in an HdrHistogram. Baseline: a bare `Task.sleep` timer aimed at similar instants in the same process.
        """
)
section.figures.append(
    BenchFigure(
        name: "memory per tracked incident (SLA books)", value: booksPerIncident, unit: "bytes", baselineName: "id → deadline dictionary",
        baselineValue: baselinePerIncident, ratioMeaning: "figure / baseline (lower is better)", notes: "target ≤ 512 B"
    )
)
section.figures.append(
    BenchFigure(
        name: "memory per tracked incident (running escalator, process RSS)", value: processPerIncident, unit: "bytes",
        notes: "includes librdkafka buffers and the restore's transient allocations"
    )
)
section.figures.append(
    BenchFigure(
        name: "changelog restore of \(incidents.formatted()) states", value: restoreSeconds, unit: "s", baselineName: "bare partition read",
        baselineValue: raw.duration.secondsDouble, ratioMeaning: "figure / baseline (lower is better)",
        notes: String(format: "%.0f states/s; target ≤ 20 s", Double(incidents) / restoreSeconds)
    )
)
for (name, value, base) in [
    ("p50", lag.p50, timer.p50), ("p99", lag.p99, timer.p99), ("p99.9", lag.p999, timer.p999), ("max", lag.max, timer.max),
] {
    section.figures.append(
        BenchFigure(
            name: "breach detection lag \(name)", value: value, unit: "ms", baselineName: "bare timer \(name)", baselineValue: base,
            ratioMeaning: "figure / baseline (lower is better)", notes: name == "p99" ? "target ≤ 1000 ms" : nil
        )
    )
}
section.notes.append(
    "\(lag.count) of \(dueCount) escalations seen; deadlines at \(dueRate)/s while \(incidents.formatted()) incidents were tracked.")
report.add(section)
try report.write()
await group.triggerGracefulShutdown()
try await running.value
kill(child.processIdentifier, SIGKILL)  // the broker child ignores SIGTERM (librdkafka threads)
emit("done")
