import Foundation
import Testing
import TriageCore
import TriageRouting

// Thousands of random inputs against a desk of about twenty agents. After every step the desk's
// own invariants must hold, the state must agree with an independent model of what is open and
// who is on the desk, and every decision must be explained by the state before and after it.

private let products = ["billing", "api", "mobile", "sso"]
private let agentLanguages = ["en", "en-GB", "de", "de-CH", "fr", "es-MX", "pt"]
private let incidentLanguages: [String?] = [nil, nil, nil, "en", "en-US", "de-AT", "DE", "fr", "es", "pt-BR", "ja", ""]
private let shifts: [String?] = [nil, nil, nil, "emea-day", "amer-day", "nights"]

private func propertyPolicy() throws -> RoutingPolicy {
    func weekdays(_ zone: String, _ from: String, _ to: String) throws -> BusinessCalendar {
        let day = try BusinessCalendar.DailyInterval(from, to)
        return try BusinessCalendar(timeZone: TimeZone(identifier: zone)!, weekly: [2: [day], 3: [day], 4: [day], 5: [day], 6: [day]])
    }
    let night = try BusinessCalendar.DailyInterval("22:00", "06:00")
    return RoutingPolicy(
        calendars: [
            "emea-day": try weekdays("Europe/London", "08:00", "16:00"),
            "amer-day": try weekdays("America/New_York", "09:00", "17:00"),
            "nights": try BusinessCalendar(
                timeZone: TimeZone(identifier: "UTC")!, weekly: Dictionary(uniqueKeysWithValues: (1...7).map { ($0, [night]) })),
        ],
        closedIncidentMemory: 365 * 86_400
    )
}

private func primary(_ tag: String) -> String {
    tag.split(whereSeparator: { $0 == "-" || $0 == "_" }).first.map { $0.lowercased() } ?? ""
}

/// What the test knows independently of the desk.
private struct Model {
    var agents: [String: Agent] = [:]
    var presence: [String: Presence] = [:]
    var open: [String: RoutingIncident] = [:]
    var closed: Set<String> = []
    var incidentCount = 0
    var agentCount = 0

    mutating func record(_ input: RoutingInput) {
        switch input {
        case .opened(let incident):
            if incident.team == deskTeam, open[incident.id] == nil, !closed.contains(incident.id) { open[incident.id] = incident }
        case .reopened(let incident):
            if incident.team == deskTeam, open[incident.id] == nil {
                closed.remove(incident.id)
                open[incident.id] = incident
            }
        case .released(let id):
            if open.removeValue(forKey: id) != nil { closed.insert(id) }
        case .severityChanged(let id, let severity):
            open[id]?.severity = severity
        case .profile(let agent):
            if agent.team == deskTeam {
                if agents[agent.id] == nil { presence[agent.id] = .offline }
                agents[agent.id] = agent
            } else {
                agents[agent.id] = nil
                presence[agent.id] = nil
            }
        case .removed(let id):
            agents[id] = nil
            presence[id] = nil
        case .presence(let id, let value):
            if agents[id] != nil { presence[id] = value }
        case .acknowledged, .reassignRequested, .assignRequested, .returnRequested, .clock, .transferred:
            break
        }
    }

    /// Eligibility apart from capacity.
    /// `chosen`: a person named the agent, so presence and shift are not asked.
    func qualifies(_ id: String, for incident: RoutingIncident, at instant: Date, policy: RoutingPolicy, chosen: Bool = false) -> Bool {
        guard let agent = agents[id], chosen || presence[id] == .online, agent.skills.contains(incident.product) else { return false }
        if let language = incident.language, !language.isEmpty, !agent.languages.contains(where: { primary($0) == primary(language) }) {
            return false
        }
        if !chosen, let shift = agent.shiftCalendar { return policy.calendars[shift]?.isOpen(at: instant) ?? false }
        return true
    }
}

private struct Generator {
    var random: SeededGenerator

