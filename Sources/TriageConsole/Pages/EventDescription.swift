import Foundation
import SwiftProtobuf
import TriageSchema

/// One lifecycle event in words for the timeline, and its routing decision when it has one.
enum EventDescription {
    /// The person the producer acted for (`IncidentEvent.actor`); empty when it acted on its own.
    static func actor(of event: IncidentEvent) -> String { event.actor }

    static func text(_ event: IncidentEvent) -> String {
        switch event.event {
        case .opened(let opened):
            return
                "severity \(letter(opened.severity)), \(opened.product), \(opened.language); customer \(opened.customerAccount), entitlement \(opened.entitlementID)"
                + (opened.team.isEmpty ? "" : ", team \(opened.team)") + (opened.title.isEmpty ? "" : " — \(opened.title)")
        case .assigned(let assigned): return "assigned to \(assigned.agentID) — \(reason(assigned.reason))"
        case .reassigned(let moved):
            return
                "moved from \(moved.fromAgentID.isEmpty ? "the queue" : moved.fromAgentID) to \(moved.toAgentID.isEmpty ? "the queue" : moved.toAgentID) — \(reason(moved.reason))"
        case .returnedToQueue(let returned): return "back to the queue from \(returned.fromAgentID) — \(reason(returned.reason))"
        case .teamChanged(let moved):
            return "moved from team \(moved.fromTeam) to team \(moved.toTeam) (\(moved.cause))"
                + (moved.detail.isEmpty ? "" : ": \(moved.detail)")
        case .reassignRequested(let request):
            let target = request.toQueue ? "back to the queue" : request.toAgentID.isEmpty ? "to another agent" : "to \(request.toAgentID)"
            return "reassignment \(target) requested" + (request.requestedBy.isEmpty ? "" : " by \(request.requestedBy)")
                + (request.note.isEmpty ? "" : ": \(request.note)")
        case .severityChanged(let change):
            return "severity \(letter(change.from)) → \(letter(change.to))" + (change.reason.isEmpty ? "" : ": \(change.reason)")
        case .waitingOnCustomer(let waiting):
            return "waiting on the customer (SLA paused)" + (waiting.reason.isEmpty ? "" : ": \(waiting.reason)")
        case .customerResponded: return "the customer responded (SLA resumed)"
        case .noteAdded(let note): return "\(note.public ? "public" : "internal") note by \(note.author): \(note.text)"
        case .slaWarning(let warning):
            return "\(warning.thresholdPercent)% of \(warning.target) used; due \(HTML.instant(warning.deadline.date))"
        case .escalated(let escalated):
            return "\(escalated.target) escalated to level \(escalated.level)"
                + (escalated.notify.isEmpty ? "" : " → \(escalated.notify.joined(separator: ", "))")
        case .solutionDelivered(let solution): return "solution delivered by \(solution.agentID): \(solution.summary)"
        case .closedResolved(let closed): return "closed resolved by \(closed.closedBy)"
        case .closedUnresolved(let closed):
            return "closed unresolved by \(closed.closedBy) (\(closed.reason)); credit \(closed.creditRefunded ? "refunded" : "kept")"
        case .closeRequestedByCustomer(let request):
            return "the customer asked to close" + (request.reason.isEmpty ? "" : ": \(request.reason)")
        case .reopened(let reopened): return "reopened" + (reopened.reason.isEmpty ? "" : ": \(reopened.reason)")
        case .split(let split): return "split into \(split.childIncidentIds.joined(separator: ", "))"
        case .acknowledged(let acknowledged): return "acknowledged by \(acknowledged.agentID)"
        case nil: return "(unknown event)"
        }
    }

    /// Whether the event is a routing decision (carries an `AssignmentReason`).
    static func isRoutingDecision(_ event: IncidentEvent) -> Bool {
        switch event.event {
        case .assigned, .reassigned, .returnedToQueue, .teamChanged: true
        default: false
        }
    }

    /// `cause requested; skills billing; load 2 → 5 of 6; 3 candidates`.
    static func reason(_ reason: Triage_V1_AssignmentReason) -> String {
        var parts = ["cause \(reason.cause.isEmpty ? "—" : reason.cause)"]
        if !reason.matchedSkills.isEmpty { parts.append("skills \(reason.matchedSkills.joined(separator: ", "))") }
        if reason.capacity > 0 { parts.append("load \(reason.loadBefore) → \(reason.loadAfter) of \(reason.capacity)") }
        if reason.candidatesConsidered > 0 {
            parts.append("\(reason.candidatesConsidered) candidate\(reason.candidatesConsidered == 1 ? "" : "s")")
        }
        return parts.joined(separator: "; ")
    }

    static func letter(_ severity: Severity) -> String {
        switch severity {
        case .a: "A"
        case .b: "B"
        case .c: "C"
        default: "?"
        }
    }
}
