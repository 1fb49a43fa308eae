import Foundation
import SwiftProtobuf
import TriageCore
import TriageSLA
import TriageSLABacktest
import TriageSchema

/// A small deterministic generator (SplitMix64) so property runs are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func instant(_ text: String) -> Date {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.date(from: text)!
}

func policy(_ yaml: String) throws -> SlaPolicy { try SlaPolicy.load(yaml: yaml, file: "test.yaml") }

func event(_ incident: String, _ id: String, at: Date, _ body: (inout IncidentEvent) -> Void) -> IncidentEvent {
    IncidentEvent.with {
        $0.eventID = "\(incident)-\(id)"
        $0.incidentID = incident
        $0.occurredAt = Google_Protobuf_Timestamp(date: at)
        $0.producer = "test"
        body(&$0)
    }
}

func opened(
    _ incident: String, at: Date, severity: Severity = .a, coverage: Coverage = .coverage24X7, team: String = "tier-1",
    customer: String = "acme"
) -> IncidentEvent {
    event(incident, "opened", at: at) {
        $0.opened = .with {
            $0.customerAccount = customer; $0.entitlementID = "pack-1"; $0.product = "billing"; $0.team = team
            $0.severity = severity; $0.coverage = coverage; $0.customerTimeZone = "America/New_York"; $0.title = "down"
        }
    }
}

func acknowledged(_ incident: String, at: Date, id: String = "ack") -> IncidentEvent {
    event(incident, id, at: at) { $0.acknowledged = .with { $0.agentID = "ada" } }
}

/// One incident's generated history with what it needs for the holiday check.
struct GeneratedIncident {
    let id: String
    let events: [IncidentEvent]
    let coverage: Coverage
    let openedAt: Date
    /// The last event (a close) or nil while open at the end of the history.
    let closedAt: Date?
}

/// Random but plausible incident histories: opens spread over a window, pauses with several
/// reasons and resumes, severity changes, acknowledgements (or none), public notes, solutions,
/// closes and reopens. Times are whole seconds and each incident's events are in time order.
struct HistoryGenerator {
    var random: SeededGenerator
    let window: DateInterval

    init(seed: UInt64, window: DateInterval) {
        random = SeededGenerator(state: seed)
        self.window = window
    }

    mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &random) < probability }
    mutating func minutes(_ range: ClosedRange<Double>) -> TimeInterval { (Double.random(in: range, using: &random) * 60).rounded() }

    mutating func incident(_ index: Int) -> GeneratedIncident {
        let id = "INC-\(index)"
        let start = window.start.addingTimeInterval((Double.random(in: 0..<0.9, using: &random) * window.duration).rounded())
        let severity = [Severity.a, .b, .c].randomElement(using: &random)!
        let coverage = chance(0.5) ? Coverage.coverage24X7 : .businessHours
        let team = ["tier-1", "tier-2", "emea"].randomElement(using: &random)!
        var events = [
            opened(
                id, at: start, severity: severity, coverage: coverage, team: team,
                customer: ["acme", "globex"].randomElement(using: &random)!)
        ]
        var now = start
        var step = 0
        func next(_ range: ClosedRange<Double>) -> Date {
            now = now.addingTimeInterval(minutes(range))
            step += 1
            return now
        }
        if chance(0.3) {
            let reason = ["waiting_on_customer", "waiting_on_vendor", "", "scheduled_follow_up"].randomElement(using: &random)!
            events.append(
                event(id, "pause\(step)", at: next(1...180)) {
                    $0.waitingOnCustomer = .with {
                        $0.reason = "asked"; $0.pauseReason = reason
                    }
                })
            if chance(0.8) { events.append(event(id, "resume\(step)", at: next(10...1_440)) { $0.customerResponded = .init() }) }
        }
        if chance(0.2) {
            let to = [Severity.a, .b, .c].randomElement(using: &random)!
            events.append(
                event(id, "severity\(step)", at: next(1...240)) {
                    $0.severityChanged = .with {
                        $0.from = severity; $0.to = to; $0.reason = "x"
                    }
                })
        }
        if chance(0.75) {
            events.append(acknowledged(id, at: next(1...600), id: "ack\(step)"))
            while chance(0.4) {
                events.append(
                    event(id, "note\(step)", at: next(30...600)) {
                        $0.noteAdded = .with {
                            $0.author = "ada"; $0.text = "update"; $0.public = true
                        }
                    })
            }
        }
        var closedAt: Date?
        if chance(0.6) {
            events.append(
                event(id, "solution\(step)", at: next(60...2_880)) {
                    $0.solutionDelivered = .with {
                        $0.agentID = "ada"; $0.summary = "fixed"
                    }
                })
            closedAt = next(1...120)
            events.append(event(id, "closed\(step)", at: closedAt!) { $0.closedResolved = .with { $0.closedBy = "ada" } })
            if chance(0.15) {
                events.append(event(id, "reopened\(step)", at: next(60...2_880)) { $0.reopened = .with { $0.reason = "again" } })
                closedAt = nil
                if chance(0.5) { events.append(acknowledged(id, at: next(1...300), id: "ack\(step)")) }
            }
        }
        return GeneratedIncident(id: id, events: events, coverage: coverage, openedAt: start, closedAt: closedAt)
    }

    /// `count` incidents, their events merged in time order as records of `partitions`
    /// partitions (an incident's partition from its id), each seen when it occurred.
    mutating func history(_ count: Int, partitions: Int32 = 4) -> (incidents: [GeneratedIncident], records: [BacktestRecord]) {
        let incidents = (0..<count).map { incident($0) }
        let events = incidents.flatMap(\.events).enumerated().sorted {
            ($0.element.occurredAt.date, $0.offset) < ($1.element.occurredAt.date, $1.offset)
        }
        var positions: [Int32: Int64] = [:]
        let records = events.map { _, event in
            let partition = Int32(
                StableHash.hex128(event.incidentID).utf8.reduce(0) { ($0 &* 31 &+ Int($1)) % 1_000_003 } % Int(partitions))
            positions[partition, default: -1] += 1
            return BacktestRecord(event: event, partition: partition, position: positions[partition]!, seenAt: event.occurredAt.date)
        }
        return (incidents, records)
    }
}

/// Replays `records` under both policies and returns the comparison.
func backtest(
    _ records: [BacktestRecord], baseline: SlaPolicy, candidate: SlaPolicy, window: DateInterval, grouping: BacktestGrouping = .team,
    changedListLimit: Int = 100_000
) -> SlaBacktestResult {
    var backtest = SlaBacktest(
        baseline: SlaRules(baseline), candidate: SlaRules(candidate), window: window, grouping: grouping, changedListLimit: changedListLimit
    )
    for record in records { backtest.replay(record) }
    return backtest.finish()
}