    mutating func pick<T>(_ values: [T]) -> T { values[Int.random(in: 0..<values.count, using: &random)] }
    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }

    mutating func severity() -> SupportSeverity {
        switch Int.random(in: 0..<20, using: &random) {
        case 0..<3: .a
        case 3..<10: .b
        default: .c
        }
    }

    mutating func agent(_ id: String) -> Agent {
        var skills: Set<String> = [pick(products)]
        if chance(60) { skills.insert(pick(products)) }
        if chance(20) { skills.insert(pick(products)) }
        var languages: Set<String> = chance(85) ? ["en"] : []
        if chance(50) { languages.insert(pick(agentLanguages)) }
        return Agent(
            id: id, team: chance(4) ? "tier-2" : deskTeam, skills: skills, languages: languages,
            capacity: chance(5) ? 0 : Int.random(in: 2...8, using: &random), shiftCalendar: pick(shifts)
        )
    }

    mutating func incident(_ id: String, at instant: Date) -> RoutingIncident {
        RoutingIncident(
            id: id, team: chance(3) ? "tier-2" : deskTeam, severity: severity(), product: pick(products), language: pick(incidentLanguages),
            openedAt: instant - Double(Int.random(in: 0...3_600, using: &random))
        )
    }

    /// Known ids mostly, an unknown one now and then.
    mutating func someIncident(_ model: Model) -> String {
        if !model.open.isEmpty, chance(90) { return pick(model.open.keys.sorted()) }
        if !model.closed.isEmpty, chance(70) { return pick(model.closed.sorted()) }
        return "ghost-\(Int.random(in: 0..<3, using: &random))"
    }

    mutating func someAgent(_ model: Model) -> String {
        if !model.agents.isEmpty, chance(95) { return pick(model.agents.keys.sorted()) }
        return "a\(Int.random(in: 0..<(model.agentCount + 2), using: &random))"
    }

    mutating func input(_ model: inout Model, at instant: Date) -> RoutingInput {
        let roll = Int.random(in: 0..<100, using: &random)
        switch roll {
        case 0..<18:
            model.incidentCount += 1
            return .opened(incident("i\(model.incidentCount)", at: instant))
        case 18..<20:
            let id = someIncident(model)
            return .opened(model.open[id] ?? incident(id, at: instant))
        case 20..<38: return .released(incident: someIncident(model))
        case 38..<45: return .acknowledged(incident: someIncident(model))
        case 45..<53: return .severityChanged(incident: someIncident(model), to: severity())
        case 53..<56:
            let id = model.closed.isEmpty ? someIncident(model) : pick(model.closed.sorted())
            var reopened = incident(id, at: instant)
            reopened.team = deskTeam
            return .reopened(reopened)
        case 56..<60: return .reassignRequested(incident: someIncident(model), cause: pick(["sla_breach", "requested"]))
        case 60..<62: return .assignRequested(incident: someIncident(model), agent: someAgent(model), onlyIfWaiting: chance(50))
        case 62..<64: return .returnRequested(incident: someIncident(model))
        case 64..<80:
            let presence: Presence = chance(50) ? .online : chance(40) ? .away : .offline
            return .presence(agent: someAgent(model), presence)
        case 80..<86:
            if model.agents.count < 24, chance(30) {
                model.agentCount += 1
                return .profile(agent("a\(model.agentCount)"))
            }
            return .profile(agent(someAgent(model)))
        case 86..<88: return .removed(agent: someAgent(model))
        default: return .clock
        }
    }
}

@Suite("Routing properties")
struct RoutingPropertyTests {
    @Test(arguments: [UInt64(1), 2, 3])
    func invariantsHoldAfterEveryRandomInput(seed: UInt64) throws {
        let counts = try run(seed: seed, agents: 20)
        // The run exercised what it is meant to.
        #expect(counts["assigned", default: 0] > 200, "\(counts)")
        #expect(counts["reassigned", default: 0] > 20, "\(counts)")
        #expect(counts["queued", default: 0] > 50, "\(counts)")
        #expect(counts["unassigned", default: 0] > 5, "\(counts)")
    }

    /// Few agents: the queue grows long and most inputs find nobody with room (the drain's
    /// shortcut), yet every rule and the stored form hold the same.
    @Test(arguments: [UInt64(4), 5])
    func invariantsHoldWithALongQueue(seed: UInt64) throws {
        let counts = try run(seed: seed, agents: 3, queueAtLeast: 50)
        #expect(counts["queued", default: 0] > 300, "\(counts)")
        #expect(counts["assigned", default: 0] > 20, "\(counts)")
    }

