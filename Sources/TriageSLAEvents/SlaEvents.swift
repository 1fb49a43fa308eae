public import Foundation
import SwiftProtobuf
import TriageCore
public import TriageSLA
public import TriageSchema

/// The name the escalator publishes under (`IncidentEvent.producer`).
public let escalatorProducerName = "escalator"

extension SlaInput {
    /// What a lifecycle event means for the SLA clocks; `nil` for events that do not touch them
    /// (internal notes, assignments, splits, other producers' warnings).
    public init?(_ event: IncidentEvent) {
        switch event.event {
        case .opened(let opened):
            guard let severity = SupportSeverity(opened.severity) else { return nil }
            self = .opened(severity: severity, coverage: SlaCoverage(opened.coverage), team: opened.team.isEmpty ? nil : opened.team)
        case .acknowledged: self = .acknowledged
        case .waitingOnCustomer(let waiting):
            self = .paused(
                reason: waiting.pauseReason.isEmpty ? SlaPolicy.waitingOnCustomer : waiting.pauseReason,
                resumeAt: waiting.hasResumeAt ? waiting.resumeAt.date : nil)
        case .noteAdded(let note):
            guard note.public else { return nil }
            self = .publicNote
        case .customerResponded: self = .customerResponded
        case .severityChanged(let change):
            guard let severity = SupportSeverity(change.to) else { return nil }
            self = .severityChanged(severity)
        case .solutionDelivered: self = .solutionDelivered
        case .closedResolved, .closedUnresolved: self = .closed
        case .closeRequestedByCustomer: self = .closed
        case .reopened: self = .reopened
        case .slaWarning(let warning):
            guard event.producer == escalatorProducerName, let target = SlaTarget(rawValue: warning.target) else { return nil }
            self = .warningEmitted(target: target, percent: Int(warning.thresholdPercent), deadline: warning.deadline.date)
        case .escalated(let escalated):
            guard event.producer == escalatorProducerName, let target = SlaTarget(rawValue: escalated.target) else { return nil }
            self = .escalationEmitted(target: target, level: Int(escalated.level), deadline: escalated.breachedDeadline.date)
        case .assigned, .reassigned, .returnedToQueue, .reassignRequested, .teamChanged, .split, nil:
            return nil
        }
    }
}

extension SlaAction {
    /// The lifecycle event this action publishes (SlaWarning or Escalated), with its
    /// deterministic id and the due instant as its event time.
    public func incidentEvent(incident: String) -> IncidentEvent {
        var event = IncidentEvent()
        event.eventID = eventID(incident: incident)
        event.incidentID = incident
        event.producer = escalatorProducerName
        event.occurredAt = Google_Protobuf_Timestamp(date: due)
        switch kind {
        case .warning(let percent, _):
            var warning = Triage_V1_SlaWarning()
            warning.thresholdPercent = UInt32(percent)
            warning.deadline = Google_Protobuf_Timestamp(date: deadline)
            warning.target = target.rawValue
            event.slaWarning = warning
        case .escalation(let level):
            var escalated = Triage_V1_Escalated()
            escalated.level = UInt32(level.level)
            escalated.reason = reason(level)
            escalated.breachedDeadline = Google_Protobuf_Timestamp(date: deadline)
            escalated.target = target.rawValue
            escalated.notify = level.notify
            escalated.reassignRequested = level.reassign
            event.escalated = escalated
        }
        return event
    }

    /// One request per recipient, keyed by recipient; idempotency key = event id + recipient.
    /// `parties` adds `product`, `customer` and `team` to the payload (each when known).
    public func notificationRequests(incident: String, requestedAt: Date, parties: SlaParties? = nil) -> [NotificationRequest] {
        let recipients: [String]
        let template: String
        var payload: [String: String] = [
            "incident_id": incident,
            "severity": severity.rawValue,
            "target": target.rawValue,
            "deadline": Self.timestamp(deadline),
        ]
        if let parties {
            if !parties.product.isEmpty { payload["product"] = parties.product }
            if !parties.customer.isEmpty { payload["customer"] = parties.customer }
            if !parties.team.isEmpty { payload["team"] = parties.team }
        }
        switch kind {
        case .warning(let percent, let notify):
            recipients = notify
            template = "sla-warning"
            payload["percent"] = String(percent)
        case .escalation(let level):
            recipients = level.notify
            template = "escalated"
            payload["level"] = String(level.level)
            payload["reason"] = reason(level)
            payload["reassign"] = String(level.reassign)
        }
        let id = eventID(incident: incident)
        return recipients.map { recipient in
            var request = NotificationRequest()
            request.idempotencyKey = "\(id)/\(recipient)"
            request.incidentID = incident
            request.requestedAt = Google_Protobuf_Timestamp(date: requestedAt)
            request.recipient = recipient
            request.template = template
            request.payload = payload
            request.urgent = severity == .a
            return request
        }
    }

    private func reason(_ level: EscalationLevel) -> String {
        let what = target.words
        return level.afterMinutes == 0
            ? "\(what) target breached (severity \(severity.rawValue))"
            : "\(what) target breached \(Int(level.afterMinutes)) minutes ago (severity \(severity.rawValue))"
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
