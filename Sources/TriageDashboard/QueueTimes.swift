public import Foundation
import TriageRouting
public import TriageSchema

/// When each incident last went into its team's queue, from the lifecycle events: an Opened or
/// Reopened queues it until an Assigned; the router handing it back (a Reassigned without a
/// target, from the router) queues it again. Pure; only incidents not known to be held are
/// kept (an assignment or a close forgets the incident).
///
/// The desks say *which* incidents are queued (``DeskBoard``); this says since when.
public struct QueueTimes: Sendable {
    private var since: [String: Date] = [:]

    public init() {}

    /// Incidents remembered (queued as far as the events tell).
    public var count: Int { since.count }

    /// When `incident` last went into the queue (the event's time: SLA time).
    public subscript(incident: String) -> Date? { since[incident] }

    public mutating func apply(_ event: IncidentEvent) {
        let incident = event.incidentID
        guard !incident.isEmpty else { return }
        let at = event.occurredAt.date
        switch event.event {
        case .opened:
            if since[incident] == nil { since[incident] = at }
        case .reopened:
            since[incident] = at
        case .assigned:
            since[incident] = nil
        case .reassigned(let reassigned):
            if !reassigned.toAgentID.isEmpty {
                since[incident] = nil
            } else if event.producer == TriageProducer.router {
                // A queue return as routers published it before ReturnedToQueue existed. A
                // Reassigned without a target from anyone else is a request, not a move.
                since[incident] = at
            }
        case .returnedToQueue, .teamChanged:
            since[incident] = at
        case .closedResolved, .closedUnresolved:
            since[incident] = nil
        default:
            break
        }
    }
}
