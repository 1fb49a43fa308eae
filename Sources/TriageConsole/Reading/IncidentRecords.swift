import Foundation
import SwiftProtobuf
import Synchronization
public import TriageAnalytics
public import TriageDashboard
public import TriageSchema

/// What the console knows of each incident beyond the dashboard's boards, fed by the
/// dashboard's collector (a ``DashboardObserver``: one reader of the topics per process): the
/// latest snapshot (`triage.incident-state`), a bounded timeline of lifecycle events
/// (``IncidentTimeline``) and the notifications requested about it.
///
/// Bounds (``ConsoleConfiguration/Timelines``): per incident its first event and the latest
/// `eventsPerIncident − 1`, the latest `notificationsPerIncident` notifications; at most
/// `incidents` incidents: beyond, the closed incidents whose last event is oldest are forgotten
/// (open incidents are always kept).
public final class IncidentRecords: DashboardObserver, Sendable {
    private struct State {
        var snapshots: [String: IncidentSnapshot] = [:]
        var timelines: [String: IncidentTimeline] = [:]
        var notifications: [String: [NotificationEntry]] = [:]
    }

    private let limits: ConsoleConfiguration.Timelines
    private let notificationTopic: String
    private let state = Mutex(State())

    public init(limits: ConsoleConfiguration.Timelines = .init(), notificationTopic: String = TriageTopic.notificationRequests) {
        self.limits = limits
        self.notificationTopic = notificationTopic
    }

    public var extraTopics: [String] { [notificationTopic] }

    public func incidentState(id: String, snapshot: IncidentSnapshot?) {
        state.withLock { state in
            state.snapshots[id] = snapshot
            evict(&state)
        }
    }

    public func incidentEvent(_ event: IncidentEvent) {
        guard !event.incidentID.isEmpty else { return }
        let limit = limits.eventsPerIncident
        state.withLock { state in
            state.timelines[event.incidentID, default: IncidentTimeline(limit: limit)].append(event)
            evict(&state)
        }
    }

    public func extraRecord(topic: String, key: [UInt8]?, value: [UInt8]?) -> Bool {
        guard topic == notificationTopic, let value else { return true }
        guard let request = try? NotificationRequest(serializedBytes: value) else { return false }
        guard !request.incidentID.isEmpty else { return true }
        let entry = NotificationEntry(
            recipient: request.recipient, template: request.template, requestedAt: request.requestedAt.date, urgent: request.urgent,
            idempotencyKey: request.idempotencyKey)
        let limit = max(1, limits.notificationsPerIncident)
        state.withLock { state in
            var list = state.notifications[request.incidentID, default: []]
            guard !list.contains(where: { $0.idempotencyKey == entry.idempotencyKey && !entry.idempotencyKey.isEmpty }) else { return }
            list.append(entry)
            if list.count > limit { list.removeFirst(list.count - limit) }
            state.notifications[request.incidentID] = list
        }
        return true
    }

    /// The latest snapshot of the incident.
    public func snapshot(_ id: String) -> IncidentSnapshot? { state.withLock { $0.snapshots[id] } }

    /// Every incident's latest snapshot.
    public func snapshots() -> [IncidentSnapshot] { state.withLock { Array($0.snapshots.values) } }

    /// The incident's kept timeline (empty when none was seen).
    public func timeline(_ id: String) -> IncidentTimeline {
        state.withLock { $0.timelines[id] } ?? IncidentTimeline(limit: limits.eventsPerIncident)
    }

    /// Notifications requested about the incident, oldest first.
    public func notifications(_ id: String) -> [NotificationEntry] { state.withLock { $0.notifications[id] ?? [] } }

    /// Forgets closed incidents (oldest last event first) once more than the limit are known,
    /// down to the limit; in batches of a tenth so the scan is rare.
    private func evict(_ state: inout State) {
        let limit = max(1, limits.incidents)
        let known = Set(state.snapshots.keys).union(state.timelines.keys)
        guard known.count > limit + limit / 10 else { return }
        let closed = known.compactMap { id -> (String, Date)? in
            guard let snapshot = state.snapshots[id], snapshot.status.isClosed else { return nil }
            return (id, snapshot.lastEventAt ?? .distantPast)
        }.sorted { $0.1 < $1.1 }
        for (id, _) in closed.prefix(known.count - limit) {
            state.snapshots[id] = nil
            state.timelines[id] = nil
            state.notifications[id] = nil
        }
    }
}
