public import Foundation
import TriageCore

/// One team's routing state: its agents with their presence and load, the open incidents and
/// who holds them, and the queue of incidents nobody can take yet.
///
/// Every change goes through ``apply(_:at:policy:)``, which is deterministic (the same inputs at
/// the same instants give the same state and decisions), so the state can always be rebuilt by
/// replaying the team's events; it is `Codable` for snapshots. One writer per team.
///
/// ## Rules
/// - **Eligible**: the agent has the incident's product, speaks its language (primary subtag,
///   `de-CH` serves `de`; incidents without a language need none), is `online`, is on shift
///   (their calendar is open at the input's instant; no calendar: always) and has room for the
///   incident's weight (load + weight ≤ capacity).
/// - **Choice**: the lowest load ratio (load / capacity), then the lowest load, then the longest
///   idle (earliest last assignment; never assigned first), then the smallest id.
/// - **Queue**: incidents nobody can take wait, severity A first, then by `openedAt`, then id.
///   After every input the queue is drained in that order; an incident that still cannot be
///   placed does not hold back later ones that can (another product, say). So capacity freed
///   by a release, a move, an agent coming online, joining or gaining capacity, and shifts
///   starting (``RoutingInput/clock``) is used at once.
/// - **Moves**: an agent going `offline` hands back the incidents they have not acknowledged;
///   a removed agent hands back all. Each goes to another eligible agent or, if there is none,
///   back to the queue (``RoutingDecision/unassigned(incident:from:)`` then
///   ``RoutingDecision/queued(incident:position:)``). A reassignment request moves the incident
///   to another eligible agent; when nobody else qualifies it stays where it is and nothing is
///   decided. An incident never goes back to the agent it last left while someone else
///   qualifies. `away` agents take no new work and keep what they hold.
/// - **Severity changes** re-weigh the incident. An upgrade that no longer fits its agent's
///   capacity moves an unacknowledged incident to an eligible agent with room; otherwise (it
///   was acknowledged, or nobody has room) it stays and the agent is *tolerated* above
///   capacity. Lowering an agent's capacity below their load is tolerated the same way. These
///   are the only ways a load exceeds capacity; such an agent gets no new work until back
///   within capacity.
/// - **Repeats** change nothing: a second Opened (even after the release, within
///   ``RoutingPolicy/closedIncidentMemory``), Released, Acknowledged, a presence or profile
///   that is already current. Inputs about unknown incidents or agents, and incidents or
///   profiles of other teams, are ignored (a profile for another team takes a known agent
///   off this desk).
public struct TeamDesk: Sendable, Hashable, Codable {
    public let team: String
    var staff: [String: Member] = [:]
    var open: [String: Ticket] = [:]
    /// Unassigned open incidents in service order.
    var waiting: [String] = []
    /// Released incidents still remembered, by id, and in release order for forgetting.
    var closed: [String: Date] = [:]
    var closures: [Closure] = []
    /// Round robin (``TeamSettings/Choice/roundRobin``): the agent the rotation chose last;
    /// the next turn goes to the next eligible id after it. Absent in older snapshots.
    var rotation: String?

    struct Member: Sendable, Hashable, Codable {
        var profile: Agent
        var presence: Presence
        var load: Int
        var lastAssignedAt: Date?
        /// The load tolerated above capacity (see "Severity changes" above); `nil` within capacity.
        var toleratedLoad: Int?
        /// Whether the agent was on shift when the desk last looked (kept only for teams with
        /// follow-the-sun, to see a shift end); `nil`: not known yet.
        var onShift: Bool?
    }

    struct Ticket: Sendable, Hashable, Codable {
        var incident: RoutingIncident
        var agent: String?
        /// Load units charged to ``agent`` (the weight at the time of charging); 0 when queued.
        var units: Int
        var acknowledged: Bool
        /// The agent the incident last left.
        var previousAgent: String?
        /// While queued: since when it waits in this team's queue (`nil` in older snapshots: its
        /// `openedAt` counts).
        var queuedSince: Date?
        /// While queued: whether the team's queue alert fired for it since it was queued.
        var queueAlerted: Bool?
    }

    struct Closure: Sendable, Hashable, Codable {
        var id: String
        var at: Date
    }

    public init(team: String) {
        self.team = team
    }

    // MARK: Reading

    /// Incident id → agent id for every assigned incident.
    public var assignments: [String: String] { open.compactMapValues(\.agent) }

    /// Waiting incident ids in service order.
    public var queue: [String] { waiting }

