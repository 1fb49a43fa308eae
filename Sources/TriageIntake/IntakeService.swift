import Crypto
import Metrics
public import Foundation
public import GRPCCore
import GRPCProtobuf
public import Logging
import SwiftProtobuf
import Synchronization
public import TriageAnalytics
public import TriageEntitlements
import TriageKafka
public import TriageSchema
public import TriageStreams

/// Figures of an intake since it started.
public struct IntakeStatistics: Sendable, Hashable {
    public var calls = 0
    public var denied = 0
    public var invalid = 0
    public var rejectedByLedger = 0
    public var published = 0
}

/// What the intake service needs to answer calls.
public struct IntakeDependencies: Sendable {
    public var tenants: TenantDirectory
    public var publisher: IncidentEventPublisher
    public var ledger: LedgerClient
    public var entitlements: KeyedTopicView<Entitlement>
    public var directory: KeyedTopicView<DirectoryEntry>
    public var incidentState: KeyedTopicView<IncidentSnapshot>
    /// The instant a call is received (injectable for tests).
    public var now: @Sendable () -> Date

    public init(
        tenants: TenantDirectory, publisher: IncidentEventPublisher, ledger: LedgerClient, entitlements: KeyedTopicView<Entitlement>,
        directory: KeyedTopicView<DirectoryEntry>, incidentState: KeyedTopicView<IncidentSnapshot>, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.tenants = tenants
        self.publisher = publisher
        self.ledger = ledger
        self.entitlements = entitlements
        self.directory = directory
        self.incidentState = incidentState
        self.now = now
    }
}

/// The gRPC front door (`triage.v1.IncidentIntake`): authenticates the caller's bearer token to
/// a tenant, checks that the tenant may act on the incident's customer account, validates the
/// request (INVALID_ARGUMENT names the field), and publishes the lifecycle event — directly for
/// calls that do not touch entitlements, through the entitlement ledger for the ones that do
/// (open, split, unresolved close, reopen, billing override).
///
/// Ids are derived from the tenant and the client's `request_id`: a retried call publishes the
/// same event id (and the ledger finds the same incident already charged), so a retry never
/// opens or charges twice.
public final class IntakeService: Triage_V1_IncidentIntake.ServiceProtocol, Sendable {
    public static let producerName = "intake"
    private let dependencies: IntakeDependencies
    private let logger: Logger
    private let stats = Mutex(IntakeStatistics())
    private let metrics = WorkerMetrics(worker: "intake")
    /// `triage_intake_calls_total{code}`, made once per code (not on every call).
    private let callCounters = Mutex<[String: Counter]>([:])

    public init(dependencies: IntakeDependencies, logger: Logger) {
        self.dependencies = dependencies
        self.logger = logger
    }

    public var statistics: IntakeStatistics { stats.withLock { $0 } }

    // MARK: - Calls

