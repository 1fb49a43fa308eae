import Foundation
import TriageCore

extension StaffingComparison {
    /// The CSV columns (JSON: the keys of a roster's figures), in order.
    public static let csvHeader = [
        "group_by", "group", "roster", "incidents", "waited", "never_assigned", "wait_p50_seconds", "wait_p90_seconds",
        "wait_max_seconds", "within_target", "breached", "unanswered", "open", "within_target_percent", "moved_teams", "changed",
    ]

    /// Every row, with what it groups by (`team`, `severity`, `total`).
    public var labelledRows: [(by: String, row: StaffingRow)] {
        byTeam.map { ("team", $0) } + bySeverity.map { ("severity", $0) } + [("total", total)]
    }

    /// RFC 4180 CSV: the header (``csvHeader``), then two lines per group (baseline, candidate):
    /// teams, severities, the total (group `TOTAL`). Waits in whole seconds; an unknown figure is
    /// an empty field. The changed incidents are in ``json()`` and ``table(changesShown:)``.
    public func csv() -> String {
        var lines = [Self.csvHeader.joined(separator: ",")]
        for (by, row) in labelledRows {
            for (roster, figures) in [("baseline", row.baseline), ("candidate", row.candidate)] {
                func text(_ value: Int?) -> String { value.map(String.init) ?? "" }
                var fields: [String] = [by, row.group ?? "TOTAL", roster]
                fields += [String(figures.incidents), String(figures.waited), String(figures.neverAssigned)]
                fields += [text(figures.waits.percentile(50)), text(figures.waits.percentile(90)), text(figures.waits.maximum)]
                fields += [String(figures.withinTarget), String(figures.breached), String(figures.unanswered), String(figures.open)]
                fields.append(figures.withinTargetPercent.map { "\($0)" } ?? "")
                fields += [String(figures.movedTeams), String(row.changed)]
                lines.append(fields.map(CSVField.quoted).joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The comparison as one JSON object, keys in this order (version 1 of the shape):
    ///
    /// ```json
    /// {"report":"staffing_replay","version":1,"window":{"from":"...","to":"..."},
    ///  "facts":412,"ignored_facts":0,"late_facts":0,
    ///  "by_team":[{"group":"tier-1","changed":3,"baseline":{FIGURES},"candidate":{FIGURES}}],
    ///  "by_severity":[...],"total":{"group":null,...},
    ///  "changes":[{"incident":"inc-7","spell":0,"team":"tier-1","severity":"B","started_at":"...",
    ///              "baseline":{OUTCOME},"candidate":{OUTCOME}}]}
    /// ```
    ///
    /// FIGURES: `incidents`, `waited`, `never_assigned`, `wait_p50_seconds`, `wait_p90_seconds`,
    /// `wait_max_seconds`, `within_target`, `breached`, `unanswered`, `open`,
    /// `within_target_percent`, `moved_teams`. OUTCOME: `queue_wait_seconds`, `assigned`,
    /// `first_agent`, `first_agent_team`, `first_response` (`within_target`, `breached`,
    /// `unanswered`, `open`), `first_response_minutes`, `team_changes`. Unknown values are `null`.
    public func json() -> String {
        var json = JSONBuffer(capacity: 4_096)
        json.raw("{")
        json.key("report", first: true)
        json.string("staffing_replay", style: .jsonEncoder)
        json.key("version")
        json.int(1)
        json.key("window")
        json.raw("{")
        json.key("from", first: true)
        json.string(Self.instant(window.start), style: .jsonEncoder)
        json.key("to")
        json.string(Self.instant(window.end), style: .jsonEncoder)
        json.raw("}")
        json.key("facts")
        json.int(facts)
        json.key("ignored_facts")
        json.int(ignoredFacts)
        json.key("late_facts")
        json.int(lateFacts)
        json.key("by_team")
        Self.rows(byTeam, into: &json)
        json.key("by_severity")
        Self.rows(bySeverity, into: &json)
        json.key("total")
        Self.row(total, into: &json)
        json.key("changes")
        json.raw("[")
        for (index, change) in changes.enumerated() {
            if index > 0 { json.raw(",") }
            json.raw("{")
            json.key("incident", first: true)
            json.string(change.incident, style: .jsonEncoder)
            json.key("spell")
            json.int(change.spell)
            json.key("team")
            json.string(change.team, style: .jsonEncoder)
            json.key("severity")
            json.string(change.severity.rawValue, style: .jsonEncoder)
            json.key("started_at")
            json.string(Self.instant(change.startedAt), style: .jsonEncoder)
            json.key("baseline")
            Self.outcome(change.baseline, into: &json)
            json.key("candidate")
            Self.outcome(change.candidate, into: &json)
            json.raw("}")
        }
        json.raw("]}")
        return String(decoding: json.bytes, as: UTF8.self)
    }

    /// Aligned columns, "baseline → candidate" in each cell, then the first `changesShown`
    /// changed incidents. Text from the log or the rosters (incident ids, teams, agents) has its
    /// control characters escaped (``TerminalText``).
    public func table(changesShown: Int = 20) -> String {
        let header = ["group", "incidents", "waited", "never assigned", "wait p50", "wait p90", "wait max", "within target", "changed"]
        func pair<T>(_ row: StaffingRow, _ value: (StaffingFigures) -> T?, _ text: (T) -> String) -> String {
            let one = value(row.baseline).map(text) ?? "-"
            let other = value(row.candidate).map(text) ?? "-"
            return one == other ? one : "\(one) → \(other)"
        }
        let body = labelledRows.map { by, row -> [String] in
            [
                by == "total" ? "TOTAL" : "\(by) \(TerminalText.escaped(row.group ?? ""))", String(row.baseline.incidents),
                pair(row, { $0.waited }, String.init),
                pair(row, { $0.neverAssigned }, String.init), pair(row, { $0.waits.percentile(50) }, Self.duration),
                pair(row, { $0.waits.percentile(90) }, Self.duration), pair(row, { $0.waits.maximum }, Self.duration),
                pair(row, { $0.withinTargetPercent }, Self.percent), String(row.changed),
            ]
        }
        let widths = header.indices.map { column in ([header] + body).map { $0[column].count }.max()! }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return column == 0 ? cell + padding : padding + cell
            }
            .joined(separator: "  ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        var lines = [
            "replayed \(Self.instant(window.start)) to \(Self.instant(window.end)): \(facts) facts, \(total.baseline.incidents) incidents"
                + (ignoredFacts > 0 ? ", \(ignoredFacts) facts ignored (incidents opened before the window, repeated Opened)" : "")
                + (lateFacts > 0 ? ", \(lateFacts) facts later than the look-ahead" : ""),
            "each cell: baseline → candidate (one value: the same under both)",
            line(header), rule,
        ]
        lines += body.dropLast().map(line)
        lines += [rule, line(body.last!)]
        lines.append("")
        lines.append("changed incidents: \(changes.count)")
        for change in changes.prefix(max(0, changesShown)) {
            let wait =
                "wait \(Self.duration(change.baseline.queueWait, assigned: change.baseline.assigned)) → "
                + Self.duration(change.candidate.queueWait, assigned: change.candidate.assigned)
            let response = "first response \(Self.response(change.baseline)) → \(Self.response(change.candidate))"
            let agents = "agent \(Self.agent(change.baseline)) → \(Self.agent(change.candidate))"
            lines.append(
                "  \(TerminalText.escaped(change.incident))\(change.spell > 0 ? " (reopened \(change.spell))" : "") "
                    + "\(TerminalText.escaped(change.team)) \(change.severity.rawValue) "
                    + "opened \(Self.instant(change.startedAt)): \(wait), \(response), \(agents)")
        }
        if changes.count > changesShown { lines.append("  ... \(changes.count - changesShown) more (--format json lists every one)") }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: Pieces

    private static func rows(_ rows: [StaffingRow], into json: inout JSONBuffer) {
        json.raw("[")
        for (index, one) in rows.enumerated() {
            if index > 0 { json.raw(",") }
            row(one, into: &json)
        }
        json.raw("]")
    }

    private static func row(_ row: StaffingRow, into json: inout JSONBuffer) {
        json.raw("{")
        json.key("group", first: true)
        if let group = row.group { json.string(group, style: .jsonEncoder) } else { json.null() }
        json.key("changed")
        json.int(row.changed)
        json.key("baseline")
        figures(row.baseline, into: &json)
        json.key("candidate")
        figures(row.candidate, into: &json)
        json.raw("}")
    }

    private static func figures(_ figures: StaffingFigures, into json: inout JSONBuffer) {
        func optional(_ value: Int?) { if let value { json.int(value) } else { json.null() } }
        json.raw("{")
        json.key("incidents", first: true)
        json.int(figures.incidents)
        json.key("waited")
        json.int(figures.waited)
        json.key("never_assigned")
        json.int(figures.neverAssigned)
        json.key("wait_p50_seconds")
        optional(figures.waits.percentile(50))
        json.key("wait_p90_seconds")
        optional(figures.waits.percentile(90))
        json.key("wait_max_seconds")
        optional(figures.waits.maximum)
        json.key("within_target")
        json.int(figures.withinTarget)
        json.key("breached")
        json.int(figures.breached)
        json.key("unanswered")
        json.int(figures.unanswered)
        json.key("open")
        json.int(figures.open)
        json.key("within_target_percent")
        if let percent = figures.withinTargetPercent { json.double(percent, style: .jsonEncoder) } else { json.null() }
        json.key("moved_teams")
        json.int(figures.movedTeams)
        json.raw("}")
    }

    private static func outcome(_ outcome: StaffingOutcome, into json: inout JSONBuffer) {
        json.raw("{")
        json.key("queue_wait_seconds", first: true)
        json.double(outcome.queueWait, style: .jsonEncoder)
        json.key("assigned")
        json.bool(outcome.assigned)
        json.key("first_agent")
        if let agent = outcome.firstAgent { json.string(agent, style: .jsonEncoder) } else { json.null() }
        json.key("first_agent_team")
        if let team = outcome.firstAgentTeam { json.string(team, style: .jsonEncoder) } else { json.null() }
        json.key("first_response")
        json.string(outcome.firstResponse.rawValue, style: .jsonEncoder)
        json.key("first_response_minutes")
        if let minutes = outcome.firstResponseMinutes { json.double(minutes, style: .jsonEncoder) } else { json.null() }
        json.key("team_changes")
        json.int(outcome.teamChanges)
        json.raw("}")
    }

    /// `0s`, `45s`, `12m30s`, `3h05m`, `2d4h`.
    static func duration(_ seconds: Int) -> String {
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3_600 { return "\(seconds / 60)m" + (seconds % 60 == 0 ? "" : String(format: "%02ds", seconds % 60)) }
        if seconds < 86_400 { return "\(seconds / 3_600)h" + String(format: "%02dm", seconds % 3_600 / 60) }
        return "\(seconds / 86_400)d\(seconds % 86_400 / 3_600)h"
    }

    private static func duration(_ seconds: TimeInterval, assigned: Bool) -> String {
        duration(Int(max(0, seconds).rounded())) + (assigned ? "" : " (never assigned)")
    }

    private static func percent(_ value: Double) -> String { String(format: "%.1f%%", value) }

    private static func response(_ outcome: StaffingOutcome) -> String {
        let minutes = outcome.firstResponseMinutes.map { String(format: " after %.0f min", $0) } ?? ""
        return outcome.firstResponse.rawValue + minutes
    }

    private static func agent(_ outcome: StaffingOutcome) -> String {
        guard let agent = outcome.firstAgent.map(TerminalText.escaped) else { return "-" }
        return outcome.firstAgentTeam.map { "\(agent) (\(TerminalText.escaped($0)))" } ?? agent
    }

    private static func instant(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