    /// Applies 2,000 random inputs, checking every rule after each, the stored form (core +
    /// queue entries, see DeskStorage.swift) after each, and a replay at the end. Returns
    /// the decisions by kind.
    func run(seed: UInt64, agents: Int, queueAtLeast: Int = 0) throws -> [String: Int] {
        let policy = try propertyPolicy()
        var generator = Generator(random: SeededGenerator(state: seed &* 0x5DEE_CE66D))
        var model = Model()
        var desk = TeamDesk(team: deskTeam)
        var now = instant("2026-03-06T12:00:00Z")  // a Friday: weekends and DST (8 and 29 March) lie ahead
        var log: [(input: RoutingInput, at: Date, decisions: [RoutingDecision])] = []
        var counts: [String: Int] = [:]

        // The stored form, kept up to date with each step's queue changes.
        var stored: [String: TeamDesk.QueuedIncident] = [:]
        var longestQueue = 0

        func step(_ input: RoutingInput) {
            let before = desk
            let decisions = desk.apply(input, at: now, policy: policy)
            checkStorage(before: before, after: desk, stored: &stored)
            if log.count % 4 == 0 { checkWrittenJSON(desk) }
            longestQueue = max(longestQueue, desk.queue.count)
            model.record(input)
            log.append((input, now, decisions))
            for decision in decisions {
                let kind =
                    switch decision {
                    case .assigned: "assigned"
                    case .reassigned: "reassigned"
                    case .queued: "queued"
                    case .unassigned: "unassigned"
                    case .teamChanged: "team_changed"
                    case .queueWaiting: "queue_waiting"
                    }
                counts[kind, default: 0] += 1
            }
            check(input, decisions, before: before, after: desk, model: model, at: now, policy: policy)
        }

        for _ in 0..<agents {
            model.agentCount += 1
            var agent = generator.agent("a\(model.agentCount)")
            agent.team = deskTeam
            step(.profile(agent))
            step(.presence(agent: agent.id, generator.chance(75) ? .online : .away))
        }
        for index in 0..<2_000 {
            now += Double(Int.random(in: 0...900, using: &generator.random))
            if generator.chance(3) { now += Double(Int.random(in: 1...10, using: &generator.random)) * 3_600 }
            var input = generator.input(&model, at: now)
            if case .clock = input, generator.chance(50), let change = desk.nextShiftChange(after: now, policy: policy),
                change.timeIntervalSince(now) < 3 * 86_400
            {
                now = change  // exactly on a shift boundary
                input = .clock
            }
            step(input)
            if index % 400 == 0 {
                let data = try JSONEncoder().encode(desk)
                #expect(try JSONDecoder().decode(TeamDesk.self, from: data) == desk)
            }
        }
        // Everything released: nothing left anywhere.
        for id in model.open.keys.sorted() { step(.released(incident: id)) }
        #expect(desk.queue.isEmpty)
        #expect(desk.assignments.isEmpty)
        #expect(stored.isEmpty, "the stored queue emptied too")
        for agent in desk.agents { #expect(desk.load(of: agent.id) == 0) }
        #expect(longestQueue >= queueAtLeast, "longest queue \(longestQueue)")

        // Replaying the same inputs gives the same decisions: the desk is deterministic.
        var replay = TeamDesk(team: deskTeam)
        for entry in log {
            #expect(replay.apply(entry.input, at: entry.at, policy: policy) == entry.decisions)
        }
        #expect(replay == desk)
        return counts
    }
}

/// The desk's stored form after one step: applying the step's queue changes to the stored
/// queue and reassembling with the new core gives the desk back; and a step cut short after
/// its queue upserts (old core) or after its core (removals lost) reassembles to the earlier
/// or later state plus only queued incidents whose inputs a restarted router replays.
private func checkStorage(before: TeamDesk, after: TeamDesk, stored: inout [String: TeamDesk.QueuedIncident]) {
    let changes = after.queueChanges(since: before)
    var next = stored
    for entry in changes.upserted { next[entry.id] = entry }
    for id in changes.removed { next[id] = nil }
    #expect(TeamDesk.assemble(core: after.core, queued: next.values).desk == after, "stored form reassembles")
    #expect(Set(next.keys) == Set(after.queue), "stored queue = queue")

    // Cut short after the upserts: the old core wins over every changed entry it holds.
    var upsertedOnly = stored
    for entry in changes.upserted { upsertedOnly[entry.id] = entry }
    let early = TeamDesk.assemble(core: before.core, queued: upsertedOnly.values).desk
    #expect(early.core == before.core)
    #expect(Set(early.queue).isSuperset(of: before.queue))
    for id in Set(early.queue).subtracting(before.queue) {
        #expect(before.incident(id) == nil, "only incidents new in this step are extra (\(id))")
    }
    // Cut short after the core: only incidents released in this step are extra.
    let late = TeamDesk.assemble(core: after.core, queued: upsertedOnly.values).desk
    #expect(late.core == after.core)
    for id in Set(late.queue).symmetricDifference(after.queue) {
        #expect(after.incident(id) == nil && before.incident(id) != nil, "only released incidents linger (\(id))")
    }
    stored = next
}

/// The router's direct JSON writer (``DeskJSONWriter``) gives back the desk and its queue
/// entries through `JSONDecoder`, after every step of a random run.
private func checkWrittenJSON(_ desk: TeamDesk) {
    var writer = DeskJSONWriter()
    desk.core.writeJSON(into: &writer)
    #expect((try? JSONDecoder().decode(TeamDesk.self, from: Data(writer.bytes))) == desk.core, "the written core reads back")
    for entry in desk.queuedIncidents {
        var entryWriter = DeskJSONWriter()
        TeamDesk.writeJSON(entry, into: &entryWriter)
        #expect((try? JSONDecoder().decode(TeamDesk.QueuedIncident.self, from: Data(entryWriter.bytes))) == entry)
    }
}

/// Everything that must hold after one step.
private func check(
    _ input: RoutingInput, _ decisions: [RoutingDecision], before: TeamDesk, after desk: TeamDesk, model: Model, at now: Date,
    policy: RoutingPolicy
) {
    let context = Comment(rawValue: "after \(input) at \(now)")
    #expect(desk.checkInvariants(policy: policy) == [], context)

    // Every open incident is assigned or queued, never both; nothing else is.
    let assignments = desk.assignments
    let queue = desk.queue
    let beforeAssignments = before.assignments
    let beforeQueue = Set(before.queue)
    #expect(Set(queue).count == queue.count, context)
    #expect(Set(assignments.keys).isDisjoint(with: queue), context)
    #expect(Set(assignments.keys).union(queue) == Set(model.open.keys), context)
    #expect(Set(assignments.values).isSubset(of: model.agents.keys), context)

    // Agents and loads as the model has them.
    #expect(Set(desk.agents.map(\.id)) == Set(model.agents.keys), context)
    for (id, agent) in model.agents {
        #expect(desk.profile(of: id) == agent, context)
        #expect(desk.presence(of: id) == model.presence[id], context)
        let expected = assignments.filter { $0.value == id }.keys.reduce(0) { $0 + policy.weight(of: model.open[$1]!.severity) }
        #expect(desk.load(of: id) == expected, context)
        // Above capacity only through a kept upgrade, a lowered capacity, or left over from before.
        if desk.load(of: id) > agent.capacity {
            let wasOver = before.load(of: id) > (before.profile(of: id)?.capacity ?? .max) && desk.load(of: id) <= before.load(of: id)
            var upgradeKept = false
            if case .severityChanged(let incident, _) = input {
                upgradeKept = beforeAssignments[incident] == id && assignments[incident] == id
            }
            var capacityLowered = false
            if case .profile(let profile) = input {
                capacityLowered = profile.id == id && profile.capacity < (before.profile(of: id)?.capacity ?? 0)
            }
            #expect(wasOver || upgradeKept || capacityLowered, "\(id) at \(desk.load(of: id)) of \(agent.capacity); \(context)")
        }
    }

    // Every queued incident waits because nobody can take it now — but the agent who just gave
    // it back. (Incidents alike in product, language and weight share the answer.)
    var asked: Set<String> = []
    for id in queue {
        let incident = model.open[id]!
        if case .returnRequested(id) = input {
            let giver = beforeAssignments[id]
            #expect(
                desk.eligibleAgents(for: incident, at: now, policy: policy).allSatisfy { $0 == giver }, "\(id) waits needlessly; \(context)"
            )
            continue
        }
        let language = incident.language.flatMap { $0.isEmpty ? nil : primary($0) } ?? "-"
        guard asked.insert("\(incident.product)/\(language)/\(policy.weight(of: incident.severity))").inserted else { continue }
        #expect(desk.eligibleAgents(for: incident, at: now, policy: policy).isEmpty, "\(id) waits needlessly; \(context)")
    }

