import Foundation
public import TriageCore

/// The hours an incident's SLA clock runs in (per contract).
public enum SlaCoverage: String, Sendable, Hashable, CaseIterable {
    /// Wall-clock time, every day.
    case twentyFourSeven = "24x7"
    /// The team's business calendar.
    case businessHours = "business_hours"
}

/// Which SLA target a clock measures.
public enum SlaTarget: String, Sendable, Hashable, CaseIterable {
    /// Time to the first response (Acknowledged).
    case firstResponse = "first_response"
    /// Time to a delivered solution or a close.
    case resolution = "resolution"
    /// The periodic-update ("next reply") clock: time since the first response or the last
    /// customer-visible note, while the incident is acknowledged and open.
    case update = "update"

    /// The bit of this target in a pause reason's mask.
    public var pauseBit: UInt8 {
        switch self {
        case .firstResponse: 1
        case .resolution: 2
        case .update: 4
        }
    }

    /// How people read it: `first response`, `resolution`, `update`.
    public var words: String {
        switch self {
        case .firstResponse: "first response"
        case .resolution: "resolution"
        case .update: "update"
        }
    }
}

/// One escalation level: fires `afterMinutes` (of the clock's calendar) past the breach.
public struct EscalationLevel: Sendable, Hashable {
    /// 1, 2, ... in order.
    public var level: Int
    /// Minutes past the breach, in the same time as the target (business minutes for business
    /// hours coverage, wall-clock minutes for 24x7). Level 1 is usually 0: at the breach.
    public var afterMinutes: Double
    /// Who is told: recipient names from the notification rules (e.g. `team-lead`).
    public var notify: [String]
    /// Whether the router is asked to reassign the incident.
    public var reassign: Bool

    public init(level: Int, afterMinutes: Double, notify: [String], reassign: Bool = false) {
        self.level = level
        self.afterMinutes = afterMinutes
        self.notify = notify
        self.reassign = reassign
    }
}

/// Targets for one severity under one coverage, in minutes of that coverage's time.
public struct SlaTargets: Sendable, Hashable {
    public var firstResponseMinutes: Double
    /// `nil`: no resolution target.
    public var resolutionMinutes: Double?
    /// The periodic-update target: at most this long between the first response (or the last
    /// customer-visible note) and the next customer-visible note. `nil`: none.
    public var updateMinutes: Double?

    public init(firstResponseMinutes: Double, resolutionMinutes: Double? = nil, updateMinutes: Double? = nil) {
        self.firstResponseMinutes = firstResponseMinutes
        self.resolutionMinutes = resolutionMinutes
        self.updateMinutes = updateMinutes
    }

    public func minutes(for target: SlaTarget) -> Double? {
        switch target {
        case .firstResponse: firstResponseMinutes
        case .resolution: resolutionMinutes
        case .update: updateMinutes
        }
    }
}

/// Everything the escalator needs to know about SLAs: targets per coverage and severity,
/// warning thresholds, escalation levels, and the business calendars (a default one and
/// optional per-team ones).
///
/// Defaults: first response A 2 h, B 4 h, C 8 h (business hours under business coverage,
/// wall-clock hours under 24x7); resolution for severity A only, 24 h under 24x7 and 16
/// business hours under business hours; no update targets; the pause reasons of
/// ``defaultPauseReasons``; warnings at 50 % and 75 %, level 1 at the breach to `team-lead`,
/// level 2 one hour later to `support-manager` with a reassignment.
/// Loaded from YAML with ``SlaPolicy/load(yaml:file:)`` (see docs/sla.md).
public struct SlaPolicy: Sendable, Hashable {
    public var targets: [SlaCoverage: [SupportSeverity: SlaTargets]]
    /// Percentages of the target at which a warning is due; ascending, each in 1...99.
    public var warningPercents: [Int]
    /// Who is told of a warning.
    public var warningNotify: [String]
    /// Ascending by level and by `afterMinutes`.
    public var escalation: [EscalationLevel]
    /// The calendar for business-hours coverage when the incident's team has none of its own.
    public var defaultCalendar: BusinessCalendar
    /// Named calendars.
    public var calendars: [String: BusinessCalendar]
    /// Team name → calendar name (a key of ``calendars``).
    public var teamCalendars: [String: String]
    /// How long a closed incident is remembered so that a Reopened event can restart its
    /// clocks (minutes of wall-clock time).
    public var reopenWindowMinutes: Double
    /// Pause-reason name → the clocks it pauses. ``waitingOnCustomer`` is always present.
    public var pauseReasons: [String: Set<SlaTarget>]

