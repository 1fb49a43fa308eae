import Foundation
import TriageAnalytics
import TriageDashboard
import TriageSLAEvents
import TriageSchema

/// `GET /incidents/ID`: the incident's facts, its SLA clocks with an `sla explain`-style
/// timeline, its routing decisions with their reasons, the entitlement charged, the
/// notifications requested, the lifecycle timeline (with each event's actor), and the actions.
///
/// Test hooks: `#incident[data-incident-id][data-status][data-severity][data-team][data-agent]`,
/// `#incident-status[data-status]`, `#clocks tr[data-clock][data-clock-state]`, `#sla-explain`,
/// `#routing li[data-cause]`, `#entitlement[data-entitlement-id]`, `#notifications li`,
/// `#timeline tr[data-event-id][data-event-type][data-actor]`, `form#action-NAME` (NAME from
/// ``IncidentAction/names``).
struct IncidentPage {
    var snapshot: IncidentSnapshot
    var row: IncidentRow
    var timeline: IncidentTimeline
    var explanation: SlaExplanation
    var notifications: [NotificationEntry]
    /// Agents the incident could be given to (its team's desk).
    var agents: [DashboardSnapshot.Agent]
    /// The SLA policy's pause reasons with the clocks each pauses, for the pause form.
    var pauseReasons: [(name: String, clocks: String)] = []

    func render(context: PageContext) -> String {
        let id = HTML.escape(snapshot.incidentID)
        var body = """
            <section id="incident" data-incident-id="\(id)" data-status="\(row.status)" data-severity="\(row.severity)" data-team="\(HTML.escape(row.team))" data-agent="\(HTML.escape(row.assignedAgent))" data-clock-state="\(row.clockState)">
            <h1>\(id) <small class="muted">\(HTML.escape(snapshot.title))</small></h1>
            <div class="grid">
            <div class="card"><dl class="facts">
            <dt>Status</dt><dd><span id="incident-status" data-status="\(row.status)" data-live="incident-status:\(id)" data-live-attr="data-status">\(row.status)</span></dd>
            <dt>Severity</dt><dd id="incident-severity" data-severity="\(row.severity)">\(HTML.severity(row.severity))</dd>
            <dt>SLA</dt><dd class="clock-\(row.clockState)" data-live="incident-sla:\(id)">\(IncidentsPage.countdownText(row))</dd>
            <dt>Team</dt><dd>\(HTML.escape(row.team.isEmpty ? "—" : row.team))</dd>
            <dt>Agent</dt><dd id="incident-agent" data-live="incident-agent:\(id)">\(HTML.escape(row.assignedAgent.isEmpty ? "—" : row.assignedAgent))</dd>
            <dt>Customer</dt><dd>\(HTML.escape(snapshot.customerAccount))</dd>
            <dt>Product</dt><dd>\(HTML.escape(snapshot.product)) (\(HTML.escape(snapshot.language.isEmpty ? "any language" : snapshot.language)))</dd>
            <dt>Opened</dt><dd>\(HTML.instant(snapshot.openedAt))</dd>
            <dt>Acknowledged</dt><dd>\(HTML.instant(snapshot.acknowledgedAt))</dd>
            <dt>Closed</dt><dd>\(HTML.instant(snapshot.closedAt))\(snapshot.closedBy.isEmpty ? "" : " by " + HTML.escape(snapshot.closedBy))</dd>
            </dl></div>
            <div class="card" id="entitlement" data-entitlement-id="\(HTML.escape(snapshot.entitlementID))" data-credit-refunded="\(snapshot.creditRefunded)">
            <h2 style="margin-top:0">Entitlement charged</h2>
            <p>\(snapshot.entitlementID.isEmpty ? "none recorded" : "<strong>" + HTML.escape(snapshot.entitlementID) + "</strong>")\(snapshot.creditRefunded ? " — credit refunded" : "")\(snapshot.reopenCount > 0 ? " — reopened \(snapshot.reopenCount)×" : "")</p>
            \(snapshot.parentIncidentID.isEmpty ? "" : "<p>Split from <a href=\"/incidents/\(HTML.url(snapshot.parentIncidentID))\">\(HTML.escape(snapshot.parentIncidentID))</a></p>")
            \(snapshot.splitChildren.isEmpty ? "" : "<p>Split into " + snapshot.splitChildren.map { "<a href=\"/incidents/\(HTML.url($0))\">\(HTML.escape($0))</a>" }.joined(separator: ", ") + "</p>")
            </div>
            </div>

            """
        body += clocks()
        body += actions(context: context)
        body += routing()
        body += notificationList()
        body += timelineTable()
        body += "</section>\n"
        return PageLayout.render(title: snapshot.incidentID, page: "incident", context: context, body: body)
    }

