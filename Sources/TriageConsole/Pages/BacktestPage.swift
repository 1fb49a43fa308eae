import Foundation
import TriageSLABacktest
import TriageSLABacktestLog

/// `/reports/backtest`: "what if this policy had been in force?" — the form (window, grouping,
/// baseline, a candidate policy uploaded, pasted or picked) and a run's page: its progress while
/// it reads the lifecycle topic, then the engine's ``SlaBacktestResult`` side by side per group,
/// the incidents that change (with the instant each deadline moves to), and CSV and JSON
/// downloads (the result's own formats). Nothing is computed here: the page only formats.
/// Leads and admins only, like the reports.
enum BacktestPage {
    static func renderForm(_ form: BacktestForm, problem: BacktestForm.Problem?, context: PageContext) -> String {
        var body = "<h1>SLA back-test</h1>\n"
        body += """
            <p class="muted">Replays every incident opened in the window through the escalator's own SLA code under the baseline and a candidate policy, and shows what would have changed. It reads the whole lifecycle log, so it can take a while; the page says how far it is.
            <a href="/reports">Back to the SLA report</a></p>

            """
        if let problem {
            body +=
                "<p class=\"flash refused\" id=\"backtest-error\" role=\"alert\" data-field=\"\(HTML.escape(problem.field))\">\(HTML.escape(problem.message))</p>\n"
        }
        body += formHTML(form, problem: problem, context: context)
        return PageLayout.render(title: "SLA back-test", page: "reports", context: context, body: body)
    }

    static func formHTML(_ form: BacktestForm, problem: BacktestForm.Problem?, context: PageContext) -> String {
        func invalid(_ field: String) -> String { problem?.field == field ? " aria-invalid=\"true\"" : "" }
        func radio(_ name: String, _ source: BacktestForm.PolicySource, _ chosen: String, label: String) -> String {
            "<label><input type=\"radio\" name=\"\(name)\" id=\"\(name)-\(source.rawValue)\" value=\"\(source.rawValue)\"\(source.rawValue == chosen ? " checked" : "")> \(label)</label>"
        }
        let groupings = BacktestGrouping.allCases.map {
            "<option value=\"\($0.rawValue)\"\($0.rawValue == form.by ? " selected" : "")>\($0.rawValue)</option>"
        }.joined()
        let kept =
            form.fileName.isEmpty
            ? ""
            : " <small id=\"backtest-file-kept\">(\(HTML.escape(form.fileName)) is in the box below; choose it again or send the box)</small>"
        return """
            <form id="backtest-form" method="post" action="/reports/backtest" enctype="multipart/form-data" class="backtest">
            \(HTML.formFields(csrf: context.csrf))
            <p class="filters">
            <label>From <input type="text" name="from" id="backtest-from" value="\(HTML.escape(form.from))" placeholder="2026-11-01"\(invalid("from"))></label>
            <label>To <input type="text" name="to" id="backtest-to" value="\(HTML.escape(form.to))" placeholder="2026-12-01"\(invalid("to"))></label>
            <label>By <select name="by" id="backtest-by"\(invalid("by"))>\(groupings)</select></label>
            </p>
            <fieldset id="backtest-baseline"\(invalid("baseline"))><legend>Baseline</legend>
            \(radio("baseline", .inForce, form.baseline, label: "the policy in force (this console's)"))
            \(radio("baseline", .defaults, form.baseline, label: "the built-in defaults"))
            </fieldset>
            <fieldset id="backtest-candidate"\(invalid("candidate"))><legend>Candidate</legend>
            \(radio("candidate", .upload, form.candidate, label: "upload a policy file (YAML, at most 256 KiB):")) <input type="file" name="policy_file" id="backtest-file" accept=".yaml,.yml,text/yaml,text/plain"\(invalid("policy_file"))>\(kept)<br>
            \(radio("candidate", .paste, form.candidate, label: "paste a policy (YAML, docs/sla.md):"))<br>
            <textarea name="policy_text" id="backtest-policy-text" rows="12" cols="80" spellcheck="false"\(invalid("policy_text"))>\(HTML.escape(form.policyText))</textarea><br>
            \(radio("candidate", .inForce, form.candidate, label: "the policy in force"))
            \(radio("candidate", .defaults, form.candidate, label: "the built-in defaults"))
            </fieldset>
            <p><button type="submit" id="backtest-submit">Run the back-test</button></p>
            </form>

            """
    }