    /// The agent's load in units; 0 for an unknown agent.
    public func load(of agent: String) -> Int { staff[agent]?.load ?? 0 }

    /// The agent's current profile, if they are on this desk.
    public func profile(of agent: String) -> Agent? { staff[agent]?.profile }

    /// The agent's presence, if they are on this desk (agents join `offline`).
    public func presence(of agent: String) -> Presence? { staff[agent]?.presence }

    /// All agents on the desk, by id.
    public var agents: [Agent] { staff.values.map(\.profile).sorted { $0.id < $1.id } }

    /// The open incident (assigned or queued).
    public func incident(_ id: String) -> RoutingIncident? { open[id]?.incident }

    /// Whether the incident's current agent has acknowledged it.
    public func isAcknowledged(_ incident: String) -> Bool { open[incident]?.acknowledged ?? false }

    /// Agents eligible for `incident` at `instant`, best first (see the choice rule above).
    /// Explains a queued incident: empty means nobody can take it now.
    public func eligibleAgents(for incident: RoutingIncident, at instant: Date, policy: RoutingPolicy) -> [String] {
        var round = Round(at: instant, policy: policy)
        let units = policy.weight(of: incident.severity)
        return staff.values.filter { isEligible($0, for: incident, units: units, round: &round) }
            .sorted(by: Self.isPreferred).map(\.profile.id)
    }

    /// What "take next" gives `agent`: the first waiting incident, in service order, the agent
    /// qualifies for (product, language, room for its weight; presence and shift are not asked:
    /// the agent is asking); `nil` when none fits or the agent is not on this desk. A staff tool
    /// asks the router for it with ``RoutingInput/assignRequested(incident:agent:onlyIfWaiting:)``.
    public func nextTakeable(by agent: String, policy: RoutingPolicy) -> String? {
        guard let member = staff[agent] else { return nil }
        return waiting.first { id in
            guard let incident = open[id]?.incident else { return false }
            return Self.qualifies(member, for: incident, units: policy.weight(of: incident.severity))
        }
    }

    /// The next instant after `instant` at which any agent's shift starts or ends; `nil` if no
    /// agent has a shift calendar that ever changes. The worker applies ``RoutingInput/clock``
    /// then, and asks again after every input (profiles change calendars).
    public func nextShiftChange(after instant: Date, policy: RoutingPolicy) -> Date? {
        Set(staff.values.compactMap(\.profile.shiftCalendar))
            .compactMap { policy.calendars[$0] }
            .compactMap { ShiftEdges.next(after: instant, in: $0) }
            .min()
    }

    /// The next instant at which a queue alert or an overflow of this desk falls due (it may be
    /// in the past when one is overdue); `nil` when the team has neither or nothing waits. The
    /// worker applies ``RoutingInput/clock`` then, and asks again after every input.
    public func nextDeadline(after instant: Date, policy: RoutingPolicy) -> Date? {
        let settings = policy.settings(for: team)
        guard settings.overflow != nil || settings.queueAlert != nil, !waiting.isEmpty else { return nil }
        var next: Date?
        func consider(_ date: Date) { if next.map({ date < $0 }) ?? true { next = date } }
        if settings.overflow != nil {
            for id in waiting {
                guard let ticket = open[id], let after = overflowThreshold(for: ticket.incident.severity, in: settings) else { continue }
                consider(Self.waitingSince(ticket).addingTimeInterval(after))
            }
        }
        if let alert = settings.queueAlert, !alert.notify.isEmpty, let oldest = oldestWaiting(), open[oldest]?.queueAlerted != true {
            consider(Self.waitingSince(open[oldest]!).addingTimeInterval(alert.after))
        }
        return next
    }

    /// How long an incident of `severity` may wait in this team's queue before it overflows;
    /// `nil` when the team does not send it on.
    private func overflowThreshold(for severity: SupportSeverity, in settings: TeamSettings) -> TimeInterval? {
        guard let overflow = settings.overflow, overflow.to != team else { return nil }
        return overflow.after[severity]
    }

    /// Since when a queued ticket waits in this team's queue.
    static func waitingSince(_ ticket: Ticket) -> Date { ticket.queuedSince ?? ticket.incident.openedAt }

    /// The waiting incident that has waited longest (ties: service order).
    func oldestWaiting() -> String? {
        var best: (id: String, since: Date)?
        for id in waiting {
            guard let ticket = open[id] else { continue }
            let since = Self.waitingSince(ticket)
            if best.map({ since < $0.since }) ?? true { best = (id, since) }
        }
        return best?.id
    }

    // MARK: Applying inputs

