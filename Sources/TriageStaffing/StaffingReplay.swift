public import Foundation
import HeapModule
import TriageCore
public import TriageRouting
public import TriageSLA

/// "What if this roster had been in force?": the routing of a window of lifecycle facts
/// replayed through the router's own desks (``TeamDesk``, ``RoutingPolicy``, team settings:
/// least-loaded or round robin, overflow, follow-the-sun, shift calendars) under a baseline and
/// a candidate roster at once, with first responses measured by the escalator's SLA code
/// (``IncidentSla`` under an ``SlaPolicy``: targets, business calendars, pauses, severity
/// changes, reopening).
///
/// ## The model
/// History cannot say what agents who did not exist would have done, so the replay keeps what
/// it knows and re-simulates only the queue:
/// - **Incident facts keep their instant**: opened, severity changes, waiting on the customer
///   and the customer's response, the customer's close request, reopened.
/// - **Handling keeps its duration**: an incident acknowledged `d₁` and closed by its agent `d₂`
///   after its first historical assignment is acknowledged `d₁` and released `d₂` after its
///   *replayed* first assignment, whoever that agent is (the agent holds its load until then).
///   An incident acknowledged or closed at an instant before history assigned it (answered
///   from the queue) keeps that instant; this is decided by the facts' instants, not the order
///   they are read in (the router publishes an Assigned stamped with its decision's instant,
///   sometimes after a quick acknowledgement). One that history never assigned is never acknowledged by an agent
///   in the replay (history cannot tell when it would have been): it holds its agent until the
///   customer's close, or the end of the window.
/// - **Presence comes from the roster**: each agent is on the desk from the start of the window
///   with the file's `presence` (default `offline`: such an agent takes nothing) and works their
///   `shift` calendar; historical agent events are not replayed. People's requests (reassign,
///   take, give back) and SLA-breach reassignments are not replayed either: they named agents
///   of the roster that was in force.
/// - The routing's own moves (overflow, follow-the-sun) are decided by the replay, not taken from
///   history.
///
/// Deterministic: the same facts and rosters give the same result. Facts are applied in time
/// order; they may arrive out of order by up to ``Configuration/lookahead`` (Kafka partitions
/// interleave), which is also how far ahead of the replay history is read, so that an
/// incident assigned earlier than history assigned it finds its handling durations known. An
/// incident's re-timed acknowledgement and release are never earlier than the look-ahead before
/// history's own instants: an incident the replay assigns more than the look-ahead before history
/// did gains at most the look-ahead.
///
/// Memory: the facts within the look-ahead, and a small record per incident that is open, or
/// closed within ``Configuration/reopenMemory`` (so that a Reopened finds it).
public struct StaffingReplay: Sendable {
    /// How the replay reads history. Every field has a default.
    public struct Configuration: Sendable, Hashable {
        /// The team of an incident opened without one; the router's `--default-team`.
        /// Default `general`.
        public var defaultTeam: String
        /// How far history is read ahead of the replay (and how far out of order facts may
        /// arrive). Default 24 hours.
        public var lookahead: TimeInterval
        /// How long a closed incident is remembered for a Reopened. Default 30 days.
        public var reopenMemory: TimeInterval
        /// Keep every replayed incident in ``StaffingComparison/incidents`` (memory grows with
        /// the window). Default `false`.
        public var listsEveryIncident: Bool

        public init(
            defaultTeam: String = "general", lookahead: TimeInterval = 86_400, reopenMemory: TimeInterval = 30 * 86_400,
            listsEveryIncident: Bool = false
        ) {
            self.defaultTeam = defaultTeam
            self.lookahead = max(0, lookahead)
            self.reopenMemory = max(0, reopenMemory)
            self.listsEveryIncident = listsEveryIncident
        }
    }

    /// How far a replay is, for progress lines.
    public struct Progress: Sendable, Hashable {
        public var facts: Int
        /// The instant the replay has reached; `nil` before the first fact.
        public var replayedThrough: Date?
        /// Incidents open in the baseline replay.
        public var openIncidents: Int
    }

    private struct PendingFact: Comparable {
        var fact: StaffingFact
        var spell: Int
        var sequence: Int

