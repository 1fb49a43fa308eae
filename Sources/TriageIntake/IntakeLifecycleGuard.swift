import Crypto
import Foundation
import Synchronization
import TriageAnalytics
import TriageSchema

/// The lifecycle changes this intake published (or is publishing) that its incident-state view
/// has not folded yet, so that a call right after another through the same intake is checked
/// against the state the first one made (read your own writes), and two calls racing through
/// it are checked one after the other.
///
/// An entry is forgotten once the view shows its event id (or, since the snapshot remembers only
/// the last ``IncidentSnapshot/dedupeWindow`` ids, once that many events followed), when its
/// call fails before publishing, or after ``retention``.
final class RecentTransitions: Sendable {
    struct Entry: Sendable {
        var eventID: String
        var action: LifecycleAction
        var admittedAt: ContinuousClock.Instant
        /// The snapshot's event count when it was admitted.
        var eventCountThen: Int
    }

    /// How long an unconfirmed entry is kept (the analytics feed may be down). 10 minutes.
    static let retention = Duration.seconds(600)
    /// Incidents tracked at most; the oldest are dropped beyond. 50,000.
    static let capacity = 50_000

    private let entries = Mutex<[String: [Entry]]>([:])

    /// Decides `action` on `incident` against `snapshot` (nil: opened, not yet folded) and this
    /// intake's pending changes; when allowed, records it as pending until the returned
    /// admission is told it was published (or dropped unpublished).
    func admit(_ action: LifecycleAction, incident: String, eventID: String, snapshot: IncidentSnapshot?, now: ContinuousClock.Instant = .now)
        -> Result<LifecycleAdmission, LifecycleRefusal>
    {
        let folded = Set(snapshot?.recentEventIDs ?? [])
        if folded.contains(eventID) { return .success(LifecycleAdmission()) }  // a repeat of a published call
        let eventCount = snapshot?.eventCount ?? 0
        return entries.withLock { entries in
            var pending = (entries[incident] ?? []).filter { entry in
                !folded.contains(entry.eventID) && eventCount < entry.eventCountThen + IncidentSnapshot.dedupeWindow
                    && now - entry.admittedAt < Self.retention
            }
            if pending.contains(where: { $0.eventID == eventID }) { return .success(LifecycleAdmission()) }
            var state =
                snapshot.map { LifecycleState(status: $0.status, statusBeforeWaiting: $0.statusBeforeWaiting, hasAgent: !$0.assignedAgentID.isEmpty) }
                ?? .opened
            for entry in pending {
                if case .success(let next) = IncidentLifecycle.apply(entry.action, to: state) { state = next }
            }
            switch IncidentLifecycle.apply(action, to: state) {
            case .failure(let refusal):
                entries[incident] = pending.isEmpty ? nil : pending
                return .failure(refusal)
            case .success:
                pending.append(Entry(eventID: eventID, action: action, admittedAt: now, eventCountThen: eventCount))
                entries[incident] = pending
                if entries.count > Self.capacity { Self.dropOldest(&entries) }
                return .success(LifecycleAdmission { [weak self] in self?.forget(eventID, of: incident) })
            }
        }
    }

    private func forget(_ eventID: String, of incident: String) {
        entries.withLock { entries in
            entries[incident]?.removeAll { $0.eventID == eventID }
            if entries[incident]?.isEmpty == true { entries[incident] = nil }
        }
    }

    private static func dropOldest(_ entries: inout [String: [Entry]]) {
        let byAge = entries.sorted { ($0.value.last?.admittedAt ?? .now) < ($1.value.last?.admittedAt ?? .now) }
        for (incident, _) in byAge.prefix(entries.count - capacity / 2) { entries[incident] = nil }
    }
}

/// A lifecycle change admitted by ``RecentTransitions``: call ``published()`` once its event is
/// out; dropped without that (the call failed first), the pending change is forgotten.
final class LifecycleAdmission: Sendable {
    private let abandon: (@Sendable () -> Void)?
    private let done = Atomic<Bool>(false)

    init(abandon: (@Sendable () -> Void)? = nil) { self.abandon = abandon }

    func published() { done.store(true, ordering: .releasing) }

    deinit {
        if !done.load(ordering: .acquiring) { abandon?() }
    }
}

/// What makes two `OpenIncident` (or `Split`) requests the same request: a request id used again
/// must come with the same content, or it is refused instead of answered with another
/// request's incident.
enum OpenRequestIdentity {
    /// A digest of everything the request says about the incident (not its request id).
    static func fingerprint(_ request: Triage_V1_OpenIncidentRequest) -> String {
        digest([
            "open", request.customerAccount, request.entitlementID, request.product, request.language, String(request.severity.rawValue),
            request.customerTimeZone, request.title, request.description_p, request.team,
        ])
    }

    /// A digest of the split's parent and children.
    static func fingerprint(_ request: Triage_V1_SplitIncidentRequest) -> String {
        digest(
            ["split", request.incidentID]
                + request.children.flatMap { [$0.title, $0.description_p, String($0.severity.rawValue), $0.product] }
        )
    }

    /// The fields in which `request` differs from the incident an earlier request opened.
    static func differences(_ request: Triage_V1_OpenIncidentRequest, from earlier: DirectoryEntry) -> [String] {
        let opened = earlier.opened
        var fields: [String] = []
        if !opened.parentIncidentID.isEmpty { return ["kind of incident (it is a split child)"] }
        if request.customerAccount != earlier.account { fields.append("customer_account") }
        if !request.entitlementID.isEmpty, request.entitlementID != earlier.entitlementID { fields.append("entitlement_id") }
        if request.product != opened.product { fields.append("product") }
        if request.language != opened.language { fields.append("language") }
        if request.severity != opened.severity { fields.append("severity") }
        if request.customerTimeZone != opened.customerTimeZone { fields.append("customer_time_zone") }
        if request.title != opened.title { fields.append("title") }
        if request.description_p != opened.description_p { fields.append("description") }
        if request.team != opened.team { fields.append("team") }
        return fields
    }

    private static func digest(_ parts: [String]) -> String { IntakeIDs.digest(parts) }
}
