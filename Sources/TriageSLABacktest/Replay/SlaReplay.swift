public import Foundation
public import TriageSLA
import TriageSLAEvents
import TriageSchema

/// The escalator's SLA clocks replayed over a lifecycle log under one policy: the same
/// ``SlaBook`` code (`apply`, `fire`), fed as the escalator feeds it, so the replay under the
/// policy that was in force fires the warnings and escalations the escalator published (same
/// event ids, same instants).
///
/// How the escalator behaves, and what the replay does for each record, per partition (the
/// escalator keeps a book per partition and its timer fires each milestone when it falls due):
///
/// 1. every milestone due up to the instant the record reached the topic
///    (``BacktestRecord/seenAt``, never earlier than the partition's previous record) fires, one
///    due instant at a time — as the escalator's timer does while it waits for records;
/// 2. the event is applied at its `occurred_at` (`SlaBook.apply`, with the record's position);
///    the escalator's own SlaWarning and Escalated events in the log are not applied: the
///    replay fires its own;
/// 3. whatever is overdue then fires at once (`SlaBook.fire(upTo:)` at the instant the record
///    was seen), as the escalator does after each batch: an Opened published late fires only its
///    highest overdue warning, and none overtaken by the breach.
///
/// ``finish(at:)`` fires everything due up to the end of the window the same way. What the
/// replay cannot know: when the escalator was down or behind (it then notices milestones late
/// and skips overtaken warnings). Closed incidents are forgotten after the policy's reopen
/// window, as the escalator forgets them, so memory follows the incidents tracked, not the log.
public struct SlaReplay: Sendable {
    public let rules: SlaRules
    /// Records seen at or after this instant are not replayed (the escalator had not seen them
    /// by then). `nil`: no end.
    public let end: Date?
    private var books: [Int32: SlaBook] = [:]
    /// Per partition, the latest instant a record was seen (seconds since 1970).
    private var lastSeen: [Int32: Double] = [:]
    private var tallies: [String: IncidentTally] = [:]
    /// Tallies of incidents the books forgot since ``takeFinished()`` was last called.
    private var finished: [(incident: String, outcome: IncidentOutcome)] = []

    public init(rules: SlaRules, end: Date? = nil) {
        self.rules = rules
        self.end = end
    }

    /// Incidents tracked (open, or closed within the reopen window).
    public var tracked: Int { tallies.count }

    /// Whether `incident` is tracked.
    public func tracks(_ incident: String) -> Bool { tallies[incident] != nil }

    /// Replays one record (see the type's description); returns what fired, in order.
    /// Records the escalator would dead-letter (invalid events) advance the clock only.
    public mutating func replay(_ record: BacktestRecord) -> [ReplayedAction] {
        replay(record, input: Self.input(of: record))
    }

    /// The SLA input of a record the escalator would apply: `nil` for events that do not touch
    /// the clocks, the escalator's own events (a replay fires its own) and invalid events.
    static func input(of record: BacktestRecord) -> SlaInput? {
        guard let input = SlaInput(record.event) else { return nil }
        switch input {
        case .warningEmitted, .escalationEmitted: return nil
        default: break
        }
        let seen = record.seenAt ?? record.event.occurredAt.date
        guard IncidentEventValidator(now: { seen }).violations(of: record.event).isEmpty else { return nil }
        return input
    }

    /// Replays `record` with its input already worked out (`nil`: the record only advances time).
    mutating func replay(_ record: BacktestRecord, input: SlaInput?) -> [ReplayedAction] {
        let partition = record.partition
        let occurred = record.event.occurredAt.date
        let seen = max((record.seenAt ?? occurred).timeIntervalSince1970, lastSeen[partition] ?? -.infinity)
        if let end, seen >= end.timeIntervalSince1970 { return [] }
        lastSeen[partition] = seen
        var actions: [ReplayedAction] = []
        advance(partition, to: seen, into: &actions)
        guard let input else { return actions }
        let incident = record.event.incidentID
        let before = books[partition]?[incident]
        let outcome = books[partition, default: SlaBook()].apply(input, to: incident, at: occurred, position: record.position, rules: rules)
        if let after = books[partition]?[incident] {
            if before == nil { tallies[incident] = IncidentTally() }
            tallies[incident]?.observe(input, before: before, after: after, at: occurred, rules: rules)
        }
        handle(outcome, partition: partition, into: &actions)
        let overdue = books[partition]!.fire(upTo: Self.date(seen), rules: rules)
        handle(overdue, partition: partition, into: &actions)
        return actions
    }

    /// Fires everything due up to `end` on every partition (one due instant at a time) and
    /// returns the outcome of every incident still tracked, measured at `end`.
    public mutating func finish(at end: Date) -> (actions: [ReplayedAction], outcomes: [(incident: String, outcome: IncidentOutcome)]) {
        var actions: [ReplayedAction] = []
        for partition in books.keys.sorted() {
            advance(partition, to: end.timeIntervalSince1970, into: &actions)
        }
        var outcomes = takeFinished()
        for (partition, book) in books.sorted(by: { $0.key < $1.key }) {
            for (incident, state) in book.incidents.sorted(by: { $0.key < $1.key }) {
                guard var tally = tallies.removeValue(forKey: incident) else { continue }
                tally.finish(state, at: end, rules: rules)
                outcomes.append((incident, tally.outcome))
            }
            books[partition] = nil
        }
        return (actions, outcomes)
    }

    /// The outcomes of incidents forgotten since the last call (closed, past the reopen window).
    public mutating func takeFinished() -> [(incident: String, outcome: IncidentOutcome)] {
        defer { finished.removeAll(keepingCapacity: true) }
        return finished
    }

    /// Fires each due instant of `partition` up to `limit` in turn, as the escalator's timer does.
    private mutating func advance(_ partition: Int32, to limit: Double, into actions: inout [ReplayedAction]) {
        guard books[partition] != nil else { return }
        while let due = books[partition]!.nextDue(), due.timeIntervalSince1970 <= limit {
            let outcome = books[partition]!.fire(upTo: Self.date(due.timeIntervalSince1970), rules: rules)
            handle(outcome, partition: partition, into: &actions)
            // A state still due after firing (SlaBook keeps it for its next call) would loop here.
            if let next = books[partition]!.nextDue(), next <= due {
                handle(books[partition]!.fire(upTo: Self.date(limit), rules: rules), partition: partition, into: &actions)
                break
            }
        }
    }

    private mutating func handle(_ outcome: SlaBook.Outcome, partition: Int32, into actions: inout [ReplayedAction]) {
        for (incident, action) in outcome.actions {
            tallies[incident]?.record(action)
            actions.append(ReplayedAction(incident: incident, action: action))
        }
        for incident in outcome.changed {
            if let state = books[partition]?[incident] { tallies[incident]?.refresh(state, rules: rules) }
        }
        for incident in outcome.forgotten {
            // Closed (every clock stopped) and past the reopen window: nothing more can change.
            if let tally = tallies.removeValue(forKey: incident) { finished.append((incident, tally.outcome)) }
        }
    }

    /// The `Date` whose seconds since 1970 are at least `seconds`: `Date` counts from 2001, and a
    /// round trip may land a hair before the instant, which `SlaBook.fire(upTo:)` would not reach.
    static func date(_ seconds: Double) -> Date {
        var date = Date(timeIntervalSince1970: seconds)
        while date.timeIntervalSince1970 < seconds {
            date = Date(timeIntervalSinceReferenceDate: date.timeIntervalSinceReferenceDate.nextUp)
        }
        return date
    }
}
