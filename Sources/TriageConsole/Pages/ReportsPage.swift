import Foundation
import TriageReports

/// `GET /reports`: first-response SLA compliance of the incidents opened in a window, per team,
/// severity, customer or month (``SlaComplianceReport``, the report `triage report sla`
/// prints), with CSV and JSON downloads. Leads and admins only: it spans every team and customer.
enum ReportsPage {
    /// What the page was asked for (`?from=2026-11-01&to=2026-12-01&by=team&format=html`).
    struct Query: Sendable, Hashable {
        var from: Date
        var to: Date
        var grouping: ReportGrouping
        /// `html` (the page), `csv` or `json`.
        var format: String

        /// The window's bounds as the form shows them.
        var fromText: String { Self.dayText(from) }
        var toText: String { Self.dayText(to) }

        func link(format: String) -> String {
            "/reports?from=\(HTML.url(fromText))&to=\(HTML.url(toText))&by=\(grouping.rawValue)&format=\(format)"
        }

        static func dayText(_ date: Date) -> String {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            if parts.hour == 0 && parts.minute == 0 && parts.second == 0 {
                return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
            }
            return date.formatted(.iso8601)
        }
    }

    /// Why a query was refused, in words for the page.
    struct Problem: Error, Sendable {
        var message: String
        init(_ message: String) { self.message = message }
    }

