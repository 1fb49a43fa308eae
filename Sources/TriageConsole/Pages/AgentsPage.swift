import Foundation
import TriageDashboard
import TriageRouting

/// `GET /agents`: each agent's load against capacity (with the severity weights that make the
/// load), presence, shift and assigned incidents; presence forms for the agents the person may
/// manage (themselves; leads and admins: anyone).
///
/// Test hooks: `tr[data-agent-id][data-presence][data-load][data-capacity]`,
/// `#agent-load-ID`, `#agent-presence-ID`, `#severity-weights[data-a][data-b][data-c]`,
/// `form#presence-ID`.
enum AgentsPage {
    static func render(
        agents: [DashboardSnapshot.Agent], assignments: [String: [String]], shifts: [String: String],
        weights: DashboardSnapshot.PerSeverity,
        context: PageContext
    ) -> String {
        var body = """
            <h1>Agents</h1>
            <span hidden id="agent-ids" data-live="agent-ids" data-live-reload>\(HTML.escape(LiveValues.rowList(agents.map(\.id))))</span>
            <p id="severity-weights" data-a="\(weights.a)" data-b="\(weights.b)" data-c="\(weights.c)">Load is the sum of the weights of the incidents an agent holds: severity A weighs \(weights.a), B \(weights.b), C \(weights.c) load units (the router's policy). An agent gets new work only while load + the incident's weight fits the capacity.</p>
            <table id="agents" class="stack">
            <thead><tr><th>Agent</th><th>Team</th><th>Presence</th><th class="num">Load / capacity</th><th class="optional">By severity</th><th class="optional">Shift</th><th>Holds</th><th></th></tr></thead>
            <tbody>

            """
        for agent in agents {
            let id = HTML.escape(agent.id)
            let holds = (assignments[agent.id] ?? []).sorted().map { "<a href=\"/incidents/\(HTML.url($0))\">\(HTML.escape($0))</a>" }
            var presenceForm = ""
            if context.access.mayManage(agentID: agent.id) {
                presenceForm = """
                    <form method="post" action="/agents/\(HTML.url(agent.id))/presence" id="presence-\(id)" class="inline">\(HTML.formFields(csrf: context.csrf))\(IncidentsPage.select("presence", label: "Presence", options: [("online", "online"), ("away", "away"), ("offline", "offline")], selected: agent.presence))<button type="submit">Set</button></form>
                    """
            }
            body += """
                <tr data-agent-id="\(id)" data-presence="\(agent.presence)" data-load="\(agent.load)" data-capacity="\(agent.capacity)">
                <td data-label="Agent"><strong>\(HTML.escape(agent.name))</strong> <span class="muted">\(id)</span></td>
                <td data-label="Team">\(HTML.escape(agent.team))</td>
                <td data-label="Presence" id="agent-presence-\(id)" data-presence="\(agent.presence)" data-live="agent-presence:\(id)" data-live-attr="data-presence">\(agent.presence)</td>
                <td data-label="Load" class="num" id="agent-load-\(id)" data-live="agent-load:\(id)">\(agent.load) / \(agent.capacity)</td>
                <td data-label="By severity" class="optional">A \(agent.assignedBySeverity.a) · B \(agent.assignedBySeverity.b) · C \(agent.assignedBySeverity.c)</td>
                <td data-label="Shift" class="optional">\(HTML.escape(shifts[agent.id] ?? "always"))</td>
                <td data-label="Holds">\(holds.isEmpty ? "—" : holds.joined(separator: ", "))</td>
                <td data-label="">\(presenceForm)</td>
                </tr>

                """
        }
        body += "</tbody></table>\n"
        if agents.isEmpty { body += "<p class=\"muted\" id=\"no-agents\">No agent is known yet.</p>" }
        return PageLayout.render(title: "Agents", page: "agents", context: context, body: body)
    }
}
