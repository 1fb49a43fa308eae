import Foundation
public import TriageRouting
import TriageRoutingEvents
public import TriageSchema

/// The agents as the topics tell them: profile and presence from `triage.agent-events`, load
/// and assignments from the latest desk of their team on `triage.router-state`. Pure; the same
/// idea as `triage agents`.
public struct AgentBoard: Sendable {
    private struct Profile: Sendable {
        var name = ""
        var team = ""
        var capacity = 0
        var presence: String?
    }

    private var profiles: [String: Profile] = [:]
    private var desks: [String: TeamDesk] = [:]

    public init() {}

    /// Applies a profile or presence change.
    public mutating func apply(_ event: AgentEvent) {
        guard !event.agentID.isEmpty else { return }
        var profile = profiles[event.agentID] ?? Profile()
        switch event.event {
        case .profile(let update):
            profile.name = update.displayName
            profile.team = update.team
            profile.capacity = Int(update.capacity)
        case .presenceChanged(let change):
            profile.presence = Presence(change.presence).rawValue
        case nil:
            return
        }
        profiles[event.agentID] = profile
    }

    /// Applies the latest desk of `team` (`nil`: a tombstone, the desk is gone).
    public mutating func apply(desk: TeamDesk?, team: String) {
        desks[team] = desk
    }

    /// Every agent, sorted by team then id. Agents the desks know but whose events were not
    /// seen (yet) are listed from the desk's profile.
    public func rows() -> [DashboardSnapshot.Agent] {
        var assigned: [String: [String: Int]] = [:]  // team → agent → incidents
        var bySeverity: [String: [String: DashboardSnapshot.PerSeverity]] = [:]  // team → agent → incidents by severity
        for (team, desk) in desks {
            for (incident, agent) in desk.assignments {
                assigned[team, default: [:]][agent, default: 0] += 1
                if let severity = desk.incident(incident)?.severity {
                    bySeverity[team, default: [:]][agent, default: .init()][severity] += 1
                }
            }
        }
        var rows: [String: DashboardSnapshot.Agent] = [:]
        for (id, profile) in profiles {
            let team = profile.team.isEmpty ? "-" : profile.team
            let desk = desks[profile.team]
            rows[id] = DashboardSnapshot.Agent(
                id: id, name: profile.name.isEmpty ? id : profile.name, team: team,
                presence: profile.presence ?? desk?.presence(of: id)?.rawValue ?? "offline",
                capacity: profile.capacity, load: desk?.load(of: id) ?? 0, assigned: assigned[profile.team]?[id] ?? 0,
                assignedBySeverity: bySeverity[profile.team]?[id] ?? .init()
            )
        }
        for (team, desk) in desks {
            for agent in desk.agents where rows[agent.id] == nil {
                rows[agent.id] = DashboardSnapshot.Agent(
                    id: agent.id, name: agent.id, team: team, presence: desk.presence(of: agent.id)?.rawValue ?? "offline",
                    capacity: agent.capacity, load: desk.load(of: agent.id), assigned: assigned[team]?[agent.id] ?? 0,
                    assignedBySeverity: bySeverity[team]?[agent.id] ?? .init()
                )
            }
        }
        return rows.values.sorted { ($0.team, $0.id) < ($1.team, $1.id) }
    }
}