    /// What one input needs while it is applied.
    struct Round {
        let at: Date
        let policy: RoutingPolicy
        var decisions: [RoutingDecision] = []
        /// Incidents opened or reopened by this input.
        var fresh: Set<String> = []
        /// Incidents that arrived from another team with this input.
        var transferred: Set<String> = []
        /// Incidents taken from an agent by this input that must be placed again: from whom, why.
        var displaced: [String: (from: String, cause: String)] = [:]
        /// Incidents given back by this input, and the agent who gave each back (not chosen again
        /// within this input).
        var excluded: [String: String] = [:]
        /// Queued incidents whose place in the queue may have changed (severity).
        var reordered: Set<String> = []
        var shiftOpen: [String: Bool] = [:]

        init(at: Date, policy: RoutingPolicy) {
            self.at = at
            self.policy = policy
        }

        mutating func isOnShift(_ agent: Agent) -> Bool {
            guard let name = agent.shiftCalendar else { return true }
            if let known = shiftOpen[name] { return known }
            let open = policy.calendars[name]?.isOpen(at: at) ?? false
            shiftOpen[name] = open
            return open
        }
    }

    /// Applies one input at its instant and returns what was decided, in order.
    public mutating func apply(_ input: RoutingInput, at instant: Date, policy: RoutingPolicy) -> [RoutingDecision] {
        var round = Round(at: instant, policy: policy)
        switch input {
        case .opened(let incident): open(incident, reopening: false, round: &round)
        case .reopened(let incident): open(incident, reopening: true, round: &round)
        case .transferred(let incident):
            open(incident, reopening: true, round: &round)
            if round.fresh.contains(incident.id) { round.transferred.insert(incident.id) }
        case .acknowledged(let id):
            if open[id]?.agent != nil { open[id]!.acknowledged = true }
        case .severityChanged(let id, let severity): changeSeverity(of: id, to: severity, round: &round)
        case .released(let id): release(id, at: instant)
        case .reassignRequested(let id, let cause): reassign(id, cause: cause, round: &round)
        case .assignRequested(let id, let agent, let onlyIfWaiting): give(id, to: agent, onlyIfWaiting: onlyIfWaiting, round: &round)
        case .returnRequested(let id): giveBack(id, round: &round)
        case .profile(let agent): updateProfile(agent, round: &round)
        case .removed(let agent): remove(agent, round: &round)
        case .presence(let agent, let presence): setPresence(of: agent, to: presence, round: &round)
        case .clock: break
        }
        handOffAtShiftEnd(round: &round)
        drainQueue(round: &round)
        // Due actions in due order: a late round (a slow timer, a restart) that finds the queue
        // alert and the overflow both due alerts first when the alert came due first.
        alertOnOldestWaiting(round: &round, onlyIfDueBeforeOverflow: true)
        overflowWaiting(round: &round)
        alertOnOldestWaiting(round: &round, onlyIfDueBeforeOverflow: false)
        settleTolerances()
        forgetClosures(before: instant.addingTimeInterval(-policy.closedIncidentMemory))
        return finish(round)
    }

    private mutating func open(_ incident: RoutingIncident, reopening: Bool, round: inout Round) {
        guard incident.team == team, open[incident.id] == nil else { return }
        if reopening {
            closed[incident.id] = nil
        } else if closed[incident.id] != nil {
            return  // a repeated Opened for an incident already released
        }
        open[incident.id] = Ticket(
            incident: incident, agent: nil, units: 0, acknowledged: false, previousAgent: nil, queuedSince: round.at, queueAlerted: nil)
        waiting.append(incident.id)  // drainQueue restores the order
        round.fresh.insert(incident.id)
    }

    private mutating func release(_ id: String, at instant: Date) {
        guard let ticket = open.removeValue(forKey: id) else { return }
        if let agent = ticket.agent {
            staff[agent]?.load -= ticket.units
        } else {
            waiting.removeAll { $0 == id }
        }
        closed[id] = instant
        closures.append(Closure(id: id, at: instant))
    }

    private mutating func changeSeverity(of id: String, to severity: SupportSeverity, round: inout Round) {
        guard var ticket = open[id], ticket.incident.severity != severity else { return }
        ticket.incident.severity = severity
        open[id] = ticket
        guard let agent = ticket.agent, var member = staff[agent] else {
            round.reordered.insert(id)  // queued: the drain puts it in its new place
            return
        }
        let units = round.policy.weight(of: severity)
        let extra = units - ticket.units
        if extra > 0, member.load + extra > member.profile.capacity {
            if !ticket.acknowledged,
                let choice = choose(for: ticket.incident, units: units, leaving: agent, avoiding: ticket.previousAgent, round: &round)
            {
                move(id, to: choice, cause: AssignmentReason.Cause.severityChanged, round: &round)
                return
            }
            member.toleratedLoad = max(member.toleratedLoad ?? 0, member.load + extra)
        }
        member.load += extra
        staff[agent] = member
        open[id]!.units = units
    }

