import Foundation

extension SlaComplianceReport {
    /// The column names shared by ``csv()`` and ``json()`` (JSON: the row keys), in order. The
    /// first column is the grouping's name (`team`, ...); `reached_level_N` repeats for each of
    /// ``escalationLevels`` (JSON: one array, `reached_level`).
    public var csvHeader: [String] {
        [grouping.rawValue, "opened", "measured", "within_target", "within_target_percent", "breached"]
            + (1...escalationLevels).map { "reached_level_\($0)" }
            + [
                "median_first_response_minutes", "p90_first_response_minutes", "waiting_on_customer_minutes",
                "mean_waiting_on_customer_minutes", "at_risk",
            ]
    }

    /// RFC 4180 CSV: the header (``csvHeader``), one line per group, then the total row, whose
    /// group is `TOTAL`. Numbers at full precision; an unknown figure (a percentage or
    /// percentile of nothing) is an empty field. Lines end with `\n`.
    public func csv() -> String {
        var lines = [csvHeader.joined(separator: ",")]
        for row in rows + [total] {
            let fields =
                [row.group ?? "TOTAL", String(row.opened), String(row.measured), String(row.withinTarget)]
                + [Self.number(row.withinTargetPercent) ?? "", String(row.breached)]
                + row.reachedLevel.map(String.init)
                + [
                    row.medianFirstResponseMinutes, row.p90FirstResponseMinutes, row.waitingOnCustomerMinutes,
                    row.meanWaitingOnCustomerMinutes,
                ]
                .map { Self.number($0) ?? "" }
                + [String(row.atRisk)]
            lines.append(fields.map(Self.csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The report as one JSON object, keys in this fixed order (version 1 of the shape):
    ///
    /// ```json
    /// {"report":"sla_compliance","version":1,"group_by":"team",
    ///  "window":{"from":"2026-03-01T00:00:00Z","to":"2026-04-01T00:00:00Z"},"as_of":"2026-04-02T08:00:00Z",
    ///  "escalation_levels":3,
    ///  "rows":[{"group":"billing","opened":4,"measured":3,"within_target":2,"within_target_percent":66.66666666666667,
    ///           "breached":2,"reached_level":[1,1,0],"median_first_response_minutes":30.0,
    ///           "p90_first_response_minutes":285.004167,"waiting_on_customer_minutes":3840.0,
    ///           "mean_waiting_on_customer_minutes":960.0,"at_risk":1}],
    ///  "total":{"group":null,...},
    ///  "records_read":31,"duplicate_records":1,"records_after_as_of":0,"orphan_incidents":0}
    /// ```
    ///
    /// Unknown figures are `null`; instants are RFC 3339 UTC (whole seconds).
    public func json() -> String {
        func row(_ row: SlaComplianceRow) -> String {
            let fields: [(String, String)] = [
                ("group", row.group.map(Self.jsonString) ?? "null"),
                ("opened", String(row.opened)),
                ("measured", String(row.measured)),
                ("within_target", String(row.withinTarget)),
                ("within_target_percent", Self.number(row.withinTargetPercent) ?? "null"),
                ("breached", String(row.breached)),
                ("reached_level", "[" + row.reachedLevel.map(String.init).joined(separator: ",") + "]"),
                ("median_first_response_minutes", Self.number(row.medianFirstResponseMinutes) ?? "null"),
                ("p90_first_response_minutes", Self.number(row.p90FirstResponseMinutes) ?? "null"),
                ("waiting_on_customer_minutes", Self.number(row.waitingOnCustomerMinutes)!),
                ("mean_waiting_on_customer_minutes", Self.number(row.meanWaitingOnCustomerMinutes) ?? "null"),
                ("at_risk", String(row.atRisk)),
            ]
            return Self.object(fields)
        }
        let fields: [(String, String)] = [
            ("report", Self.jsonString("sla_compliance")),
            ("version", "1"),
            ("group_by", Self.jsonString(grouping.rawValue)),
            (
                "window",
                Self.object([("from", Self.jsonString(Self.instant(window.start))), ("to", Self.jsonString(Self.instant(window.end)))])
            ),
            ("as_of", Self.jsonString(Self.instant(asOf))),
            ("escalation_levels", String(escalationLevels)),
            ("rows", "[" + rows.map(row).joined(separator: ",") + "]"),
            ("total", row(total)),
            ("records_read", String(recordsRead)),
            ("duplicate_records", String(duplicateRecords)),
            ("records_after_as_of", String(recordsAfterAsOf)),
            ("orphan_incidents", String(orphanIncidents)),
        ]
        return Self.object(fields)
    }

    /// A fixed-width table for a terminal: percentages and minutes to one decimal, `-` for an
    /// unknown figure, `(none)` for an empty group, the total row last.
    public func table() -> String {
        let header =
            [grouping.rawValue, "opened", "measured", "within", "within %", "breached"]
            + (1...escalationLevels).map { "L\($0)" }
            + ["median min", "p90 min", "waiting min", "mean wait", "at risk"]
        func oneDecimal(_ value: Double?) -> String { value.map { String(format: "%.1f", $0) } ?? "-" }
        let body = (rows + [total]).map { row in
            [
                row.group.map { $0.isEmpty ? "(none)" : $0 } ?? "TOTAL", String(row.opened), String(row.measured), String(row.withinTarget),
                oneDecimal(row.withinTargetPercent), String(row.breached),
            ] + row.reachedLevel.map(String.init)
                + [
                    oneDecimal(row.medianFirstResponseMinutes), oneDecimal(row.p90FirstResponseMinutes),
                    oneDecimal(row.waitingOnCustomerMinutes), oneDecimal(row.meanWaitingOnCustomerMinutes), String(row.atRisk),
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
        let window = "opened \(Self.instant(self.window.start)) to \(Self.instant(self.window.end)), as of \(Self.instant(asOf))"
        return ([window, line(header), rule] + body.dropLast().map(line) + [rule, line(body.last!)]).joined(separator: "\n") + "\n"
    }

    private static func number(_ value: Double?) -> String? {
        guard let value, value.isFinite else { return nil }
        return "\(value)"
    }

    private static func instant(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    private static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(jsonString($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }

    private static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