        static func < (lhs: PendingFact, rhs: PendingFact) -> Bool {
            lhs.fact.at != rhs.fact.at ? lhs.fact.at < rhs.fact.at : lhs.sequence < rhs.sequence
        }
        static func == (lhs: PendingFact, rhs: PendingFact) -> Bool { lhs.sequence == rhs.sequence }
    }

    /// A fact read, waiting to be put in time order.
    private struct ArrivingFact: Comparable {
        var fact: StaffingFact
        var sequence: Int

        /// At the same instant: an opening first, closes before a reopening, a reopening before
        /// its assignment, an assignment before the rest (whether an acknowledgement or a close
        /// was handling is decided by instants, so a close at its assignment's instant still is).
        var rank: Int {
            switch fact.kind {
            case .opened: 0
            case .closedByAgent: 1
            case .closedByCustomer: 2
            case .reopened: 3
            case .assigned: 4
            case .severityChanged: 5
            case .paused: 6
            case .customerResponded: 7
            case .acknowledged: 8
            }
        }

        /// Time, rank, then the incident's id: facts at the same instant come out in the same
        /// order however they were read.
        static func < (lhs: ArrivingFact, rhs: ArrivingFact) -> Bool {
            (lhs.fact.at, lhs.rank, lhs.fact.incident, lhs.sequence) < (rhs.fact.at, rhs.rank, rhs.fact.incident, rhs.sequence)
        }
        static func == (lhs: ArrivingFact, rhs: ArrivingFact) -> Bool { lhs.sequence == rhs.sequence }
    }

    /// A spell one replay finished, waiting for the other.
    private struct HalfDone {
        var baseline: RosterReplay.Finished?
        var candidate: RosterReplay.Finished?
    }

    public let configuration: Configuration
    private let start: Date?
    private let end: Date?
    /// Facts read, put in time order (see ``add(_:)``).
    private var arriving = Heap<ArrivingFact>()
    private var newestRead: Date?
    private var baseline: RosterReplay
    private var candidate: RosterReplay
    private var histories: [String: IncidentHistory] = [:]
    private var pending = Heap<PendingFact>()
    private var sequence = 0
    private var newest: Date?
    private var delivered: Date?
    private var closures: [(id: String, at: Date)] = []
    private var closureCursor = 0
    private var halfDone: [String: HalfDone] = [:]

    private var facts = 0
    private var ignored = 0
    private var late = 0
    private var byTeam: [String: StaffingRow] = [:]
    private var bySeverity: [SupportSeverity: StaffingRow] = [:]
    private var total = StaffingRow(group: nil)
    private var changes: [StaffingIncident] = []
    private var everyIncident: [StaffingIncident] = []

    /// - Parameters:
    ///   - baseline: The roster to compare with (usually the one in force).
    ///   - candidate: The roster to try.
    ///   - sla: The SLA policy whose first-response targets and calendars measure both.
    ///   - start: The window's start: agents take their places then. Default: the first fact's instant.
    ///   - end: The window's end, when known: facts after it are read for their handling
    ///     durations only (an incident the candidate assigns before `end` but history after it is
    ///     acknowledged within the window). Give facts up to `end` plus the look-ahead.
    public init(
        baseline: Roster, candidate: Roster, sla: SlaPolicy, start: Date? = nil, end: Date? = nil,
        configuration: Configuration = Configuration()
    ) {
        let rules = SlaRules(sla)
        self.configuration = configuration
        self.start = start
        self.end = end
        self.baseline = RosterReplay(
            roster: baseline, rules: rules, defaultTeam: configuration.defaultTeam, lookahead: configuration.lookahead)
        self.candidate = RosterReplay(
            roster: candidate, rules: rules, defaultTeam: configuration.defaultTeam, lookahead: configuration.lookahead)
    }

    public var progress: Progress {
        Progress(facts: facts, replayedThrough: delivered, openIncidents: baseline.openIncidents)
    }

    /// Reads one fact of history, in time order give or take the look-ahead: facts are put in
    /// time order (at the same instant: opened, closes, reopened, assigned, severity, pauses,
    /// the customer's response, acknowledged; then by incident id) a look-ahead behind the
    /// newest read, so the order of lines within it does not matter.
    public mutating func add(_ fact: StaffingFact) {
        facts += 1
        newestRead = max(newestRead ?? fact.at, fact.at)
        sequence += 1
        arriving.insert(ArrivingFact(fact: fact, sequence: sequence))
        let horizon = newestRead!.addingTimeInterval(-configuration.lookahead)
        while let next = arriving.min, next.fact.at <= horizon { interpret(arriving.removeMin().fact) }
    }