    private mutating func reassign(_ id: String, cause: String, round: inout Round) {
        guard let ticket = open[id], let agent = ticket.agent else { return }
        let units = round.policy.weight(of: ticket.incident.severity)
        guard let choice = choose(for: ticket.incident, units: units, leaving: agent, avoiding: ticket.previousAgent, round: &round) else {
            return  // nobody else qualifies: it stays
        }
        move(id, to: choice, cause: cause, round: &round)
    }

    private mutating func give(_ id: String, to agent: String, onlyIfWaiting: Bool, round: inout Round) {
        guard let ticket = open[id], ticket.agent != agent, let member = staff[agent] else { return }
        if onlyIfWaiting, ticket.agent != nil { return }
        let units = round.policy.weight(of: ticket.incident.severity)
        guard Self.qualifies(member, for: ticket.incident, units: units) else { return }
        let choice = Choice(agent: agent, considered: 1, matchedSkills: Self.matchedSkills(of: member.profile, for: ticket.incident))
        let cause = onlyIfWaiting ? AssignmentReason.Cause.taken : AssignmentReason.Cause.requested
        if ticket.agent != nil {
            move(id, to: choice, cause: cause, round: &round)
        } else {
            waiting.removeAll { $0 == id }
            let reason = charge(id, to: choice, cause: cause, round: round)
            round.decisions.append(.assigned(incident: id, agent: agent, reason: reason))
        }
    }

    private mutating func giveBack(_ id: String, round: inout Round) {
        guard open[id]?.agent != nil else { return }
        displace(id, cause: AssignmentReason.Cause.returned, round: &round)
        if let from = round.displaced[id]?.from { round.excluded[id] = from }
    }

    private mutating func updateProfile(_ profile: Agent, round: inout Round) {
        var profile = profile
        profile.capacity = max(0, profile.capacity)
        guard profile.team == team else {
            if staff[profile.id] != nil { remove(profile.id, round: &round) }
            return
        }
        guard var member = staff[profile.id] else {
            var member = Member(profile: profile, presence: .offline, load: 0, lastAssignedAt: nil, toleratedLoad: nil)
            if round.policy.settings(for: team).followTheSun != nil { member.onShift = round.isOnShift(profile) }
            staff[profile.id] = member
            return
        }
        member.profile = profile
        if member.load > profile.capacity { member.toleratedLoad = max(member.toleratedLoad ?? 0, member.load) }
        staff[profile.id] = member
    }

    private mutating func remove(_ agent: String, round: inout Round) {
        guard staff[agent] != nil else { return }
        for id in incidents(of: agent) { displace(id, cause: AssignmentReason.Cause.agentRemoved, round: &round) }
        staff[agent] = nil
    }

    private mutating func setPresence(of agent: String, to presence: Presence, round: inout Round) {
        guard let member = staff[agent], member.presence != presence else { return }
        staff[agent]!.presence = presence
        guard presence == .offline else { return }
        for id in incidents(of: agent) where !open[id]!.acknowledged {
            displace(id, cause: AssignmentReason.Cause.agentOffline, round: &round)
        }
    }

    // MARK: Placing

