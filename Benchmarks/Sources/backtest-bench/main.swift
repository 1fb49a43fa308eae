import BenchSupport
import Foundation
import HeapModule
import SwiftProtobuf
import TriageSLA
import TriageSLABacktest
import TriageSchema

// `triage sla backtest` at scale: a month of lifecycle events (--events, default 1,000,000)
// replayed under the built-in defaults and a candidate, streamed as the command reads the topic
// (protobuf bytes decoded one record at a time). Baseline, same run, same records: decoding
// alone. Peak memory: the resident set's high-water mark (VmHWM) over the process's before the
// replay; the events are generated on the fly, so nothing but the engine holds them.

let events = option("--events", 1_000_000)
let window = DateInterval(start: Date(timeIntervalSince1970: 1_793_491_200), duration: 30 * 86_400)  // 2026-11-01, 30 days

/// The peak resident set (VmHWM) in bytes.
func peakResidentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
    else { return 0 }
    return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
}

/// Lifecycle events in time order, generated as they fall due (a heap of each open incident's
/// next event), serialized as a producer would: incidents opened at a steady rate over the
/// window, each Opened, acknowledged (or not), sometimes paused and resumed, given public notes,
/// solved and closed within two days.
struct EventStream {
    struct Pending: Comparable {
        let at: Double
        let sequence: Int
        let incident: Int
        let step: Int
        static func < (a: Pending, b: Pending) -> Bool { (a.at, a.sequence) < (b.at, b.sequence) }
    }

    var random = SystemRandomNumberGenerator()
    var heap = Heap<Pending>()
    var nextIncident = 0
    var sequence = 0
    let openInterval: Double
    var produced = 0
    let total: Int

    init(total: Int) {
        self.total = total
        // About six events per incident.
        openInterval = window.duration * 0.9 / Double(max(1, total / 6))
    }

    mutating func schedule(_ incident: Int, step: Int, at: Double) {
        sequence += 1
        heap.insert(Pending(at: at, sequence: sequence, incident: incident, step: step))
    }

    /// The next record: (partition, bytes).
    mutating func next() -> (Int32, [UInt8])? {
        guard produced < total else { return nil }
        let nextOpen = window.start.timeIntervalSince1970 + Double(nextIncident) * openInterval
        if heap.min.map({ $0.at > nextOpen }) ?? true {
            schedule(nextIncident, step: 0, at: nextOpen)
            nextIncident += 1
        }
        let pending = heap.removeMin()
        produced += 1
        let id = "INC-\(pending.incident)"
        var event = IncidentEvent()
        event.eventID = "\(id)-\(pending.step)"
        event.incidentID = id
        event.producer = "bench"
        event.occurredAt = Google_Protobuf_Timestamp(date: Date(timeIntervalSince1970: pending.at.rounded()))
        let roll = Int.random(in: 0..<100, using: &random)
        func then(_ step: Int, minutes: ClosedRange<Double>) {
            schedule(pending.incident, step: step, at: pending.at + Double.random(in: minutes, using: &random) * 60)
        }
        switch pending.step {
        case 0:
            event.opened = .with {
                $0.customerAccount = "customer-\(pending.incident % 50)"; $0.entitlementID = "pack"; $0.product = "billing"
                $0.team = ["tier-1", "tier-2", "emea"][pending.incident % 3]
                $0.severity = [.a, .b, .c][pending.incident % 3]; $0.coverage = pending.incident % 2 == 0 ? .coverage24X7 : .businessHours
                $0.customerTimeZone = "UTC"; $0.title = "down"
            }
            if roll < 20 { then(1, minutes: 5...120) } else { then(3, minutes: 5...600) }
        case 1:
            event.waitingOnCustomer = .with { $0.reason = "logs" }
            then(2, minutes: 30...1_440)
        case 2:
            event.customerResponded = .init()
            then(3, minutes: 5...300)
        case 3:
            event.acknowledged = .with { $0.agentID = "agent-\(pending.incident % 40)" }
            then(roll < 50 ? 4 : 5, minutes: 30...600)
        case 4:
            event.noteAdded = .with {
                $0.author = "agent"; $0.text = "update"; $0.public = true
            }
            then(5, minutes: 30...600)
        case 5:
            event.solutionDelivered = .with {
                $0.agentID = "agent"; $0.summary = "fixed"
            }
            then(6, minutes: 10...240)
        default:
            event.closedResolved = .with { $0.closedBy = "agent" }
        }
        return (Int32(pending.incident % 12), try! event.serializedBytes())
    }
}

