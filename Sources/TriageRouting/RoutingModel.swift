public import Foundation
public import TriageCore

// The vocabulary of routing: agents, incidents as the router sees them, the policy, and what goes
// in and comes out of a team's desk. Pure values; the worker maps protobuf events onto them.

/// Whether an agent takes work (schemas/triage/v1/agent.proto `Presence`).
///
/// Only `online` agents receive new work. `away` keeps what the agent holds; `offline` hands
/// back what the agent has not acknowledged yet.
public enum Presence: String, Sendable, Hashable, Codable, CaseIterable {
    case online, away, offline
}

/// An agent's routing profile (agent.proto `AgentProfile`; a new profile replaces the old one).
public struct Agent: Sendable, Hashable, Codable {
    public var id: String
    public var team: String
    /// Products the agent supports; an incident's product must be one of them (exact match).
    public var skills: Set<String>
    /// BCP 47 tags the agent speaks; matched on the primary subtag, case-insensitively
    /// (`de-CH` serves `de` and `de-AT`). Empty: only incidents without a language.
    public var languages: Set<String>
    /// Capacity in load units (see ``RoutingPolicy/severityWeights``); never negative.
    public var capacity: Int
    /// Name of the shift calendar in ``RoutingPolicy/calendars``; `nil`: always on shift.
    /// A name the policy does not define keeps the agent off shift (and is reported by
    /// ``TeamDesk/checkInvariants(policy:)``).
    public var shiftCalendar: String?

    public init(id: String, team: String, skills: Set<String>, languages: Set<String> = [], capacity: Int, shiftCalendar: String? = nil) {
        self.id = id
        self.team = team
        self.skills = skills
        self.languages = languages
        self.capacity = max(0, capacity)
        self.shiftCalendar = shiftCalendar
    }

    enum CodingKeys: String, CodingKey {
        case id, team, skills, languages, capacity, shiftCalendar
    }

    public init(from decoder: any Decoder) throws {
        let values = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try values.decode(String.self, forKey: .id),
            team: try values.decode(String.self, forKey: .team),
            skills: Set(try values.decode([String].self, forKey: .skills)),
            languages: Set(try values.decodeIfPresent([String].self, forKey: .languages) ?? []),
            capacity: try values.decode(Int.self, forKey: .capacity),
            shiftCalendar: try values.decodeIfPresent(String.self, forKey: .shiftCalendar)
        )
    }

    /// Sets are written sorted so that equal desks encode to equal bytes.
    public func encode(to encoder: any Encoder) throws {
        var values = encoder.container(keyedBy: CodingKeys.self)
        try values.encode(id, forKey: .id)
        try values.encode(team, forKey: .team)
        try values.encode(skills.sorted(), forKey: .skills)
        try values.encode(languages.sorted(), forKey: .languages)
        try values.encode(capacity, forKey: .capacity)
        try values.encodeIfPresent(shiftCalendar, forKey: .shiftCalendar)
    }
}

/// An incident as the router sees it.
public struct RoutingIncident: Sendable, Hashable, Codable {
    public var id: String
    public var team: String
    public var severity: SupportSeverity
    public var product: String
    /// BCP 47 tag of the customer's language; `nil`: any agent will do.
    public var language: String?
    /// Orders the queue (after severity A's priority).
    public var openedAt: Date
    /// The customer account, for the notices the desk asks for; `nil` when not known.
    public var customer: String?

    public init(
        id: String, team: String, severity: SupportSeverity, product: String, language: String? = nil, openedAt: Date,
        customer: String? = nil
    ) {
        self.id = id
        self.team = team
        self.severity = severity
        self.product = product
        self.language = language
        self.openedAt = openedAt
        self.customer = customer
    }

    enum CodingKeys: String, CodingKey {
        case id, team, severity, product, language, openedAt, customer
    }