    /// Places the queue and the incidents this input displaced, in service order.
    private mutating func drainQueue(round: inout Round) {
        if round.displaced.isEmpty, !anyoneHasRoom(round: &round) {
            // Nobody online and on shift has room for even the lightest incident, so nothing
            // can be placed: the queue only needs its new and re-weighed entries put in place
            // (what the full drain below would give, without its work over the whole queue —
            // a team that queues thousands would otherwise pay for all of them on every input).
            orderQueue(round: round)
            for id in round.fresh.sorted(by: { Self.serves(open[$0]!.incident, before: open[$1]!.incident) }) {
                round.decisions.append(.queued(incident: id, position: 0))
            }
            return
        }
        var pool = waiting
        pool.append(contentsOf: round.displaced.keys)
        guard !pool.isEmpty else { return }
        pool.sort { Self.serves(open[$0]!.incident, before: open[$1]!.incident) }
        // Placing only fills agents up, so what found nobody once finds nobody later in this drain.
        var hopeless: Set<NeedKey> = []
        var stillWaiting: [String] = []
        for id in pool {
            let incident = open[id]!.incident
            let units = round.policy.weight(of: incident.severity)
            let need = NeedKey(incident: incident, units: units)
            let displacement = round.displaced[id]
            if !hopeless.contains(need),
                let choice = choose(
                    for: incident, units: units, leaving: round.excluded[id], avoiding: open[id]!.previousAgent, round: &round)
            {
                if let displacement {
                    let reason = charge(id, to: choice, cause: displacement.cause, round: round)
                    round.decisions.append(.reassigned(incident: id, from: displacement.from, to: choice.agent, reason: reason))
                } else {
                    let cause =
                        round.transferred.contains(id)
                        ? AssignmentReason.Cause.teamChanged
                        : round.fresh.contains(id) ? AssignmentReason.Cause.initial : AssignmentReason.Cause.capacityFreed
                    let reason = charge(id, to: choice, cause: cause, round: round)
                    round.decisions.append(.assigned(incident: id, agent: choice.agent, reason: reason))
                }
                continue
            }
            if round.excluded[id] == nil { hopeless.insert(need) }  // its agent was passed over, not everyone
            stillWaiting.append(id)
            if let displacement {
                open[id]!.queuedSince = round.at
                open[id]!.queueAlerted = nil
                round.decisions.append(.unassigned(incident: id, from: displacement.from, cause: displacement.cause))
                round.decisions.append(.queued(incident: id, position: 0))
            } else if round.fresh.contains(id) {
                round.decisions.append(.queued(incident: id, position: 0))
            }
        }
        waiting = stillWaiting
    }

    /// Whether any agent is online, on shift and has room for the lightest incident.
    private func anyoneHasRoom(round: inout Round) -> Bool {
        let lightest = SupportSeverity.allCases.map { round.policy.weight(of: $0) }.min() ?? 1
        for member in staff.values where member.presence == .online && member.load + lightest <= member.profile.capacity {
            if round.isOnShift(member.profile) { return true }
        }
        return false
    }

    /// Puts the incidents this input queued or re-weighed in their place; the rest of the queue
    /// is in service order already.
    private mutating func orderQueue(round: Round) {
        let misplaced = round.fresh.union(round.reordered)
        guard !misplaced.isEmpty else { return }
        // New incidents were appended; re-weighed ones sit anywhere (rare).
        while let last = waiting.last, round.fresh.contains(last) { waiting.removeLast() }
        if !round.reordered.isEmpty { waiting.removeAll { round.reordered.contains($0) } }
        for id in misplaced.sorted() {
            let incident = open[id]!.incident
            waiting.insert(id, at: queueIndex(of: incident))
        }
    }

