public import Foundation
import TriageAnalytics
public import TriageDashboard
public import TriageRouting
public import TriageSLA
import TriageSchema

/// The console's view of the topics: the dashboard's collector (boards of incidents, desks,
/// agents) and the ``IncidentRecords`` it feeds, shaped for the pages and filtered by what the
/// signed-in person may see.
public final class ConsoleBoard: Sendable {
    public let collector: DashboardCollector
    public let records: IncidentRecords
    public let rules: SlaRules
    public let routing: RoutingPolicy
    /// SLA time.
    public let now: @Sendable () -> Date
    let atRiskWithin: Double

    public init(
        collector: DashboardCollector, records: IncidentRecords, policy: SlaPolicy, routing: RoutingPolicy, atRiskWithin: Duration,
        now: @escaping @Sendable () -> Date
    ) {
        self.collector = collector
        self.records = records
        rules = SlaRules(policy)
        self.routing = routing
        self.now = now
        self.atRiskWithin = atRiskWithin.inSeconds
    }

    /// Every queue the person may see, by team.
    func queues(for access: StaffAccess) -> [TeamQueueSummary] {
        let instant = now()
        return collector.desks().values.filter { access.allows(team: $0.team) }.sorted { $0.team < $1.team }.map {
            TeamQueueSummary(desk: $0, now: instant, policy: routing, queuedSince: collector.queuedSince)
        }
    }

    /// Every incident the person may see that `filter` matches, most urgent first (open before
    /// closed; see the dashboard's order), at most `limit`.
    func incidents(_ filter: IncidentFilter, for access: StaffAccess, limit: Int = 500) -> (rows: [IncidentRow], total: Int) {
        let countdowns = Dictionary(collector.snapshot().incidents.map { ($0.id, $0.sla) }, uniquingKeysWith: { first, _ in first })
        var rows: [IncidentRow] = []
        for snapshot in records.snapshots() where access.allows(snapshot) {
            let row = self.row(snapshot, countdown: countdowns[snapshot.incidentID] ?? nil)
            if filter.matches(row) { rows.append(row) }
        }
        rows.sort(by: Self.moreUrgent)
        return (Array(rows.prefix(limit)), rows.count)
    }

    func row(_ snapshot: IncidentSnapshot, countdown: DashboardSnapshot.Countdown?) -> IncidentRow {
        let closed = snapshot.status.isClosed
        let state: String
        if closed {
            state = "stopped"
        } else if let countdown {
            state =
                countdown.breached ? "breached" : countdown.paused ? "paused" : countdown.seconds < atRiskWithin ? "at_risk" : "running"
        } else {
            state = snapshot.firstResponse.breached || snapshot.resolution.breached ? "breached" : "none"
        }
        return IncidentRow(
            id: snapshot.incidentID, title: snapshot.title, severity: Self.letter(snapshot.severity), status: snapshot.status.rawValue,
            team: snapshot.team, assignedAgent: snapshot.assignedAgentID, customer: snapshot.customerAccount, product: snapshot.product,
            openedAt: snapshot.openedAt, countdown: closed ? nil : countdown, clockState: state, isClosed: closed)
    }

    /// The row of one incident (its countdown included).
    func row(of id: String) -> IncidentRow? {
        guard let snapshot = records.snapshot(id) else { return nil }
        let countdown = collector.snapshot().incidents.first { $0.id == id }?.sla
        return row(snapshot, countdown: countdown)
    }

    static func moreUrgent(_ lhs: IncidentRow, _ rhs: IncidentRow) -> Bool {
        if lhs.isClosed != rhs.isClosed { return !lhs.isClosed }
        func rank(_ row: IncidentRow) -> Int { row.countdown.map { $0.paused ? 1 : 0 } ?? 2 }
        if rank(lhs) != rank(rhs) { return rank(lhs) < rank(rhs) }
        if let l = lhs.countdown, let r = rhs.countdown, l.seconds != r.seconds { return l.seconds < r.seconds }
        let (lo, ro) = (lhs.openedAt ?? .distantFuture, rhs.openedAt ?? .distantFuture)
        if lo != ro { return lhs.isClosed ? lo > ro : lo < ro }
        return lhs.id < rhs.id
    }

    static func letter(_ severity: Severity) -> String {
        switch severity {
        case .a: "A"
        case .b: "B"
        case .c: "C"
        default: ""
        }
    }

    /// Agents the person may see (an agent: their team's), sorted by team then id.
    func agents(for access: StaffAccess) -> [DashboardSnapshot.Agent] {
        collector.agentRows().filter { access.allows(team: $0.team) || access.mayManage(agentID: $0.id) }
    }
}
