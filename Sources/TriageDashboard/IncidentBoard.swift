public import Foundation
public import TriageAnalytics
public import TriageSLA
import TriageSchema

/// The open incidents as `triage.incident-state` tells them, with the deadline each is measured
/// against. Pure: the collector feeds it snapshots; ``rows(now:limit:)`` turns deadlines into
/// countdowns at a given SLA instant.
public struct IncidentBoard: Sendable {
    /// What is kept per open incident (not the whole snapshot).
    struct Entry: Sendable {
        var row: DashboardSnapshot.Incident
        var clock: SlaPosition?
    }

    /// Where an incident's measured target stands, independent of the current time.
    enum SlaPosition: Sendable, Hashable {
        case running(target: SlaTarget, deadline: Date)
        case paused(target: SlaTarget, secondsLeft: Double, deadline: Date?)
    }

    private let rules: SlaRules
    private var open: [String: Entry] = [:]

    /// `rules`: the SLA policy the escalator and the analytics feed run (targets and calendars).
    public init(rules: SlaRules) {
        self.rules = rules
    }

    /// Open incidents known.
    public var count: Int { open.count }

    /// Applies the latest snapshot of an incident: a closed one leaves the board.
    public mutating func apply(_ snapshot: IncidentSnapshot) {
        guard !snapshot.status.isClosed else {
            open[snapshot.incidentID] = nil
            return
        }
        let row = DashboardSnapshot.Incident(
            id: snapshot.incidentID, title: snapshot.title, severity: snapshot.severity.letter, status: snapshot.status.rawValue,
            team: snapshot.team, assignedAgent: snapshot.assignedAgentID, openedAt: snapshot.openedAt, sla: nil,
            firstResponse: Self.firstResponse(of: snapshot),
            waitingSince: snapshot.status == .waitingOnCustomer ? snapshot.waitingSince : nil
        )
        open[snapshot.incidentID] = Entry(row: row, clock: snapshot.sla.flatMap { Self.position(of: $0, rules: rules) })
    }

    /// A tombstone on the compacted topic.
    public mutating func remove(_ incident: String) {
        open[incident] = nil
    }

    /// Every open incident with its countdown at `now` (SLA time), most urgent first (see
    /// ``DashboardSnapshot/incidents``), at most `limit`.
    public func rows(now: Date, limit: Int) -> [DashboardSnapshot.Incident] {
        let rows = open.values.map { entry -> DashboardSnapshot.Incident in
            var row = entry.row
            switch entry.clock {
            case .running(let target, let deadline):
                row.sla = .init(target: target.rawValue, paused: false, deadline: deadline, seconds: deadline.timeIntervalSince(now))
            case .paused(let target, let secondsLeft, let deadline):
                row.sla = .init(target: target.rawValue, paused: true, deadline: deadline, seconds: secondsLeft)
            case nil:
                row.sla = nil
            }
            return row
        }
        return Array(rows.sorted(by: Self.moreUrgent).prefix(max(0, limit)))
    }

    /// Running countdowns first (ascending: breached longest ago first), then paused ones
    /// (least left first), then the rest (oldest first); ties by id.
    static func moreUrgent(_ lhs: DashboardSnapshot.Incident, _ rhs: DashboardSnapshot.Incident) -> Bool {
        func rank(_ row: DashboardSnapshot.Incident) -> Int { row.sla.map { $0.paused ? 1 : 0 } ?? 2 }
        let (left, right) = (rank(lhs), rank(rhs))
        if left != right { return left < right }
        if let l = lhs.sla, let r = rhs.sla, l.seconds != r.seconds { return l.seconds < r.seconds }
        let (lo, ro) = (lhs.openedAt ?? .distantFuture, rhs.openedAt ?? .distantFuture)
        if lo != ro { return lo < ro }
        return lhs.id < rhs.id
    }

    /// The stopped first-response clock (acknowledged, or stopped by a solution); `nil` while
    /// it runs or is paused.
    static func firstResponse(of snapshot: IncidentSnapshot) -> DashboardSnapshot.FirstResponse? {
        let measure = snapshot.firstResponse
        guard measure.isFinal, let minutes = measure.usedBusinessMinutes else { return nil }
        return .init(minutes: minutes, targetMinutes: measure.targetBusinessMinutes, met: !measure.breached, at: snapshot.acknowledgedAt)
    }

    /// The target the incident is measured against (first response until its clock stops,
    /// then resolution) and its deadline: the breach instant the escalator recorded, or the
    /// instant the running clock reaches the target in the incident's calendar.
    static func position(of sla: SlaTrackerState, rules: SlaRules) -> SlaPosition? {
        guard sla.closedAt == nil else { return nil }
        let targets = rules.policy.targets(for: sla.severity, coverage: sla.coverage)
        let calendar = rules.calendars[Int(sla.coverage == .twentyFourSeven ? 0 : rules.calendarIndex(named: sla.calendar))]
        for target in SlaTarget.allCases {
            guard target != .update else { continue }  // first response, then resolution
            let clock = target == .firstResponse ? sla.firstResponse : sla.resolution
            guard clock.phase == .running || clock.phase == .paused, let minutes = targets.minutes(for: target) else { continue }
            let recorded = clock.breachedAt.map { Date(timeIntervalSince1970: $0) }
            if clock.phase == .paused {
                return .paused(target: target, secondsLeft: (minutes - clock.usedMinutes) * 60, deadline: recorded)
            }
            let start = Date(timeIntervalSince1970: clock.segmentStart)
            if let recorded { return .running(target: target, deadline: recorded) }
            guard minutes > clock.usedMinutes else {
                // Reached in an earlier segment (exact under 24x7, approximate in business hours).
                return .running(target: target, deadline: start.addingTimeInterval(-(clock.usedMinutes - minutes) * 60))
            }
            // A calendar without working time for years never becomes due.
            let deadline = (try? calendar.adding(businessMinutes: minutes - clock.usedMinutes, to: start)) ?? .distantFuture
            return .running(target: target, deadline: deadline)
        }
        return nil
    }
}

extension Severity {
    /// `A`, `B`, `C`, or empty.
    var letter: String {
        switch self {
        case .a: "A"
        case .b: "B"
        case .c: "C"
        default: ""
        }
    }
}
