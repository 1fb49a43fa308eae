public import Foundation
import HeapModule
public import TriageSLA
import TriageSLAEvents
import TriageSchema

/// "What if this policy had been in force?": the lifecycle log of a window replayed through the
/// escalator's SLA code under a baseline and a candidate policy at once (one ``SlaReplay``
/// each), compared incident by incident.
///
/// Feed every record of `triage.incident-events` from the start of the window (in offset order
/// per partition; partitions may interleave) to ``replay(_:)``, then call ``finish()``.
/// Incidents opened (first Opened's `occurred_at`) in [from, to) are replayed up to `to`; the
/// others only move the clock. Memory follows the incidents tracked — open, or closed within the
/// reopen window — not the length of the log: an incident is counted and dropped as soon as
/// both replays are done with it.
///
/// ```swift
/// var backtest = SlaBacktest(baseline: SlaRules(SlaPolicy()), candidate: SlaRules(candidate), window: november, grouping: .team)
/// for record in records { backtest.replay(record) }
/// let result = backtest.finish()
/// print(result.table())
/// ```
public struct SlaBacktest: Sendable {
    public let window: DateInterval
    public let grouping: BacktestGrouping
    /// Changed incidents listed at most (all are counted). Default 1,000.
    public let changedListLimit: Int
    public var baselineName: String
    public var candidateName: String
    private var baseline: SlaReplay
    private var candidate: SlaReplay
    private var incidents: [String: BacktestIncident] = [:]
    private var rows: [String: BacktestRow] = [:]
    private var total = BacktestRow(group: "total")
    /// The changed incidents listed: the first by ``ChangedIncident/listingOrder`` (a max-heap,
    /// so the last of them is dropped when a better one comes).
    private var changed = Heap<ListedChange>()
    private var changedCount = 0
    public private(set) var recordsRead = 0
    public private(set) var eventsApplied = 0
    public private(set) var escalatorEventsIgnored = 0
    public private(set) var invalidEvents = 0
    public private(set) var repeatedEvents = 0
    public private(set) var eventsBeforeOpened = 0
    public private(set) var incidentsReadOutOfOrder = 0
    /// Events of unknown incidents in the window, per incident, until their Opened is read (an
    /// incident opened before the window stays here): at most this many incidents.
    public static let outOfOrderTrackingLimit = 100_000
    private var unopened: [String: Int] = [:]
    /// Per partition, the positions read.
    private var positionsRead: [Int32: PositionRanges] = [:]
    public private(set) var baselineAgainstLog = BaselineAgainstLog()
    /// The latest `occurred_at` read.
    public private(set) var lastEventAt: Date?

    public init(
        baseline: SlaRules, candidate: SlaRules, window: DateInterval, grouping: BacktestGrouping, changedListLimit: Int = 1_000,
        baselineName: String = "baseline", candidateName: String = "candidate"
    ) {
        self.window = window
        self.grouping = grouping
        self.changedListLimit = max(0, changedListLimit)
        self.baselineName = baselineName
        self.candidateName = candidateName
        self.baseline = SlaReplay(rules: baseline, end: window.end)
        self.candidate = SlaReplay(rules: candidate, end: window.end)
    }

    /// Incidents tracked by either replay right now.
    public var tracked: Int { incidents.count }

    /// Replays one record under both policies.
    public mutating func replay(_ record: BacktestRecord) {
        recordsRead += 1
        // A position of its partition already read is the same record again (a log given twice,
        // overlapping files), whatever happened to its incident since.
        guard positionsRead[record.partition, default: PositionRanges()].insert(record.position) else {
            repeatedEvents += 1
            return
        }
        let event = record.event
        if lastEventAt.map({ event.occurredAt.date > $0 }) ?? true { lastEventAt = event.occurredAt.date }
        var input = SlaInput(event)
        switch input {
        case nil: break
        case .warningEmitted?, .escalationEmitted?:
            escalatorEventsIgnored += 1
            if incidents[event.incidentID] != nil, event.occurredAt.date <= window.end {
                incidents[event.incidentID]!.logged.insert(BacktestIncident.milestone(event.eventID, at: event.occurredAt.date))
            }
            input = nil
        case .some:
            if SlaReplay.input(of: record) == nil {
                invalidEvents += 1
                input = nil
            } else if incidents[event.incidentID] != nil {
                incidents[event.incidentID]!.update(with: event)
            } else if case .opened(let opened) = event.event, window.contains(event.occurredAt.date), event.occurredAt.date < window.end {
                incidents[event.incidentID] = BacktestIncident(opened: opened, at: event.occurredAt.date)
                if let early = unopened.removeValue(forKey: event.incidentID) {
                    eventsBeforeOpened += early
                    incidentsReadOutOfOrder += 1
                }
            } else {
                // Not an incident of the window (opened before it, or not yet read: out of order).
                if event.occurredAt.date >= window.start, event.occurredAt.date < window.end,
                    unopened[event.incidentID] != nil || unopened.count < Self.outOfOrderTrackingLimit
                {
                    unopened[event.incidentID, default: 0] += 1
                }
                input = nil
            }
        }
        if input != nil { eventsApplied += 1 }
        note(baseline.replay(record, input: input))
        _ = candidate.replay(record, input: input)
        if case .opened? = input, !baseline.tracks(event.incidentID) {
            // Seen after the window's end (the escalator had not read it by then): not replayed.
            incidents[event.incidentID] = nil
            eventsApplied -= 1
        }
        collect(baseline.takeFinished(), baseline: true)
        collect(candidate.takeFinished(), baseline: false)
    }

