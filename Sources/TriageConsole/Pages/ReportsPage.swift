/// `GET /reports`: a placeholder until the SLA compliance report (`TriageReports`, `triage
/// report sla`) is wired in here.
enum ReportsPage {
    static func render(context: PageContext) -> String {
        let body = """
            <h1>Reports</h1>
            <p id="reports-placeholder">The SLA compliance report (per team, severity and customer) will appear here. Until then, run <code>triage report sla</code>.</p>
            """
        return PageLayout.render(title: "Reports", page: "reports", context: context, body: body)
    }
}
