import Synchronization
import TriageRouting
import TriageRoutingEvents
import TriageSchema

/// Agents as read back from the topics, for `triage agents`.
final class AgentTable: Sendable {
    struct Row { var id: String; var team = "-"; var presence = "offline"; var capacity = 0; var load = 0; var assigned = 0 }
    private let state = Mutex<[String: Row]>([:])

    func apply(_ event: AgentEvent) {
        state.withLock { rows in
            var row = rows[event.agentID] ?? Row(id: event.agentID)
            switch event.event {
            case .profile(let profile):
                row.team = profile.team
                row.capacity = Int(profile.capacity)
            case .presenceChanged(let change):
                row.presence = Presence(change.presence).rawValue
            case nil: break
            }
            rows[event.agentID] = row
        }
    }

    func apply(_ desk: TeamDesk) {
        state.withLock { rows in
            for (id, row) in rows where row.team == desk.team {
                var updated = row
                updated.load = desk.load(of: id)
                updated.assigned = desk.assignments.values.filter { $0 == id }.count
                rows[id] = updated
            }
        }
    }

    func rows() -> [Row] { state.withLock { $0.values.sorted { ($0.team, $0.id) < ($1.team, $1.id) } } }
}
