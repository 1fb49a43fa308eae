import Foundation
import HeapModule
import TriageCore
import TriageRouting
import TriageSLA

/// The routing of a window replayed under one roster: a ``TeamDesk`` per team driven the way
/// the router drives them (the roster's profiles and presence first, lifecycle inputs at their
/// instants, `.clock` at every shift change and queue deadline, overflow and follow-the-sun
/// moves handed to the receiving desk), with each incident's handling re-timed after the
/// replayed assignment, and its first-response clock kept by the escalator's ``IncidentSla``.
struct RosterReplay {
    /// An acknowledgement or a close by the agent, due at a re-timed instant.
    struct Handling: Comparable {
        enum Kind: Int { case acknowledge, release }
        var at: Date
        var sequence: Int
        var incident: String
        var spell: Int
        var kind: Kind

        /// In time order; at the same instant an acknowledgement before a release.
        static func < (lhs: Handling, rhs: Handling) -> Bool {
            (lhs.at, lhs.kind.rawValue, lhs.sequence) < (rhs.at, rhs.kind.rawValue, rhs.sequence)
        }
    }

    /// A spell that ended (closed, or the window ended) with its outcome.
    struct Finished {
        var incident: String
        var spell: Int
        var team: String
        var severity: SupportSeverity
        var startedAt: Date
        var outcome: StaffingOutcome
    }

    let roster: Roster
    let policy: RoutingPolicy
    let rules: SlaRules
    let defaultTeam: String
    /// How far ahead of the replay history is read (``StaffingReplay/Configuration/lookahead``):
    /// handling is never re-timed earlier than this before history's own instant.
    let lookahead: TimeInterval

    private(set) var now = Date.distantPast
    private var started = false
    private var desks: [String: TeamDesk] = [:]
    private(set) var incidents: [String: ReplayedIncident] = [:]
    private var scheduled = Heap<Handling>()
    private var sequence = 0
    /// Team → its next shift change and its next queue deadline (alert or overflow).
    private var shiftChanges: [String: Date] = [:]
    private var deadlines: [String: Date] = [:]
    /// Ended spells, for the replay to collect.
    var finished: [Finished] = []

    init(roster: Roster, rules: SlaRules, defaultTeam: String, lookahead: TimeInterval) {
        self.roster = roster
        self.lookahead = lookahead
        var policy = roster.policy
        // As the router's desks run: the dispatcher drops a repeated Opened of a closed incident.
        policy.closedIncidentMemory = 0
        self.policy = policy
        self.rules = rules
        self.defaultTeam = defaultTeam
    }

    /// Every incident still open here.
    var openIncidents: Int { incidents.values.count { $0.open } }

    // MARK: Time

    /// Puts the roster's agents on their desks at `instant`: each profile, then the presence the
    /// roster gives (offline unless it says otherwise), as `triage agents apply` publishes them.
    mutating func start(at instant: Date) {
        guard !started else { return }
        started = true
        now = instant
        for team in roster.teams {
            var desk = TeamDesk(team: team)
            for input in roster.inputs(team: team) { _ = desk.apply(input, at: instant, policy: policy) }
            desks[team] = desk
            shiftChanges[team] = desk.nextShiftChange(after: instant, policy: policy)
        }
    }

    /// Applies everything due before or at `instant`: re-timed handling first, then shift
    /// changes and queue deadlines, in time order.
    mutating func advance(to instant: Date, histories: [String: IncidentHistory]) {
        while true {
            let handling = scheduled.min
            let clock = (Array(shiftChanges.values) + Array(deadlines.values)).min()
            if let handling, handling.at <= instant, clock.map({ handling.at <= $0 }) ?? true {
                _ = scheduled.popMin()
                now = max(now, handling.at)
                switch handling.kind {
                case .acknowledge: acknowledge(handling.incident, spell: handling.spell, histories: histories)
                case .release: release(handling.incident, spell: handling.spell, histories: histories)
                }
                continue
            }
            guard let clock, clock <= instant else { break }
            now = max(now, clock)
            let due = Set(shiftChanges.filter { $0.value <= now }.keys).union(deadlines.filter { $0.value <= now }.keys)
            for team in due.sorted() {
                route(.clock, team: team, histories: histories)
                if let change = shiftChanges[team], change <= now {
                    shiftChanges[team] = desks[team]?.nextShiftChange(after: now, policy: policy)
                }
            }
        }
        now = max(now, instant)
    }

    // MARK: Facts at their instant

