import Foundation
import SwiftProtobuf
import TriageAnalytics
import TriageCore
import TriageSLA
import TriageSLAEvents
import TriageSchema

/// The test policy: New York business hours (Mon–Fri 09:00–17:00) by default, London for team
/// `emea`, the default first-response targets, and resolution targets for A and B.
let policy: SlaPolicy = {
    let newYorkDay = try! BusinessCalendar.DailyInterval("09:00", "17:00")
    let londonDay = try! BusinessCalendar.DailyInterval("09:00", "17:30")
    let weekdays = { (day: BusinessCalendar.DailyInterval) in [2: [day], 3: [day], 4: [day], 5: [day], 6: [day]] }
    let newYork = try! BusinessCalendar(timeZone: TimeZone(identifier: "America/New_York")!, weekly: weekdays(newYorkDay))
    let london = try! BusinessCalendar(
        timeZone: TimeZone(identifier: "Europe/London")!, weekly: weekdays(londonDay),
        holidays: [.init(date: .init(year: 2026, month: 4, day: 3), name: "Good Friday")]
    )
    var targets = SlaPolicy.defaultTargets
    targets[.businessHours]![.a] = SlaTargets(firstResponseMinutes: 120, resolutionMinutes: 960)
    targets[.businessHours]![.b] = SlaTargets(firstResponseMinutes: 240, resolutionMinutes: 1_920)
    targets[.twentyFourSeven]![.a] = SlaTargets(firstResponseMinutes: 120, resolutionMinutes: 480)
    return SlaPolicy(targets: targets, defaultCalendar: newYork, calendars: ["london": london], teamCalendars: ["emea": "london"])
}()

let rules = SlaRules(policy)

/// An instant from RFC 3339 text with an offset, e.g. `2026-03-06T16:00:00-05:00`.
func at(_ text: String) -> Date {
    let formatter = ISO8601DateFormatter()
    if text.contains(".") { formatter.formatOptions.insert(.withFractionalSeconds) }
    guard let date = formatter.date(from: text) else { fatalError("bad instant \(text)") }
    return date
}

/// One lifecycle fact to script an incident with.
enum Fact {
    case opened(Severity, Coverage, team: String = "billing")
    case assigned(String)
    case reassigned(from: String, to: String)
    /// The router puts the incident back in the queue, as routers published it before
    /// ReturnedToQueue (a Reassigned without a target).
    case unassigned(from: String)
    /// The router puts the incident back in the queue.
    case returnedToQueue(from: String)
    /// Someone (not the router) asks for another agent.
    case reassignRequested
    case acknowledged(String)
    case severityChanged(Severity, Severity)
    case waitingOnCustomer
    case customerResponded
    case solutionDelivered
    case closedResolved
    case closedUnresolved(refunded: Bool)
    case closeRequested
    case reopened
    case note
    case split([String])
    /// An Escalated from someone other than the escalator (a manual escalation).
    case manualEscalation
}

/// The lifecycle event for `fact`.
func event(_ fact: Fact, id: String, incident: String = "INC-1", at instant: Date) -> IncidentEvent {
    var event = IncidentEvent()
    event.eventID = id
    event.incidentID = incident
    event.occurredAt = Google_Protobuf_Timestamp(date: instant)
    event.producer = "intake"
    switch fact {
    case .opened(let severity, let coverage, let team):
        event.opened = .with {
            $0.severity = severity
            $0.coverage = coverage
            $0.team = team
            $0.product = "ledger"
            $0.customerAccount = "acme"
            $0.entitlementID = "ENT-9"
            $0.language = "en"
            $0.customerTimeZone = "America/New_York"
            $0.title = "invoices fail"
        }
    case .assigned(let agent):
        event.producer = "router"
        event.assigned = .with { $0.agentID = agent }
    case .reassigned(let from, let to):
        event.producer = "router"
        event.reassigned = .with {
            $0.fromAgentID = from
            $0.toAgentID = to
        }
    case .unassigned(let from):
        event.producer = "router"
        event.reassigned = .with { $0.fromAgentID = from }
    case .returnedToQueue(let from):
        event.producer = "router"
        event.returnedToQueue = .with { $0.fromAgentID = from }
    case .reassignRequested:
        event.producer = "portal"
        event.reassignRequested = .with { $0.requestedBy = "supervisor" }
    case .acknowledged(let agent): event.acknowledged = .with { $0.agentID = agent }
    case .severityChanged(let from, let to):
        event.severityChanged = .with {
            $0.from = from
            $0.to = to
        }
    case .waitingOnCustomer: event.waitingOnCustomer = .with { $0.reason = "logs requested" }
    case .customerResponded: event.customerResponded = .init()
    case .solutionDelivered: event.solutionDelivered = .with { $0.agentID = "agent-7" }
    case .closedResolved: event.closedResolved = .with { $0.closedBy = "agent-7" }
    case .closedUnresolved(let refunded):
        event.closedUnresolved = .with {
            $0.closedBy = "agent-7"
            $0.reason = "customer stopped responding"
            $0.creditRefunded = refunded
        }
    case .closeRequested: event.closeRequestedByCustomer = .with { $0.reason = "fixed itself" }
    case .reopened: event.reopened = .with { $0.reason = "it is back" }
    case .note: event.noteAdded = .with { $0.text = "looking" }
    case .split(let children): event.split = .with { $0.childIncidentIds = children }
    case .manualEscalation:
        event.producer = "portal"
        event.escalated = .with {
            $0.level = 1
            $0.target = SlaTarget.firstResponse.rawValue
        }
    }
    return event
}