    public static let defaultTargets: [SlaCoverage: [SupportSeverity: SlaTargets]] = [
        .twentyFourSeven: [
            .a: .init(firstResponseMinutes: 120, resolutionMinutes: 24 * 60), .b: .init(firstResponseMinutes: 240),
            .c: .init(firstResponseMinutes: 480),
        ],
        .businessHours: [
            .a: .init(firstResponseMinutes: 120, resolutionMinutes: 16 * 60), .b: .init(firstResponseMinutes: 240),
            .c: .init(firstResponseMinutes: 480),
        ],
    ]

    /// The pause reason of a WaitingOnCustomer without one, and of one naming a reason the policy
    /// does not know.
    public static let waitingOnCustomer = "waiting_on_customer"

    /// `waiting_on_customer` pauses every clock; `waiting_on_vendor` and `waiting_on_engineering`
    /// pause resolution only; `scheduled_follow_up` pauses resolution and update.
    public static let defaultPauseReasons: [String: Set<SlaTarget>] = [
        waitingOnCustomer: [.firstResponse, .resolution, .update],
        "waiting_on_vendor": [.resolution],
        "waiting_on_engineering": [.resolution],
        "scheduled_follow_up": [.resolution, .update],
    ]

    public static let defaultEscalation: [EscalationLevel] = [
        .init(level: 1, afterMinutes: 0, notify: ["team-lead"]),
        .init(level: 2, afterMinutes: 60, notify: ["support-manager"], reassign: true),
    ]

    /// Monday to Friday 09:00–17:00 UTC, no holidays (``BusinessCalendar/officeHoursUTC``).
    public static let defaultBusinessCalendar: BusinessCalendar = .officeHoursUTC

    public init(
        targets: [SlaCoverage: [SupportSeverity: SlaTargets]] = SlaPolicy.defaultTargets,
        warningPercents: [Int] = [50, 75],
        warningNotify: [String] = ["assigned-agent"],
        escalation: [EscalationLevel] = SlaPolicy.defaultEscalation,
        defaultCalendar: BusinessCalendar = SlaPolicy.defaultBusinessCalendar,
        calendars: [String: BusinessCalendar] = [:],
        teamCalendars: [String: String] = [:],
        reopenWindowMinutes: Double = 30 * 24 * 60,
        pauseReasons: [String: Set<SlaTarget>] = SlaPolicy.defaultPauseReasons
    ) {
        self.targets = targets
        self.warningPercents = warningPercents.sorted()
        self.warningNotify = warningNotify
        self.escalation = escalation.sorted { $0.level < $1.level }
        self.defaultCalendar = defaultCalendar
        self.calendars = calendars
        self.teamCalendars = teamCalendars
        self.reopenWindowMinutes = reopenWindowMinutes
        var reasons = pauseReasons
        if reasons[Self.waitingOnCustomer] == nil { reasons[Self.waitingOnCustomer] = Self.defaultPauseReasons[Self.waitingOnCustomer] }
        self.pauseReasons = reasons
    }

    /// The targets for `severity` under `coverage` (falling back to the defaults).
    public func targets(for severity: SupportSeverity, coverage: SlaCoverage) -> SlaTargets {
        targets[coverage]?[severity] ?? Self.defaultTargets[coverage]![severity]!
    }

    /// The calendar an incident's clocks run in.
    public func calendar(for coverage: SlaCoverage, team: String?) -> BusinessCalendar {
        switch coverage {
        case .twentyFourSeven: .twentyFourSeven
        case .businessHours:
            team.flatMap { teamCalendars[$0] }.flatMap { calendars[$0] } ?? defaultCalendar
        }
    }
}
