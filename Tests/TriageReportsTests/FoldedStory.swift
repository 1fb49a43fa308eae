import Foundation
import SwiftProtobuf
import TriageAnalytics
import TriageSLA
import TriageSLAEvents
import TriageSchema

/// A month of incidents folded by the real analytics fold (`IncidentSnapshot.apply`) with the
/// escalator's own events merged in (an `IncidentSla` driven by the same inputs, its timer fired
/// when due), under the default policy (24x7: first response A 2 h, B 4 h, C 8 h; warnings at
/// 50 % and 75 %; level 1 at the breach, level 2 an hour later).
enum FoldedStory {
    static let rules = SlaRules(SlaPolicy())
    /// The story's "now": the at-risk incident has been warned, not yet breached.
    static let asOf = at("2026-03-30T13:30:00Z")

    enum Fact {
        case opened(Severity, team: String, customer: String)
        case acknowledged
        case waitingOnCustomer
        case customerResponded
        case severityChanged(Severity, Severity)
        case closedResolved
        case reopened
    }

    /// Every incident's lifecycle, in order per incident.
    static let incidents: [(String, [(Fact, String)])] = [
        // Acknowledged within target (45 of 240 minutes), closed.
        (
            "INC-ack",
            [
                (.opened(.b, team: "billing", customer: "acme"), "2026-03-02T10:00:00Z"), (.acknowledged, "2026-03-02T10:45:00Z"),
                (.closedResolved, "2026-03-02T12:00:00Z"),
            ]
        ),
        // Breached: warnings, level 1 at 13:00, level 2 at 14:00, acknowledged at 15:30 (390 minutes).
        (
            "INC-breach",
            [(.opened(.b, team: "billing", customer: "globex"), "2026-03-03T09:00:00Z"), (.acknowledged, "2026-03-03T15:30:00Z")]
        ),
        // Waiting on the customer for two hours pauses the clock: 60 minutes of 120.
        (
            "INC-wait",
            [
                (.opened(.a, team: "emea", customer: "acme"), "2026-03-04T08:00:00Z"), (.waitingOnCustomer, "2026-03-04T08:30:00Z"),
                (.customerResponded, "2026-03-04T10:30:00Z"), (.acknowledged, "2026-03-04T11:00:00Z"),
            ]
        ),
        // C (480) raised to A (120) after an hour: level 1 at 10:00, acknowledged at 10:30 (150 minutes).
        (
            "INC-severity",
            [
                (.opened(.c, team: "emea", customer: "initech"), "2026-03-05T08:00:00Z"),
                (.severityChanged(.c, .a), "2026-03-05T09:00:00Z"),
                (.acknowledged, "2026-03-05T10:30:00Z"),
            ]
        ),
        // Acknowledged, closed, reopened and closed again.
        (
            "INC-reopen",
            [
                (.opened(.b, team: "billing", customer: "acme"), "2026-03-06T08:00:00Z"), (.acknowledged, "2026-03-06T08:20:00Z"),
                (.closedResolved, "2026-03-06T09:00:00Z"), (.reopened, "2026-03-07T10:00:00Z"), (.acknowledged, "2026-03-07T10:10:00Z"),
                (.closedResolved, "2026-03-07T12:00:00Z"),
            ]
        ),
        // Opened before the window (its acknowledgement falls in it).
        (
            "INC-february",
            [(.opened(.b, team: "billing", customer: "acme"), "2026-02-27T22:00:00Z"), (.acknowledged, "2026-03-01T01:00:00Z")]
        ),
        // Warned at 12:00 and 13:00, not yet breached (14:00) at asOf: at risk.
        ("INC-risk", [(.opened(.b, team: "billing", customer: "globex"), "2026-03-30T10:00:00Z")]),
        // Fast, in a different month's window but the same file.
        (
            "INC-ack2",
            [(.opened(.a, team: "emea", customer: "globex"), "2026-03-12T08:00:00Z"), (.acknowledged, "2026-03-12T08:05:30.250Z")]
        ),
    ]

    /// The analytics records of every incident in topic order per incident, incidents
    /// interleaved, with re-publications (the same record again) as a restarted feed makes them.
    static func records() -> [AnalyticsRecord] {
        var perIncident: [[AnalyticsRecord]] = incidents.map { incident, facts in
            var snapshot = IncidentSnapshot(incidentID: incident)
            return withEscalator(lifecycle(incident, facts)).compactMap { snapshot.apply($0, rules: rules) }
        }
        // Re-publications: the second and the last record of some incidents again.
        for index in perIncident.indices where index % 2 == 0 {
            perIncident[index].insert(perIncident[index][1], at: 2)
            perIncident[index].append(perIncident[index].last!)
        }
        var merged: [AnalyticsRecord] = []
        var cursors = Array(repeating: 0, count: perIncident.count)
        while merged.count < perIncident.map(\.count).reduce(0, +) {
            for index in perIncident.indices where cursors[index] < perIncident[index].count {
                merged.append(perIncident[index][cursors[index]])
                cursors[index] += 1
            }
        }
        return merged
    }

    /// The records as JSON lines, as the feed publishes them.
    static func jsonLines() throws -> String {
        try records().map { try $0.publishedJSON() }.joined(separator: "\n") + "\n"
    }

    private static func lifecycle(_ incident: String, _ facts: [(Fact, String)]) -> [IncidentEvent] {
        facts.enumerated().map { index, step in
            var event = IncidentEvent()
            event.eventID = "\(incident)-\(index + 1)"
            event.incidentID = incident
            event.occurredAt = Google_Protobuf_Timestamp(date: at(step.1))
            event.producer = "intake"
            switch step.0 {
            case .opened(let severity, let team, let customer):
                event.opened = .with {
                    $0.severity = severity
                    $0.coverage = .coverage24X7
                    $0.team = team
                    $0.customerAccount = customer
                    $0.product = "ledger"
                }
            case .acknowledged: event.acknowledged = .with { $0.agentID = "agent-7" }
            case .waitingOnCustomer: event.waitingOnCustomer = .with { $0.reason = "logs requested" }
            case .customerResponded: event.customerResponded = .init()
            case .severityChanged(let from, let to):
                event.severityChanged = .with {
                    $0.from = from
                    $0.to = to
                }
            case .closedResolved: event.closedResolved = .with { $0.closedBy = "agent-7" }
            case .reopened: event.reopened = .with { $0.reason = "it is back" }
            }
            return event
        }
    }

    /// `lifecycle` with the escalator's events merged in, each when due, up to ``asOf``.
    private static func withEscalator(_ lifecycle: [IncidentEvent]) -> [IncidentEvent] {
        var state: IncidentSla?
        var merged: [IncidentEvent] = []
        func drain(until instant: Date, incident: String) {
            while let next = state?.nextDue, next <= instant {
                merged += state!.fire(upTo: next, rules: rules).map { $0.incidentEvent(incident: incident) }
            }
        }
        for event in lifecycle {
            let instant = event.occurredAt.date
            drain(until: instant, incident: event.incidentID)
            merged.append(event)
            guard let input = SlaInput(event) else { continue }
            if state != nil {
                state!.apply(input, at: instant, rules: rules)
            } else if case .opened(let severity, let coverage, let team) = input {
                state = IncidentSla(openedAt: instant, severity: severity, coverage: coverage, team: team, rules: rules)
            }
            drain(until: instant, incident: event.incidentID)
        }
        if let last = lifecycle.last { drain(until: asOf, incident: last.incidentID) }
        return merged
    }
}