    /// Applies a fact of history at ``now`` (the caller advanced to its instant).
    mutating func apply(_ fact: StaffingFact, spell: Int, histories: [String: IncidentHistory]) {
        let id = fact.incident
        switch fact.kind {
        case .opened(let opening):
            guard incidents[id] == nil else { return }
            let team = opening.team ?? defaultTeam
            let routing = RoutingIncident(
                id: id, team: team, severity: opening.severity, product: opening.product, language: opening.language, openedAt: now,
                customer: opening.customer)
            let sla = IncidentSla(openedAt: now, severity: opening.severity, coverage: opening.coverage, team: opening.team, rules: rules)
            incidents[id] = ReplayedIncident(routing: routing, spell: spell, startedAt: now, sla: sla)
            route(.opened(routing), team: team, histories: histories)
        case .reopened:
            guard var incident = incidents[id], incident.spell < spell else { return }
            if incident.open {
                // Still held here when history reopens it: its replayed close comes too late.
                route(.released(incident: id), team: incident.routing.team, histories: histories)
                incident = incidents[id]!
                end(&incident, closing: true)
            }
            incident.spell = spell
            incident.startedAt = now
            incident.open = true
            incident.assignedAt = nil
            incident.firstAgent = nil
            incident.firstAgentTeam = nil
            incident.acknowledgeScheduled = false
            incident.releaseScheduled = false
            incident.releaseAt = nil
            incident.firstResponse = nil
            incident.firstResponseMinutes = nil
            incident.teamChanges = 0
            incident.routing.openedAt = now
            incident.homeTeam = incident.routing.team
            incident.sla.apply(.reopened, at: now, rules: rules)
            incidents[id] = incident
            route(.reopened(incident.routing), team: incident.routing.team, histories: histories)
        case .severityChanged(let severity):
            guard var incident = incidents[id] else { return }
            incident.routing.severity = severity
            guard incident.open else {
                incidents[id] = incident
                return
            }
            incident.sla.apply(.severityChanged(severity), at: now, rules: rules)
            incidents[id] = incident
            route(.severityChanged(incident: id, to: severity), team: incident.routing.team, histories: histories)
        case .paused(let reason, let resumeAt):
            guard incidents[id]?.open == true else { return }
            incidents[id]!.sla.apply(.paused(reason: reason, resumeAt: resumeAt), at: now, rules: rules)
        case .customerResponded:
            guard incidents[id]?.open == true else { return }
            incidents[id]!.sla.apply(.customerResponded, at: now, rules: rules)
        case .acknowledged:
            acknowledge(id, spell: spell, histories: histories)
        case .closedByAgent, .closedByCustomer:
            release(id, spell: spell, histories: histories)
        case .assigned:
            break  // history's assignment only times the handling (see scheduleHandling)
        }
    }

    /// History told how long the handling of `incident`'s spell took: schedule it after the
    /// replayed assignment, if there was one. Each instant is the replayed assignment plus
    /// history's duration, but never earlier than ``lookahead`` before history's own instant
    /// (when that was learned, the replay may already have been past it: then now), and the
    /// acknowledgement never after the release.
    mutating func scheduleHandling(of id: String, histories: [String: IncidentHistory]) {
        guard var incident = incidents[id], incident.open, let assignedAt = incident.assignedAt, let history = histories[id],
            incident.spell < history.spells.count
        else { return }
        let spell = history.spells[incident.spell]
        func retimed(_ after: TimeInterval, historically instant: Date?) -> Date {
            let earliest = instant.map { $0.addingTimeInterval(-lookahead) } ?? assignedAt
            return max(now, assignedAt.addingTimeInterval(after), earliest)
        }
        if !incident.releaseScheduled, let after = spell.closedAfter {
            incident.releaseScheduled = true
            let at = retimed(after, historically: spell.closedAt)
            incident.releaseAt = at
            schedule(.release, incident: id, spell: incident.spell, at: at)
        }
        if !incident.acknowledgeScheduled, let after = spell.acknowledgedAfter {
            incident.acknowledgeScheduled = true
            let at = retimed(after, historically: spell.acknowledgedAt)
            schedule(.acknowledge, incident: id, spell: incident.spell, at: incident.releaseAt.map { min($0, at) } ?? at)
        }
        incidents[id] = incident
    }

