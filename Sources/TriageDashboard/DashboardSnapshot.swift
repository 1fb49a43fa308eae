public import Foundation
public import TriageCore

/// What the dashboard shows at one instant: the body of `GET /api/state`.
///
/// Everything is read from the topics (never from a worker's memory), so the same page works
/// whether the workers run in this process or elsewhere. Instants are ISO 8601 strings in JSON
/// (``encoder``/``decoder``); countdowns are seconds of SLA time.
public struct DashboardSnapshot: Codable, Sendable, Hashable {
    /// An open incident (status not closed), from its `triage.incident-state` snapshot.
    public struct Incident: Codable, Sendable, Hashable {
        public var id: String
        public var title: String
        /// `A`, `B`, `C`, or empty when unknown.
        public var severity: String
        /// `open`, `assigned`, `acknowledged`, `waiting_on_customer`, ...
        public var status: String
        public var team: String
        /// Empty when nobody holds it.
        public var assignedAgent: String
        public var openedAt: Date?
        /// The SLA countdown; `nil` when no target clock is running or paused (acknowledged
        /// without a resolution target, or an incident whose Opened was never seen).
        public var sla: Countdown?
        /// How the first response went, once its clock has stopped (acknowledged, solution
        /// delivered); `nil` before that.
        public var firstResponse: FirstResponse?
        /// Waiting on the customer since then (SLA time): the incident is paused until the
        /// customer responds or it is closed. `nil` when not waiting.
        public var waitingSince: Date?

        public init(
            id: String, title: String, severity: String, status: String, team: String, assignedAgent: String, openedAt: Date?,
            sla: Countdown?,
            firstResponse: FirstResponse? = nil, waitingSince: Date? = nil
        ) {
            self.id = id
            self.title = title
            self.severity = severity
            self.status = status
            self.team = team
            self.assignedAgent = assignedAgent
            self.openedAt = openedAt
            self.sla = sla
            self.firstResponse = firstResponse
            self.waitingSince = waitingSince
        }

        /// Waiting on the customer: every SLA clock of the incident is paused.
        public var isPaused: Bool { status == "waiting_on_customer" }
    }

    /// A stopped first-response clock: how long the first response took against its target.
    public struct FirstResponse: Codable, Sendable, Hashable {
        /// Minutes of the incident's calendar the first response took (business minutes under
        /// business-hours coverage, wall-clock minutes under 24x7).
        public var minutes: Double
        /// The target in the same minutes; `nil` when the policy has none.
        public var targetMinutes: Double?
        /// Within the target (not breached, not escalated).
        public var met: Bool
        /// When it was acknowledged (SLA time); `nil` when the clock was stopped otherwise.
        public var at: Date?

        public init(minutes: Double, targetMinutes: Double?, met: Bool, at: Date?) {
            self.minutes = minutes
            self.targetMinutes = targetMinutes
            self.met = met
            self.at = at
        }
    }

    /// One team's queue as its desk on `triage.router-state` holds it: incidents nobody can
    /// take yet.
    public struct TeamQueue: Codable, Sendable, Hashable {
        public var team: String
        /// Queued incidents.
        public var depth: Int
        /// The incident queued longest (earliest ``QueuedIncident/queuedSince``); `nil` when
        /// the queue is empty.
        public var oldest: QueuedIncident?

        public init(team: String, depth: Int, oldest: QueuedIncident?) {
            self.team = team
            self.depth = depth
            self.oldest = oldest
        }
    }

    /// A queued incident.
    public struct QueuedIncident: Codable, Sendable, Hashable {
        public var id: String
        /// `A`, `B` or `C`.
        public var severity: String
        public var openedAt: Date
        /// When it last went into the queue (SLA time): its Opened, a Reopened, or the router
        /// handing it back (ReturnedToQueue); its ``openedAt`` when those events were not seen.
        public var queuedSince: Date

        public init(id: String, severity: String, openedAt: Date, queuedSince: Date) {
            self.id = id
            self.severity = severity
            self.openedAt = openedAt
            self.queuedSince = queuedSince
        }
    }

    /// The countdown to the breach of the target an incident is measured against now (first
    /// response until it is stopped, then resolution when the policy has one).
    public struct Countdown: Codable, Sendable, Hashable {
        /// `first_response` or `resolution`.
        public var target: String
        /// The clock is paused while the incident waits on the customer: the deadline moves.
        public var paused: Bool
        /// When the target is (or was) breached; `nil` while paused before a breach.
        public var deadline: Date?
        /// `deadline − now` in SLA seconds; negative: breached that long ago. While paused,
        /// the time left on the clock (the target's calendar minutes × 60), negative once breached.
        public var seconds: Double
        /// The target was breached (`seconds < 0`).
        public var breached: Bool

        public init(target: String, paused: Bool, deadline: Date?, seconds: Double) {
            self.target = target
            self.paused = paused
            self.deadline = deadline
            self.seconds = seconds
            self.breached = seconds < 0
        }
    }

    /// An agent, from `triage.agent-events` (profile, presence) and the desk of their team on
    /// `triage.router-state` (load, assignments).
    public struct Agent: Codable, Sendable, Hashable {
        public var id: String
        public var name: String
        /// `-` when no profile was seen.
        public var team: String
        /// `online`, `away` or `offline`.
        public var presence: String
        /// Load units the agent may hold (an incident weighs its severity's units: see
        /// ``DashboardSnapshot/loadWeights``).
        public var capacity: Int
        /// Load units held now, as the team's desk last recorded it.
        public var load: Int
        /// Incidents held now.
        public var assigned: Int
        /// Incidents held now, by severity.
        public var assignedBySeverity: PerSeverity