    func clocks() -> String {
        var html = "<h2>SLA clocks</h2>\n"
        if explanation.clocks.isEmpty {
            html +=
                "<p class=\"muted\" id=\"clocks-none\">No clock is known from the events kept (\(explanation.eventCount) event(s)).</p>\n"
        } else {
            html += """
                <table id="clocks" class="stack"><thead><tr><th>Target</th><th>State</th><th class="num">Used</th><th class="num">Target</th></tr></thead><tbody>

                """
            for clock in explanation.clocks {
                let state = clock.breached ? "breached" : clock.phase
                html += """
                    <tr data-clock="\(clock.target)" data-clock-state="\(state)" data-phase="\(clock.phase)">
                    <td data-label="Target">\(HTML.words(clock.target))</td>
                    <td data-label="State" class="clock-\(state)">\(state)</td>
                    <td data-label="Used" class="num">\(String(format: "%.1f", clock.usedMinutes)) min</td>
                    <td data-label="Target" class="num">\(Int(clock.targetMinutes)) min</td>
                    </tr>

                    """
            }
            html += "</tbody></table>\n"
        }
        var lines = ["incident \(snapshot.incidentID): \(explanation.eventCount) event(s)"]
        if timeline.dropped > 0 {
            lines.append("(\(timeline.dropped) event(s) between the first and the kept latest are not kept: the clocks are approximate)")
        }
        lines += explanation.lines()
        html +=
            "<details open><summary>How the clocks got here (sla explain)</summary><pre id=\"sla-explain\">\(HTML.escape(lines.joined(separator: "\n")))</pre></details>\n"
        return html
    }

    func routing() -> String {
        let decisions = timeline.events.filter(EventDescription.isRoutingDecision)
        var html = "<h2>Routing decisions</h2>\n"
        guard !decisions.isEmpty else { return html + "<p class=\"muted\" id=\"routing-none\">None yet.</p>\n" }
        html += "<ul id=\"routing\">"
        for event in decisions {
            let cause: String =
                switch event.event {
                case .assigned(let assigned): assigned.reason.cause
                case .reassigned(let moved): moved.reason.cause
                case .returnedToQueue(let returned): returned.reason.cause
                case .teamChanged(let moved): moved.cause
                default: ""
                }
            html +=
                "<li data-cause=\"\(HTML.escape(cause))\">\(HTML.instant(event.occurredAt.date)) — \(HTML.escape(EventDescription.text(event)))</li>"
        }
        return html + "</ul>\n"
    }

    func notificationList() -> String {
        var html = "<h2>Notifications</h2>\n"
        guard !notifications.isEmpty else { return html + "<p class=\"muted\" id=\"notifications-none\">None requested.</p>\n" }
        html += "<ul id=\"notifications\">"
        for entry in notifications {
            html +=
                "<li data-recipient=\"\(HTML.escape(entry.recipient))\">\(HTML.instant(entry.requestedAt)) — \(HTML.escape(entry.template)) to \(HTML.escape(entry.recipient))\(entry.urgent ? " (urgent)" : "")</li>"
        }
        return html + "</ul>\n"
    }