    /// Reads the query; defaults: the 30 days up to the end of today (SLA time), by team.
    static func parse(_ values: [String: String], now: Date) -> Result<Query, Problem> {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let tomorrow = calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: now))!
        let to: Date
        if let text = nonEmpty(values["to"]) {
            guard let date = date(text) else { return .failure(Problem("to: '\(text)' is not a date (2026-12-01) or an RFC 3339 instant")) }
            to = date
        } else {
            to = tomorrow
        }
        let from: Date
        if let text = nonEmpty(values["from"]) {
            guard let date = date(text) else {
                return .failure(Problem("from: '\(text)' is not a date (2026-11-01) or an RFC 3339 instant"))
            }
            from = date
        } else {
            from = calendar.date(byAdding: .day, value: -30, to: to)!
        }
        guard from < to else { return .failure(Problem("from must be before to")) }
        let by = nonEmpty(values["by"]) ?? "team"
        guard let grouping = ReportGrouping(rawValue: by) else { return .failure(Problem("by: choose team, severity, customer or month")) }
        let format = nonEmpty(values["format"]) ?? "html"
        guard ["html", "csv", "json"].contains(format) else { return .failure(Problem("format: choose html, csv or json")) }
        return .success(Query(from: from, to: to, grouping: grouping, format: format))
    }

    private static func nonEmpty(_ text: String?) -> String? {
        guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        return text
    }

    /// `2026-11-01` (midnight UTC) or an RFC 3339 instant (``ReportDate``, as `triage report sla`).
    static func date(_ text: String) -> Date? { ReportDate.parse(text) }

    static func render(report: SlaComplianceReport?, query: Query?, problem: String?, unreadable: Int, context: PageContext) -> String {
        var body = "<h1>SLA compliance</h1>\n"
        let shown = query ?? (try? parse([:], now: context.now).get())
        if let shown {
            body += """
                <form id="report-form" method="get" action="/reports" class="filters">
                <label>From <input type="date" name="from" id="report-from" value="\(HTML.escape(shown.fromText.prefix(10).description))"></label>
                <label>To <input type="date" name="to" id="report-to" value="\(HTML.escape(shown.toText.prefix(10).description))"></label>
                <label>By <select name="by" id="report-by">\(ReportGrouping.allCases.map { "<option value=\"\($0.rawValue)\"\($0 == shown.grouping ? " selected" : "")>\($0.rawValue)</option>" }.joined())</select></label>
                <button type="submit">Show</button>
                </form>
                <p><a href="/reports/backtest" id="backtest-link">Back-test a policy</a>: what if another SLA policy had been in force in a past window?</p>

                """
        }
        if let problem {
            body += "<p class=\"flash refused\" id=\"report-error\">\(HTML.escape(problem))</p>\n"
        }
        guard let report, let query else {
            return PageLayout.render(title: "Reports", page: "reports", context: context, body: body)
        }
        let levels = max(report.escalationLevels, 1)
        body += """
            <p id="report-window" data-from="\(HTML.escape(report.window.start.formatted(.iso8601)))" data-to="\(HTML.escape(report.window.end.formatted(.iso8601)))" data-by="\(report.grouping.rawValue)">
            First responses of the incidents opened from \(HTML.escape(query.fromText)) to \(HTML.escape(query.toText)) (UTC, the end excluded), per \(report.grouping.rawValue), as of \(HTML.instant(report.asOf)).
            Minutes are business minutes of each incident's calendar; waiting on the customer is wall-clock time.
            Download: <a id="report-csv" href="\(query.link(format: "csv"))">CSV</a> · <a id="report-json" href="\(query.link(format: "json"))">JSON</a></p>
            <table id="sla-report" class="stack">
            <thead><tr><th>\(HTML.escape(report.grouping.rawValue))</th><th>opened</th><th>first responses</th><th>within target</th><th>breached</th>\((1...levels).map { "<th>level \($0)</th>" }.joined())<th>median</th><th>p90</th><th>waiting on customer</th><th>at risk</th></tr></thead>
            <tbody>

            """
        for row in report.rows + [report.total] {
            body += Self.row(row, levels: levels)
        }
        body += "</tbody></table>\n"
        if report.rows.isEmpty {
            body += "<p id=\"report-empty\">No incident was opened in this window.</p>\n"
        }
        var notes: [String] = []
        if report.duplicateRecords > 0 { notes.append("\(report.duplicateRecords) duplicate record(s) counted once") }
        if report.orphanIncidents > 0 { notes.append("\(report.orphanIncidents) incident(s) without an Opened record left out") }
        if unreadable > 0 { notes.append("\(unreadable) unreadable record(s) on the topic skipped") }
        if !notes.isEmpty { body += "<p class=\"muted\" id=\"report-notes\">\(HTML.escape(notes.joined(separator: "; "))).</p>\n" }
        return PageLayout.render(title: "Reports", page: "reports", context: context, body: body)
    }

    private static func row(_ row: SlaComplianceRow, levels: Int) -> String {
        let name = row.group ?? "total"
        let percent = row.withinTargetPercent.map { String(format: "%.1f %%", $0) } ?? "–"
        func minutes(_ value: Double?) -> String { value.map { HTML.duration($0 * 60) } ?? "–" }
        let reached = (0..<levels).map { $0 < row.reachedLevel.count ? row.reachedLevel[$0] : 0 }
        let waiting =
            row.waitingOnCustomerMinutes > 0
            ? "\(HTML.duration(row.waitingOnCustomerMinutes * 60)) (mean \(minutes(row.meanWaitingOnCustomerMinutes)))" : "–"
        return """
            <tr data-group="\(HTML.escape(row.group ?? ""))"\(row.group == nil ? " id=\"report-total\" class=\"total\"" : "") data-opened="\(row.opened)" data-measured="\(row.measured)" data-within-target="\(row.withinTarget)" data-breached="\(row.breached)" data-at-risk="\(row.atRisk)">
            <th scope="row" data-label="group">\(HTML.escape(name))</th><td data-label="opened">\(row.opened)</td><td data-label="first responses">\(row.measured)</td><td data-label="within target">\(row.withinTarget) (\(percent))</td><td data-label="breached">\(row.breached)</td>\(reached.enumerated().map { "<td data-label=\"level \($0.offset + 1)\">\($0.element)</td>" }.joined())<td data-label="median">\(minutes(row.medianFirstResponseMinutes))</td><td data-label="p90">\(minutes(row.p90FirstResponseMinutes))</td><td data-label="waiting on customer">\(waiting)</td><td data-label="at risk">\(row.atRisk)</td></tr>

            """
    }
}
