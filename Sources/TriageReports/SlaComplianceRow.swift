/// One row of an ``SlaComplianceReport``: the figures of the incidents of one group (or of all
/// of them, the report's ``SlaComplianceReport/total``), over the incidents opened in the
/// report's window. docs/analytics.md ("SLA compliance report") defines each column.
public struct SlaComplianceRow: Sendable, Hashable {
    /// The group's key (a team, `SEVERITY_B`, a customer account, `2026-03`); empty when the
    /// records leave the attribute empty. `nil` for the total row.
    public var group: String?
    /// Incidents whose Opened falls in the window.
    public var opened = 0
    /// Of those, incidents whose first response was measured (`first_response_business_minutes`
    /// present on their latest record).
    public var measured = 0
    /// Measured and not breached.
    public var withinTarget = 0
    /// Breached (`breached` on their latest record), measured or not.
    public var breached = 0
    /// `reachedLevel[i]`: incidents escalated on their first-response target to level `i + 1`
    /// or higher. As long as the report's ``SlaComplianceReport/escalationLevels`` (at least 3).
    public var reachedLevel: [Int] = []
    /// First-response minutes (business minutes of the incident's calendar) of the measured
    /// incidents, ascending.
    public var firstResponseMinutes: [Double] = []
    /// Wall-clock minutes waiting on the customer, summed over the incidents (their latest record).
    public var waitingOnCustomerMinutes: Double = 0
    /// Incidents at risk at the report's `asOf` (see ``SlaComplianceReport``).
    public var atRisk = 0

    public init(group: String?, escalationLevels: Int = 3) {
        self.group = group
        reachedLevel = Array(repeating: 0, count: escalationLevels)
    }

    /// Breached incidents with a measured first response (acknowledged after the target).
    public var breachedAndMeasured: Int { measured - withinTarget }

    /// `withinTarget / measured` in percent; `nil` when nothing was measured.
    public var withinTargetPercent: Double? {
        measured == 0 ? nil : Double(withinTarget) * 100 / Double(measured)
    }

    /// Median first response (nearest rank: the lower middle of an even count); `nil` when
    /// nothing was measured.
    public var medianFirstResponseMinutes: Double? { NearestRank.percentile(50, of: firstResponseMinutes) }

    /// 90th percentile of the first response (nearest rank); `nil` when nothing was measured.
    public var p90FirstResponseMinutes: Double? { NearestRank.percentile(90, of: firstResponseMinutes) }

    /// Mean wall-clock minutes waiting on the customer per opened incident (those that never
    /// waited count as 0); `nil` when no incident was opened.
    public var meanWaitingOnCustomerMinutes: Double? {
        opened == 0 ? nil : waitingOnCustomerMinutes / Double(opened)
    }

    mutating func add(_ incident: IncidentTrail) {
        opened += 1
        let latest = incident.latest
        if latest.hasFirstResponseBusinessMinutes {
            measured += 1
            if !latest.breached { withinTarget += 1 }
            firstResponseMinutes.append(latest.firstResponseBusinessMinutes)
        }
        if latest.breached { breached += 1 }
        for level in 0..<min(Int(incident.firstResponseLevel), reachedLevel.count) { reachedLevel[level] += 1 }
        waitingOnCustomerMinutes += latest.waitingOnCustomerMinutes
        if incident.isAtRisk { atRisk += 1 }
    }

    mutating func finish() { firstResponseMinutes.sort() }
}