    /// Ends every spell still open at `instant` (the end of the window).
    mutating func finish(at instant: Date, histories: [String: IncidentHistory]) {
        advance(to: instant, histories: histories)
        for id in incidents.keys.sorted() where incidents[id]!.open {
            var incident = incidents[id]!
            end(&incident, closing: false)
            incidents[id] = incident
        }
    }

    /// Forgets a closed incident (it can no longer be reopened within the replay's memory).
    mutating func forget(_ id: String) {
        if incidents[id]?.open == false { incidents[id] = nil }
    }

    // MARK: Internals

    private mutating func schedule(_ kind: Handling.Kind, incident: String, spell: Int, at instant: Date) {
        sequence += 1
        scheduled.insert(Handling(at: instant, sequence: sequence, incident: incident, spell: spell, kind: kind))
    }

    private mutating func acknowledge(_ id: String, spell: Int, histories: [String: IncidentHistory]) {
        guard var incident = incidents[id], incident.open, incident.spell == spell else { return }
        if !incident.sla.isAcknowledged {
            incident.sla.apply(.acknowledged, at: now, rules: rules)
            let used = incident.sla.firstResponse.used
            incident.firstResponseMinutes = used
            incident.firstResponse = used < target(of: incident) ? .withinTarget : .breached
        }
        incidents[id] = incident
        route(.acknowledged(incident: id), team: incident.routing.team, histories: histories)
    }

    private mutating func release(_ id: String, spell: Int, histories: [String: IncidentHistory]) {
        guard incidents[id]?.open == true, incidents[id]!.spell == spell else { return }
        route(.released(incident: id), team: incidents[id]!.routing.team, histories: histories)
        var incident = incidents[id]!
        end(&incident, closing: true)
        incidents[id] = incident
    }

    private func target(of incident: ReplayedIncident) -> Double {
        rules.policy.targets(for: incident.sla.severity, coverage: incident.sla.coverage).firstResponseMinutes
    }

    /// Ends the incident's spell at ``now``: closed, or cut off by the end of the window.
    private mutating func end(_ incident: inout ReplayedIncident, closing: Bool) {
        var firstResponse = incident.firstResponse
        if firstResponse == nil {
            var sla = incident.sla
            sla.apply(.closed, at: now, rules: rules)
            let breached = sla.firstResponse.used >= target(of: incident)
            firstResponse = breached ? .breached : closing ? .unanswered : .open
        }
        if closing { incident.sla.apply(.closed, at: now, rules: rules) }
        incident.open = false
        let outcome = StaffingOutcome(
            queueWait: (incident.assignedAt ?? now).timeIntervalSince(incident.startedAt), assigned: incident.assignedAt != nil,
            firstAgent: incident.firstAgent, firstAgentTeam: incident.firstAgentTeam, firstResponse: firstResponse!,
            firstResponseMinutes: incident.firstResponseMinutes, teamChanges: incident.teamChanges)
        finished.append(
            Finished(
                incident: incident.routing.id, spell: incident.spell, team: incident.homeTeam, severity: incident.sla.severity,
                startedAt: incident.startedAt, outcome: outcome))
    }

    /// Applies `input` to `team`'s desk at ``now`` and follows its decisions.
    private mutating func route(_ input: RoutingInput, team: String, histories: [String: IncidentHistory]) {
        if desks[team] == nil {
            desks[team] = TeamDesk(team: team)
            shiftChanges[team] = nil
        }
        let decisions = desks[team]!.apply(input, at: now, policy: policy)
        // Everything due up to now was decided by this input; a deadline not after now would
        // only repeat itself.
        if let due = desks[team]!.nextDeadline(after: now, policy: policy), due > now {
            deadlines[team] = due
        } else {
            deadlines[team] = nil
        }
        for decision in decisions {
            switch decision {
            case .assigned(let id, let agent, _), .reassigned(let id, _, let agent, _):
                guard var incident = incidents[id], incident.open, incident.assignedAt == nil else { continue }
                incident.assignedAt = now
                incident.firstAgent = agent
                incident.firstAgentTeam = team
                incidents[id] = incident
                scheduleHandling(of: id, histories: histories)
            case .teamChanged(let id, _, let to, _, _):
                guard var incident = incidents[id] else { continue }
                incident.routing.team = to
                incident.teamChanges += 1
                incidents[id] = incident
                // What the dispatcher does with the published TeamChanged: the new team's desk
                // queues it in its place.
                route(.transferred(incident.routing), team: to, histories: histories)
            case .queued, .unassigned, .queueWaiting:
                continue
            }
        }
    }
}