    /// A run: still working (the page reloads itself), failed, or its result.
    static func renderRun(_ run: BacktestRun, ahead: Int, context: PageContext) -> String {
        let request = run.request
        var body = "<h1>SLA back-test</h1>\n"
        body += """
            <p id="backtest-asked" data-run="\(HTML.escape(run.id))">Incidents opened from \(HTML.escape(request.fromText)) to \(HTML.escape(request.toText)) (SLA time, the end excluded), per \(request.grouping.rawValue):
            baseline <strong id="backtest-baseline-name">\(HTML.escape(request.baselineName))</strong>, candidate <strong id="backtest-candidate-name">\(HTML.escape(request.candidateName))</strong>.
            <a href="/reports/backtest" id="backtest-again">Another back-test</a> · <a href="/reports">SLA report</a></p>

            """
        switch run.state {
        case .queued:
            body += working(
                "queued",
                "Still working: waiting for \(ahead == 0 ? "another back-test" : "\(ahead) other back-test(s)") to finish reading the topic."
            )
        case .reading(let progress):
            let of = progress.total > 0 ? " of at most \(progress.total)" : ""
            body += working(
                "reading",
                "Still working: read \(progress.read)\(of) records of the lifecycle topic, \(progress.tracked) incidents being replayed.",
                progress: progress)
        case .finishing:
            body += working("finishing", "Still working: putting the result together.")
        case .failed(let message):
            body += "<p class=\"flash refused\" id=\"backtest-failed\" data-state=\"failed\">\(HTML.escape(message))</p>\n"
        case .done(let result, _):
            body += self.result(result, run: run)
        }
        return PageLayout.render(title: "SLA back-test", page: "reports", context: context, body: body)
    }

    private static func working(_ state: String, _ text: String, progress: BacktestLogReader.Progress? = nil) -> String {
        let figures = progress.map { " data-read=\"\($0.read)\" data-total=\"\($0.total)\" data-tracked=\"\($0.tracked)\"" } ?? ""
        return """
            <p id="backtest-progress" role="status" data-state="\(state)"\(figures)>\(HTML.escape(text)) This page reloads itself; <a href="">reload now</a>.</p>
            <script>setTimeout(function () { location.reload(); }, 2000);</script>

            """
    }

    private static func result(_ result: SlaBacktestResult, run: BacktestRun) -> String {
        let levels = result.escalationLevels
        let base = "/reports/backtest/\(HTML.url(run.id))"
        var body = """
            <p id="backtest-window" data-from="\(HTML.escape(result.from.formatted(.iso8601)))" data-to="\(HTML.escape(result.to.formatted(.iso8601)))" data-by="\(result.grouping.rawValue)" data-records="\(result.recordsRead)" data-changed-count="\(result.changedCount)">
            Records read \(result.recordsRead), lifecycle events applied \(result.eventsApplied), escalator events ignored \(result.escalatorEventsIgnored)\(result.invalidEvents > 0 ? ", invalid events skipped \(result.invalidEvents)" : "")\(result.repeatedEvents > 0 ? ", repeated events skipped \(result.repeatedEvents)" : "").
            Each cell is baseline → candidate where they differ.
            Download: <a id="backtest-csv" href="\(base)?format=csv">CSV</a> · <a id="backtest-json" href="\(base)?format=json">JSON</a></p>

            """
        let check = result.baselineAgainstLog
        if check.same + check.onlyInLog > 0 {
            body +=
                "<p class=\"muted\" id=\"backtest-against-log\" data-same=\"\(check.same)\" data-only-in-log=\"\(check.onlyInLog)\" data-only-in-replay=\"\(check.onlyInReplay)\">The baseline against the escalator's own warnings and escalations in the log: \(check.same) the same (id and instant), \(check.onlyInLog) only in the log, \(check.onlyInReplay) only in the replay.</p>\n"
        }
        if let warning = result.outOfOrderWarning {
            body += "<p class=\"error\" id=\"backtest-out-of-order\">\(HTML.escape(warning))</p>\n"
        }
        if let last = result.lastEventAt, last < result.to {
            body +=
                "<p class=\"muted\" id=\"backtest-log-ends\">The log ends at \(HTML.instant(last)), before the end of the window: incidents still open then are replayed as if nothing happened to them until \(HTML.instant(result.to)).</p>\n"
        }
        body += """
            <table id="backtest-table" class="stack">
            <thead><tr><th>\(result.grouping.rawValue)</th><th>incidents</th><th>first responses in target</th><th>breached</th>\((1...levels).map { "<th>level \($0)</th>" }.joined())<th>warnings</th><th>resolution breached</th><th>update breached</th><th>changed</th></tr></thead>
            <tbody>

            """
        for (index, row) in (result.rows + [result.total]).enumerated() {
            body += Self.row(row, levels: levels, isTotal: index == result.rows.count)
        }
        body += "</tbody></table>\n"
        if result.rows.isEmpty { body += "<p id=\"backtest-empty\">No incident was opened in this window.</p>\n" }
        let names = Set(result.total.baseline.notified.keys).union(result.total.candidate.notified.keys).sorted()
        if !names.isEmpty {
            let items = names.map {
                "\(HTML.escape($0)) \(pair(result.total.baseline.notified[$0] ?? 0, result.total.candidate.notified[$0] ?? 0))"
            }
            body += "<p id=\"backtest-notified\">Escalations would notify: \(items.joined(separator: ", ")).</p>\n"
        }
        guard result.changedCount > 0 else {
            return body + "<p id=\"backtest-no-change\">No incident changes.</p>\n"
        }
        let listed =
            result.changed.count < result.changedCount
            ? " (\(result.changed.count) listed: changed results first, by opening; the downloads count them all)" : ""
        body += """
            <h2>Incidents that change: <span id="backtest-changed-count">\(result.changedCount)</span>\(HTML.escape(listed))</h2>
            <table id="backtest-changed" class="stack">
            <thead><tr><th>incident</th><th>\(result.grouping.rawValue)</th><th>opened</th><th>first response</th><th>first-response deadline</th><th>resolution</th><th>resolution deadline</th><th>escalations</th><th>warnings</th></tr></thead>
            <tbody>

            """
        for entry in result.changed {
            let (before, after) = (entry.baseline, entry.candidate)
            body += """
                <tr data-incident-id="\(HTML.escape(entry.incident))" data-outcome-changed="\(entry.outcomeChanged)" data-baseline-deadline="\(HTML.escape(before.firstResponse.deadline.map { $0.formatted(.iso8601) } ?? ""))" data-candidate-deadline="\(HTML.escape(after.firstResponse.deadline.map { $0.formatted(.iso8601) } ?? ""))">
                <th scope="row" data-label="incident"><a href="/incidents/\(HTML.url(entry.incident))">\(HTML.escape(entry.incident))</a></th><td data-label="group">\(HTML.escape(entry.group))</td><td data-label="opened">\(HTML.instant(entry.openedAt))</td><td data-label="first response">\(pair(words(before.firstResponse.verdict), words(after.firstResponse.verdict)))</td><td data-label="first-response deadline">\(pair(HTML.instant(before.firstResponse.deadline), HTML.instant(after.firstResponse.deadline)))</td><td data-label="resolution">\(pair(words(before.resolution.verdict), words(after.resolution.verdict)))</td><td data-label="resolution deadline">\(pair(HTML.instant(before.resolution.deadline), HTML.instant(after.resolution.deadline)))</td><td data-label="escalations">\(pair(before.escalationLevels, after.escalationLevels))</td><td data-label="warnings">\(pair(before.warnings, after.warnings))</td></tr>

                """
        }
        return body + "</tbody></table>\n"
    }