    // Decisions agree with the state before and after.
    var placed: Set<String> = []
    var mentioned: Set<String> = []
    // The incident this input opened, if it did (a repeated Opened opens nothing).
    let fresh: String? =
        switch input {
        case .opened(let incident), .reopened(let incident):
            before.incident(incident.id) == nil && model.open[incident.id] != nil ? incident.id : nil
        default: nil
        }
    func checkReason(_ reason: AssignmentReason, _ incident: String, _ agent: String) {
        guard let open = model.open[incident], let profile = model.agents[agent] else {
            Issue.record("decision about \(incident) / \(agent), which are not open / on the desk; \(context)")
            return
        }
        let chosen = if case .assignRequested(incident, agent, _) = input { true } else { false }
        #expect(
            model.qualifies(agent, for: open, at: now, policy: policy, chosen: chosen),
            "\(agent) does not qualify for \(incident); \(context)")
        #expect(reason.capacity == profile.capacity, context)
        #expect(reason.loadAfter - reason.loadBefore == policy.weight(of: open.severity), context)
        #expect(reason.loadAfter <= reason.capacity, context)
        #expect(desk.load(of: agent) >= reason.loadAfter, context)
        #expect(reason.candidatesConsidered >= 1, context)
        #expect(reason.matchedSkills.first == open.product, context)
        if let language = open.language, !language.isEmpty {
            #expect(reason.matchedSkills.count == 2 && primary(reason.matchedSkills[1]) == primary(language), context)
        } else {
            #expect(reason.matchedSkills.count == 1, context)
        }
        #expect(placed.insert(incident).inserted, "\(incident) placed twice; \(context)")
    }
    for (index, decision) in decisions.enumerated() {
        mentioned.insert(decision.incident)
        switch decision {
        case .assigned(let incident, let agent, let reason):
            #expect(beforeAssignments[incident] == nil, context)
            #expect(assignments[incident] == agent, context)
            if case .assignRequested(let requested, let named, let take) = input, requested == incident {
                #expect(named == agent && reason.cause == (take ? "taken" : "requested") && reason.candidatesConsidered == 1, context)
            } else {
                #expect(reason.cause == (incident == fresh ? "initial" : "capacity_freed"), context)
            }
            checkReason(reason, incident, agent)
        case .reassigned(let incident, let from, let to, let reason):
            #expect(from != to, context)
            #expect(beforeAssignments[incident] == from, context)
            #expect(assignments[incident] == to, context)
            switch input {
            case .presence(let agent, .offline):
                #expect(reason.cause == "agent_offline" && from == agent && !before.isAcknowledged(incident), context)
            case .removed(let agent):
                #expect(reason.cause == "agent_removed" && from == agent, context)
            case .profile(let profile):
                #expect(reason.cause == "agent_removed" && from == profile.id && profile.team != deskTeam, context)
            case .severityChanged(let changed, _):
                #expect(reason.cause == "severity_changed" && changed == incident && !before.isAcknowledged(incident), context)
            case .reassignRequested(let requested, let cause):
                #expect(reason.cause == cause && requested == incident, context)
            case .assignRequested(let requested, let named, let take):
                #expect(reason.cause == "requested" && !take && requested == incident && named == to, context)
            case .returnRequested(let returned):
                #expect(reason.cause == "returned" && returned == incident, context)
            default:
                Issue.record("unexpected reassignment; \(context)")
            }
            checkReason(reason, incident, to)
        case .unassigned(let incident, let from, let cause):
            #expect(beforeAssignments[incident] == from, context)
            if case .returnRequested(let returned) = input {
                #expect(cause == "returned" && returned == incident, context)
            } else {
                #expect(cause == "agent_offline" || cause == "agent_removed", context)
            }
            #expect(assignments[incident] == nil, context)
            #expect(
                index + 1 < decisions.count
                    && decisions[index + 1] == .queued(incident: incident, position: queue.firstIndex(of: incident).map { $0 + 1 } ?? -1),
                context)
        case .queued(let incident, let position):
            #expect(position >= 1 && position <= queue.count && queue[position - 1] == incident, context)
            let afterUnassigned =
                index > 0
                && {
                    if case .unassigned(incident, beforeAssignments[incident] ?? "", _) = decisions[index - 1] { true } else { false }
                }()
            #expect(afterUnassigned || incident == fresh, context)
        case .teamChanged, .queueWaiting:
            Issue.record("a desk without team settings moved an incident to another team or alerted; \(context)")
        }
    }
    // Nothing moves or joins the queue silently (released incidents simply go).
    for id in model.open.keys where beforeAssignments[id] != assignments[id] {
        #expect(mentioned.contains(id), "\(id) changed hands without a decision; \(context)")
    }
    for id in queue where !beforeQueue.contains(id) {
        #expect(mentioned.contains(id), "\(id) joined the queue silently; \(context)")
    }

    // Offline agents keep exactly their acknowledged incidents.
    if case .presence(let agent, .offline) = input, before.presence(of: agent) != .offline, before.presence(of: agent) != nil {
        for (incident, holder) in beforeAssignments where holder == agent {
            #expect((assignments[incident] == agent) == before.isAcknowledged(incident), "\(incident); \(context)")
        }
    }

    // A lone placement of a new incident goes to the best eligible agent as the desk stood before.
    if let fresh, decisions.count == 1, case .assigned(fresh, let agent, _) = decisions[0], let incident = model.open[fresh] {
        #expect(before.eligibleAgents(for: incident, at: now, policy: policy).first == agent, context)
    }
}