    func timelineTable() -> String {
        var html = "<h2>Timeline</h2>\n"
        if timeline.dropped > 0 {
            html +=
                "<p class=\"muted\">\(timeline.dropped) older event(s) are not kept (the console keeps the first and the latest of each incident).</p>\n"
        }
        html += """
            <table id="timeline" class="stack"><thead><tr><th>When</th><th>Event</th><th>Actor</th><th>What</th></tr></thead><tbody>

            """
        for event in timeline.events.reversed() {
            let type = event.eventTypeName ?? "unknown"
            let actor = EventDescription.actor(of: event)
            html += """
                <tr data-event-id="\(HTML.escape(event.eventID))" data-event-type="\(HTML.escape(type))" data-actor="\(HTML.escape(actor))">
                <td data-label="When">\(HTML.instant(event.occurredAt.date))</td>
                <td data-label="Event">\(HTML.escape(HTML.words(type)))</td>
                <td data-label="Actor">\(HTML.escape(actor.isEmpty ? event.producer : actor + " via " + event.producer))</td>
                <td data-label="What">\(HTML.escape(EventDescription.text(event)))</td>
                </tr>

                """
        }
        return html + "</tbody></table>\n"
    }

    func actions(context: PageContext) -> String {
        let id = snapshot.incidentID
        func form(_ name: String, _ fields: String, button: String) -> String {
            """
            <form method="post" action="/incidents/\(HTML.url(id))/actions/\(name)" id="action-\(name)" class="action">\(HTML.formFields(csrf: context.csrf))\(fields)<button type="submit">\(button)</button></form>

            """
        }
        var html = "<h2>Actions</h2>\n<div class=\"card\" id=\"actions\">\n"
        let closed = row.isClosed
        if !closed {
            if row.status != "acknowledged" { html += form("acknowledge", "", button: "Acknowledge") }
            if row.status == "waiting_on_customer" {
                html += form("responded", "", button: "Customer responded")
            } else {
                let reasons = pauseReasons.isEmpty ? [("waiting_on_customer", "every clock")] : pauseReasons
                html += form(
                    "wait",
                    IncidentsPage.select(
                        "pause", label: "Pause reason",
                        options: reasons.map { ($0.0, "\($0.0.replacingOccurrences(of: "_", with: " ")) (pauses \($0.1))") },
                        selected: "waiting_on_customer")
                        + "<input name=\"reason\" placeholder=\"what we wait for\" aria-label=\"Reason\">"
                        + "<input name=\"resume_hours\" type=\"number\" min=\"0\" step=\"0.5\" placeholder=\"resume after hours (optional)\" aria-label=\"Resume after hours\">",
                    button: "Pause SLA (wait)")
            }
            html += form(
                "severity",
                IncidentsPage.select("severity", label: "Severity", options: [("A", "A"), ("B", "B"), ("C", "C")], selected: row.severity)
                    + "<input name=\"reason\" placeholder=\"reason\" aria-label=\"Reason\">", button: "Change severity")
            var targets: [(String, String)] = [("any", "another eligible agent"), ("queue", "back to the queue")]
            targets += agents.filter { $0.id != row.assignedAgent }.map {
                ("agent:\($0.id)", "\($0.name) (\($0.presence), load \($0.load)/\($0.capacity))")
            }
            html += form(
                "reassign",
                IncidentsPage.select("to", label: "Reassign to", options: targets, selected: "any")
                    + "<input name=\"note\" placeholder=\"note\" aria-label=\"Note\">", button: "Reassign")
            html += form(
                "solution", "<input name=\"summary\" placeholder=\"solution summary\" aria-label=\"Solution\" required>",
                button: "Deliver solution")
            html += form("close-resolved", "", button: "Close resolved")
            html += form(
                "close-unresolved",
                IncidentsPage.select(
                    "reason", label: "Reason",
                    options: [
                        ("no_response", "no response"), ("duplicate", "duplicate"), ("cannot_reproduce", "cannot reproduce"),
                        ("other", "other"),
                    ],
                    selected: "no_response"), button: "Close unresolved")
        }
        html += form(
            "note",
            "<textarea name=\"text\" aria-label=\"Note\" required></textarea>"
                + IncidentsPage.select(
                    "visibility", label: "Visibility", options: [("internal", "internal"), ("public", "public (the customer sees it)")],
                    selected: "internal"),
            button: "Add note")
        return html + "</div>\n"
    }
}
