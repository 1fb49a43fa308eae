public import Foundation
import TriageCore

extension SlaBacktestResult {
    /// Escalation levels shown: the most either policy fired anywhere (at least 1).
    public var escalationLevels: Int { max(1, total.baseline.escalations.count, total.candidate.escalations.count) }

    /// Said when events came before their incident's Opened: those incidents' results are wrong.
    public var outOfOrderWarning: String? {
        guard eventsBeforeOpened > 0 else { return nil }
        return
            "\(eventsBeforeOpened) event(s) of \(incidentsReadOutOfOrder) incident(s) came before their incident's Opened and were not applied: the input is not in log order (read the topic, or give the file as triage tail wrote it)"
    }

    /// For people: a header, one line per group with each figure as `baseline → candidate`,
    /// who the escalations notify, then the changed incidents. Text from the log or the
    /// policies (incident ids, groups, names) has its control characters escaped
    /// (``TerminalText``).
    public func table() -> String {
        var lines: [String] = []
        lines.append("SLA back-test: incidents opened \(Self.instant(from)) to \(Self.instant(to)), by \(grouping.rawValue)")
        lines.append("baseline:  \(TerminalText.escaped(baselineName))")
        lines.append("candidate: \(TerminalText.escaped(candidateName))")
        lines.append(
            "records read \(recordsRead), lifecycle events applied \(eventsApplied), escalator events ignored \(escalatorEventsIgnored)"
                + (invalidEvents > 0 ? ", invalid events skipped \(invalidEvents)" : "")
                + (repeatedEvents > 0 ? ", repeated events skipped \(repeatedEvents)" : ""))
        if let warning = outOfOrderWarning { lines.append("warning: \(warning)") }
        let check = baselineAgainstLog
        if check.same + check.onlyInLog > 0 {
            lines.append(
                "baseline against the escalator's events in the log: \(check.same) the same (id and instant), \(check.onlyInLog) only in the log, \(check.onlyInReplay) only in the replay"
            )
        }
        lines.append("")
        var header = [grouping.rawValue, "incidents", "first response in target", "breached"]
        header += (1...escalationLevels).map { "level \($0)" }
        header += ["warnings", "resolution breached", "update breached", "changed"]
        var cells: [[String]] = [header]
        for row in rows + [total] {
            var line = [row.group, String(row.baseline.incidents)]
            line.append(Self.pair(Self.percent(row.baseline), Self.percent(row.candidate)))
            line.append(Self.pair(row.baseline.firstResponsesBreached, row.candidate.firstResponsesBreached))
            for level in 0..<escalationLevels {
                line.append(Self.pair(Self.count(row.baseline.escalations, level), Self.count(row.candidate.escalations, level)))
            }
            line.append(Self.pair(row.baseline.warnings, row.candidate.warnings))
            line.append(Self.pair(row.baseline.resolutionsBreached, row.candidate.resolutionsBreached))
            line.append(Self.pair(row.baseline.updatesBreached, row.candidate.updatesBreached))
            line.append(row.deadlineMoved > 0 ? "\(row.changed) (+\(row.deadlineMoved) deadline only)" : String(row.changed))
            cells.append(line)
        }
        lines += Self.aligned(cells)
        let names = Set(total.baseline.notified.keys).union(total.candidate.notified.keys).sorted()
        if !names.isEmpty {
            lines.append("")
            lines.append(
                "escalations would notify: "
                    + names.map {
                        "\(TerminalText.escaped($0)) \(Self.pair(total.baseline.notified[$0] ?? 0, total.candidate.notified[$0] ?? 0))"
                    }
                    .joined(separator: ", "))
        }
        lines.append("")
        if changedCount == 0 {
            lines.append("no incident changes.")
        } else {
            let listed = changed.count < changedCount ? " (\(changed.count) listed: changed results first, by opening)" : ""
            lines.append("incidents that change: \(changedCount)\(listed)")
            var rows: [[String]] = [["incident", grouping.rawValue, "first response", "deadline", "resolution", "escalations", "warnings"]]
            for entry in changed {
                rows.append([
                    entry.incident, entry.group,
                    Self.pair(entry.baseline.firstResponse.verdict.words, entry.candidate.firstResponse.verdict.words),
                    Self.pair(Self.instant(entry.baseline.firstResponse.deadline), Self.instant(entry.candidate.firstResponse.deadline)),
                    Self.resolution(entry),
                    Self.pair(entry.baseline.escalationLevels, entry.candidate.escalationLevels),
                    Self.pair(entry.baseline.warnings, entry.candidate.warnings),
                ])
            }
            lines += Self.aligned(rows)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// RFC 4180 CSV: a header, then two lines per group and for the total (`TOTAL`), one per
    /// policy (`policy` is `baseline` or `candidate`). Lines end with `\n`.
    public func csv() -> String {
        var header = [
            grouping.rawValue, "policy", "incidents", "first_responses_measured", "within_target", "within_target_percent", "breached",
        ]
        header += (1...escalationLevels).map { "escalations_level_\($0)" }
        header += [
            "warnings", "resolutions_measured", "resolutions_breached", "updates_measured", "updates_breached", "changed", "deadline_moved",
        ]
        var lines = [header.joined(separator: ",")]
        for (index, row) in (rows + [total]).enumerated() {
            for (policy, figures) in [("baseline", row.baseline), ("candidate", row.candidate)] {
                var fields = [index == rows.count ? "TOTAL" : row.group, policy, String(figures.incidents)]
                fields += [figures.firstResponsesMeasured, figures.firstResponsesWithinTarget].map(String.init)
                fields.append(figures.firstResponsesWithinTargetPercent.map { String($0) } ?? "")
                fields.append(String(figures.firstResponsesBreached))
                fields += (0..<escalationLevels).map { String(Self.count(figures.escalations, $0)) }
                fields += [
                    figures.warnings, figures.resolutionsMeasured, figures.resolutionsBreached, figures.updatesMeasured,
                    figures.updatesBreached,
                    row.changed, row.deadlineMoved,
                ].map(String.init)
                lines.append(fields.map(CSVField.quoted).joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The result as JSON: its Codable form with snake_case keys, instants RFC 3339 UTC, keys
    /// sorted (what a console page reads back with ``decode(json:)``).
    public func json() throws -> String {
        String(decoding: try Self.encoder.encode(self), as: UTF8.self)
    }

    /// Reads ``json()``'s output back.
    public static func decode(json: Data) throws -> SlaBacktestResult {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(SlaBacktestResult.self, from: json)
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    // MARK: Cells

    static func pair(_ baseline: some CustomStringConvertible, _ candidate: some CustomStringConvertible) -> String {
        let a = baseline.description
        let b = candidate.description
        return a == b ? a : "\(a) → \(b)"
    }

    static func percent(_ figures: BacktestFigures) -> String {
        guard let percent = figures.firstResponsesWithinTargetPercent else { return "-" }
        return String(format: "%.1f%%", percent) + " (\(figures.firstResponsesWithinTarget)/\(figures.firstResponsesMeasured))"
    }

    static func resolution(_ entry: ChangedIncident) -> String {
        let (before, after) = (entry.baseline.resolution, entry.candidate.resolution)
        if before.verdict == .none && after.verdict == .none { return "-" }
        let verdicts = pair(before.verdict.words, after.verdict.words)
        let moved =
            before.deadline.map { $0.timeIntervalSince1970 * 1000 }?.rounded()
            != after.deadline.map { $0.timeIntervalSince1970 * 1000 }?.rounded()
        return moved ? "\(verdicts), deadline \(pair(instant(before.deadline), instant(after.deadline)))" : verdicts
    }

    static func count(_ counts: [Int], _ index: Int) -> Int { index < counts.count ? counts[index] : 0 }

    static func instant(_ date: Date?) -> String {
        guard let date else { return "-" }
        return date.formatted(.iso8601)
    }

    static func aligned(_ rows: [[String]]) -> [String] {
        guard let columns = rows.map(\.count).max() else { return [] }
        let rows = rows.map { $0.map(TerminalText.escaped) }
        var widths = Array(repeating: 0, count: columns)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }
            .joined(separator: "  ")
        }
    }
}

extension BacktestVerdict {
    /// How the table says it.
    var words: String {
        switch self {
        case .none: "-"
        case .open: "open"
        case .withinTarget: "within target"
        case .breached: "breached"
        }
    }
}