    /// Takes a fact in time order into history, and queues what the replays apply at its instant.
    private mutating func interpret(_ fact: StaffingFact) {
        let id = fact.incident
        if let end, fact.at >= end {
            switch fact.kind {
            case .assigned, .acknowledged, .closedByAgent: break  // handling durations of the window's incidents
            default: return
            }
        }
        if case .opened(let opening) = fact.kind {
            guard histories[id] == nil else {  // repeated, as the router ignores it
                ignored += 1
                return
            }
            histories[id] = IncidentHistory(opening: opening)
            enqueue(fact, spell: 0)
            deliverDue(after: fact.at)
            return
        }
        guard var history = histories[id] else {
            if end.map({ fact.at < $0 }) ?? true { ignored += 1 }
            return
        }
        let spell = history.spell
        switch fact.kind {
        case .opened:
            return
        case .assigned:
            guard history.spells[spell].assignedAt == nil else { return }
            if let closedAt = history.spells[spell].closedAt, closedAt < fact.at { return }
            history.spells[spell].assignedAt = fact.at
            histories[id] = history
            // An acknowledgement or close read before this Assigned but timed after it was
            // handling: its duration is known now.
            if history.spells[spell].acknowledgedAfter != nil || history.spells[spell].closedAfter != nil { learned(id) }
            deliverDue(after: fact.at)
            return
        case .acknowledged:
            guard history.spells[spell].acknowledgedAt == nil else { return }
            // After the close: ignored (an agent's close read first may be timed after it).
            if history.closed, history.spells[spell].closedAt.map({ $0 < fact.at }) ?? true { return }
            history.spells[spell].acknowledgedAt = fact.at
            histories[id] = history
            if history.spells[spell].isHandling(at: fact.at) {
                learned(id)
            } else {
                // From the queue, unless an Assigned timed before it is still to be read: the
                // delivery decides (see deliver).
                enqueue(fact, spell: spell)
            }
            deliverDue(after: fact.at)
            return
        case .closedByAgent:
            guard !history.closed else { return }
            history.closed = true
            history.spells[spell].closedAt = fact.at
            closures.append((id, fact.at))
            histories[id] = history
            if history.spells[spell].isHandling(at: fact.at) {
                learned(id)
            } else {
                enqueue(fact, spell: spell)
            }
            deliverDue(after: fact.at)
            return
        case .closedByCustomer:
            guard !history.closed else { return }
            history.closed = true
            closures.append((id, fact.at))
            enqueue(fact, spell: spell)
        case .reopened:
            guard history.closed else { return }
            history.closed = false
            history.spell += 1
            history.spells.append(IncidentHistory.Spell())
            enqueue(fact, spell: history.spell)
        case .severityChanged(let severity):
            history.opening.severity = severity
            enqueue(fact, spell: spell)
        case .paused, .customerResponded:
            enqueue(fact, spell: spell)
        }
        histories[id] = history
        deliverDue(after: fact.at)
    }

    /// Replays what is left up to `end` (the window's end), ends every incident still open
    /// there, and compares.
    public mutating func finish(at end: Date) -> StaffingComparison {
        while let next = arriving.popMin() { interpret(next.fact) }
        while let next = pending.min, next.fact.at < end { deliver(pending.removeMin()) }
        pending = Heap()
        let first = start ?? delivered ?? end
        baseline.start(at: first)
        candidate.start(at: first)
        baseline.finish(at: max(end, baseline.now), histories: histories)
        candidate.finish(at: max(end, candidate.now), histories: histories)
        collect()
        let teams = byTeam.keys.sorted().map { byTeam[$0]! }
        let severities = SupportSeverity.allCases.compactMap { bySeverity[$0] }
        changes.sort { ($0.startedAt, $0.incident, $0.spell) < ($1.startedAt, $1.incident, $1.spell) }
        everyIncident.sort { ($0.startedAt, $0.incident, $0.spell) < ($1.startedAt, $1.incident, $1.spell) }
        return StaffingComparison(
            window: DateInterval(start: min(first, end), end: end), byTeam: teams, bySeverity: severities, total: total, changes: changes,
            incidents: everyIncident, facts: facts, ignoredFacts: ignored, lateFacts: late)
    }

