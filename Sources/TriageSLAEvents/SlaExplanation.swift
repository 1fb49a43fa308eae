public import Foundation
import TriageCore
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
        /// `first_response`, `resolution` or `update`.
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

    /// Time one pause reason held one clock, in minutes of the incident's calendar (so a pause
    /// over a weekend counts nothing under business hours).
    public struct PauseTime: Sendable, Hashable {
        /// The pause reason (`waiting_on_customer`, `waiting_on_vendor`, ...).
        public var reason: String
        /// `first_response`, `resolution` or `update`.
        public var target: String
        public var minutes: Double
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
    /// Per pause reason and clock, the time that clock stood paused for it up to ``asOf``
    /// (reasons in order of first use, clocks in target order); empty when nothing paused.
    public let pauseTimes: [PauseTime]
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
        var pauses = PauseLedger()
        func record(_ outcome: SlaBook.Outcome) {
            for (_, action) in outcome.actions {
                entries.append(.action(Action(due: action.due, text: "\(action)", eventID: action.eventID(incident: incident))))
            }
        }
        for (index, event) in events.enumerated() {
            let at = event.occurredAt.date
            record(book.fire(upTo: at, rules: rules))
            pauses.observe(book[incident], at: at, rules: rules)
            guard let input = SlaInput(event) else {
                entries.append(.event(at: at, type: event.eventTypeName ?? "?", state: nil))
                continue
            }
            record(book.apply(input, to: incident, at: at, position: Int64(index), rules: rules))
            pauses.observe(book[incident], at: at, rules: rules)
            var type = event.eventTypeName ?? "?"
            if case .paused(let reason, let resumeAt) = input {
                type +=
                    " (\(reason)\(rules.pauseReasonIndex(named: reason) == nil ? ", unknown to the policy: paused as \(SlaPolicy.waitingOnCustomer)" : "")\(resumeAt.map { ", resumes \($0.formatted(.iso8601))" } ?? ""))"
            }
            entries.append(.event(at: at, type: type, state: Self.describe(book[incident], at: at, rules: rules)))
        }
        record(book.fire(upTo: until, rules: rules))
        pauses.observe(book[incident], at: until, rules: rules)
        pauses.close(at: until, rules: rules)
        self.entries = entries
        asOf = until
        let state = book[incident]
        finalState = state.map { Self.describe($0, at: until, rules: rules) }
        clocks = state.map { Self.clocks(of: $0, at: until, rules: rules) } ?? []
        pauseTimes = pauses.times
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

    /// Follows the incident's pause through the replay: which reason held which clocks from when
    /// to when, summed per reason and clock in the incident's calendar.
    struct PauseLedger {
        /// The pause being followed: its reason, start, the clocks it holds, and its resume instant.
        var open: (reason: String, since: Date, targets: [SlaTarget], resumeAt: Date?, calendar: BusinessCalendar)?
        var times: [PauseTime] = []

        mutating func observe(_ state: IncidentSla?, at instant: Date, rules: SlaRules) {
            let reason = state?.pauseReason(rules: rules)
            if let current = open, current.reason != reason || current.resumeAt != state?.resumesAt {
                // Ended by itself at its resume instant, or by this event.
                close(at: current.resumeAt.map { min($0, instant) } ?? instant, rules: rules)
            }
            guard open == nil, let state, let reason else { return }
            let targets = SlaTarget.allCases.filter { state.clock($0).phase == .paused }
            open = (reason, instant, targets, state.resumesAt, rules.calendars[Int(state.calendarIndex)])
        }

        mutating func close(at end: Date, rules: SlaRules) {
            guard let current = open else { return }
            open = nil
            let minutes = current.calendar.businessMinutes(from: current.since, to: max(end, current.since))
            for target in current.targets {
                if let index = times.firstIndex(where: { $0.reason == current.reason && $0.target == target.rawValue }) {
                    times[index].minutes += minutes
                } else {
                    times.append(PauseTime(reason: current.reason, target: target.rawValue, minutes: minutes))
                }
            }
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
        if !pauseTimes.isEmpty {
            // Minutes of the incident's calendar: a weekend in a pause counts nothing under business hours.
            var reasons: [String] = []
            for time in pauseTimes where !reasons.contains(time.reason) { reasons.append(time.reason) }
            for reason in reasons {
                let parts = pauseTimes.filter { $0.reason == reason }.map { "\($0.target) \(String(format: "%.1f", $0.minutes)) min" }
                lines.append("paused for \(reason): \(parts.joined(separator: ", "))")
            }
        }
        return lines
    }

    static func clocks(of state: IncidentSla, at instant: Date, rules: SlaRules) -> [Clock] {
        let calendar = rules.calendars[Int(state.calendarIndex)]
        let targets = rules.policy.targets(for: state.severity, coverage: state.coverage)
        var clocks: [Clock] = []
        for target in SlaTarget.allCases {
            let clock = state.clock(target)
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
        if let reason = state.pauseReason(rules: rules) {
            parts.append("paused (\(reason)\(state.resumesAt.map { " until \($0.formatted(.iso8601))" } ?? ""))")
        }
        if state.isClosed { parts.append("closed") }
        return parts.joined(separator: ", ")
    }
}
