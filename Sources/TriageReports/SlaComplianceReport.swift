public import Foundation
import SwiftProtobuf
public import TriageSchema

/// First-response SLA compliance of the incidents opened in a window, per group, computed from
/// the analytics records of `triage.analytics` (docs/analytics.md, "SLA compliance report").
///
/// - An incident belongs to the window by its Opened's `occurred_at` (the earliest Opened when
///   there are several), in `[window.start, window.end)`. Incidents without an Opened record
///   (orphans) are in no window; they are counted in ``orphanIncidents``.
/// - The report is what was known at `asOf`: records that occurred after it are ignored.
/// - Records are deduplicated by `event_id` (delivery is at-least-once; the first copy counts;
///   records without an id are all kept).
/// - Per-incident figures come from the incident's **latest** record: the one with the latest
///   `occurred_at`, ties going to the one read later. Its `team`, `severity` (the current one)
///   and `customer_account` name the incident's group.
/// - Escalation levels come from the `escalated` records on the first-response target
///   (`sla_target == "first_response"`): an incident counts in level *n* when one of them has
///   `escalation_level ≥ n`.
/// - An incident is **at risk** when its latest record has no outcome (open), no first
///   response, is not breached, and the escalator published an `sla_warning` on its
///   first-response target: the escalator's own notion of "at risk".
///
/// Percentiles are nearest-rank (``NearestRank``). Rows are sorted by group key; ``total``
/// covers every incident of the window.
///
/// ```swift
/// let report = SlaComplianceReport(records: records, window: DateInterval(start: march, end: april),
///                                  groupBy: .team, asOf: Date())
/// print(report.table())
/// ```
public struct SlaComplianceReport: Sendable, Hashable {
    /// The first-response target's name in `sla_target`.
    public static let firstResponseTarget = "first_response"

    /// Opened in `[window.start, window.end)`.
    public var window: DateInterval
    public var grouping: ReportGrouping
    /// Records that occurred after this instant were ignored.
    public var asOf: Date
    /// One row per group, sorted by ``SlaComplianceRow/group``.
    public var rows: [SlaComplianceRow]
    /// All incidents opened in the window.
    public var total: SlaComplianceRow
    /// How many escalation levels every row's ``SlaComplianceRow/reachedLevel`` has: the highest
    /// first-response level reached in the window, at least 3.
    public var escalationLevels: Int

    /// Records read (duplicates included).
    public var recordsRead = 0
    /// Records dropped because their `event_id` was seen before.
    public var duplicateRecords = 0
    /// Records ignored because they occurred after ``asOf``.
    public var recordsAfterAsOf = 0
    /// Incidents with records but no Opened (at least up to ``asOf``): in no window.
    public var orphanIncidents = 0

    public init(records: some Sequence<AnalyticsRecord>, window: DateInterval, groupBy grouping: ReportGrouping, asOf: Date) {
        self.window = window
        self.grouping = grouping
        self.asOf = asOf
        var seen: Set<String> = []
        var incidents: [String: IncidentTrail] = [:]
        for record in records {
            recordsRead += 1
            if !record.eventID.isEmpty, !seen.insert(record.eventID).inserted {
                duplicateRecords += 1
                continue
            }
            let instant = record.occurredAt.date
            guard instant <= asOf else {
                recordsAfterAsOf += 1
                continue
            }
            if incidents[record.incidentID] == nil {
                incidents[record.incidentID] = IncidentTrail(record, at: instant)
            } else {
                incidents[record.incidentID]!.add(record, at: instant)
            }
        }
        var inWindow: [IncidentTrail] = []
        for incident in incidents.values {
            guard let openedAt = incident.openedAt else {
                orphanIncidents += 1
                continue
            }
            if window.start <= openedAt, openedAt < window.end { inWindow.append(incident) }
        }
        let levels = max(3, Int(inWindow.map(\.firstResponseLevel).max() ?? 0))
        escalationLevels = levels
        var groups: [String: SlaComplianceRow] = [:]
        var total = SlaComplianceRow(group: nil, escalationLevels: levels)
        for incident in inWindow {
            let key = incident.group(by: grouping)
            groups[key, default: SlaComplianceRow(group: key, escalationLevels: levels)].add(incident)
            total.add(incident)
        }
        total.finish()
        self.total = total
        rows = groups.values.map { row in
            var row = row
            row.finish()
            return row
        }
        .sorted { ($0.group ?? "") < ($1.group ?? "") }
    }
}
