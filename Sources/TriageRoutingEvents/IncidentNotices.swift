public import Foundation
import SwiftProtobuf
import TriageCore
public import TriageRouting
public import TriageSchema

/// What the router knows of an incident when a lifecycle event about it comes by (the
/// dispatcher's index entry): the common payload keys of its notices and the customer's
/// language and time zone.
public struct IncidentFacts: Sendable, Hashable {
    public var team: String
    public var severity: Severity
    public var product: String
    public var customer: String
    public var language: String
    public var customerTimeZone: String
    /// The agent holding it, as far as the router saw (empty: nobody or not known).
    public var agent: String

    public init(
        team: String, severity: Severity, product: String, customer: String, language: String = "", customerTimeZone: String = "",
        agent: String = ""
    ) {
        self.team = team
        self.severity = severity
        self.product = product
        self.customer = customer
        self.language = language
        self.customerTimeZone = customerTimeZone
        self.agent = agent
    }
}

/// The notices the router asks the notifier for (docs/roster.md, "Notices"): `assigned` to
/// `agent:<id>`, `customer-update` to `customer:<account>`, `queue-waiting` to a team's queue
/// alert recipients. Idempotency keys are `<event_id>/<recipient>` for notices caused by one
/// lifecycle event, so reading the event again asks for the same notice again.
public enum IncidentNotices {
    public static let assignedTemplate = "assigned"
    public static let customerUpdateTemplate = "customer-update"
    public static let queueWaitingTemplate = "queue-waiting"

    /// The requests lifecycle `event` causes (whoever published it). `facts`: what the index knows
    /// of the incident (`nil`: not known — no customer notice, an agent notice with what the event says).
    public static func requests(for event: IncidentEvent, facts: IncidentFacts?, settings: NoticeSettings) -> [NotificationRequest] {
        switch event.event {
        case .assigned(let assigned):
            guard settings.agents, !assigned.agentID.isEmpty else { return [] }
            return [agentNotice(event, agent: assigned.agentID, cause: assigned.reason.cause, from: nil, facts: facts)]
        case .reassigned(let moved):
            // A Reassigned without a target is an old-style queue return: nobody to tell.
            guard settings.agents, !moved.toAgentID.isEmpty else { return [] }
            return [agentNotice(event, agent: moved.toAgentID, cause: moved.reason.cause, from: moved.fromAgentID, facts: facts)]
        case .acknowledged(let acknowledged):
            return customerNotice(event, kind: "acknowledged", agent: acknowledged.agentID, summary: nil, facts: facts, settings: settings)
        case .solutionDelivered(let solution):
            return customerNotice(
                event, kind: "solution_delivered", agent: solution.agentID, summary: solution.summary, facts: facts, settings: settings)
        case .closedResolved:
            return customerNotice(event, kind: "closed_resolved", agent: "", summary: nil, facts: facts, settings: settings)
        case .closedUnresolved:
            return customerNotice(event, kind: "closed_unresolved", agent: "", summary: nil, facts: facts, settings: settings)
        case .closeRequestedByCustomer:
            return customerNotice(event, kind: "closed_by_customer", agent: "", summary: nil, facts: facts, settings: settings)
        default:
            return []
        }
    }

    /// One `queue-waiting` request per recipient of the team's alert.
    public static func requests(for alert: QueueWaiting, at instant: Date) -> [NotificationRequest] {
        alert.notify.map { recipient in
            var request = NotificationRequest()
            request.idempotencyKey = alert.idempotencyKey(recipient: recipient)
            request.incidentID = alert.incident
            request.requestedAt = Google_Protobuf_Timestamp(date: instant)
            request.recipient = recipient
            request.template = queueWaitingTemplate
            var payload = [
                "incident_id": alert.incident, "team": alert.team, "severity": alert.severity.rawValue, "product": alert.product,
                "waited_minutes": String(alert.waitedMinutes), "threshold_minutes": String(alert.thresholdMinutes),
                "depth": String(alert.depth),
            ]
            if let customer = alert.customer, !customer.isEmpty { payload["customer"] = customer }
            request.payload = payload
            request.urgent = alert.severity == .a
            return request
        }
    }

    private static func agentNotice(_ event: IncidentEvent, agent: String, cause: String, from: String?, facts: IncidentFacts?)
        -> NotificationRequest
    {
        var payload = common(event, facts: facts)
        payload["agent"] = agent
        payload["cause"] = cause
        if let from, !from.isEmpty { payload["from_agent"] = from }
        return request(event, recipient: "agent:\(agent)", template: assignedTemplate, payload: payload, urgent: facts?.severity == .a)
    }

    private static func customerNotice(
        _ event: IncidentEvent, kind: String, agent: String, summary: String?, facts: IncidentFacts?, settings: NoticeSettings
    ) -> [NotificationRequest] {
        guard settings.customers, let facts, !facts.customer.isEmpty else { return [] }
        var payload = common(event, facts: facts)
        payload["event"] = kind
        payload["language"] = facts.language
        payload["customer_time_zone"] = facts.customerTimeZone
        payload["occurred_at"] = event.occurredAt.date.formatted(.iso8601)
        let who = agent.isEmpty ? facts.agent : agent
        if !who.isEmpty { payload["agent"] = who }
        if let summary, !summary.isEmpty { payload["summary"] = summary }
        return [request(event, recipient: "customer:\(facts.customer)", template: customerUpdateTemplate, payload: payload, urgent: false)]
    }

    /// `incident_id`, and `severity`, `product`, `customer`, `team` when known.
    private static func common(_ event: IncidentEvent, facts: IncidentFacts?) -> [String: String] {
        var payload = ["incident_id": event.incidentID]
        guard let facts else { return payload }
        if let severity = SupportSeverity(facts.severity) { payload["severity"] = severity.rawValue }
        if !facts.product.isEmpty { payload["product"] = facts.product }
        if !facts.customer.isEmpty { payload["customer"] = facts.customer }
        if !facts.team.isEmpty { payload["team"] = facts.team }
        return payload
    }

    private static func request(_ event: IncidentEvent, recipient: String, template: String, payload: [String: String], urgent: Bool)
        -> NotificationRequest
    {
        var request = NotificationRequest()
        request.idempotencyKey = "\(event.eventID)/\(recipient)"
        request.incidentID = event.incidentID
        request.requestedAt = event.occurredAt
        request.recipient = recipient
        request.template = template
        request.payload = payload
        request.urgent = urgent
        return request
    }
}