    /// Where `incident` belongs in the (ordered) queue: the first entry it is served before.
    private func queueIndex(of incident: RoutingIncident) -> Int {
        var low = 0
        var high = waiting.count
        while low < high {
            let middle = (low + high) / 2
            if Self.serves(open[waiting[middle]]!.incident, before: incident) { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// What decides whether anybody at all can take an incident (the agent it last left is
    /// only passed over when someone else qualifies, so it does not matter here).
    struct NeedKey: Hashable {
        let product: String
        let language: String?
        let units: Int

        init(incident: RoutingIncident, units: Int) {
            self.product = incident.product
            self.language = incident.language.flatMap { $0.isEmpty ? nil : TeamDesk.primarySubtag($0) }
            self.units = units
        }
    }

    /// Service order: severity A first, then the earlier opened, then the smaller id.
    static func serves(_ first: RoutingIncident, before second: RoutingIncident) -> Bool {
        let firstUrgent = first.severity == .a
        let secondUrgent = second.severity == .a
        if firstUrgent != secondUrgent { return firstUrgent }
        if first.openedAt != second.openedAt { return first.openedAt < second.openedAt }
        return first.id < second.id
    }

    struct Choice {
        let agent: String
        let considered: Int
        let matchedSkills: [String]
        /// The team's policy chose the agent (not a person); round robin moves its turn on.
        var policy: TeamSettings.Choice? = nil
    }

    /// The best eligible agent other than `leaving`, avoiding `previous` while anyone else qualifies.
    private func choose(for incident: RoutingIncident, units: Int, leaving: String?, avoiding previous: String?, round: inout Round)
        -> Choice?
    {
        var pool: [Member] = []
        for member in staff.values where member.profile.id != leaving && isEligible(member, for: incident, units: units, round: &round) {
            pool.append(member)
        }
        if let previous, pool.contains(where: { $0.profile.id != previous }) {
            pool.removeAll { $0.profile.id == previous }
        }
        let policy = round.policy.settings(for: team).choice
        let chosen: Member?
        switch policy {
        case .leastLoaded: chosen = pool.min(by: Self.isPreferred)
        case .roundRobin:
            // The next id after the last turn, wrapping around.
            let ordered = pool.sorted { $0.profile.id < $1.profile.id }
            chosen = rotation.flatMap { last in ordered.first { $0.profile.id > last } } ?? ordered.first
        }
        guard let best = chosen else { return nil }
        return Choice(
            agent: best.profile.id, considered: pool.count, matchedSkills: Self.matchedSkills(of: best.profile, for: incident),
            policy: policy
        )
    }

    /// The incident's product, then the agent's language tag that serves the incident's language.
    static func matchedSkills(of agent: Agent, for incident: RoutingIncident) -> [String] {
        var matched = [incident.product]
        if let language = incident.language, !language.isEmpty,
            let spoken = agent.languages.sorted().first(where: { primarySubtag($0) == primarySubtag(language) })
        {
            matched.append(spoken)
        }
        return matched
    }

    private func isEligible(_ member: Member, for incident: RoutingIncident, units: Int, round: inout Round) -> Bool {
        guard member.presence == .online, Self.qualifies(member, for: incident, units: units) else { return false }
        return round.isOnShift(member.profile)
    }

    /// Product, language and room: what an agent needs for an incident whatever their presence
    /// and shift (a person choosing the agent, or the agent taking it, vouches for those).
    static func qualifies(_ member: Member, for incident: RoutingIncident, units: Int) -> Bool {
        guard member.load + units <= member.profile.capacity, member.profile.skills.contains(incident.product) else { return false }
        if let language = incident.language, !language.isEmpty {
            let wanted = primarySubtag(language)
            guard member.profile.languages.contains(where: { primarySubtag($0) == wanted }) else { return false }
        }
        return true
    }

    /// `de-CH` → `de`, case-insensitively (`_` is accepted as a separator too).
    static func primarySubtag(_ tag: String) -> String {
        tag.split(whereSeparator: { $0 == "-" || $0 == "_" }).first.map { $0.lowercased() } ?? ""
    }

    /// Whether `first` should get work before `second`.
    static func isPreferred(_ first: Member, _ second: Member) -> Bool {
        // load₁ / capacity₁ < load₂ / capacity₂ without division (eligible capacities are positive).
        let left = first.load * second.profile.capacity
        let right = second.load * first.profile.capacity
        if left != right { return left < right }
        if first.load != second.load { return first.load < second.load }
        switch (first.lastAssignedAt, second.lastAssignedAt) {
        case (nil, .some): return true
        case (.some, nil): return false
        case (let one?, let other?) where one != other: return one < other
        default: return first.profile.id < second.profile.id
        }
    }

    /// Gives the (unassigned) incident to the chosen agent; returns the reason to publish.
    private mutating func charge(_ id: String, to choice: Choice, cause: String, round: Round) -> AssignmentReason {
        let units = round.policy.weight(of: open[id]!.incident.severity)
        var member = staff[choice.agent]!
        let reason = AssignmentReason(
            cause: cause, matchedSkills: choice.matchedSkills, loadBefore: member.load, loadAfter: member.load + units,
            capacity: member.profile.capacity, candidatesConsidered: choice.considered, choice: choice.policy ?? .leastLoaded
        )
        if choice.policy == .roundRobin { rotation = choice.agent }
        member.load += units
        member.lastAssignedAt = round.at
        staff[choice.agent] = member
        open[id]!.agent = choice.agent
        open[id]!.units = units
        open[id]!.acknowledged = false
        open[id]!.queuedSince = nil
        open[id]!.queueAlerted = nil
        return reason
    }

    /// Takes the incident from its agent (who becomes its previous agent).
    private mutating func detach(_ id: String) -> String? {
        guard var ticket = open[id], let agent = ticket.agent else { return nil }
        staff[agent]?.load -= ticket.units
        ticket.agent = nil
        ticket.units = 0
        ticket.acknowledged = false
        ticket.previousAgent = agent
        open[id] = ticket
        return agent
    }

    private mutating func move(_ id: String, to choice: Choice, cause: String, round: inout Round) {
        guard let from = detach(id) else { return }
        let reason = charge(id, to: choice, cause: cause, round: round)
        round.decisions.append(.reassigned(incident: id, from: from, to: choice.agent, reason: reason))
    }

    /// Takes the incident from its agent for the drain to place it (elsewhere or in the queue).
    private mutating func displace(_ id: String, cause: String, round: inout Round) {
        guard let from = detach(id) else { return }
        round.displaced[id] = (from, cause)
    }

    private func incidents(of agent: String) -> [String] {
        open.values.filter { $0.agent == agent }.map(\.incident.id).sorted()
    }

    // MARK: Leaving the team

    /// Follow-the-sun: an agent whose shift ended since the desk last looked hands the
    /// incidents they acknowledged to the team's follow-the-sun team (the others stay, as
    /// always when a shift ends).
    private mutating func handOffAtShiftEnd(round: inout Round) {
        guard let followTheSun = round.policy.settings(for: team).followTheSun else { return }
        for id in staff.keys.sorted() {
            let profile = staff[id]!.profile
            let onShift = round.isOnShift(profile)
            let was = staff[id]!.onShift
            if was != onShift { staff[id]!.onShift = onShift }
            guard was == true, !onShift, followTheSun.to != team else { continue }
            let ended = round.at.formatted(.iso8601)
            for incident in incidents(of: id) where open[incident]!.acknowledged {
                _ = detach(incident)
                open[incident] = nil
                let detail =
                    "\(id)'s shift (\(profile.shiftCalendar ?? "-")) ended at \(ended); acknowledged incidents go to \(followTheSun.to)"
                round.decisions.append(
                    .teamChanged(incident: incident, from: team, to: followTheSun.to, cause: TeamChangeCause.followTheSun, detail: detail))
            }
        }
    }

    /// Overflow: queued incidents that waited the threshold of their severity leave for the
    /// overflow team (at the threshold exactly, never before).
    private mutating func overflowWaiting(round: inout Round) {
        let settings = round.policy.settings(for: team)
        guard let overflow = settings.overflow, overflow.to != team, !overflow.after.isEmpty else { return }
        var leaving: [(String, String)] = []
        for id in waiting {
            guard let ticket = open[id], let after = overflowThreshold(for: ticket.incident.severity, in: settings) else { continue }
            let waited = round.at.timeIntervalSince(Self.waitingSince(ticket))
            guard waited >= after else { continue }
            let detail =
                "waited \(TeamSettings.text((waited / 60).rounded(.down) * 60)) in \(team)'s queue "
                + "(overflow after \(TeamSettings.text(after)) for severity \(ticket.incident.severity.rawValue))"
            leaving.append((id, detail))
        }
        guard !leaving.isEmpty else { return }
        let gone = Set(leaving.map { $0.0 })
        waiting.removeAll { gone.contains($0) }
        for (id, detail) in leaving {
            open[id] = nil
            round.decisions.removeAll { if case .queued(let queued, _) = $0 { queued == id } else { false } }
            round.decisions.append(.teamChanged(incident: id, from: team, to: overflow.to, cause: TeamChangeCause.overflow, detail: detail))
        }
    }

    /// Queue alert: once per incident and crossing, when the oldest waiting incident has waited
    /// the alert's threshold. Before the overflow runs (`onlyIfDueBeforeOverflow`), only an
    /// incident whose alert comes due strictly before its overflow is alerted: a punctual timer
    /// would have alerted it before it left; one that overflows at or before the alert never
    /// would have been.
    private mutating func alertOnOldestWaiting(round: inout Round, onlyIfDueBeforeOverflow: Bool) {
        let settings = round.policy.settings(for: team)
        guard let alert = settings.queueAlert, !alert.notify.isEmpty, let oldest = oldestWaiting(),
            let ticket = open[oldest], ticket.queueAlerted != true
        else { return }
        if onlyIfDueBeforeOverflow, let overflowAfter = overflowThreshold(for: ticket.incident.severity, in: settings),
            overflowAfter <= alert.after
        {
            return
        }
        let waited = round.at.timeIntervalSince(Self.waitingSince(ticket))
        guard waited >= alert.after else { return }
        open[oldest]!.queueAlerted = true
        round.decisions.append(
            .queueWaiting(
                QueueWaiting(
                    team: team, incident: oldest, severity: ticket.incident.severity, product: ticket.incident.product,
                    customer: ticket.incident.customer, waitedMinutes: Int(waited / 60), thresholdMinutes: Int(alert.after / 60),
                    depth: waiting.count, notify: alert.notify)))
    }

    // MARK: Housekeeping

    /// Ends tolerances that are no longer needed and never lets one grow back.
    private mutating func settleTolerances() {
        for (id, member) in staff {
            guard let tolerated = member.toleratedLoad else { continue }
            let settled = member.load <= member.profile.capacity ? nil : min(tolerated, member.load)
            if settled != tolerated { staff[id]!.toleratedLoad = settled }
        }
    }

    private mutating func forgetClosures(before cutoff: Date) {
        var forgotten = 0
        for closure in closures {
            guard closure.at < cutoff else { break }
            if closed[closure.id] == closure.at { closed[closure.id] = nil }
            forgotten += 1
        }
        if forgotten > 0 { closures.removeFirst(forgotten) }
    }

    /// Fills in queue positions now that the queue is final.
    private func finish(_ round: Round) -> [RoutingDecision] {
        guard round.decisions.contains(where: { if case .queued = $0 { true } else { false } }) else { return round.decisions }
        return round.decisions.map { decision in
            guard case .queued(let id, _) = decision, let incident = open[id]?.incident else { return decision }
            let index = queueIndex(of: incident)
            return .queued(incident: id, position: index < waiting.count && waiting[index] == id ? index + 1 : 0)
        }
    }

    // MARK: Checking

    /// What is wrong with the state, in words; empty when everything holds: every open
    /// incident is either assigned to an agent on the desk or queued (never both, never
    /// neither), the queue is in service order without repeats, every load is the sum of its
    /// incidents' units and within capacity (or within a tolerance, see the rules above), and
    /// every shift calendar an agent names is in `policy`.
    public func checkInvariants(policy: RoutingPolicy) -> [String] {
        var problems: [String] = []
        var loads: [String: Int] = [:]
        let queued = Dictionary(waiting.map { ($0, 1) }, uniquingKeysWith: +)
        for (id, ticket) in open.sorted(by: { $0.key < $1.key }) {
            if ticket.incident.id != id { problems.append("incident \(id) is stored as \(ticket.incident.id)") }
            if ticket.incident.team != team { problems.append("incident \(id) belongs to team \(ticket.incident.team), not \(team)") }
            if closed[id] != nil { problems.append("incident \(id) is both open and closed") }
            if let agent = ticket.agent {
                if staff[agent] == nil { problems.append("incident \(id) is assigned to \(agent), who is not on the desk") }
                if queued[id] != nil { problems.append("incident \(id) is assigned to \(agent) and queued") }
                if ticket.units <= 0 { problems.append("incident \(id) charges \(ticket.units) units to \(agent)") }
                loads[agent, default: 0] += ticket.units
            } else {
                if queued[id] == nil { problems.append("incident \(id) is open but neither assigned nor queued") }
                if ticket.units != 0 { problems.append("queued incident \(id) charges \(ticket.units) units") }
                if ticket.acknowledged { problems.append("queued incident \(id) is marked acknowledged") }
            }
        }
        for (id, count) in queued.sorted(by: { $0.key < $1.key }) {
            if count > 1 { problems.append("incident \(id) is queued \(count) times") }
            if open[id] == nil { problems.append("queued incident \(id) is not open") }
        }
        for (first, second) in zip(waiting, waiting.dropFirst()) {
            if let one = open[first]?.incident, let other = open[second]?.incident, !Self.serves(one, before: other) {
                problems.append("queue order: \(first) before \(second)")
            }
        }
        for (id, member) in staff.sorted(by: { $0.key < $1.key }) {
            let expected = loads[id] ?? 0
            if member.profile.id != id { problems.append("agent \(id) is stored as \(member.profile.id)") }
            if member.profile.team != team { problems.append("agent \(id) belongs to team \(member.profile.team), not \(team)") }
            if member.load != expected { problems.append("agent \(id) has load \(member.load), but their incidents add up to \(expected)") }
            if member.profile.capacity < 0 { problems.append("agent \(id) has negative capacity \(member.profile.capacity)") }
            if member.load > member.profile.capacity && member.load > (member.toleratedLoad ?? member.profile.capacity) {
                problems.append("agent \(id) has load \(member.load) above capacity \(member.profile.capacity)")
            }
            if let tolerated = member.toleratedLoad, member.load <= member.profile.capacity || tolerated < member.load {
                problems.append("agent \(id) has a stale tolerance of \(tolerated) at load \(member.load)")
            }
            if let name = member.profile.shiftCalendar, policy.calendars[name] == nil {
                problems.append("agent \(id) works shift calendar '\(name)', which the routing policy does not define (never on shift)")
            }
        }
        for agent in loads.keys.sorted() where staff[agent] == nil {
            problems.append("agent \(agent) holds incidents but is not on the desk")
        }
        return problems
    }
}