    // `SupportSeverity` is TriageCore's and not Codable; it travels as its raw value ("A", "B", "C").
    public init(from decoder: any Decoder) throws {
        let values = try decoder.container(keyedBy: CodingKeys.self)
        let raw = try values.decode(String.self, forKey: .severity)
        guard let severity = SupportSeverity(rawValue: raw) else {
            throw DecodingError.dataCorruptedError(forKey: .severity, in: values, debugDescription: "unknown severity '\(raw)' (A, B or C)")
        }
        self.init(
            id: try values.decode(String.self, forKey: .id),
            team: try values.decode(String.self, forKey: .team),
            severity: severity,
            product: try values.decode(String.self, forKey: .product),
            language: try values.decodeIfPresent(String.self, forKey: .language),
            openedAt: try values.decode(Date.self, forKey: .openedAt),
            customer: try values.decodeIfPresent(String.self, forKey: .customer)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var values = encoder.container(keyedBy: CodingKeys.self)
        try values.encode(id, forKey: .id)
        try values.encode(team, forKey: .team)
        try values.encode(severity.rawValue, forKey: .severity)
        try values.encode(product, forKey: .product)
        try values.encodeIfPresent(language, forKey: .language)
        try values.encode(openedAt, forKey: .openedAt)
        try values.encodeIfPresent(customer, forKey: .customer)
    }
}

/// Why the router chose an agent (incident.proto `AssignmentReason`); carried by every
/// ``RoutingDecision/assigned(incident:agent:reason:)`` and
/// ``RoutingDecision/reassigned(incident:from:to:reason:)``.
public struct AssignmentReason: Sendable, Hashable, Codable {
    /// One of the ``Cause`` constants.
    public var cause: String
    /// The incident's product, then the agent's language tag that matched (if the incident has one).
    public var matchedSkills: [String]
    /// The chosen agent's load before and after taking the incident, in load units.
    public var loadBefore: Int
    public var loadAfter: Int
    /// The chosen agent's capacity.
    public var capacity: Int
    /// How many agents were eligible and in the running (the agent an incident is leaving is
    /// never counted).
    public var candidatesConsidered: Int
    /// The team's choice policy that picked the agent (``TeamSettings/Choice``; a person naming
    /// the agent is not a policy, and reads `least_loaded`).
    public var choice: TeamSettings.Choice = .leastLoaded

    // `choice` is not stored (reasons travel as incident.proto's AssignmentReason, which has no field for it).
    enum CodingKeys: String, CodingKey {
        case cause, matchedSkills, loadBefore, loadAfter, capacity, candidatesConsidered
    }

    public init(
        cause: String, matchedSkills: [String], loadBefore: Int, loadAfter: Int, capacity: Int, candidatesConsidered: Int,
        choice: TeamSettings.Choice = .leastLoaded
    ) {
        self.cause = cause
        self.matchedSkills = matchedSkills
        self.loadBefore = loadBefore
        self.loadAfter = loadAfter
        self.capacity = capacity
        self.candidatesConsidered = candidatesConsidered
        self.choice = choice
    }

