public import Foundation
import SwiftProtobuf
import TriageCore
public import TriageSLA
import TriageSLAEvents
public import TriageSchema

extension IncidentSnapshot {
    /// Folds one lifecycle event into the snapshot and returns its analytics record, filled from
    /// the snapshot after the event; `nil` when the event id is among the last
    /// ``dedupeWindow`` applied (a redelivery), in which case nothing changes.
    ///
    /// Events of an incident whose Opened was never seen (orphans) are folded too: the record
    /// carries what those events tell (status, agent, counts, an escalator's breach) with empty
    /// attributes and no SLA measures.
    public mutating func apply(_ event: IncidentEvent, rules: SlaRules) -> AnalyticsRecord? {
        if !event.eventID.isEmpty {
            guard !recentEventIDs.contains(event.eventID) else { return nil }
            recentEventIDs.append(event.eventID)
            if recentEventIDs.count > Self.dedupeWindow { recentEventIDs.removeFirst(recentEventIDs.count - Self.dedupeWindow) }
        }
        let instant = AnalyticsInstant.normalized(event.occurredAt)
        // A reopen of an incident that is not closed (two reopens raced through two intakes)
        // leaves the lifecycle as it is, as IncidentLifecycle would have refused it; its SLA input
        // is still applied, as the escalator applies it, so the two keep agreeing on breaches.
        let changesNoStatus = if case .reopened = event.event, !status.isClosed { true } else { false }
        if !changesNoStatus { applyLifecycle(event, at: instant) }
        applySla(event, at: instant, rules: rules)
        eventCount += 1
        lastEventAt = instant
        return record(for: event, at: instant)
    }

    /// Waiting-on-customer minutes (wall-clock) up to `instant`, the segment in progress included.
    public func waitingOnCustomerMinutes(at instant: Date) -> Double {
        guard let waitingSince else { return waitingOnCustomerMinutes }
        return Minutes.rounded(waitingOnCustomerMinutes + max(0, instant.timeIntervalSince(waitingSince)) / 60)
    }

    /// The analytics record of `event` from the current snapshot.
    func record(for event: IncidentEvent, at instant: Date) -> AnalyticsRecord {
        var record = AnalyticsRecord()
        record.eventID = event.eventID
        record.incidentID = incidentID
        record.eventType = event.analyticsEventType
        record.occurredAt = event.occurredAt
        record.severity = severity
        record.coverage = coverage
        record.product = product
        record.customerAccount = customerAccount
        record.team = team
        record.assignedAgentID = assignedAgentID
        if let firstResponseBusinessMinutes { record.firstResponseBusinessMinutes = firstResponseBusinessMinutes }
        record.breached = firstResponse.breached
        if let breachedBy = firstResponse.breachedByBusinessMinutes { record.breachedByBusinessMinutes = breachedBy }
        record.reassignmentCount = UInt32(clamping: reassignmentCount)
        record.waitingOnCustomerMinutes = waitingOnCustomerMinutes(at: instant)
        record.outcome = outcome.rawValue
        switch event.event {
        case .escalated(let escalated):
            record.escalationLevel = escalated.level
            record.slaTarget = escalated.target
        case .slaWarning(let warning):
            record.slaTarget = warning.target
        default:
            break
        }
        return record
    }

    // MARK: Lifecycle

