public import Foundation
public import TriageSLA
public import TriageSchema

/// An incident's SLA clock timeline, computed from its lifecycle events exactly as the escalator
/// applies them: each event with the clocks' state after it, every warning and escalation with
/// its due time and event id, then the state as of an instant, what is due next and, for a closed
/// incident, its reopen window. `triage sla explain` prints ``lines(timeScale:)``; the console
/// renders the typed ``entries`` and ``clocks``.
///
/// ```swift
/// let explanation = SlaExplanation(incident: "inc-1", events: history, rules: SlaRules(policy), until: now)
/// for line in explanation.lines() { print(line) }
/// ```
public struct SlaExplanation: Sendable {
    /// A warning or escalation the clocks produced.
    public struct Action: Sendable, Hashable {
        /// When it is (or was) due.
        public var due: Date
        /// The action as the escalator describes it (`warning 75% of first_response ...`).
        public var text: String
        /// The id of the event the escalator publishes for it.
        public var eventID: String
    }

    /// One line of the timeline, in order.
    public enum Entry: Sendable, Hashable {
        /// A lifecycle event; `state` is the clocks after it, `nil` when it does not touch them.
        case event(at: Date, type: String, state: String?)
        case action(Action)
    }

    /// One SLA target's clock as of ``asOf``.
    public struct Clock: Sendable, Hashable {
        /// `first_response` or `resolution`.
        public var target: String
        /// `running`, `paused`, `stopped`, ...
        public var phase: String
        /// Minutes of the incident's calendar used so far.
        public var usedMinutes: Double
        /// The target in the same minutes.
        public var targetMinutes: Double
        /// `usedMinutes > targetMinutes`.
        public var breached: Bool { usedMinutes > targetMinutes }
    }

    public let incidentID: String
    public let eventCount: Int
    public let entries: [Entry]
    /// The instant the final state is computed at.
    public let asOf: Date
    /// The clocks' state as of ``asOf``; `nil` when no Opened was seen.
    public let finalState: String?
    /// Every clock that was started, as of ``asOf``.
    public let clocks: [Clock]
    /// Severity and coverage (`sev B business_hours`); `nil` when no Opened was seen.
    public let terms: String?
    public let isClosed: Bool
    /// The next instant something is due (open incidents).
    public let nextDue: Date?
    /// Closed incidents: until when a Reopened restarts the clocks.
    public let reopenWindowEnd: Date?

    /// Applies `events` (one incident's, in order) to a fresh book, then fires up to `until`.
    public init(incident: String, events: [IncidentEvent], rules: SlaRules, until: Date) {
        incidentID = incident
        eventCount = events.count
        var entries: [Entry] = []
        var book = SlaBook()
        func record(_ outcome: SlaBook.Outcome) {
            for (_, action) in outcome.actions {
                entries.append(.action(Action(due: action.due, text: "\(action)", eventID: action.eventID(incident: incident))))
            }
        }
        for (index, event) in events.enumerated() {
            let at = event.occurredAt.date
            record(book.fire(upTo: at, rules: rules))
            guard let input = SlaInput(event) else {
                entries.append(.event(at: at, type: event.eventTypeName ?? "?", state: nil))
                continue
            }
            record(book.apply(input, to: incident, at: at, position: Int64(index), rules: rules))
            entries.append(.event(at: at, type: event.eventTypeName ?? "?", state: Self.describe(book[incident], at: at, rules: rules)))
        }
        record(book.fire(upTo: until, rules: rules))
        self.entries = entries
        asOf = until
        let state = book[incident]
        finalState = state.map { Self.describe($0, at: until, rules: rules) }
        clocks = state.map { Self.clocks(of: $0, at: until, rules: rules) } ?? []
        terms = state.map { "sev \($0.severity.rawValue) \($0.coverage.rawValue)" }
        isClosed = state?.isClosed ?? false
        if let state, state.isClosed {
            nextDue = nil
            reopenWindowEnd = Date(timeIntervalSince1970: state.closedAt + rules.policy.reopenWindowMinutes * 60)
        } else {
            nextDue = state?.nextDue
            reopenWindowEnd = nil
        }
    }

    /// The text `triage sla explain` prints (without its first line, which names the incident).
    /// `timeScale` other than 1 is mentioned beside "as of".
    public func lines(timeScale: Double = 1) -> [String] {
        var lines: [String] = []
        for entry in entries {
            switch entry {
            case .action(let action):
                lines.append("\(action.due.formatted(.iso8601))  ⚑ \(action.text)  id \(action.eventID)")
            case .event(let at, let type, nil):
                lines.append("\(at.formatted(.iso8601))  \(type) (no effect on SLA clocks)")
            case .event(let at, let type, let state?):
                lines.append("\(at.formatted(.iso8601))  \(type)  →  \(state)")
            }
        }
        guard let finalState else { return lines }
        lines.append("as of \(asOf.formatted(.iso8601))\(timeScale == 1 ? "" : " (SLA time ×\(timeScale))"): \(finalState)")
        if let reopenWindowEnd {
            // Nothing is due on a closed incident; what ends is the window for reopening it.
            lines.append("next due: nothing (closed)")
            lines.append(
                "reopen window: \(reopenWindowEnd > asOf ? "open until" : "ended") \(reopenWindowEnd.formatted(.iso8601)) (a Reopened event restarts the clocks until then)"
            )
        } else if let nextDue {
            lines.append("next due: \(nextDue.formatted(.iso8601))")
        }
        return lines
    }

    static func clocks(of state: IncidentSla, at instant: Date, rules: SlaRules) -> [Clock] {
        let calendar = rules.calendars[Int(state.calendarIndex)]
        let targets = rules.policy.targets(for: state.severity, coverage: state.coverage)
        var clocks: [Clock] = []
        for target in SlaTarget.allCases {
            let clock = target == .firstResponse ? state.firstResponse : state.resolution
            guard clock.phase != .off, let minutes = targets.minutes(for: target) else { continue }
            var used = clock.used
            if clock.phase == .running {
                used += calendar.businessMinutes(from: Date(timeIntervalSince1970: clock.since), to: instant)
            }
            clocks.append(Clock(target: target.rawValue, phase: "\(clock.phase)", usedMinutes: used, targetMinutes: minutes))
        }
        return clocks
    }

    static func describe(_ state: IncidentSla?, at instant: Date, rules: SlaRules) -> String {
        guard let state else { return "not tracked (no Opened yet)" }
        var parts = ["sev \(state.severity.rawValue) \(state.coverage.rawValue)"]
        for clock in clocks(of: state, at: instant, rules: rules) {
            parts.append("\(clock.target) \(clock.phase) \(String(format: "%.1f", clock.usedMinutes))/\(Int(clock.targetMinutes)) min")
        }
        if state.isClosed { parts.append("closed") }
        return parts.joined(separator: ", ")
    }
}
