public import Foundation
@_exported public import TriageLifecycle
public import TriageSchema

/// How an incident ended: `resolved`, `unresolved`, or empty while it is open (again).
public enum IncidentOutcome: String, Sendable, Hashable, Codable, CaseIterable {
    case none = ""
    case resolved
    case unresolved
}

/// One SLA target's measure (first response or resolution), in minutes of the incident's
/// calendar: business minutes under business-hours coverage, wall-clock minutes under 24x7.
///
/// A breach, once observed, is never taken back (a later severity downgrade does not undo an
/// escalation that already happened). See docs/analytics.md for the rules.
public struct SlaMeasure: Sendable, Hashable {
    /// The target under the current severity; `nil` when there is none (no resolution target in
    /// the policy, or an incident whose Opened was never seen).
    public var targetBusinessMinutes: Double?
    /// Time used on the clock at the last measurement (the event time while the clock runs, the
    /// stop otherwise); `nil` without a clock.
    public var usedBusinessMinutes: Double?
    /// The time used reached the target, or the escalator escalated this target.
    public var breached: Bool
    /// `used − target` at the last measurement (at least 0) once breached; `nil` when not
    /// breached or when the time used is unknown.
    public var breachedByBusinessMinutes: Double?
    /// First response: the clock started by Opened has stopped (acknowledged, solution
    /// delivered or closed), so the measure no longer changes. Resolution: the clock is stopped
    /// now (a reopen resumes it).
    public var isFinal: Bool

    public static let unmeasured = SlaMeasure(
        targetBusinessMinutes: nil, usedBusinessMinutes: nil, breached: false, breachedByBusinessMinutes: nil, isFinal: false)

    public init(
        targetBusinessMinutes: Double?, usedBusinessMinutes: Double?, breached: Bool, breachedByBusinessMinutes: Double?, isFinal: Bool
    ) {
        self.targetBusinessMinutes = targetBusinessMinutes
        self.usedBusinessMinutes = usedBusinessMinutes
        self.breached = breached
        self.breachedByBusinessMinutes = breachedByBusinessMinutes
        self.isFinal = isFinal
    }
}

/// Everything known about one incident, folded from its lifecycle events: the value of the
/// compacted `triage.incident-state` topic and the analytics worker's state.
///
/// Holds everything needed to continue the fold after a restart (the SLA clocks, the dedupe
/// window, the waiting segment in progress), so `apply` on a snapshot decoded from its JSON
/// gives exactly the records an uninterrupted fold gives. Start with ``init(incidentID:)`` and
/// feed events with ``apply(_:rules:)``. The JSON form (``jsonData()``, ``init(jsonData:)``)
/// is documented in docs/analytics.md and `schemas/incident-state.schema.json`.
public struct IncidentSnapshot: Sendable, Hashable {
    /// The JSON layout's version (`snapshot_version`).
    public static let version = 1
    /// How many recent event ids are remembered for deduplication (see ``recentEventIDs``).
    public static let dedupeWindow = 32

    public var incidentID: String

    // Attributes from Opened; severity follows SeverityChanged.
    public var severity: Severity = .unspecified
    public var coverage: Coverage = .unspecified
    public var product = ""
    public var customerAccount = ""
    public var entitlementID = ""
    public var language = ""
    /// The customer's IANA time zone from Opened (empty in snapshots written before it was kept).
    public var customerTimeZone = ""
    public var team = ""
    public var parentIncidentID = ""
    public var title = ""

    public var status: IncidentStatus = .open
    /// The status to return to when the customer responds (set while waiting).
    public var statusBeforeWaiting: IncidentStatus?
    /// Who holds the incident now; empty when nobody does.
    public var assignedAgentID = ""
    /// The last agent who held it (kept when the router puts it back in the queue), so that
    /// handing it to someone else counts as a reassignment.
    public var lastAgentID = ""
    /// Changes of the holding agent after the first assignment.
    public var reassignmentCount = 0

    /// When Opened happened; `nil` for an orphan (events of an incident whose Opened was never seen).
    public var openedAt: Date?
    /// The first acknowledgement.
    public var acknowledgedAt: Date?
    /// The latest close; `nil` while open (cleared by Reopened).
    public var closedAt: Date?
    public var closedBy = ""
    /// ClosedUnresolved's billing decision.
    public var creditRefunded = false
    public var outcome: IncidentOutcome = .none
    public var reopenCount = 0
    /// Incidents split off this one, in order, without duplicates.
    public var splitChildren: [String] = []

    /// Minutes of the first-response clock started by Opened when the first Acknowledged
    /// stopped it; `nil` before that (or when the clock was stopped by a solution or a close).
    public var firstResponseBusinessMinutes: Double?
    public var firstResponse: SlaMeasure = .unmeasured
    public var resolution: SlaMeasure = .unmeasured

    /// Wall-clock minutes of finished waiting-on-customer segments.
    public var waitingOnCustomerMinutes: Double = 0
    /// Start of the waiting segment in progress.
    public var waitingSince: Date?

    /// The SLA clocks exactly as the escalator keeps them; `nil` until an Opened with a known
    /// severity was seen.
    public var sla: SlaTrackerState?

    /// The ids of the last ``dedupeWindow`` events applied, oldest first.
    public var recentEventIDs: [String] = []
    /// Events applied (duplicates not counted).
    public var eventCount = 0
    /// `occurred_at` of the last event applied.
    public var lastEventAt: Date?

    public init(incidentID: String) {
        self.incidentID = incidentID
    }

    /// No Opened has been seen for this incident.
    public var isOrphan: Bool { openedAt == nil }
}