    private mutating func applyLifecycle(_ event: IncidentEvent, at instant: Date) {
        switch event.event {
        case .opened(let opened):
            if openedAt == nil { openedAt = instant }
            severity = opened.severity.known
            coverage = opened.coverage.known
            product = opened.product
            customerAccount = opened.customerAccount
            entitlementID = opened.entitlementID
            language = opened.language
            customerTimeZone = opened.customerTimeZone
            team = opened.team
            parentIncidentID = opened.parentIncidentID
            title = opened.title
        case .assigned(let assigned):
            hand(to: assigned.agentID, from: "")
        case .reassigned(let reassigned):
            if !reassigned.toAgentID.isEmpty {
                hand(to: reassigned.toAgentID, from: reassigned.fromAgentID)
            } else if event.producer == TriageProducer.router {
                // A queue return as routers published it before ReturnedToQueue existed; without
                // a target from anyone else it is only a request.
                returnToQueue()
            }
        case .returnedToQueue:
            returnToQueue()
        case .teamChanged(let moved):
            // Into the other team's queue; its desk assigns it again (an Assigned follows).
            team = moved.toTeam
            returnToQueue()
        case .acknowledged:
            if acknowledgedAt == nil { acknowledgedAt = instant }
            if status == .open || status == .assigned { status = .acknowledged }
            if statusBeforeWaiting == .open || statusBeforeWaiting == .assigned { statusBeforeWaiting = .acknowledged }
        case .severityChanged(let change):
            severity = change.to.known
        case .waitingOnCustomer:
            guard waitingSince == nil, !status.isClosed else { break }
            waitingSince = instant
            statusBeforeWaiting = status
            status = .waitingOnCustomer
        case .customerResponded:
            endWaiting(at: instant)
        case .solutionDelivered:
            endWaiting(at: instant)
            if !status.isClosed { status = .solutionDelivered }
        case .closeRequestedByCustomer:
            endWaiting(at: instant)
            if !status.isClosed { status = .closeRequested }
        case .closedResolved(let closed):
            close(.resolved, by: closed.closedBy, refunded: false, at: instant)
        case .closedUnresolved(let closed):
            close(.unresolved, by: closed.closedBy, refunded: closed.creditRefunded, at: instant)
        case .reopened:
            endWaiting(at: instant)
            reopenCount += 1
            closedAt = nil
            closedBy = ""
            creditRefunded = false
            outcome = .none
            status = assignedAgentID.isEmpty ? .open : .assigned
        case .split(let split):
            for child in split.childIncidentIds where !splitChildren.contains(child) { splitChildren.append(child) }
        case .escalated, .slaWarning, .noteAdded, .reassignRequested, nil:
            break
        }
    }

    /// Back in the team's queue: nobody holds it (the last holder stays known).
    private mutating func returnToQueue() {
        assignedAgentID = ""
        if status == .assigned { status = .open }
        if statusBeforeWaiting == .assigned { statusBeforeWaiting = .open }
    }

    /// An assignment: a holder other than the last one is a reassignment.
    private mutating func hand(to agent: String, from previousHolder: String) {
        let previous = lastAgentID.isEmpty ? previousHolder : lastAgentID
        if !previous.isEmpty, previous != agent { reassignmentCount += 1 }
        assignedAgentID = agent
        lastAgentID = agent
        if status == .open { status = .assigned }
        if statusBeforeWaiting == .open { statusBeforeWaiting = .assigned }
    }

    private mutating func endWaiting(at instant: Date) {
        guard waitingSince != nil else { return }
        waitingOnCustomerMinutes = waitingOnCustomerMinutes(at: instant)
        waitingSince = nil
        if status == .waitingOnCustomer { status = statusBeforeWaiting ?? .open }
        statusBeforeWaiting = nil
    }

    private mutating func close(_ outcome: IncidentOutcome, by agent: String, refunded: Bool, at instant: Date) {
        // Two closes that raced through two intakes both reach the log; the first in the
        // incident's partition closes it, a later one changes nothing (IncidentLifecycle).
        guard !status.isClosed else { return }
        endWaiting(at: instant)
        self.outcome = outcome
        closedAt = instant
        closedBy = agent
        creditRefunded = refunded
        status = outcome == .resolved ? .closedResolved : .closedUnresolved
    }

    // MARK: SLA