    // MARK: Internals

    private mutating func enqueue(_ fact: StaffingFact, spell: Int) {
        sequence += 1
        pending.insert(PendingFact(fact: fact, spell: spell, sequence: sequence))
    }

    /// Handling durations became known: each replay schedules them if it has assigned the incident.
    private mutating func learned(_ id: String) {
        baseline.scheduleHandling(of: id, histories: histories)
        candidate.scheduleHandling(of: id, histories: histories)
    }

    /// Replays the facts that are `lookahead` older than the newest one read.
    private mutating func deliverDue(after instant: Date) {
        newest = max(newest ?? instant, instant)
        let horizon = newest!.addingTimeInterval(-configuration.lookahead)
        while let next = pending.min, next.fact.at <= horizon {
            deliver(pending.removeMin())
        }
        forgetClosed(before: horizon.addingTimeInterval(-configuration.reopenMemory))
    }

    private mutating func deliver(_ pending: PendingFact) {
        if isHandling(pending) { return }
        if let end, pending.fact.at >= end { return }  // after the window: history only
        var at = pending.fact.at
        if let delivered, at < delivered {
            late += 1
            at = delivered
        }
        if delivered == nil {
            let first = min(start ?? at, at)
            baseline.start(at: first)
            candidate.start(at: first)
        }
        delivered = at
        var fact = pending.fact
        fact.at = at
        baseline.advance(to: at, histories: histories)
        baseline.apply(fact, spell: pending.spell, histories: histories)
        candidate.advance(to: at, histories: histories)
        candidate.apply(fact, spell: pending.spell, histories: histories)
        collect()
    }

    /// Whether a queued acknowledgement or agent's close turned out to be handling by the
    /// agent history assigned (an Assigned timed before it was read after it): the replays
    /// re-time it after their own assignment instead (``learned(_:)``).
    private func isHandling(_ pending: PendingFact) -> Bool {
        switch pending.fact.kind {
        case .acknowledged, .closedByAgent:
            guard let history = histories[pending.fact.incident], pending.spell < history.spells.count else { return false }
            return history.spells[pending.spell].isHandling(at: pending.fact.at)
        default:
            return false
        }
    }

    /// Pairs the spells both replays finished and counts them.
    private mutating func collect() {
        for finished in baseline.finished {
            halfDone["\(finished.incident)\u{0}\(finished.spell)", default: HalfDone()].baseline = finished
        }
        for finished in candidate.finished {
            halfDone["\(finished.incident)\u{0}\(finished.spell)", default: HalfDone()].candidate = finished
        }
        let keys = baseline.finished.map { "\($0.incident)\u{0}\($0.spell)" } + candidate.finished.map { "\($0.incident)\u{0}\($0.spell)" }
        baseline.finished.removeAll()
        candidate.finished.removeAll()
        for key in keys {
            guard let pair = halfDone[key], let one = pair.baseline, let other = pair.candidate else { continue }
            halfDone[key] = nil
            let incident = StaffingIncident(
                incident: one.incident, spell: one.spell, team: one.team, severity: one.severity, startedAt: one.startedAt,
                baseline: one.outcome, candidate: other.outcome)
            byTeam[incident.team, default: StaffingRow(group: incident.team)].add(incident)
            bySeverity[incident.severity, default: StaffingRow(group: incident.severity.rawValue)].add(incident)
            total.add(incident)
            if incident.isChanged { changes.append(incident) }
            if configuration.listsEveryIncident { everyIncident.append(incident) }
        }
    }

    /// Forgets incidents closed before `cutoff` and not reopened since.
    private mutating func forgetClosed(before cutoff: Date) {
        while closureCursor < closures.count, closures[closureCursor].at < cutoff {
            let id = closures[closureCursor].id
            closureCursor += 1
            guard histories[id]?.closed == true else { continue }
            if baseline.incidents[id]?.open == true || candidate.incidents[id]?.open == true {
                // History closed it, a replay still holds it (assigned later): try again later.
                closures.append((id, cutoff.addingTimeInterval(configuration.reopenMemory)))
                continue
            }
            histories[id] = nil
            baseline.forget(id)
            candidate.forget(id)
        }
        if closureCursor > 1_024, closureCursor * 2 > closures.count {
            closures.removeFirst(closureCursor)
            closureCursor = 0
        }
    }
}
