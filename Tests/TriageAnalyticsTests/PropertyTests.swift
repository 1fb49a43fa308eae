import Foundation
import SwiftProtobuf
import Testing
import TriageAnalytics
import TriageSLA
import TriageSLAEvents
import TriageSchema

/// Random incident stories, reproducible from a seed.
private struct StoryGenerator {
    var random: SeededRandom
    /// Monday 2 March 2026 00:00 UTC.
    let base = at("2026-03-02T00:00:00Z")

    init(seed: UInt64) { random = SeededRandom(seed: seed) }

    private mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &random) < probability }
    private mutating func pick<T>(_ options: [T]) -> T { options.randomElement(using: &random)! }

    /// One incident's lifecycle with the escalator's events merged in. `ordered`: event times
    /// never go back and Opened comes first; otherwise some events are late and some incidents
    /// are orphans.
    mutating func incident(_ id: String, steps: Int, ordered: Bool) -> [IncidentEvent] {
        var script = Script(id)
        var clock = base.addingTimeInterval(Double(Int.random(in: 0..<(14 * 24 * 60), using: &random)) * 60)
        if ordered || !chance(0.15) {
            let team = pick(["billing", "emea"])
            _ = script.add(.opened(pick([.a, .b, .c]), pick([.businessHours, .coverage24X7, .unspecified]), team: team), at: clock)
        }
        let agents = ["agent-1", "agent-2", "agent-3"]
        for _ in 0..<steps {
            clock.addTimeInterval(60 * pick([0, 1, 7, 30, 95, 240, 600, 1_440, 3_000]))
            let when = ordered || !chance(0.1) ? clock : clock.addingTimeInterval(-60 * pick([1, 45, 300]))
            let fact: Fact = pick([
                .assigned(pick(agents)), .reassigned(from: pick(agents), to: pick(agents)), .unassigned(from: pick(agents)),
                .returnedToQueue(from: pick(agents)),
                .reassignRequested, .acknowledged(pick(agents)), .acknowledged(pick(agents)), .severityChanged(.b, pick([.a, .b, .c])),
                .waitingOnCustomer, .waitingOnCustomer, .customerResponded, .customerResponded, .solutionDelivered, .closedResolved,
                .closedUnresolved(refunded: chance(0.5)), .closeRequested, .reopened, .note, .note, .split([pick(["INC-8", "INC-9"])]),
                .manualEscalation,
            ])
            _ = script.add(fact, at: when)
        }
        return withEscalator(script.events)
    }

    /// Several incidents' events interleaved, each incident's order kept (one partition).
    mutating func partition(incidents: Int, steps: Int, ordered: Bool) -> [IncidentEvent] {
        var queues = (0..<incidents).map { incident("INC-\($0)", steps: steps, ordered: ordered)[...] }
        var merged: [IncidentEvent] = []
        while let index = queues.indices.filter({ !queues[$0].isEmpty }).randomElement(using: &random) {
            merged.append(queues[index].removeFirst())
        }
        return merged
    }

    /// `events` as an at-least-once consumer may see them: some redelivered right away, some
    /// replayed (the tail since the last commit) as after a restart. Flags the redeliveries.
    mutating func redelivered(_ events: [IncidentEvent]) -> [(event: IncidentEvent, isRedelivery: Bool)] {
        var delivered: [(IncidentEvent, Bool)] = []
        for (index, event) in events.enumerated() {
            delivered.append((event, false))
            if chance(0.1) { delivered.append((events[Int.random(in: max(0, index - 5)...index, using: &random)], true)) }
            if chance(0.03) { delivered += events[max(0, index - 9)...index].map { ($0, true) } }
        }
        return delivered
    }
}

private let seeds: [UInt64] = Array(1...40)

