import Foundation
import Testing
import TriageCore
import TriageRouting

// Random inputs against a desk with every team setting on (round robin, a queue alert, overflow
// and follow-the-sun) and the clock moving in jumps: after every step the invariants hold, the
// stored form (core + queue entries, written by DeskJSONWriter) reads back to the same desk and
// is the document JSONEncoder writes, and every team change or alert is explained by the state
// before it.

private let settings = TeamSettings(
    choice: .roundRobin, queueAlert: .init(after: 20 * 60, notify: ["team-lead"]),
    overflow: .init(to: "tier-2", after: [.a: 5 * 60, .b: 45 * 60]), followTheSun: .init(to: "americas"))

@Suite("Routing: team settings under random inputs")
struct TeamSettingsPropertyTests {
    @Test(arguments: [1, 17, 23, 99, 2026])
    func everyStepKeepsTheInvariantsAndTheStoredFormAndExplainsItsMoves(seed: UInt64) throws {
        var generator = SeededGenerator(state: seed)
        let policy = RoutingPolicy(calendars: ["emea-day": try weekdayShift()], teams: [deskTeam: settings])
        var desk = TeamDesk(team: deskTeam)
        var now = monday10
        var moves = 0
        var alerts = 0
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for step in 0..<600 {
            let input: RoutingInput
            switch Int.random(in: 0..<12, using: &generator) {
            case 0, 1, 2:
                let severity = [SupportSeverity.a, .b, .c].randomElement(using: &generator)!
                let product = ["billing", "api"].randomElement(using: &generator)!
                input = .opened(
                    RoutingIncident(
                        id: "i\(step)", team: deskTeam, severity: severity, product: product, openedAt: now,
                        customer: Bool.random(using: &generator) ? "acme" : nil))
            case 3:
                input = .acknowledged(incident: desk.assignments.keys.sorted().randomElement(using: &generator) ?? "none")
            case 4:
                input = .released(incident: (desk.assignments.keys.sorted() + desk.queue).randomElement(using: &generator) ?? "none")
            case 5:
                let id = "a\(Int.random(in: 0..<6, using: &generator))"
                input = .profile(
                    agent(
                        id, products: ["billing", "api"], capacity: Int.random(in: 1...6, using: &generator),
                        shift: Bool.random(using: &generator) ? "emea-day" : nil))
            case 6:
                input = .presence(
                    agent: "a\(Int.random(in: 0..<6, using: &generator))", Presence.allCases.randomElement(using: &generator)!)
            case 7:
                input = .transferred(incident("t\(step)", .b, openedAt: now - 3_600))
            default:
                now += TimeInterval(Int.random(in: 1...(3 * 3_600), using: &generator))
                input = .clock
            }
            let before = desk
            let decisions = desk.apply(input, at: now, policy: policy)
            let context = Comment(rawValue: "step \(step): \(input) at \(now)")
            #expect(desk.checkInvariants(policy: policy) == [], context)

            for (index, decision) in decisions.enumerated() {
                switch decision {
                case .teamChanged(let id, let from, let to, let cause, _):
                    moves += 1
                    #expect(from == deskTeam && desk.incident(id) == nil, context)
                    if cause == TeamChangeCause.overflow {
                        #expect(to == "tier-2", context)
                        let incident = try #require(before.incident(id), context)
                        let threshold = try #require(
                            settings.overflow?.after[incident.severity], "severity \(incident.severity) overflowed")
                        #expect(now.timeIntervalSince(incident.openedAt) >= threshold, context)
                        #expect(before.assignments[id] == nil, "only queued incidents overflow; \(context)")
                    } else {
                        #expect(cause == TeamChangeCause.followTheSun && to == "americas", context)
                        #expect(before.assignments[id] != nil && before.isAcknowledged(id), "only acknowledged held ones; \(context)")
                    }
                case .queueWaiting(let alert):
                    alerts += 1
                    // An alert decided before overflows in the same round (a late round with
                    // both due) counts the queue as it was then.
                    let leftAfter = decisions[(index + 1)...].compactMap {
                        if case .teamChanged(let id, _, _, TeamChangeCause.overflow, _) = $0 { id } else { nil }
                    }
                    #expect(
                        alert.waitedMinutes >= 20 && alert.thresholdMinutes == 20 && alert.depth == desk.queue.count + leftAfter.count,
                        context)
                    if leftAfter.contains(alert.incident) {
                        let incident = try #require(before.incident(alert.incident), context)
                        let threshold = try #require(settings.overflow?.after[incident.severity], context)
                        #expect(threshold > 20 * 60, "alerted before it overflowed only when the alert came due first; \(context)")
                    } else {
                        #expect(desk.queue.contains(alert.incident), context)
                    }
                case .assigned(_, _, let reason), .reassigned(_, _, _, let reason):
                    if reason.cause != AssignmentReason.Cause.requested { #expect(reason.choice == .roundRobin, context) }
                default:
                    break
                }
            }

            // The stored form: the core and every queue entry, written directly, read back.
            var writer = DeskJSONWriter()
            desk.core.writeJSON(into: &writer)
            let core = try JSONDecoder().decode(TeamDesk.self, from: Data(writer.bytes))
            var entries: [TeamDesk.QueuedIncident] = []
            for entry in desk.queuedIncidents {
                var entryWriter = DeskJSONWriter()
                TeamDesk.writeJSON(entry, into: &entryWriter)
                entries.append(try JSONDecoder().decode(TeamDesk.QueuedIncident.self, from: Data(entryWriter.bytes)))
            }
            #expect(TeamDesk.assemble(core: core, queued: entries).desk == desk, context)
            if step % 25 == 0 {
                var whole = DeskJSONWriter()
                desk.writeJSON(into: &whole)
                let direct = try JSONSerialization.jsonObject(with: Data(whole.bytes)) as? NSDictionary
                let reference = try JSONSerialization.jsonObject(with: try encoder.encode(desk)) as? NSDictionary
                #expect(direct == reference, "the same document as JSONEncoder's; \(context)")
            }
        }
        #expect(moves > 0 && alerts > 0, "the run exercised the settings (\(moves) moves, \(alerts) alerts)")
    }
}
