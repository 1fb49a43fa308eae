import Foundation

/// `GET /queues`: per team the queue depth, the incident waiting longest (and for how long, SLA
/// time), the severity mix and the eligible agents online; "Take next" for an agent of the team.
///
/// Test hooks: `tr#queue-TEAM[data-team]`, `[data-queue-depth]` (`#queue-depth-TEAM`),
/// `#queue-oldest-TEAM[data-oldest-id]`, `#queue-eligible-TEAM[data-eligible-online]`,
/// `#queue-mix-TEAM[data-a][data-b][data-c]`, `form#take-next-TEAM`.
enum QueuesPage {
    static func render(queues: [TeamQueueSummary], context: PageContext) -> String {
        // A team whose desk appears later (the router publishes it with its first incident)
        // would never show on a page that stayed open: the live script reloads when this changes.
        var body =
            "<h1>Queues</h1>\n<span hidden id=\"queue-teams\" data-live=\"queue-teams\" data-live-reload>\(HTML.escape(LiveValues.rowList(queues.map(\.team))))</span>\n"
        if queues.isEmpty {
            body += "<p id=\"no-queues\" class=\"muted\">No team desk is known yet (the router publishes one per team).</p>"
            return PageLayout.render(title: "Queues", page: "queues", context: context, body: body)
        }
        body += """
            <table id="queues" class="stack">
            <thead><tr><th>Team</th><th class="num">Waiting</th><th>Oldest waiting</th><th>Severity mix</th><th class="num">Eligible online</th><th></th></tr></thead>
            <tbody>

            """
        for queue in queues {
            let team = HTML.escape(queue.team)
            let key = HTML.escape(queue.team)
            let oldest: String
            if let id = queue.oldestID, let since = queue.oldestSince {
                oldest =
                    "<a href=\"/incidents/\(HTML.url(id))\">\(HTML.escape(id))</a> · <span data-live=\"queue-oldest:\(key)\">\(HTML.duration(context.now.timeIntervalSince(since)))</span>"
            } else {
                oldest = "<span data-live=\"queue-oldest:\(key)\">—</span>"
            }
            var take = ""
            if let agent = context.account.agentID, context.account.team == queue.team {
                take = """
                    <form method="post" action="/queues/\(HTML.url(queue.team))/take" id="take-next-\(team)" class="inline">\(HTML.formFields(csrf: context.csrf))<input type="hidden" name="agent" value="\(HTML.escape(agent))"><button type="submit">Take next</button></form>
                    """
            }
            body += """
                <tr id="queue-\(team)" data-team="\(team)">
                <td data-label="Team"><strong>\(team)</strong></td>
                <td data-label="Waiting" class="num" id="queue-depth-\(team)" data-queue-depth="\(queue.depth)" data-live="queue-depth:\(key)" data-live-attr="data-queue-depth">\(queue.depth)</td>
                <td data-label="Oldest" id="queue-oldest-\(team)" data-oldest-id="\(HTML.escape(queue.oldestID ?? ""))">\(oldest)</td>
                <td data-label="Mix" id="queue-mix-\(team)" data-a="\(queue.mix.a)" data-b="\(queue.mix.b)" data-c="\(queue.mix.c)">\(HTML.severity("A")) \(queue.mix.a) · \(HTML.severity("B")) \(queue.mix.b) · \(HTML.severity("C")) \(queue.mix.c)</td>
                <td data-label="Eligible online" class="num" id="queue-eligible-\(team)" data-eligible-online="\(queue.eligibleOnline)" data-live="queue-eligible:\(key)" data-live-attr="data-eligible-online">\(queue.eligibleOnline)</td>
                <td data-label="">\(take)</td>
                </tr>

                """
        }
        body += "</tbody></table>\n"
        for queue in queues where !queue.queued.isEmpty {
            body +=
                "<h2>Waiting in \(HTML.escape(queue.team)) <small class=\"muted\">(service order)</small></h2>\n<ol id=\"queue-list-\(HTML.escape(queue.team))\">"
            for id in queue.queued.prefix(20) {
                body += "<li><a href=\"/incidents/\(HTML.url(id))\" data-incident-id=\"\(HTML.escape(id))\">\(HTML.escape(id))</a></li>"
            }
            if queue.queued.count > 20 { body += "<li class=\"muted\">… \(queue.queued.count - 20) more</li>" }
            body += "</ol>\n"
        }
        return PageLayout.render(title: "Queues", page: "queues", context: context, body: body)
    }
}
