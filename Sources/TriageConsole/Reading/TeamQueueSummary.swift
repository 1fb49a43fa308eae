public import Foundation
public import TriageDashboard
public import TriageRouting

/// One team's queue as the Queues page shows it: depth, the incident waiting longest, the
/// severity mix, and the agents online who could take a waiting incident now.
public struct TeamQueueSummary: Sendable, Hashable {
    public var team: String
    public var depth: Int
    /// The incident queued longest and since when (SLA time); `nil` for an empty queue.
    public var oldestID: String?
    public var oldestSince: Date?
    /// Queued incidents per severity.
    public var mix: DashboardSnapshot.PerSeverity
    /// Agents of the desk who are online.
    public var online: Int
    /// Agents online with room for at least one waiting incident they qualify for (product,
    /// language, shift, capacity: the router's eligibility). With an empty queue: online agents
    /// with room for the lightest severity.
    public var eligibleOnline: Int
    /// Waiting incident ids in service order (the first one is served first).
    public var queued: [String]

    /// Summarises `desk` at `now` (SLA time); `queuedSince` tells when an incident went into the
    /// queue (the lifecycle events), else its opening counts.
    public init(desk: TeamDesk, now: Date, policy: RoutingPolicy, queuedSince: (String) -> Date?) {
        team = desk.team
        let entries = desk.queuedIncidents
        depth = entries.count
        queued = entries.map(\.id)
        var mix = DashboardSnapshot.PerSeverity()
        var oldest: (String, Date)?
        for entry in entries {
            mix[entry.incident.severity] += 1
            let since = queuedSince(entry.id) ?? entry.incident.openedAt
            if oldest == nil || since < oldest!.1 { oldest = (entry.id, since) }
        }
        self.mix = mix
        oldestID = oldest?.0
        oldestSince = oldest?.1
        let onlineAgents = desk.agents.filter { desk.presence(of: $0.id) == .online }
        online = onlineAgents.count
        if entries.isEmpty {
            let lightest = policy.severityWeights.values.min() ?? 1
            eligibleOnline = onlineAgents.filter { desk.load(of: $0.id) + lightest <= $0.capacity }.count
        } else {
            var eligible: Set<String> = []
            // The first 50 in service order: enough to tell who could help, bounded per request.
            for entry in entries.prefix(50) {
                eligible.formUnion(desk.eligibleAgents(for: entry.incident, at: now, policy: policy))
                if eligible.count == onlineAgents.count { break }
            }
            eligibleOnline = eligible.count
        }
    }
}