        public init(
            id: String, name: String, team: String, presence: String, capacity: Int, load: Int, assigned: Int,
            assignedBySeverity: PerSeverity = .init()
        ) {
            self.id = id
            self.name = name
            self.team = team
            self.presence = presence
            self.capacity = capacity
            self.load = load
            self.assigned = assigned
            self.assignedBySeverity = assignedBySeverity
        }
    }

    /// A number per severity: `{"a": 1, "b": 0, "c": 2}` in JSON.
    public struct PerSeverity: Codable, Sendable, Hashable {
        public var a: Int
        public var b: Int
        public var c: Int

        public init(a: Int = 0, b: Int = 0, c: Int = 0) {
            self.a = a
            self.b = b
            self.c = c
        }

        public subscript(severity: SupportSeverity) -> Int {
            get {
                switch severity {
                case .a: a
                case .b: b
                case .c: c
                }
            }
            set {
                switch severity {
                case .a: a = newValue
                case .b: b = newValue
                case .c: c = newValue
                }
            }
        }
    }

    /// Lifecycle events counted per wall-clock bucket, oldest bucket first; every array has one
    /// element per bucket.
    public struct Series: Codable, Sendable, Hashable {
        public var bucketSeconds: Double
        /// Start of each bucket (wall-clock time the dashboard read the events).
        public var starts: [Date]
        /// `SlaWarning` events.
        public var warnings: [Int]
        /// `Escalated` at level 1: the breach.
        public var breaches: [Int]
        /// `Escalated` at level 2 and above.
        public var escalations: [Int]
        public var opened: [Int]
        /// `ClosedResolved` and `ClosedUnresolved`.
        public var closed: [Int]

        public init(
            bucketSeconds: Double, starts: [Date], warnings: [Int], breaches: [Int], escalations: [Int], opened: [Int], closed: [Int]
        ) {
            self.bucketSeconds = bucketSeconds
            self.starts = starts
            self.warnings = warnings
            self.breaches = breaches
            self.escalations = escalations
            self.opened = opened
            self.closed = closed
        }
    }

    /// A worker's consumer group and how far it is behind on its input topic.
    public struct GroupLag: Codable, Sendable, Hashable {
        public var group: String
        public var topic: String
        /// Records not yet processed, summed over the partitions; `nil` until measured or when
        /// the last measurement failed (see ``error``).
        public var lag: Int64?
        public var partitions: Int
        /// The group has committed nothing yet: ``lag`` counts the whole topic.
        public var notStarted: Bool
        /// Why the last measurement failed.
        public var error: String?
        /// When it was last measured (wall-clock time).
        public var measuredAt: Date?

        public init(group: String, topic: String, lag: Int64?, partitions: Int, notStarted: Bool, error: String?, measuredAt: Date?) {
            self.group = group
            self.topic = topic
            self.lag = lag
            self.partitions = partitions
            self.notStarted = notStarted
            self.error = error
            self.measuredAt = measuredAt
        }
    }

    /// Totals since the dashboard started reading (from the beginning of each topic).
    public struct Figures: Codable, Sendable, Hashable {
        public var openIncidents = 0
        public var breachedIncidents = 0
        /// Open incidents waiting on the customer now (their clocks paused).
        public var pausedIncidents = 0
        /// Incidents in the teams' queues now (the sum of ``TeamQueue/depth``).
        public var queuedIncidents = 0
        public var agents = 0
        public var agentsOnline = 0
        public var warnings = 0
        public var breaches = 0
        public var escalations = 0
        public var opened = 0
        public var closed = 0
        /// Records read from the four topics.
        public var records = 0
        /// Records that could not be decoded (skipped).
        public var undecodable = 0
        /// Every follower has read what its topic held when the dashboard started.
        public var caughtUp = false

        public init() {}
    }

    /// SLA time (the escalator's clock) at which the snapshot was taken.
    public var now: Date
    /// Wall-clock time at which the snapshot was taken (the page derives SLA speed from both).
    public var wallClock: Date
    /// Open incidents, most urgent first: breached longest ago first, then soonest deadline;
    /// then paused ones (least time left first); then those without a countdown (oldest first).
    /// At most ``DashboardConfiguration/maximumIncidents``.
    public var incidents: [Incident]
    /// All open incidents, including those beyond the cap.
    public var incidentTotal: Int
    /// Sorted by team, then id.
    public var agents: [Agent]
    /// Load units an incident of each severity weighs: an agent's load is the sum over the
    /// incidents they hold. See ``DashboardConfiguration/loadWeights``.
    public var loadWeights: PerSeverity
    /// Every team with a desk, sorted by team.
    public var queues: [TeamQueue]
    public var series: Series
    /// Sorted by group.
    public var lag: [GroupLag]
    public var figures: Figures

    public init(
        now: Date, wallClock: Date, incidents: [Incident], incidentTotal: Int, agents: [Agent], loadWeights: PerSeverity = .init(),
        queues: [TeamQueue] = [],
        series: Series, lag: [GroupLag], figures: Figures
    ) {
        self.now = now
        self.wallClock = wallClock
        self.incidents = incidents
        self.incidentTotal = incidentTotal
        self.agents = agents
        self.loadWeights = loadWeights
        self.queues = queues
        self.series = series
        self.lag = lag
        self.figures = figures
    }

    /// The JSON form served on `/api/state`: snake_case keys, ISO 8601 instants in UTC with
    /// milliseconds (the page measures SLA speed from them), sorted keys.
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(instantStyle))
        }
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    /// Reads what ``encoder`` wrote.
    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            return try instantStyle.parse(text)
        }
        return decoder
    }

    private static let instantStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}
