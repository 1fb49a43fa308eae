import Crypto
import Foundation
import SwiftProtobuf
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
    func admit(
        _ action: LifecycleAction, incident: String, eventID: String, snapshot: IncidentSnapshot?, now: ContinuousClock.Instant = .now
    )
        -> Result<LifecycleAdmission, LifecycleRefusal>
    {
        // A repeat of a published call.
        if snapshot?.recentEventIDs.contains(eventID) == true { return .success(LifecycleAdmission(alreadyPublished: true)) }
        return entries.withLock { entries in
            var pending = Self.unfolded(entries[incident] ?? [], by: snapshot, now: now)
            if pending.contains(where: { $0.eventID == eventID }) { return .success(LifecycleAdmission(alreadyPublished: true)) }
            switch IncidentLifecycle.apply(action, to: Self.state(snapshot, after: pending)) {
            case .failure(let refusal):
                entries[incident] = pending.isEmpty ? nil : pending
                return .failure(refusal)
            case .success:
                pending.append(Entry(eventID: eventID, action: action, admittedAt: now, eventCountThen: snapshot?.eventCount ?? 0))
                entries[incident] = pending
                if entries.count > Self.capacity { Self.dropOldest(&entries) }
                return .success(LifecycleAdmission { [weak self] in self?.forget(eventID, of: incident) })
            }
        }
    }

    /// The incident's state as this intake knows it: the view's, with its pending changes.
    func state(of incident: String, snapshot: IncidentSnapshot?, now: ContinuousClock.Instant = .now) -> LifecycleState {
        let pending = entries.withLock { Self.unfolded($0[incident] ?? [], by: snapshot, now: now) }
        return Self.state(snapshot, after: pending)
    }

    /// The entries `snapshot` has not folded yet (nor forgotten: only the last
    /// ``IncidentSnapshot/dedupeWindow`` event ids are kept) and that are not too old.
    private static func unfolded(_ entries: [Entry], by snapshot: IncidentSnapshot?, now: ContinuousClock.Instant) -> [Entry] {
        let folded = Set(snapshot?.recentEventIDs ?? [])
        let eventCount = snapshot?.eventCount ?? 0
        return entries.filter { entry in
            !folded.contains(entry.eventID) && eventCount < entry.eventCountThen + IncidentSnapshot.dedupeWindow
                && now - entry.admittedAt < retention
        }
    }

    /// The snapshot's state (opened, when there is none yet) with the pending changes applied.
    private static func state(_ snapshot: IncidentSnapshot?, after pending: [Entry]) -> LifecycleState {
        var state =
            snapshot.map {
                LifecycleState(status: $0.status, statusBeforeWaiting: $0.statusBeforeWaiting, hasAgent: !$0.assignedAgentID.isEmpty)
            }
            ?? .opened
        for entry in pending {
            if case .success(let next) = IncidentLifecycle.apply(entry.action, to: state) { state = next }
        }
        return state
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
    /// The call is a repeat of one already published (its event id is known).
    let alreadyPublished: Bool

    init(alreadyPublished: Bool = false, abandon: (@Sendable () -> Void)? = nil) {
        self.alreadyPublished = alreadyPublished
        self.abandon = abandon
    }

    func published() { done.store(true, ordering: .releasing) }

    deinit {
        if !done.load(ordering: .acquiring) { abandon?() }
    }
}

/// What makes two `OpenIncident` (or `Split`) requests the same request: a request id used again
/// must come with the same content, or it is refused instead of answered with another
/// request's incident.
enum OpenRequestIdentity {
    /// A digest of what the request says the incident is (not its request id, not the
    /// entitlement it names): what the ledger compares when an incident is opened again.
    static func content(_ request: Triage_V1_OpenIncidentRequest) -> String {
        digest([
            "open", request.customerAccount, request.product, request.language, String(request.severity.rawValue), request.customerTimeZone,
            request.title, request.description_p, request.team,
        ])
    }

    /// ``content(_:)`` and the entitlement named: what the incident id is derived from.
    static func fingerprint(_ request: Triage_V1_OpenIncidentRequest) -> String {
        digest([content(request), request.entitlementID])
    }

    /// A digest of a call on an existing incident, without its request id: part of the event id,
    /// so a changed request under a used request id is another event, never the same event id
    /// with other content.
    static func fingerprint<Request: IntakeIncidentRequest & SwiftProtobuf.Message>(of request: Request) -> String {
        var copy = request
        copy.requestID = ""
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        let bytes: [UInt8] = (try? copy.serializedBytes(options: options)) ?? []
        return digest([Request.protoMessageName, IntakeIDs.hex(SHA256.hash(data: bytes))])
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

/// Runs the bodies given for one key one after another (across tasks), bodies for different
/// keys concurrently. Waiting suspends; it never blocks a thread.
final class KeyedSerializer: Sendable {
    /// A key present is held; its list holds the waiters, first come first served.
    private let held = Mutex<[String: [CheckedContinuation<Void, Never>]]>([:])

    func withLock<T: Sendable>(_ key: String, _ body: () async throws -> T) async throws -> T {
        await acquire(key)
        defer { release(key) }
        return try await body()
    }

    private func acquire(_ key: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let owned: Bool = held.withLock { held in
                guard held[key] != nil else {
                    held[key] = []
                    return true
                }
                held[key]!.append(continuation)
                return false
            }
            if owned { continuation.resume() }
        }
    }

    private func release(_ key: String) {
        let next: CheckedContinuation<Void, Never>? = held.withLock { held in
            guard var waiters = held[key], !waiters.isEmpty else {
                held[key] = nil
                return nil
            }
            let next = waiters.removeFirst()
            held[key] = waiters
            return next
        }
        next?.resume()
    }
}

/// The answers this intake gave to the calls it published, by event id, so that a retry of a
/// call (same request, same event id) within ``retention`` gets the very same answer — the same
/// partition and offset — instead of a republished copy's.
final class RecentAnswers: Sendable {
    /// How long an answer is kept. 10 minutes.
    static let retention = Duration.seconds(600)
    /// Answers kept at most; the oldest half is dropped beyond. 100,000.
    static let capacity = 100_000

    private let answers = Mutex<[String: (answer: any SwiftProtobuf.Message, at: ContinuousClock.Instant)]>([:])

    func remember(_ answer: any SwiftProtobuf.Message, for eventID: String, now: ContinuousClock.Instant = .now) {
        answers.withLock { answers in
            answers[eventID] = (answer, now)
            if answers.count > Self.capacity {
                let oldest = answers.sorted { $0.value.at < $1.value.at }.prefix(answers.count - Self.capacity / 2)
                for (key, _) in oldest { answers[key] = nil }
            }
        }
    }

    func answer<Answer: SwiftProtobuf.Message>(for eventID: String, as type: Answer.Type, now: ContinuousClock.Instant = .now) -> Answer? {
        answers.withLock { answers in
            guard let kept = answers[eventID] else { return nil }
            guard now - kept.at < Self.retention else {
                answers[eventID] = nil
                return nil
            }
            return kept.answer as? Answer
        }
    }
}