    private static func row(_ row: BacktestRow, levels: Int, isTotal: Bool) -> String {
        let (a, b) = (row.baseline, row.candidate)
        func count(_ counts: [Int], _ index: Int) -> Int { index < counts.count ? counts[index] : 0 }
        let changed = row.deadlineMoved > 0 ? "\(row.changed) (+\(row.deadlineMoved) deadline only)" : "\(row.changed)"
        let name = isTotal ? "total" : row.group
        return """
            <tr data-group="\(isTotal ? "" : HTML.escape(row.group))"\(isTotal ? " id=\"backtest-total\" class=\"total\"" : "") data-incidents="\(a.incidents)" data-baseline-within-target="\(a.firstResponsesWithinTarget)" data-candidate-within-target="\(b.firstResponsesWithinTarget)" data-baseline-breached="\(a.firstResponsesBreached)" data-candidate-breached="\(b.firstResponsesBreached)" data-changed="\(row.changed)" data-deadline-moved="\(row.deadlineMoved)">
            <th scope="row" data-label="group">\(HTML.escape(name))</th><td data-label="incidents">\(a.incidents)</td><td data-label="first responses in target">\(pair(percent(a), percent(b)))</td><td data-label="breached">\(pair(a.firstResponsesBreached, b.firstResponsesBreached))</td>\((0..<levels).map { "<td data-label=\"level \($0 + 1)\">\(pair(count(a.escalations, $0), count(b.escalations, $0)))</td>" }.joined())<td data-label="warnings">\(pair(a.warnings, b.warnings))</td><td data-label="resolution breached">\(pair(a.resolutionsBreached, b.resolutionsBreached))</td><td data-label="update breached">\(pair(a.updatesBreached, b.updatesBreached))</td><td data-label="changed">\(changed)</td></tr>

            """
    }

    /// `a` or `a → b`, escaped.
    private static func pair(_ baseline: some CustomStringConvertible, _ candidate: some CustomStringConvertible) -> String {
        let (a, b) = (baseline.description, candidate.description)
        return a == b ? HTML.escape(a) : "\(HTML.escape(a)) → <strong>\(HTML.escape(b))</strong>"
    }

    private static func percent(_ figures: BacktestFigures) -> String {
        guard let percent = figures.firstResponsesWithinTargetPercent else { return "–" }
        return String(format: "%.1f %%", percent) + " (\(figures.firstResponsesWithinTarget)/\(figures.firstResponsesMeasured))"
    }

    private static func words(_ verdict: BacktestVerdict) -> String {
        switch verdict {
        case .none: "–"
        case .open: "open"
        case .withinTarget: "within target"
        case .breached: "breached"
        }
    }
}
