import Foundation
import TriageDashboard

/// The figures `GET /api/live` sends for the pages' `data-live` elements, restricted to what the
/// person may see: `queue-depth:TEAM`, `queue-oldest:TEAM`, `queue-eligible:TEAM`,
/// `incident-status:ID`, `incident-agent:ID`, `incident-sla:ID`, `agent-load:ID`,
/// `agent-presence:ID`, `open-incidents`.
enum LiveValues {
    struct Payload: Encodable {
        var at: String
        var values: [String: String]
    }

    static func collect(board: ConsoleBoard, access: StaffAccess) -> [String: String] {
        var values: [String: String] = [:]
        let now = board.now()
        for queue in board.queues(for: access) {
            values["queue-depth:\(queue.team)"] = String(queue.depth)
            values["queue-oldest:\(queue.team)"] = queue.oldestSince.map { HTML.duration(now.timeIntervalSince($0)) } ?? "—"
            values["queue-eligible:\(queue.team)"] = String(queue.eligibleOnline)
        }
        var filter = IncidentFilter()
        filter.state = "all"
        let (rows, _) = board.incidents(filter, for: access, limit: 2_000)
        for row in rows {
            values["incident-status:\(row.id)"] = row.status
            values["incident-agent:\(row.id)"] = row.assignedAgent.isEmpty ? "—" : row.assignedAgent
            values["incident-sla:\(row.id)"] = IncidentsPage.countdownText(row)
        }
        values["open-incidents"] = String(rows.filter { !$0.isClosed }.count)
        for agent in board.agents(for: access) {
            values["agent-load:\(agent.id)"] = "\(agent.load) / \(agent.capacity)"
            values["agent-presence:\(agent.id)"] = agent.presence
        }
        return values
    }
}