func decodeOnly() -> (seconds: Double, decoded: Int) {
    var stream = EventStream(total: events)
    var decoded = 0
    let clock = ContinuousClock()
    let start = clock.now
    while let (_, bytes) = stream.next() {
        if let event = try? IncidentEvent(serializedBytes: bytes), !event.incidentID.isEmpty { decoded += 1 }
    }
    return ((clock.now - start).secondsDouble, decoded)
}

let candidatePolicy = try SlaPolicy.load(
    yaml: """
        targets:
          business_hours: { A: { first_response: 1h, update: 4h }, B: { first_response: 3h }, C: { first_response: 6h } }
          24x7: { A: { first_response: 1h, update: 4h }, B: { first_response: 3h }, C: { first_response: 6h } }
        reopen_window: 72h
        """, file: "candidate.yaml")
var baselinePolicy = SlaPolicy()
baselinePolicy.reopenWindowMinutes = 72 * 60

emit("backtest-bench: \(events.formatted()) lifecycle events over 30 days, baseline (defaults) vs candidate")
let decoding = decodeOnly()
emit(String(format: "decode only: %.0f events/s (%.2f s)", Double(decoding.decoded) / decoding.seconds, decoding.seconds))

let peakBefore = peakResidentBytes()
let rssBefore = residentBytes()
var stream = EventStream(total: events)
var backtest = SlaBacktest(
    baseline: SlaRules(baselinePolicy), candidate: SlaRules(candidatePolicy), window: window, grouping: .team)
var position: [Int32: Int64] = [:]
var peakTracked = 0
let clock = ContinuousClock()
let start = clock.now
while let (partition, bytes) = stream.next() {
    guard let event = try? IncidentEvent(serializedBytes: bytes) else { continue }
    position[partition, default: -1] += 1
    backtest.replay(BacktestRecord(event: event, partition: partition, position: position[partition]!, seenAt: event.occurredAt.date))
    if backtest.recordsRead % 10_000 == 0 { peakTracked = max(peakTracked, backtest.tracked) }
}
let result = backtest.finish()
let seconds = (clock.now - start).secondsDouble
let peakGrowth = max(0, peakResidentBytes() - max(peakBefore, rssBefore))
let rate = Double(result.recordsRead) / seconds
emit(
    String(
        format:
            "replay under two policies: %.0f events/s (%.2f s), peak memory +%.1f MB, at most %d incidents tracked, %d incidents, %d changed",
        rate, seconds, Double(peakGrowth) / 1_048_576, peakTracked, result.total.baseline.incidents, result.changedCount))

var report = BenchReport(bench: "backtest-bench")
var section = BenchSection(
    id: "45-sla-backtest",
    title: "SLA back-test: \(events.formatted()) lifecycle events replayed under two policies",
    howMeasured: """
        `SlaBacktest` (what `triage sla backtest` runs) replays \(events.formatted()) lifecycle events — \(result.total.baseline.incidents.formatted()) \
        incidents opened over 30 days across 12 partitions, about six events each (opened, sometimes a pause and the customer's answer, \
        acknowledged, a public note, solved, closed) — under the built-in defaults and a candidate with shorter targets and an update \
        clock, each record decoded from protobuf bytes as the command reads the topic. Events are generated on the fly in time order, so \
        only the engine holds incidents; closed incidents are forgotten after the 72 h reopen window of both policies. Baseline, same \
        run, same records: generating and decoding alone. Peak memory: growth of the resident set's high-water mark (VmHWM) during the replay.
        """
)
section.figures.append(
    BenchFigure(
        name: "replay under two policies", value: rate, unit: "events/s", baselineName: "decode only",
        baselineValue: Double(decoding.decoded) / decoding.seconds, ratioMeaning: "figure / baseline (higher is better)",
        notes: String(format: "%.1f s for the whole log", seconds)
    )
)
section.figures.append(
    BenchFigure(
        name: "peak memory of the replay", value: Double(peakGrowth) / 1_048_576, unit: "MB",
        notes: "at most \(peakTracked.formatted()) incidents tracked at once (open, or closed within the reopen window)"
    )
)
section.notes.append(
    "\(result.changedCount.formatted()) incidents change under the candidate; \(result.total.baseline.escalations) → \(result.total.candidate.escalations) escalations per level."
)
report.add(section)
try report.write()
