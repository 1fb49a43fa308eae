import Foundation
import TriageDashboard

/// The figures `GET /api/live` sends for the pages' `data-live` elements, restricted to what the
/// person may see: `queue-depth:TEAM`, `queue-oldest:TEAM`, `queue-eligible:TEAM`,
/// `incident-status:ID`, `incident-agent:ID`, `incident-sla:ID`, `agent-load:ID`,
/// `agent-presence:ID`, `open-incidents`; and two that tell a page its rows are out of date
/// (the page reloads when one changes): `queue-teams` (the teams with a desk) and `agent-ids`
/// (the agents shown), each a JSON array of names.
enum LiveValues {
    struct Payload: Encodable {
        var at: String
        var values: [String: String]
    }

    /// What a page asks for (`?kinds=queue-depth,incident-status&ids=INC-1,INC-2`): the kinds of
    /// keys it shows and, for a page of a few incidents, their ids. Without `kinds`: everything
    /// (up to 2,000 incidents), as before — a detail page polling that sent every incident.
    struct Scope: Sendable, Hashable {
        var kinds: Set<String>?
        var ids: Set<String>?

        init(kinds: String?, ids: String?) {
            self.kinds = kinds.map { Set($0.split(separator: ",").map(String.init)) }
            self.ids = ids.map { Set($0.split(separator: ",").prefix(100).map(String.init)) }
        }

        func wants(_ prefix: String) -> Bool { kinds?.contains { $0.hasPrefix(prefix) } ?? true }
    }

    static func collect(board: ConsoleBoard, access: StaffAccess, scope: Scope = Scope(kinds: nil, ids: nil)) -> [String: String] {
        var values: [String: String] = [:]
        let now = board.now()
        let queues = scope.wants("queue-") ? board.queues(for: access) : []
        if scope.wants("queue-teams") { values["queue-teams"] = rowList(queues.map(\.team)) }
        for queue in queues {
            values["queue-depth:\(queue.team)"] = String(queue.depth)
            values["queue-oldest:\(queue.team)"] = queue.oldestSince.map { HTML.duration(now.timeIntervalSince($0)) } ?? "—"
            values["queue-eligible:\(queue.team)"] = String(queue.eligibleOnline)
        }
        var filter = IncidentFilter()
        filter.state = "all"
        let wantsIncidents = scope.wants("incident-") || scope.wants("open-incidents")
        let (all, _) = wantsIncidents ? board.incidents(filter, for: access, limit: 2_000) : ([], 0)
        let rows = scope.ids.map { ids in all.filter { ids.contains($0.id) } } ?? all
        for row in rows {
            values["incident-status:\(row.id)"] = row.status
            values["incident-agent:\(row.id)"] = row.assignedAgent.isEmpty ? "—" : row.assignedAgent
            values["incident-sla:\(row.id)"] = IncidentsPage.countdownText(row)
        }
        if scope.wants("open-incidents") { values["open-incidents"] = String(all.filter { !$0.isClosed }.count) }
        let agents = scope.wants("agent-") ? board.agents(for: access) : []
        if scope.wants("agent-ids") { values["agent-ids"] = rowList(agents.map(\.id)) }
        for agent in agents {
            values["agent-load:\(agent.id)"] = "\(agent.load) / \(agent.capacity)"
            values["agent-presence:\(agent.id)"] = agent.presence
        }
        return values
    }

    /// The names a page's rows were rendered for, in one order, as a JSON array (`queue-teams`,
    /// `agent-ids`): a name with a comma in it cannot read as two.
    static func rowList(_ names: [String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return (try? encoder.encode(names.sorted())).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }
}