    public func openIncident(
        request: ServerRequest<Triage_V1_OpenIncidentRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_IntakeReceipt> {
        try await handle(request) { tenant, message in
            try IntakeValidation.open(message)
            guard tenant.mayActOn(account: message.customerAccount) else {
                throw IntakeFailure.permissionDenied("tenant \(tenant.name) may not act for account \(message.customerAccount)")
            }
            let at = dependencies.now()
            let requestID = Self.requestID(message.requestID)
            let incidentID = IntakeIDs.incident(tenant: tenant.name, requestID: requestID)
            var event = Self.event(incidentID: incidentID, eventID: IntakeIDs.event(tenant: tenant.name, requestID: requestID, kind: "open"), at: at)
            var opened = Opened()
            opened.customerAccount = message.customerAccount
            opened.product = message.product
            opened.language = message.language
            opened.severity = message.severity
            opened.customerTimeZone = message.customerTimeZone
            opened.title = message.title
            opened.description_p = message.description_p
            opened.team = message.team
            event.opened = opened
            let (entitlementID, answer) = try await charge(
                account: message.customerAccount, named: message.entitlementID, incidentID: incidentID, at: at, tenant: tenant.name
            ) { entitlementID in
                (.open(incidentID: incidentID, account: message.customerAccount, at: at, parentIncidentID: nil), [event])
            }
            var receipt = try Self.receipt(answer, index: 0)
            receipt.entitlementID = entitlementID
            if case .opened(_, _, let remaining) = try answer.outcome.get() { receipt.creditsRemaining = Int32(remaining ?? -1) }
            return receipt
        }
    }

    public func acknowledge(
        request: ServerRequest<Triage_V1_AcknowledgeRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_IntakeReceipt> {
        try await direct(request, incident: request.message.incidentID, kind: "acknowledge") { message, check in
            check.required(message.agentID, "agent_id")
            var acknowledged = Triage_V1_Acknowledged()
            acknowledged.agentID = message.agentID
            return .acknowledged(acknowledged)
        }
    }

    public func addNote(
        request: ServerRequest<Triage_V1_AddNoteRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_IntakeReceipt> {
        try await direct(request, incident: request.message.incidentID, kind: "note") { message, check in
            check.required(message.author, "author")
            check.required(message.text, "text")
            var note = Triage_V1_NoteAdded()
            note.author = message.author
            note.text = message.text
            note.public = message.public
            return .noteAdded(note)
        }
    }

    public func changeSeverity(
        request: ServerRequest<Triage_V1_ChangeSeverityRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_IntakeReceipt> {
        try await direct(request, incident: request.message.incidentID, kind: "severity") { [dependencies] message, check in
            check.severity(message.severity, "severity")
            var changed = Triage_V1_SeverityChanged()
            changed.from =
                dependencies.incidentState[message.incidentID]?.severity ?? dependencies.directory[message.incidentID]?.severity ?? .unspecified
            changed.to = message.severity
            changed.reason = message.reason
            return .severityChanged(changed)
        }
    }

    public func waitOnCustomer(
        request: ServerRequest<Triage_V1_WaitOnCustomerRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_IntakeReceipt> {
        try await direct(request, incident: request.message.incidentID, kind: "wait") { message, check in
            var waiting = Triage_V1_WaitingOnCustomer()
            waiting.reason = message.reason
            return .waitingOnCustomer(waiting)
        }
    }

    public func customerResponded(
        request: ServerRequest<Triage_V1_CustomerRespondedRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_IntakeReceipt> {
        try await direct(request, incident: request.message.incidentID, kind: "responded") { _, _ in .customerResponded(.init()) }
    }

    public func split(
        request: ServerRequest<Triage_V1_SplitIncidentRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_SplitReceipt> {
        try await handle(request) { tenant, message in
            var check = FieldCheck()
            check.required(message.incidentID, "incident_id")
            check.require(!message.children.isEmpty, "children", "at least one subordinate problem is required")
            for (index, child) in message.children.enumerated() {
                check.required(child.title, "children[\(index)].title")
                if child.severity != .unspecified { check.severity(child.severity, "children[\(index)].severity") }
            }
            try check.finish()
            let parent = try await authorize(tenant, incident: message.incidentID)
            let at = dependencies.now()
            let requestID = Self.requestID(message.requestID)
            let childIDs = message.children.indices.map { IntakeIDs.incident(tenant: tenant.name, requestID: "\(requestID)/child-\($0)") }
            var events: [IncidentEvent] = []
            for (index, child) in message.children.enumerated() {
                var event = Self.event(
                    incidentID: childIDs[index], eventID: IntakeIDs.event(tenant: tenant.name, requestID: requestID, kind: "split-child-\(index)"), at: at
                )
                var opened = parent.opened
                opened.parentIncidentID = message.incidentID
                opened.severity = dependencies.incidentState[message.incidentID]?.severity ?? parent.severity
                opened.title = child.title
                opened.description_p = child.description_p
                if child.severity != .unspecified { opened.severity = child.severity }
                if !child.product.isEmpty { opened.product = child.product }
                event.opened = opened
                events.append(event)
            }
            var splitEvent = Self.event(incidentID: message.incidentID, eventID: IntakeIDs.event(tenant: tenant.name, requestID: requestID, kind: "split"), at: at)
            var split = Triage_V1_Split()
            split.childIncidentIds = childIDs
            splitEvent.split = split
            events.append(splitEvent)
            let answer = try await submit(
                .split(parentIncidentID: message.incidentID, childIncidentIDs: childIDs, account: parent.account, at: at),
                entitlementID: parent.entitlementID, requestID: "\(tenant.name)/\(requestID)/split", events: events, tenant: tenant.name
            )
            var receipt = Triage_V1_SplitReceipt()
            receipt.parent = try Self.receipt(answer, index: childIDs.count)
            receipt.children = try childIDs.indices.map { index in
                var child = try Self.receipt(answer, index: index)
                child.entitlementID = parent.entitlementID
                if case .opened(_, _, let remaining) = try answer.outcome.get() { child.creditsRemaining = Int32(remaining ?? -1) }
                return child
            }
            return receipt
        }
    }

    public func deliverSolution(
        request: ServerRequest<Triage_V1_DeliverSolutionRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_IntakeReceipt> {
        try await direct(request, incident: request.message.incidentID, kind: "solution") { message, check in
            check.required(message.agentID, "agent_id")
            var solution = Triage_V1_SolutionDelivered()
            solution.agentID = message.agentID
            solution.summary = message.summary
            return .solutionDelivered(solution)
        }
    }

    public func closeResolved(
        request: ServerRequest<Triage_V1_CloseResolvedRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_IntakeReceipt> {
        try await direct(request, incident: request.message.incidentID, kind: "close-resolved") { message, check in
            check.required(message.closedBy, "closed_by")
            var closed = Triage_V1_ClosedResolved()
            closed.closedBy = message.closedBy
            return .closedResolved(closed)
        }
    }

    public func closeUnresolved(
        request: ServerRequest<Triage_V1_CloseUnresolvedRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_CloseUnresolvedReceipt> {
        try await handle(request) { tenant, message in
            var check = FieldCheck()
            check.required(message.incidentID, "incident_id")
            check.required(message.closedBy, "closed_by")
            let role: CloserRole
            switch message.closerRole {
            case "", "agent": role = .agent
            case "customer": role = .customer
            case "system": role = .system
            default:
                role = .agent
                check.require(false, "closer_role", "must be one of agent, customer, system")
            }
            try check.finish()
            let entry = try await authorize(tenant, incident: message.incidentID)
            let at = dependencies.now()
            let requestID = Self.requestID(message.requestID)
            var event = Self.event(
                incidentID: message.incidentID, eventID: IntakeIDs.event(tenant: tenant.name, requestID: requestID, kind: "close-unresolved"), at: at
            )
            var closed = Triage_V1_ClosedUnresolved()
            closed.closedBy = message.closedBy
            closed.reason = message.reason
            event.closedUnresolved = closed
            let severity = dependencies.incidentState[message.incidentID]?.severity ?? entry.severity
            let answer = try await submit(
                .closeUnresolved(
                    incidentID: message.incidentID, at: at, closedBy: role, reason: message.reason, severity: Self.severityLetter(severity),
                    openedAt: entry.openedAt
                ),
                entitlementID: entry.entitlementID, requestID: "\(tenant.name)/\(requestID)/close-unresolved", events: [event], tenant: tenant.name
            )
            return try Self.billingReceipt(answer)
        }
    }

    public func requestClose(
        request: ServerRequest<Triage_V1_RequestCloseRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_IntakeReceipt> {
        try await direct(request, incident: request.message.incidentID, kind: "request-close") { message, check in
            var requested = Triage_V1_CloseRequestedByCustomer()
            requested.reason = message.reason
            return .closeRequestedByCustomer(requested)
        }
    }

    public func reopen(
        request: ServerRequest<Triage_V1_ReopenIncidentRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_IntakeReceipt> {
        try await handle(request) { tenant, message in
            try IntakeValidation.required(message.incidentID, "incident_id")
            let entry = try await authorize(tenant, incident: message.incidentID)
            let at = dependencies.now()
            let requestID = Self.requestID(message.requestID)
            var event = Self.event(incidentID: message.incidentID, eventID: IntakeIDs.event(tenant: tenant.name, requestID: requestID, kind: "reopen"), at: at)
            var reopened = Triage_V1_Reopened()
            reopened.reason = message.reason
            event.reopened = reopened
            let answer = try await submit(
                .reopen(incidentID: message.incidentID, at: at), entitlementID: entry.entitlementID,
                requestID: "\(tenant.name)/\(requestID)/reopen", events: [event], tenant: tenant.name
            )
            var receipt = try Self.receipt(answer, index: 0)
            receipt.entitlementID = entry.entitlementID
            if case .reopened(_, let remaining) = try answer.outcome.get() { receipt.creditsRemaining = Int32(remaining ?? -1) }
            return receipt
        }
    }

    public func overrideBilling(
        request: ServerRequest<Triage_V1_OverrideBillingRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_CloseUnresolvedReceipt> {
        try await handle(request) { tenant, message in
            try IntakeValidation.required(message.incidentID, "incident_id")
            guard tenant.isAdmin else { throw IntakeFailure.permissionDenied("only an admin tenant may override billing decisions; \(tenant.name) is not one") }
            let entry = try await authorize(tenant, incident: message.incidentID)
            let requestID = Self.requestID(message.requestID)
            let answer = try await submit(
                .overrideBilling(incidentID: message.incidentID, refund: message.refund, by: tenant.name, note: message.note.isEmpty ? nil : message.note, at: dependencies.now()),
                entitlementID: entry.entitlementID, requestID: "\(tenant.name)/\(requestID)/override", events: [], tenant: tenant.name
            )
            var receipt = try Self.billingReceipt(answer)
            receipt.receipt.incidentID = message.incidentID
            receipt.receipt.partition = -1
            receipt.receipt.offset = -1
            return receipt
        }
    }

    public func getIncident(
        request: ServerRequest<Triage_V1_GetIncidentRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_IncidentView> {
        try await handle(request) { tenant, message in
            try IntakeValidation.required(message.incidentID, "incident_id")
            let entry = try await authorize(tenant, incident: message.incidentID)
            if let snapshot = dependencies.incidentState[message.incidentID] { return IncidentViews.view(snapshot) }
            return IncidentViews.view(entry)
        }
    }

    // MARK: - Plumbing

    /// Authenticates, runs `body`, maps failures to gRPC status codes.
    private func handle<Input: Sendable, Output: Sendable>(
        _ request: ServerRequest<Input>, _ body: (Tenant, Input) async throws -> Output
    ) async throws -> ServerResponse<Output> {
        stats.withLock { $0.calls += 1 }
        let started = ContinuousClock.now
        do {
            let tenant = try authenticate(request.metadata)
            // The caller's W3C trace (a new one when it sent none): every event of this call
            // carries it, and the workers downstream continue it up to the notification.
            let trace = request.metadata[stringValues: "traceparent"].lazy.compactMap(TraceContext.init(traceparent:)).first ?? .newTrace()
            let response = ServerResponse(message: try await IntakeTrace.$current.withValue(trace) { try await body(tenant, request.message) })
            metrics.processed(1, since: started)
            countCall("ok")
            return response
        } catch let failure as IntakeFailure {
            countCall("\(failure.code)")
            stats.withLock {
                switch failure.code {
                case .permissionDenied, .unauthenticated: $0.denied += 1
                case .invalidArgument: $0.invalid += 1
                case .failedPrecondition: $0.rejectedByLedger += 1
                default: break
                }
            }
            throw failure.rpcError
        } catch let error as RPCError {
            throw error
        } catch let unavailable as LedgerUnavailable {
            metrics.failed()
            throw RPCError(code: .unavailable, message: unavailable.description)
        } catch let error as KafkaError {
            logger.error("publishing failed", metadata: ["error": "\(error)"])
            throw RPCError(code: .unavailable, message: "Kafka did not accept the event: \(error)")
        } catch {
            logger.error("call failed", metadata: ["error": "\(error)"])
            throw RPCError(code: .internalError, message: "\(error)")
        }
    }

    private func countCall(_ code: String) {
        let counter = callCounters.withLock { counters in
            if let counter = counters[code] { return counter }
            let counter = Counter(label: "triage_intake_calls_total", dimensions: [("code", code)])
            counters[code] = counter
            return counter
        }
        counter.increment()
    }

    /// A call that publishes one event on an existing incident, no ledger involved.
    private func direct<Input: IntakeIncidentRequest>(
        _ request: ServerRequest<Input>, incident: String, kind: String,
        payload: @Sendable (Input, inout FieldCheck) throws -> IncidentEvent.OneOf_Event
    ) async throws -> ServerResponse<Triage_V1_IntakeReceipt> {
        try await handle(request) { tenant, message in
            // Every field to fix at once: the incident id and the call's own fields.
            var check = FieldCheck()
            check.required(message.incidentID, "incident_id")
            let body = try payload(message, &check)
            try check.finish()
            _ = try await authorize(tenant, incident: message.incidentID)
            let requestID = Self.requestID(message.requestID)
            var event = Self.event(
                incidentID: message.incidentID, eventID: IntakeIDs.event(tenant: tenant.name, requestID: requestID, kind: kind), at: dependencies.now()
            )
            event.event = body
            let report = try await dependencies.publisher.publish(event, traceparent: IntakeTrace.current?.child().traceparent)
            stats.withLock { $0.published += 1 }
            logPublished(incident: event.incidentID, eventID: event.eventID, kind: kind)
            var receipt = Triage_V1_IntakeReceipt()
            receipt.incidentID = event.incidentID
            receipt.eventID = event.eventID
            receipt.partition = report.partition
            receipt.offset = report.offset
            return receipt
        }
    }

    private func authenticate(_ metadata: Metadata) throws -> Tenant {
        guard let header = metadata["authorization"].first(where: { _ in true }), case .string(let value) = header else {
            throw IntakeFailure.unauthenticated("missing 'authorization: Bearer <token>' metadata")
        }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw IntakeFailure.unauthenticated("authorization metadata must be 'Bearer <token>'")
        }
        guard let tenant = dependencies.tenants.authenticate(bearer: String(parts[1]).trimmingCharacters(in: .whitespaces)) else {
            throw IntakeFailure.unauthenticated("unknown bearer token")
        }
        return tenant
    }

    /// The incident's directory entry, if the tenant may act on its account.
    private func authorize(_ tenant: Tenant, incident: String) async throws -> DirectoryEntry {
        guard let entry = await lookupAllowingLag(incident) else {
            throw IntakeFailure.notFound("incident \(incident) is not known to the intake (not opened through it, or not visible yet)")
        }
        guard tenant.mayActOn(account: entry.account) else {
            throw IntakeFailure.permissionDenied("incident \(incident) belongs to an account tenant \(tenant.name) may not act for")
        }
        return entry
    }

    /// An incident opened a moment ago (by this intake or another) is in the directory topic
    /// before its open was answered, but this intake's view may be a few milliseconds behind: an
    /// unknown incident is looked up again for up to `directoryGrace` before it is NOT_FOUND.
    private func lookupAllowingLag(_ incident: String) async -> DirectoryEntry? {
        let deadline = ContinuousClock.now + Self.directoryGrace
        while true {
            if let entry = lookup(incident) { return entry }
            guard ContinuousClock.now < deadline, !Task.isCancelled else { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    static let directoryGrace = Duration.seconds(2)

    /// The directory first (written by the ledger before it answers an open), then the analytics
    /// snapshots (incidents opened by Kafka-native producers).
    private func lookup(_ incident: String) -> DirectoryEntry? {
        if let entry = dependencies.directory[incident] { return entry }
        guard let snapshot = dependencies.incidentState[incident], !snapshot.customerAccount.isEmpty else { return nil }
        return DirectoryEntry(snapshot)
    }

    /// Charges the named entitlement, or the best of the account's: an incident already charged
    /// somewhere (a retry) goes back to that entitlement; otherwise candidates in order until
    /// one accepts (another may have been used up by a concurrent open).
    private func charge(
        account: String, named: String, incidentID: String, at: Date, tenant: String,
        command: (String) -> (LedgerCommand, [IncidentEvent])
    ) async throws -> (String, LedgerAnswer) {
        var candidates: [String]
        // The account's entitlements, from one pass over the view.
        let owned = named.isEmpty ? dependencies.entitlements.values.filter { $0.account == account } : []
        if !named.isEmpty {
            candidates = [named]
        } else if let already = owned.first(where: { $0.charge(for: incidentID) != nil }) {
            candidates = [already.id]
        } else {
            candidates = EntitlementSelection.candidates(for: account, at: at, among: owned, coverage: nil).map(\.id)
            guard !candidates.isEmpty else {
                let owned = owned.sorted { $0.id < $1.id }
                let detail = owned.isEmpty ? "it has none" : owned.map { "\($0.id): \(IntakeValidation.describe($0.status(at: at)))" }.joined(separator: "; ")
                throw IntakeFailure.failedPrecondition("account \(account) has no entitlement that can pay for an incident now (\(detail))")
            }
        }
        var last: LedgerRejection?
        for entitlementID in candidates {
            let (ledgerCommand, events) = command(entitlementID)
            let answer = try await dependencies.ledger.submit(
                ledgerCommand, entitlementID: entitlementID, requestID: "\(tenant)/\(incidentID)/open/\(entitlementID)", events: events, requestedBy: tenant, at: at,
                traceparent: IntakeTrace.current?.child().traceparent
            )
            switch answer.outcome {
            case .success:
                for position in answer.events { logPublished(incident: position.incidentID, eventID: position.eventID, kind: "open") }
                return (entitlementID, answer)
            case .failure(let rejection) where rejection.code == .exhausted || rejection.code == .expired:
                last = rejection
                continue
            case .failure(let rejection):
                throw IntakeFailure(rejection)
            }
        }
        throw IntakeFailure(last!)
    }

    private func submit(
        _ command: LedgerCommand, entitlementID: String, requestID: String, events: [IncidentEvent], tenant: String
    ) async throws -> LedgerAnswer {
        guard !entitlementID.isEmpty else {
            throw IntakeFailure.failedPrecondition("the incident has no entitlement on record; entitlement operations are not possible for it")
        }
        let answer = try await dependencies.ledger.submit(
            command, entitlementID: entitlementID, requestID: requestID, events: events, requestedBy: tenant, traceparent: IntakeTrace.current?.child().traceparent
        )
        if case .failure(let rejection) = answer.outcome { throw IntakeFailure(rejection) }
        stats.withLock { $0.published += answer.events.count }
        for position in answer.events { logPublished(incident: position.incidentID, eventID: position.eventID, kind: "ledger") }
        return answer
    }

    /// One line per published event, with the incident and the call's trace id.
    private func logPublished(incident: String, eventID: String, kind: String) {
        logger.info(
            "event published",
            metadata: ["incident": "\(incident)", "event_id": "\(eventID)", "kind": "\(kind)", "trace_id": "\(IntakeTrace.current?.traceID ?? "-")"]
        )
    }

    private static func receipt(_ answer: LedgerAnswer, index: Int) throws -> Triage_V1_IntakeReceipt {
        var receipt = Triage_V1_IntakeReceipt()
        guard index < answer.events.count else { return receipt }
        let position = answer.events[index]
        receipt.incidentID = position.incidentID
        receipt.eventID = position.eventID
        receipt.partition = position.partition
        receipt.offset = position.offset
        return receipt
    }

    private static func billingReceipt(_ answer: LedgerAnswer) throws -> Triage_V1_CloseUnresolvedReceipt {
        var receipt = Triage_V1_CloseUnresolvedReceipt()
        receipt.receipt = try Self.receipt(answer, index: 0)
        if case .billed(let decision, let remaining, _) = try answer.outcome.get() {
            receipt.creditRefunded = decision.refunded
            receipt.billingRule = decision.rule
            receipt.creditsRemaining = Int32(remaining ?? -1)
        }
        return receipt
    }

    private static func event(incidentID: String, eventID: String, at: Date) -> IncidentEvent {
        var event = IncidentEvent()
        event.incidentID = incidentID
        event.eventID = eventID
        event.occurredAt = Google_Protobuf_Timestamp(date: at)
        event.producer = producerName
        return event
    }

    private static func requestID(_ given: String) -> String { given.isEmpty ? UUID().uuidString : given }

    static func severityLetter(_ severity: Severity) -> String? {
        switch severity {
        case .a: "A"
        case .b: "B"
        case .c: "C"
        default: nil
        }
    }
}

/// A request on an existing incident.
protocol IntakeIncidentRequest: Sendable {
    var requestID: String { get }
    var incidentID: String { get }
}

extension Triage_V1_AcknowledgeRequest: IntakeIncidentRequest {}
extension Triage_V1_AddNoteRequest: IntakeIncidentRequest {}
extension Triage_V1_ChangeSeverityRequest: IntakeIncidentRequest {}
extension Triage_V1_WaitOnCustomerRequest: IntakeIncidentRequest {}
extension Triage_V1_CustomerRespondedRequest: IntakeIncidentRequest {}
extension Triage_V1_DeliverSolutionRequest: IntakeIncidentRequest {}
extension Triage_V1_CloseResolvedRequest: IntakeIncidentRequest {}
extension Triage_V1_RequestCloseRequest: IntakeIncidentRequest {}

/// A call's failure with its gRPC status code.
struct IntakeFailure: Error {
    /// One field of the request to fix.
    struct Violation: Sendable, Hashable {
        var field: String
        var description: String
    }

    var code: RPCError.Code
    var message: String
    /// The fields to fix (INVALID_ARGUMENT), sent as `google.rpc.BadRequest` in the status details.
    var violations: [Violation] = []

    /// INVALID_ARGUMENT naming every field to fix: "customer_account: required; language: required".
    static func invalid(_ violations: [Violation]) -> Self {
        var failure = Self(code: .invalidArgument, message: violations.map { "\($0.field): \($0.description)" }.joined(separator: "; "))
        failure.violations = violations
        return failure
    }

    /// The status sent to the client, with the field violations in `grpc-status-details-bin`.
    var rpcError: RPCError {
        guard !violations.isEmpty else { return RPCError(code: code, message: message) }
        let status = GoogleRPCStatus(
            code: code, message: message,
            details: [.badRequest(violations: violations.map { ErrorDetails.BadRequest.FieldViolation(field: $0.field, description: $0.description) })]
        )
        return RPCError(code: code, message: message, metadata: status.rpcErrorMetadata)
    }

    static func invalidArgument(_ message: String) -> Self { Self(code: .invalidArgument, message: message) }
    static func permissionDenied(_ message: String) -> Self { Self(code: .permissionDenied, message: message) }
    static func unauthenticated(_ message: String) -> Self { Self(code: .unauthenticated, message: message) }
    static func notFound(_ message: String) -> Self { Self(code: .notFound, message: message) }
    static func failedPrecondition(_ message: String) -> Self { Self(code: .failedPrecondition, message: message) }

    init(code: RPCError.Code, message: String) {
        self.code = code
        self.message = message
    }

    /// Ledger rejections: entitlement problems are FAILED_PRECONDITION, unknown things NOT_FOUND,
    /// an account mismatch PERMISSION_DENIED, a malformed command INVALID_ARGUMENT.
    init(_ rejection: LedgerRejection) {
        switch rejection.code {
        case .unknownEntitlement, .unknownIncident: self.init(code: .notFound, message: rejection.message)
        case .wrongAccount: self.init(code: .permissionDenied, message: rejection.message)
        case .invalid: self.init(code: .invalidArgument, message: rejection.message)
        case .conflict: self.init(code: .alreadyExists, message: rejection.message)
        case .expired, .notYetValid, .exhausted: self.init(code: .failedPrecondition, message: rejection.message)
        }
    }
}

/// Deterministic ids from the tenant and the client's request id.
public enum IntakeIDs {
    public static func incident(tenant: String, requestID: String) -> String {
        "INC-" + digest("incident|\(tenant)|\(requestID)").prefix(16).uppercased()
    }

    public static func event(tenant: String, requestID: String, kind: String) -> String {
        "intake-" + digest("event|\(tenant)|\(requestID)|\(kind)").prefix(32)
    }

    private static func digest(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// The trace of the call being handled (set by ``IntakeService`` for the call's duration).
enum IntakeTrace {
    @TaskLocal static var current: TraceContext?
}