    private mutating func applySla(_ event: IncidentEvent, at instant: Date, rules: SlaRules) {
        // The escalator's own Escalated is a breach whatever our clock says (e.g. an
        // acknowledgement published after the escalation but dated before the deadline).
        if case .escalated(let escalated) = event.event, event.producer == escalatorProducerName, escalated.level >= 1 {
            switch SlaTarget(rawValue: escalated.target) {
            case .firstResponse: if !firstResponse.isFinal { firstResponse.breached = true }
            case .resolution: resolution.breached = true
            case .update, nil: break  // the update clock is not measured here
            }
        }
        var tracker = sla?.incidentSla(rules: rules)
        if let current = tracker, case .reopened = event.event, !firstResponse.isFinal {
            // Reopened before the first response: measure the clock Opened started before it restarts.
            measure(current, at: instant, rules: rules, acknowledged: false)
            firstResponse.isFinal = true
        }
        if let input = SlaInput(event) {
            if tracker != nil {
                tracker!.apply(input, at: instant, rules: rules)
            } else if case .opened(let severity, let coverage, let team) = input {
                tracker = IncidentSla(openedAt: instant, severity: severity, coverage: coverage, team: team, rules: rules)
            }
        }
        guard let tracker else { return }
        sla = SlaTrackerState(tracker, rules: rules)
        let acknowledged = if case .acknowledged = event.event { true } else { false }
        measure(tracker, at: instant, rules: rules, acknowledged: acknowledged)
    }

    private mutating func measure(_ tracker: IncidentSla, at instant: Date, rules: SlaRules, acknowledged: Bool) {
        let calendar = rules.calendars[Int(tracker.calendarIndex)]
        let targets = rules.policy.targets(for: tracker.severity, coverage: tracker.coverage)
        if !firstResponse.isFinal {
            firstResponse.measure(tracker.firstResponse, target: targets.firstResponseMinutes, at: instant, calendar: calendar)
            if tracker.firstResponse.phase == .stopped {
                firstResponse.isFinal = true
                if acknowledged { firstResponseBusinessMinutes = firstResponse.usedBusinessMinutes }
            }
        }
        resolution.measure(tracker.resolution, target: targets.resolutionMinutes, at: instant, calendar: calendar)
        resolution.isFinal = tracker.resolution.phase == .stopped
    }
}

extension SlaMeasure {
    /// Measures `clock` at `instant`: the time used (up to `instant` while it runs), whether it
    /// reached `target` (sticky) and by how much.
    mutating func measure(_ clock: SlaClockState, target: Double?, at instant: Date, calendar: BusinessCalendar) {
        targetBusinessMinutes = target
        guard clock.phase != .off else {
            usedBusinessMinutes = nil
            breachedByBusinessMinutes = nil
            return
        }
        var used = clock.used
        if clock.phase == .running { used += calendar.businessMinutes(from: Date(timeIntervalSince1970: clock.since), to: instant) }
        used = Minutes.rounded(used)
        usedBusinessMinutes = used
        if let target, used >= target { breached = true }
        breachedByBusinessMinutes = breached ? target.map { max(0, Minutes.rounded(used - $0)) } : nil
    }
}

/// Minutes are reported to a millionth (60 µs): event times are whole milliseconds, and the
/// rounding keeps floating-point noise out of the records and the breach comparison.
enum Minutes {
    static func rounded(_ minutes: Double) -> Double { (minutes * 1_000_000).rounded() / 1_000_000 }
}

extension IncidentEvent {
    /// The lifecycle case's name in the proto (`opened`, `severity_changed`, ...), as the
    /// analytics record's `event_type`; `unknown` for an event without a case this build knows.
    public var analyticsEventType: String {
        switch event {
        case .opened: "opened"
        case .acknowledged: "acknowledged"
        case .assigned: "assigned"
        case .reassigned: "reassigned"
        case .severityChanged: "severity_changed"
        case .waitingOnCustomer: "waiting_on_customer"
        case .customerResponded: "customer_responded"
        case .escalated: "escalated"
        case .slaWarning: "sla_warning"
        case .split: "split"
        case .solutionDelivered: "solution_delivered"
        case .closedResolved: "closed_resolved"
        case .closedUnresolved: "closed_unresolved"
        case .closeRequestedByCustomer: "close_requested_by_customer"
        case .reopened: "reopened"
        case .noteAdded: "note_added"
        case .returnedToQueue: "returned_to_queue"
        case .reassignRequested: "reassign_requested"
        case .teamChanged: "team_changed"
        case nil: "unknown"
        }
    }
}

extension Severity {
    /// Values this build does not know (a newer producer's) count as unspecified.
    var known: Severity {
        if case .UNRECOGNIZED = self { return .unspecified }
        return self
    }
}

extension Coverage {
    var known: Coverage {
        if case .UNRECOGNIZED = self { return .unspecified }
        return self
    }
}