@Suite("Properties of the fold over random incident stories (fixed seeds)")
struct PropertyTests {
    /// The worker restores snapshots from `triage.incident-state` after a restart: a snapshot
    /// decoded from its JSON continues the fold exactly as if nothing had happened.
    @Test(arguments: seeds)
    func continuingFromDecodedSnapshotsGivesTheSameRecords(seed: UInt64) throws {
        var generator = StoryGenerator(seed: seed)
        let events = generator.partition(incidents: 3, steps: 25, ordered: seed % 2 == 0)
        var uninterrupted = IncidentFacts(rules: rules)
        var restarted = IncidentFacts(rules: rules)
        for event in events {
            let expected = uninterrupted.apply(event)
            // Before every event, its incident's state comes back from its JSON (as after a restart).
            if let snapshot = restarted[event.incidentID] { restarted.restore(try IncidentSnapshot(jsonData: snapshot.jsonData())) }
            #expect(restarted.apply(event) == expected, "seed \(seed), event \(event.eventID)")
        }
        for (id, snapshot) in uninterrupted.snapshots { #expect(restarted[id] == snapshot, "seed \(seed), \(id)") }
    }

    /// Redelivered events give no record and leave the snapshots as they were.
    @Test(arguments: seeds)
    func redeliveriesChangeNothing(seed: UInt64) {
        var generator = StoryGenerator(seed: seed)
        let events = generator.partition(incidents: 2, steps: 30, ordered: seed % 3 != 0)
        var once = IncidentFacts(rules: rules)
        let records = events.compactMap { once.apply($0) }
        var atLeastOnce = IncidentFacts(rules: rules)
        var seen: [AnalyticsRecord] = []
        for (event, isRedelivery) in generator.redelivered(events) {
            let record = atLeastOnce.apply(event)
            if isRedelivery { #expect(record == nil, "seed \(seed): \(event.eventID) redelivered") }
            if let record { seen.append(record) }
        }
        #expect(seen == records)
        #expect(atLeastOnce.snapshots == once.snapshots)
    }

    /// The record's breach agrees with the escalator: the first response is breached exactly
    /// when the escalator escalated the clock Opened started before that clock stopped.
    @Test(arguments: seeds)
    func theBreachAgreesWithTheEscalator(seed: UInt64) throws {
        var generator = StoryGenerator(seed: seed)
        let events = generator.incident("INC-1", steps: 12, ordered: true)
        var escalated = false
        var clockStopped = false
        for event in events {
            switch event.event {
            case .escalated(let escalation) where event.producer == escalatorProducerName && escalation.target == "first_response":
                if !clockStopped { escalated = true }
            case .acknowledged, .solutionDelivered, .closedResolved, .closedUnresolved, .closeRequestedByCustomer, .reopened:
                clockStopped = true
            default: break
            }
        }
        var snapshot = IncidentSnapshot(incidentID: "INC-1")
        let records = fold(events, into: &snapshot)
        #expect(snapshot.firstResponse.breached == escalated, "seed \(seed)")
        #expect(records.last??.breached == escalated)
    }

    /// What holds for every record of an ordered stream: it conforms to the schema, counts only
    /// grow, a breach is never taken back, the first response never changes once known.
    @Test(arguments: seeds)
    func recordInvariants(seed: UInt64) throws {
        let recordSchema = try SchemaChecker(repositoryFile: "schemas/analytics-record.schema.json")
        let stateSchema = try SchemaChecker(repositoryFile: "schemas/incident-state.schema.json")
        var generator = StoryGenerator(seed: seed)
        var snapshot = IncidentSnapshot(incidentID: "INC-1")
        var previous: AnalyticsRecord?
        for event in generator.incident("INC-1", steps: 30, ordered: true) {
            let applied = snapshot.apply(event, rules: rules)
            let record = try #require(applied)
            #expect(recordSchema.violations(of: try JSONValue.parse(try record.publishedJSON())) == [], "seed \(seed)")
            #expect(
                stateSchema.violations(of: try JSONValue.parse(String(decoding: try snapshot.jsonData(), as: UTF8.self))) == [],
                "seed \(seed)")
            if let previous {
                #expect(record.reassignmentCount >= previous.reassignmentCount)
                #expect(record.waitingOnCustomerMinutes >= previous.waitingOnCustomerMinutes)
                #expect(!previous.breached || record.breached)
                if previous.hasFirstResponseBusinessMinutes {
                    #expect(record.firstResponseBusinessMinutes == previous.firstResponseBusinessMinutes)
                }
            }
            #expect(record.breached || !record.hasBreachedByBusinessMinutes)
            #expect(record.outcome.isEmpty == !snapshot.status.isClosed)
            previous = record
        }
        #expect(snapshot.eventCount == snapshot.recentEventIDs.count || snapshot.recentEventIDs.count == IncidentSnapshot.dedupeWindow)
    }
}