/// An incident's events in order, with ids `<incident>-1`, `<incident>-2`, ...
struct Script {
    let incident: String
    private(set) var events: [IncidentEvent] = []

    init(_ incident: String = "INC-1") { self.incident = incident }

    mutating func add(_ fact: Fact, at instant: Date) -> IncidentEvent {
        let made = event(fact, id: "\(incident)-\(events.count + 1)", incident: incident, at: instant)
        events.append(made)
        return made
    }

    mutating func add(_ event: IncidentEvent) { events.append(event) }
}

/// The lifecycle with what the escalator publishes for it merged in, in topic order: an
/// ``IncidentSla`` driven by the events' SLA inputs, its timer firing each action when due
/// (before the next event, and again right after an event that makes something due at once),
/// then up to `end`.
func withEscalator(_ lifecycle: [IncidentEvent], until end: Date? = nil) -> [IncidentEvent] {
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
    if let end, let last = lifecycle.last { drain(until: end, incident: last.incidentID) }
    return merged
}

/// Only the escalator's events of ``withEscalator(_:until:)``.
func escalatorEvents(for lifecycle: [IncidentEvent], until end: Date) -> [IncidentEvent] {
    withEscalator(lifecycle, until: end).filter { $0.producer == escalatorProducerName }
}

/// A record as the tests spell it out: the varying columns of one lifecycle step.
struct ExpectedRecord {
    var eventType: String
    var agent = ""
    var firstResponse: Double?
    var breached = false
    var breachedBy: Double?
    var reassignments: UInt32 = 0
    var waiting: Double = 0
    var outcome = ""
    var severity: Severity = .b
    var coverage: Coverage = .businessHours
    /// On escalated records: the event's level; on escalated and sla_warning records: its target.
    var escalationLevel: UInt32 = 0
    var slaTarget = ""

    /// The whole record for `event` of an incident opened with ``Fact/opened(_:_:team:)``'s attributes.
    func record(for event: IncidentEvent, team: String = "billing") -> AnalyticsRecord {
        var record = AnalyticsRecord()
        record.eventID = event.eventID
        record.incidentID = event.incidentID
        record.eventType = eventType
        record.occurredAt = event.occurredAt
        record.severity = severity
        record.coverage = coverage
        record.product = "ledger"
        record.customerAccount = "acme"
        record.team = team
        record.assignedAgentID = agent
        if let firstResponse { record.firstResponseBusinessMinutes = firstResponse }
        record.breached = breached
        if let breachedBy { record.breachedByBusinessMinutes = breachedBy }
        record.reassignmentCount = reassignments
        record.waitingOnCustomerMinutes = waiting
        record.outcome = outcome
        record.escalationLevel = escalationLevel
        record.slaTarget = slaTarget
        return record
    }
}

/// Folds `events` into a fresh snapshot; the records in order (`nil` for duplicates).
func fold(_ events: [IncidentEvent], into snapshot: inout IncidentSnapshot) -> [AnalyticsRecord?] {
    events.map { snapshot.apply($0, rules: rules) }
}

/// A small deterministic generator (SplitMix64) for the property tests.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension AnalyticsRecord {
    /// `breached_by_business_minutes`, `nil` when absent (the generated getter answers 0).
    var breachedBy: Double? { hasBreachedByBusinessMinutes ? breachedByBusinessMinutes : nil }
    /// `first_response_business_minutes`, `nil` when absent.
    var firstResponse: Double? { hasFirstResponseBusinessMinutes ? firstResponseBusinessMinutes : nil }
}