    /// The causes the router writes.
    public enum Cause {
        /// Assigned on opening (or reopening) without waiting.
        public static let initial = "initial"
        /// Assigned from the queue once someone had room (load freed, an agent came online,
        /// joined, gained capacity or started a shift).
        public static let capacityFreed = "capacity_freed"
        /// Moved because the agent went offline before acknowledging.
        public static let agentOffline = "agent_offline"
        /// Moved because the agent left the team (removed, or a profile for another team).
        public static let agentRemoved = "agent_removed"
        /// Moved because a severity upgrade did not fit the agent's capacity.
        public static let severityChanged = "severity_changed"
        /// Moved at the escalator's request on an SLA breach.
        public static let slaBreach = "sla_breach"
        /// Moved on someone's request (to any other eligible agent, or to the agent they named).
        public static let requested = "requested"
        /// The agent took a waiting incident ("take next").
        public static let taken = "taken"
        /// The agent who held it gave it back to the queue.
        public static let returned = "returned"
        /// Assigned on arriving from another team (overflow, follow-the-sun).
        public static let teamChanged = "team_changed"
    }
}

/// What a team's desk reacts to.
public enum RoutingInput: Sendable, Hashable {
    case opened(RoutingIncident)
    case acknowledged(incident: String)
    case severityChanged(incident: String, to: SupportSeverity)
    /// Resolved or closed: the incident leaves the desk and frees its load.
    case released(incident: String)
    case reopened(RoutingIncident)
    /// The incident arrives from another team's desk (``RoutingDecision/teamChanged(incident:from:to:cause:detail:)``):
    /// queued and placed like a new incident, its `openedAt` kept (cause ``AssignmentReason/Cause/teamChanged``).
    case transferred(RoutingIncident)
    /// Move the incident to someone else; `cause` is usually ``AssignmentReason/Cause/slaBreach``
    /// or ``AssignmentReason/Cause/requested``.
    case reassignRequested(incident: String, cause: String)
    /// Give the incident, held or waiting, to `agent` when they qualify (on this desk, the
    /// product, the language, room for its weight; presence and shift are not asked: a person
    /// chose them); otherwise nothing changes. `onlyIfWaiting` ("take"): only while nobody holds
    /// it, with cause ``AssignmentReason/Cause/taken``.
    case assignRequested(incident: String, agent: String, onlyIfWaiting: Bool)
    /// The holding agent gives the incident back: it is placed again by the usual rules, never
    /// with that agent within this input (cause ``AssignmentReason/Cause/returned``).
    case returnRequested(incident: String)
    /// An agent joins or replaces their profile; a profile for another team takes the agent off
    /// this desk.
    case profile(Agent)
    case removed(agent: String)
    case presence(agent: String, Presence)
    /// Time passed: re-evaluate shifts, queue alerts and overflows at the input's instant (see
    /// ``TeamDesk/nextShiftChange(after:policy:)`` and ``TeamDesk/nextDeadline(after:policy:)``).
    case clock
}

/// What the desk decided; the worker publishes these on the lifecycle topic.
public enum RoutingDecision: Sendable, Hashable {
    case assigned(incident: String, agent: String, reason: AssignmentReason)
    case reassigned(incident: String, from: String, to: String, reason: AssignmentReason)
    /// The incident waits; `position` is 1-based in service order after the whole input was applied.
    case queued(incident: String, position: Int)
    /// The incident's agent went away (or gave it back) and nobody else qualified: it is back in
    /// the queue (a ``queued(incident:position:)`` follows). `cause`: why it left the agent.
    case unassigned(incident: String, from: String, cause: String)
    /// The incident left this desk for team `to` (its agent, if any, let go of it); `cause` is a
    /// ``TeamChangeCause`` constant, `detail` says why in words. The other team's desk gets it as
    /// ``RoutingInput/transferred(_:)``.
    case teamChanged(incident: String, from: String, to: String, cause: String, detail: String)
    /// The team's oldest waiting incident has waited longer than its queue alert allows.
    case queueWaiting(QueueWaiting)

    /// The incident the decision is about.
    public var incident: String {
        switch self {
        case .assigned(let incident, _, _), .reassigned(let incident, _, _, _), .queued(let incident, _), .unassigned(let incident, _, _),
            .teamChanged(let incident, _, _, _, _):
            incident
        case .queueWaiting(let alert): alert.incident
        }
    }
}

/// How a team routes: load weights per severity and the shift calendars agents name.
///
/// Defaults: weights A 3, B 2, C 1; no calendars (agents without a shift are always on
/// shift); closed incidents remembered 30 days to recognise a repeated Opened.
public struct RoutingPolicy: Sendable, Hashable {
    /// Load units an incident of each severity takes; a missing severity weighs its default.
    public var severityWeights: [SupportSeverity: Int]
    /// Shift calendars by name (the same shape as SLA calendars).
    public var calendars: [String: BusinessCalendar]
    /// How long a released incident's id is remembered, so that a repeated Opened for it is
    /// ignored (a Reopened reopens it whenever it comes).
    public var closedIncidentMemory: TimeInterval
    /// Per-team settings by team name; a team left out has the defaults (``TeamSettings``).
    public var teams: [String: TeamSettings]

    public static let defaultSeverityWeights: [SupportSeverity: Int] = [.a: 3, .b: 2, .c: 1]

    public init(
        severityWeights: [SupportSeverity: Int] = RoutingPolicy.defaultSeverityWeights,
        calendars: [String: BusinessCalendar] = [:],
        closedIncidentMemory: TimeInterval = 30 * 86_400,
        teams: [String: TeamSettings] = [:]
    ) {
        self.severityWeights = severityWeights
        self.calendars = calendars
        self.closedIncidentMemory = closedIncidentMemory
        self.teams = teams
    }

    /// `team`'s settings (the defaults when the policy names none).
    public func settings(for team: String) -> TeamSettings { teams[team] ?? TeamSettings() }

    /// The load units of `severity` (at least 1).
    public func weight(of severity: SupportSeverity) -> Int {
        max(1, severityWeights[severity] ?? Self.defaultSeverityWeights[severity]!)
    }
}
