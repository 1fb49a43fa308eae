import Foundation

/// `GET /incidents`: the incidents the person may see, filtered (``IncidentFilter``), most urgent
/// first, with their SLA countdowns.
///
/// Test hooks: `table#incidents`, `tr[data-incident-id][data-status][data-severity][data-clock-state]`,
/// `#incident-count[data-count]`; live cells `data-live="incident-status:ID"`,
/// `"incident-sla:ID"`, `"incident-agent:ID"`.
enum IncidentsPage {
    static let states = [
        "open", "all", "closed", "assigned", "acknowledged", "waiting_on_customer", "solution_delivered", "close_requested",
    ]

    static func render(rows: [IncidentRow], total: Int, filter: IncidentFilter, teams: [String], context: PageContext) -> String {
        var body = "<h1>Incidents</h1>\n"
        body += "<form method=\"get\" action=\"/incidents\" class=\"filters\" id=\"incident-filters\">"
        body += "<input name=\"q\" placeholder=\"id or title\" value=\"\(HTML.escape(filter.query))\" aria-label=\"Search\">"
        body += select("team", label: "Team", options: [("", "all teams")] + teams.map { ($0, $0) }, selected: filter.team)
        body += select(
            "severity", label: "Severity", options: [("", "any severity"), ("A", "A"), ("B", "B"), ("C", "C")], selected: filter.severity)
        body += select("state", label: "State", options: states.map { ($0, HTML.words($0)) }, selected: filter.state)
        body += "<input name=\"customer\" placeholder=\"customer\" value=\"\(HTML.escape(filter.customer))\" aria-label=\"Customer\">"
        body += select(
            "risk", label: "Risk", options: [("", "any SLA"), ("at_risk", "at risk or breached"), ("breached", "breached")],
            selected: filter.risk)
        body += "<button type=\"submit\">Filter</button></form>\n"
        body +=
            "<p id=\"incident-count\" data-count=\"\(total)\">\(total) incident\(total == 1 ? "" : "s")\(rows.count < total ? " (first \(rows.count) shown)" : "")</p>\n"
        body += """
            <table id="incidents" class="stack">
            <thead><tr><th>Incident</th><th>Sev</th><th>Status</th><th>SLA</th><th>Team</th><th>Agent</th><th class="optional">Customer</th><th class="optional">Opened</th></tr></thead>
            <tbody>

            """
        for row in rows {
            let id = HTML.escape(row.id)
            body += """
                <tr data-incident-id="\(id)" data-status="\(row.status)" data-severity="\(row.severity)" data-clock-state="\(row.clockState)">
                <td data-label="Incident"><a href="/incidents/\(HTML.url(row.id))">\(id)</a><br><span class="muted">\(HTML.escape(row.title))</span></td>
                <td data-label="Sev">\(HTML.severity(row.severity))</td>
                <td data-label="Status" data-status="\(row.status)" data-live="incident-status:\(id)" data-live-attr="data-status">\(row.status)</td>
                <td data-label="SLA" class="clock-\(row.clockState)" data-live="incident-sla:\(id)">\(countdownText(row))</td>
                <td data-label="Team">\(HTML.escape(row.team))</td>
                <td data-label="Agent" data-live="incident-agent:\(id)">\(HTML.escape(row.assignedAgent.isEmpty ? "—" : row.assignedAgent))</td>
                <td data-label="Customer" class="optional">\(HTML.escape(row.customer))</td>
                <td data-label="Opened" class="optional">\(HTML.instant(row.openedAt))</td>
                </tr>

                """
        }
        body += "</tbody></table>\n"
        return PageLayout.render(title: "Incidents", page: "incidents", context: context, body: body)
    }

    /// `first response: 42 min left`, `resolution: breached 5 min ago`, `paused (1 h 10 min left)`.
    static func countdownText(_ row: IncidentRow) -> String {
        guard let countdown = row.countdown else { return row.isClosed ? "closed" : "—" }
        let target = HTML.words(countdown.target)
        if countdown.paused { return "\(target): paused (\(HTML.duration(countdown.seconds)) \(countdown.breached ? "over" : "left"))" }
        if countdown.breached { return "\(target): breached \(HTML.duration(countdown.seconds)) ago" }
        return "\(target): \(HTML.duration(countdown.seconds)) left"
    }

    static func select(_ name: String, label: String, options: [(String, String)], selected: String) -> String {
        var html = "<select name=\"\(name)\" aria-label=\"\(label)\">"
        for (value, text) in options {
            html += "<option value=\"\(HTML.escape(value))\"\(value == selected ? " selected" : "")>\(HTML.escape(text))</option>"
        }
        return html + "</select>"
    }
}