    /// Fires what is due up to the end of the window and returns the comparison.
    public mutating func finish() -> SlaBacktestResult {
        let (actions, outcomes) = baseline.finish(at: window.end)
        note(actions)
        collect(outcomes, baseline: true)
        collect(candidate.finish(at: window.end).outcomes, baseline: false)
        let listed = changed.unordered.map(\.entry).sorted { $0.listingOrder < $1.listingOrder }
        return SlaBacktestResult(
            from: window.start, to: window.end, grouping: grouping, baselineName: baselineName, candidateName: candidateName,
            recordsRead: recordsRead, eventsApplied: eventsApplied, escalatorEventsIgnored: escalatorEventsIgnored,
            invalidEvents: invalidEvents, repeatedEvents: repeatedEvents, eventsBeforeOpened: eventsBeforeOpened,
            incidentsReadOutOfOrder: incidentsReadOutOfOrder, baselineAgainstLog: baselineAgainstLog, lastEventAt: lastEventAt,
            rows: rows.values.sorted { $0.group < $1.group }, total: total, changed: listed,
            changedCount: changedCount, changedListLimit: changedListLimit
        )
    }

    /// The baseline's actions, kept with their incidents to compare with the escalator's events.
    private mutating func note(_ actions: [ReplayedAction]) {
        for action in actions where incidents[action.incident] != nil {
            incidents[action.incident]!.replayed.insert(BacktestIncident.milestone(action.eventID, at: action.due))
        }
    }

    private mutating func collect(_ outcomes: [(incident: String, outcome: IncidentOutcome)], baseline isBaseline: Bool) {
        for (id, outcome) in outcomes {
            guard var incident = incidents[id] else { continue }
            if isBaseline { incident.baseline = outcome } else { incident.candidate = outcome }
            guard let before = incident.baseline, let after = incident.candidate else {
                incidents[id] = incident
                continue
            }
            incidents[id] = nil
            count(id, incident, before, after)
        }
    }

    private mutating func count(_ id: String, _ incident: BacktestIncident, _ before: IncidentOutcome, _ after: IncidentOutcome) {
        let group = incident.group(by: grouping)
        baselineAgainstLog.same += incident.logged.intersection(incident.replayed).count
        baselineAgainstLog.onlyInLog += incident.logged.subtracting(incident.replayed).count
        baselineAgainstLog.onlyInReplay += incident.replayed.subtracting(incident.logged).count
        let outcomeChanged = !before.sameResult(as: after)
        let deadlineMoved = !before.sameDeadlines(as: after)
        var row = rows[group] ?? BacktestRow(group: group)
        for index in [0, 1] {
            var target = index == 0 ? row : total
            target.baseline.add(before, policy: baseline.rules.policy)
            target.candidate.add(after, policy: candidate.rules.policy)
            if outcomeChanged {
                target.changed += 1
            } else if deadlineMoved {
                target.deadlineMoved += 1
            }
            if index == 0 { row = target } else { total = target }
        }
        rows[group] = row
        guard outcomeChanged || deadlineMoved else { return }
        changedCount += 1
        let entry = ChangedIncident(
            incident: id, group: group, openedAt: incident.openedAt, outcomeChanged: outcomeChanged, baseline: before, candidate: after)
        guard changedListLimit > 0 else { return }
        changed.insert(ListedChange(entry))
        if changed.count > changedListLimit { changed.removeMax() }
    }
}

/// A changed incident in the listing's heap.
struct ListedChange: Comparable {
    let entry: ChangedIncident
    init(_ entry: ChangedIncident) { self.entry = entry }
    static func < (a: ListedChange, b: ListedChange) -> Bool { a.entry.listingOrder < b.entry.listingOrder }
    static func == (a: ListedChange, b: ListedChange) -> Bool { a.entry.listingOrder == b.entry.listingOrder }
}
