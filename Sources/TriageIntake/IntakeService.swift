import Crypto
public import Foundation
public import GRPCCore
import GRPCProtobuf
public import Logging
public import Metrics
import SwiftProtobuf
import Synchronization
public import TriageAnalytics
public import TriageEntitlements
public import TriageKafka
import TriageOps
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
    /// Where the first use of each request id is recorded (the directory topic); `nil`: not
    /// recorded, so reused request ids are recognised only by the ledger.
    public var requestIndex: RequestIndex?
    /// The instant a call is received (injectable for tests).
    public var now: @Sendable () -> Date
    /// Where SetPresence publishes (with ``publisher``'s producer). Default `triage.agent-events`.
    public var agentTopic = TriageTopic.agentEvents

    public init(
        tenants: TenantDirectory, publisher: IncidentEventPublisher, ledger: LedgerClient, entitlements: KeyedTopicView<Entitlement>,
        directory: KeyedTopicView<DirectoryEntry>, incidentState: KeyedTopicView<IncidentSnapshot>, requestIndex: RequestIndex? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.requestIndex = requestIndex
        self.tenants = tenants
        self.publisher = publisher
        self.ledger = ledger
        self.entitlements = entitlements
        self.directory = directory
        self.incidentState = incidentState
        self.now = now
    }
}

/// The topic (and producer) recording the first use of each request id.
public struct RequestIndex: Sendable {
    public var producer: KafkaProducer
    public var topic: String

    public init(producer: KafkaProducer, topic: String) {
        self.producer = producer
        self.topic = topic
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
    private let metricsFactory: any MetricsFactory
    /// This intake's own recent lifecycle changes, ahead of its incident-state view.
    private let transitions = RecentTransitions()
    private let incidentLocks = KeyedSerializer()
    private let answers = RecentAnswers()

    /// - Parameter metricsFactory: Where `triage_intake_calls_total` is counted (default: the
    ///   process's bootstrapped factory).
    public init(dependencies: IntakeDependencies, logger: Logger, metricsFactory: any MetricsFactory = MetricsSystem.factory) {
        self.dependencies = dependencies
        self.logger = logger
        self.metricsFactory = metricsFactory
    }

    public var statistics: IntakeStatistics { stats.withLock { $0 } }

    // MARK: - Calls

    public func openIncident(
        request: ServerRequest<Triage_V1_OpenIncidentRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_IntakeReceipt> {
        try await handle(request) { tenant, message in
            guard tenant.mayActOn(account: message.customerAccount) else {
                throw IntakeFailure.permissionDenied(
                    "tenant \(tenant.name) may not act for account \(IntakeValidation.quoted(message.customerAccount))")
            }
            var at = dependencies.now()
            let requestID = Self.requestID(message.requestID)
            let content = OpenRequestIdentity.content(message)
            let fingerprint = OpenRequestIdentity.fingerprint(message)
            if !message.requestID.isEmpty,
                let other = requestIDUsedForAnotherAccount(tenant, requestID: requestID, account: message.customerAccount)
            {
                throw IntakeFailure(
                    code: .alreadyExists,
                    message:
                        "request_id \(IntakeValidation.quoted(requestID)) already opened incident \(other.incident) for account \(IntakeValidation.quoted(other.account)); use a new request_id for a new incident"
                )
            }
            // A request id used before: the same request gets the first answer again; another
            // request under it is refused before anything is charged or written. (Two different
            // requests racing under one id open two incidents: the id is content-derived, and a
            // retry of either is recognised by its own incident, which the view may read late.)
            let requestKey = IntakeIDs.requestKey("open", tenant: tenant.name, scope: message.customerAccount, requestID: requestID)
            var incidentID = IntakeIDs.incident(
                tenant: tenant.name, account: message.customerAccount, requestID: requestID, fingerprint: fingerprint)
            var named = message.entitlementID
            if let own = dependencies.directory[incidentID] {
                // This very request was charged before (its request record may name another
                // request that raced it): a retry, dated as the first time so that the event
                // published again is the same event.
                at = own.openedAt
                if named.isEmpty { named = own.entitlementID }
            } else if let earlier = dependencies.directory[requestKey] {
                let differences = OpenRequestIdentity.differences(message, from: earlier)
                if !differences.isEmpty, let own = await lookupAllowingLag(incidentID) {
                    // A retry of one of two requests that raced under this id, answered by
                    // another intake whose record of the incident this view has not read yet.
                    at = own.openedAt
                    if named.isEmpty { named = own.entitlementID }
                } else if !differences.isEmpty {
                    throw IntakeFailure(
                        code: .alreadyExists,
                        message:
                            "request_id \(IntakeValidation.quoted(requestID)) already opened incident \(earlier.incidentID) with a different \(differences.joined(separator: ", ")); use a new request_id for a new incident"
                    )
                } else {
                    incidentID = earlier.incidentID
                    at = earlier.openedAt
                    if named.isEmpty { named = earlier.entitlementID }
                }
            }
            let eventID = IntakeIDs.event(tenant: tenant.name, incident: incidentID, requestID: requestID, kind: "open")
            if let earlier = answers.answer(for: eventID, as: Triage_V1_IntakeReceipt.self) { return earlier }
            var event = Self.event(incidentID: incidentID, eventID: eventID, at: at)
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
                account: message.customerAccount, named: named, incidentID: incidentID, at: at, tenant: tenant.name
            ) { entitlementID in
                (
                    .open(incidentID: incidentID, account: message.customerAccount, at: at, parentIncidentID: nil, fingerprint: content),
                    [event]
                )
            }
            var recorded = event
            recorded.opened.entitlementID = entitlementID
            try await recordRequest(requestKey, recorded)
            var receipt = try Self.receipt(answer, index: 0)
            receipt.entitlementID = entitlementID
            if case .opened(_, _, let remaining) = try answer.outcome.get() { receipt.creditsRemaining = Int32(remaining ?? -1) }
            answers.remember(receipt, for: eventID)
            return receipt
        }
    }

    public func acknowledge(
        request: ServerRequest<Triage_V1_AcknowledgeRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_IntakeReceipt> {
        try await direct(request, kind: "acknowledge", action: .acknowledge) { message in
            var acknowledged = Triage_V1_Acknowledged()
            acknowledged.agentID = message.agentID
            return .acknowledged(acknowledged)
        }
    }

    public func addNote(
        request: ServerRequest<Triage_V1_AddNoteRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_IntakeReceipt> {
        try await direct(request, kind: "note", action: .addNote) { message in
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
        try await direct(request, kind: "severity", action: .changeSeverity) { [dependencies] message in
            var changed = Triage_V1_SeverityChanged()
            changed.from =
                dependencies.incidentState[message.incidentID]?.severity ?? dependencies.directory[message.incidentID]?.severity
                ?? .unspecified
            changed.to = message.severity
            changed.reason = message.reason
            return .severityChanged(changed)
        }
    }

    public func waitOnCustomer(
        request: ServerRequest<Triage_V1_WaitOnCustomerRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_IntakeReceipt> {
        try await direct(request, kind: "wait", action: .waitOnCustomer) { message in
            var waiting = Triage_V1_WaitingOnCustomer()
            waiting.reason = message.reason
            waiting.pauseReason = message.pauseReason
            if message.hasResumeAt { waiting.resumeAt = message.resumeAt }
            return .waitingOnCustomer(waiting)
        }
    }

    public func customerResponded(
        request: ServerRequest<Triage_V1_CustomerRespondedRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_IntakeReceipt> {
        try await direct(request, kind: "responded", action: .customerResponded) { _ in .customerResponded(.init()) }
    }

    public func split(
        request: ServerRequest<Triage_V1_SplitIncidentRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_SplitReceipt> {
        try await handleOnIncident(request) { tenant, message in
            let parent = try await authorize(tenant, incident: message.incidentID)
            let at = dependencies.now()
            let requestID = Self.requestID(message.requestID)
            let content = OpenRequestIdentity.fingerprint(message)
            let splitEventID = IntakeIDs.event(
                tenant: tenant.name, incident: message.incidentID, requestID: requestID, kind: "split", fingerprint: content)
            if let earlier = answers.answer(for: splitEventID, as: Triage_V1_SplitReceipt.self) { return earlier }
            let admission = try admit(.split, incident: message.incidentID, eventID: splitEventID)
            let childIDs = message.children.indices.map {
                IntakeIDs.splitChild(tenant: tenant.name, parent: message.incidentID, requestID: requestID, fingerprint: content, index: $0)
            }
            let requestKey = IntakeIDs.requestKey("split", tenant: tenant.name, scope: message.incidentID, requestID: requestID)
            if let first = childIDs.first, dependencies.directory[first] == nil, let earlier = dependencies.directory[requestKey],
                earlier.incidentID != first
            {
                throw IntakeFailure(
                    code: .alreadyExists,
                    message:
                        "request_id \(IntakeValidation.quoted(requestID)) already split incident \(message.incidentID) into other children; use a new request_id for a new split"
                )
            }
            var events: [IncidentEvent] = []
            for (index, child) in message.children.enumerated() {
                var event = Self.event(
                    incidentID: childIDs[index],
                    eventID: IntakeIDs.event(tenant: tenant.name, incident: childIDs[index], requestID: requestID, kind: "split-child"),
                    at: at
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
            var splitEvent = Self.event(incidentID: message.incidentID, eventID: splitEventID, at: at)
            var split = Triage_V1_Split()
            split.childIncidentIds = childIDs
            splitEvent.split = split
            events.append(splitEvent)
            let eventBytes = try events.reduce(0) { $0 + (try $1.serializedBytes() as [UInt8]).count }
            guard eventBytes <= IntakeLimits.splitEventBytes else {
                throw IntakeFailure.invalid([
                    .init(
                        field: "children",
                        description:
                            "the children's events come to \(eventBytes) bytes; at most \(IntakeLimits.splitEventBytes) in one split")
                ])
            }
            let answer = try await submit(
                .split(
                    parentIncidentID: message.incidentID, childIncidentIDs: childIDs, account: parent.account, at: at,
                    fingerprint: content
                ),
                entitlementID: parent.entitlementID, requestID: "\(tenant.name)/\(requestID)/split/\(message.incidentID)/\(content)",
                events: events,
                tenant: tenant.name
            )
            admission.published()
            if let first = events.first { try await recordRequest(requestKey, first) }
            var receipt = Triage_V1_SplitReceipt()
            receipt.parent = try Self.receipt(answer, index: childIDs.count)
            receipt.children = try childIDs.indices.map { index in
                var child = try Self.receipt(answer, index: index)
                child.entitlementID = parent.entitlementID
                if case .opened(_, _, let remaining) = try answer.outcome.get() { child.creditsRemaining = Int32(remaining ?? -1) }
                return child
            }
            answers.remember(receipt, for: splitEventID)
            return receipt
        }
    }

    public func deliverSolution(
        request: ServerRequest<Triage_V1_DeliverSolutionRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_IntakeReceipt> {
        try await direct(request, kind: "solution", action: .deliverSolution) { message in
            var solution = Triage_V1_SolutionDelivered()
            solution.agentID = message.agentID
            solution.summary = message.summary
            return .solutionDelivered(solution)
        }
    }

    public func closeResolved(
        request: ServerRequest<Triage_V1_CloseResolvedRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_IntakeReceipt> {
        try await direct(request, kind: "close-resolved", action: .closeResolved) { message in
            var closed = Triage_V1_ClosedResolved()
            closed.closedBy = message.closedBy
            return .closedResolved(closed)
        }
    }

    public func closeUnresolved(
        request: ServerRequest<Triage_V1_CloseUnresolvedRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_CloseUnresolvedReceipt> {
        try await handleOnIncident(request) { tenant, message in
            // Who closed is the tenant's to say only within its kind: a portal's closes are the
            // customer's whatever it claims (billing policies refund by role).
            let role =
                message.closerRole.isEmpty ? tenant.defaultCloserRole : CloserRole(rawValue: message.closerRole) ?? tenant.defaultCloserRole
            guard tenant.closerRoles.contains(role) else {
                let kind = tenant.isAdmin ? "an admin" : tenant.kind == .portal ? "a customer portal" : "a staff tool"
                throw IntakeFailure.permissionDenied(
                    "closer_role: tenant \(tenant.name) is \(kind) and may record closes as \(tenant.closerRoles.map(\.rawValue).joined(separator: " or ")), not \(role.rawValue)"
                )
            }
            let entry = try await authorize(tenant, incident: message.incidentID)
            let at = dependencies.now()
            let requestID = Self.requestID(message.requestID)
            let content = OpenRequestIdentity.fingerprint(of: message)
            let eventID = IntakeIDs.event(
                tenant: tenant.name, incident: message.incidentID, requestID: requestID, kind: "close-unresolved", fingerprint: content)
            if let earlier = answers.answer(for: eventID, as: Triage_V1_CloseUnresolvedReceipt.self) { return earlier }
            let admission = try admit(.closeUnresolved, incident: message.incidentID, eventID: eventID)
            var event = Self.event(incidentID: message.incidentID, eventID: eventID, at: at)
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
                entitlementID: entry.entitlementID,
                requestID: "\(tenant.name)/\(requestID)/close-unresolved/\(message.incidentID)/\(content)", events: [event],
                tenant: tenant.name
            )
            admission.published()
            let receipt = try Self.billingReceipt(answer)
            answers.remember(receipt, for: eventID)
            return receipt
        }
    }

    public func requestClose(
        request: ServerRequest<Triage_V1_RequestCloseRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_IntakeReceipt> {
        try await direct(request, kind: "request-close", action: .requestClose) { message in
            var requested = Triage_V1_CloseRequestedByCustomer()
            requested.reason = message.reason
            return .closeRequestedByCustomer(requested)
        }
    }

    public func reopen(
        request: ServerRequest<Triage_V1_ReopenIncidentRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_IntakeReceipt> {
        try await handleOnIncident(request) { tenant, message in
            let entry = try await authorize(tenant, incident: message.incidentID)
            let at = dependencies.now()
            let requestID = Self.requestID(message.requestID)
            let content = OpenRequestIdentity.fingerprint(of: message)
            let eventID = IntakeIDs.event(
                tenant: tenant.name, incident: message.incidentID, requestID: requestID, kind: "reopen", fingerprint: content)
            if let earlier = answers.answer(for: eventID, as: Triage_V1_IntakeReceipt.self) { return earlier }
            let admission = try admit(.reopen, incident: message.incidentID, eventID: eventID)
            var event = Self.event(incidentID: message.incidentID, eventID: eventID, at: at)
            var reopened = Triage_V1_Reopened()
            reopened.reason = message.reason
            event.reopened = reopened
            let answer = try await submit(
                .reopen(incidentID: message.incidentID, at: at), entitlementID: entry.entitlementID,
                requestID: "\(tenant.name)/\(requestID)/reopen/\(message.incidentID)/\(content)", events: [event], tenant: tenant.name
            )
            admission.published()
            var receipt = try Self.receipt(answer, index: 0)
            receipt.entitlementID = entry.entitlementID
            if case .reopened(_, let remaining) = try answer.outcome.get() { receipt.creditsRemaining = Int32(remaining ?? -1) }
            answers.remember(receipt, for: eventID)
            return receipt
        }
    }

    public func overrideBilling(
        request: ServerRequest<Triage_V1_OverrideBillingRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_CloseUnresolvedReceipt> {
        try await handleOnIncident(request) { tenant, message in
            guard tenant.isAdmin else {
                throw IntakeFailure.permissionDenied("only an admin tenant may override billing decisions; \(tenant.name) is not one")
            }
            let entry = try await authorize(tenant, incident: message.incidentID)
            // An override decides an unresolved close after the fact; on an incident that is
            // not closed unresolved it would make an open incident free.
            let state = transitions.state(of: message.incidentID, snapshot: dependencies.incidentState[message.incidentID])
            guard state.status == .closedUnresolved else {
                throw IntakeFailure.failedPrecondition(
                    "incident \(message.incidentID): the incident is \(state.status.rawValue); a billing override is possible only when it is closed_unresolved"
                )
            }
            let requestID = Self.requestID(message.requestID)
            let answer = try await submit(
                .overrideBilling(
                    incidentID: message.incidentID, refund: message.refund, by: tenant.name,
                    note: message.note.isEmpty ? nil : message.note, at: dependencies.now()),
                entitlementID: entry.entitlementID, requestID: "\(tenant.name)/\(requestID)/override/\(message.incidentID)", events: [],
                tenant: tenant.name
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
            let entry = try await authorize(tenant, incident: message.incidentID)
            if let snapshot = dependencies.incidentState[message.incidentID] { return IncidentViews.view(snapshot) }
            return IncidentViews.view(entry)
        }
    }

    // MARK: - Staff calls

    public func reassign(
        request: ServerRequest<Triage_V1_ReassignRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_IntakeReceipt> {
        try await direct(request, kind: "reassign", action: .reassign, staffOnly: true) { message in
            .reassignRequested(
                .with {
                    $0.requestedBy = IntakeActor.current ?? ""
                    $0.note = message.note
                    $0.toAgentID = message.toAgentID
                    $0.toQueue = message.toQueue
                })
        }
    }

    public func takeNext(
        request: ServerRequest<Triage_V1_TakeNextRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_IntakeReceipt> {
        try await direct(request, kind: "take", action: .reassign, staffOnly: true) { message in
            .reassignRequested(
                .with {
                    $0.requestedBy = IntakeActor.current ?? message.agentID
                    $0.toAgentID = message.agentID
                    $0.onlyIfWaiting = true
                })
        }
    }

    public func setPresence(
        request: ServerRequest<Triage_V1_SetPresenceRequest>, context: ServerContext
    ) async throws -> ServerResponse<Triage_V1_AgentReceipt> {
        try await handle(request) { tenant, message in
            try Self.requireStaff(tenant, call: "SetPresence")
            // A changed presence under a used request id is another event, never the same id.
            let eventID = IntakeIDs.event(
                tenant: tenant.name, incident: "agent:" + message.agentID, requestID: Self.requestID(message.requestID), kind: "presence",
                fingerprint: String(message.presence.rawValue))
            if let earlier = answers.answer(for: eventID, as: Triage_V1_AgentReceipt.self) { return earlier }
            var event = AgentEvent()
            event.eventID = eventID
            event.agentID = message.agentID
            event.occurredAt = Google_Protobuf_Timestamp(date: dependencies.now())
            event.producer = Self.producerName
            event.actor = IntakeActor.current ?? ""
            event.presenceChanged = .with { $0.presence = message.presence }
            let report = try await dependencies.publisher.producer.send(
                KafkaProducerMessage(topic: dependencies.agentTopic, key: Array(event.agentID.utf8), value: try event.serializedBytes()))
            stats.withLock { $0.published += 1 }
            logger.info("published", metadata: ["agent": "\(event.agentID)", "event_id": "\(eventID)", "kind": "presence"])
            var receipt = Triage_V1_AgentReceipt()
            receipt.agentID = event.agentID
            receipt.eventID = eventID
            receipt.partition = report.partition
            receipt.offset = report.offset
            answers.remember(receipt, for: eventID)
            return receipt
        }
    }

    /// Calls only the support staff's tools may make (they act for agents and leads).
    private static func requireStaff(_ tenant: Tenant, call: String) throws {
        guard tenant.isAdmin || tenant.kind == .staff else {
            throw IntakeFailure.permissionDenied(
                "\(call): tenant \(tenant.name) is a customer portal; only staff and admin tenants may make this call")
        }
    }

    // MARK: - Plumbing

    /// Authenticates, checks the request's size and every field, runs `body`, maps failures to
    /// gRPC status codes, and counts the call under its status code whatever happened.
    private func handle<Input: SwiftProtobuf.Message & IntakeFields, Output: Sendable>(
        _ request: ServerRequest<Input>, _ body: (Tenant, Input) async throws -> Output
    ) async throws -> ServerResponse<Output> {
        stats.withLock { $0.calls += 1 }
        let started = ContinuousClock.now
        do {
            let tenant = try authenticate(request.metadata)
            let size = (try request.message.serializedBytes() as [UInt8]).count
            guard size <= IntakeLimits.requestBytes else {
                throw IntakeFailure(
                    code: .resourceExhausted,
                    message:
                        "the request is \(size) bytes; the intake accepts at most \(IntakeLimits.requestBytes) (free text at most \(IntakeLimits.textBytes) bytes per field)"
                )
            }
            var check = FieldCheck()
            request.message.checkFields(&check, now: { dependencies.now() })
            try check.finish()
            // The caller's W3C trace (a new one when it sent none): every event of this call
            // carries it, and the workers downstream continue it up to the notification.
            let trace = request.metadata[stringValues: "traceparent"].lazy.compactMap(TraceContext.init(traceparent:)).first ?? .newTrace()
            let actor = try IntakeActor.claimed(by: tenant, in: request.metadata)
            let response = ServerResponse(
                message: try await IntakeTrace.$current.withValue(trace) {
                    try await IntakeActor.$current.withValue(actor) { try await body(tenant, request.message) }
                })
            metrics.processed(1, since: started)
            countCall(nil)
            return response
        } catch {
            let failure = self.failure(error)
            countCall(failure.code)
            throw failure.rpcError
        }
    }

    /// ``handle(_:_:)`` for a call on an existing incident: calls on one incident through this
    /// intake run one after another, each checked against the state the one before left.
    private func handleOnIncident<Input: SwiftProtobuf.Message & IntakeFields & IntakeIncidentRequest, Output: Sendable>(
        _ request: ServerRequest<Input>, _ body: (Tenant, Input) async throws -> Output
    ) async throws -> ServerResponse<Output> {
        try await handle(request) { tenant, message in
            try await self.incidentLocks.withLock(message.incidentID) { try await body(tenant, message) }
        }
    }

    /// The status a failure is answered with (and the statistics it counts toward).
    private func failure(_ error: any Error) -> IntakeFailure {
        switch error {
        case let failure as IntakeFailure:
            stats.withLock {
                switch failure.code {
                case .permissionDenied, .unauthenticated: $0.denied += 1
                case .invalidArgument, .resourceExhausted: $0.invalid += 1
                case .failedPrecondition: $0.rejectedByLedger += 1
                default: break
                }
            }
            return failure
        case let error as RPCError:
            return IntakeFailure(code: error.code, message: error.message)
        case let unavailable as LedgerUnavailable:
            metrics.failed()
            return IntakeFailure(code: .unavailable, message: unavailable.description)
        case let error as KafkaError:
            metrics.failed()
            logger.error("publishing failed", metadata: ["error": "\(error)"])
            return IntakeFailure(
                code: .unavailable, message: "Kafka did not accept the event (\(error.code)); safe to retry with the same request_id")
        case is CancellationError:
            return IntakeFailure(code: .cancelled, message: "the call was cancelled")
        default:
            metrics.failed()
            logger.error("call failed", metadata: ["error": "\(error)"])
            return IntakeFailure(code: .internalError, message: "the intake failed to handle the call; the error is in its log")
        }
    }

    /// `triage_intake_calls_total{code}`: one per call, labelled with the canonical gRPC status
    /// name (`OK`, `INVALID_ARGUMENT`, `UNAVAILABLE`, ...).
    private func countCall(_ code: RPCError.Code?) {
        let name = code.map(Self.statusName) ?? "OK"
        let counter = callCounters.withLock { counters in
            if let counter = counters[name] { return counter }
            let counter = Counter(label: "triage_intake_calls_total", dimensions: [("code", name)], factory: metricsFactory)
            counters[name] = counter
            return counter
        }
        counter.increment()
    }

    /// The status code's name in the gRPC specification (`FAILED_PRECONDITION` for
    /// `.failedPrecondition`, `INTERNAL` for `.internalError`), as the docs, other gRPC tools and
    /// every message of Triage's that names a code write it; grpc-swift's own description is the
    /// Swift case name.
    public static func statusName(_ code: RPCError.Code) -> String {
        let names = [
            "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
            "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE",
            "DATA_LOSS", "UNAUTHENTICATED",
        ]
        return names.indices.contains(code.rawValue) ? names[code.rawValue] : "CODE_\(code.rawValue)"
    }

    /// A call that publishes one event on an existing incident, no ledger involved.
    private func direct<Input: IntakeIncidentRequest & SwiftProtobuf.Message & IntakeFields>(
        _ request: ServerRequest<Input>, kind: String, action: LifecycleAction, staffOnly: Bool = false,
        payload: @Sendable (Input) throws -> IncidentEvent.OneOf_Event
    ) async throws -> ServerResponse<Triage_V1_IntakeReceipt> {
        try await handleOnIncident(request) { tenant, message in
            if staffOnly {
                try Self.requireStaff(tenant, call: String(describing: Input.self).replacingOccurrences(of: "Triage_V1_", with: ""))
            }
            _ = try await authorize(tenant, incident: message.incidentID)
            let requestID = Self.requestID(message.requestID)
            let eventID = IntakeIDs.event(
                tenant: tenant.name, incident: message.incidentID, requestID: requestID, kind: kind,
                fingerprint: OpenRequestIdentity.fingerprint(of: message)
            )
            if let earlier = answers.answer(for: eventID, as: Triage_V1_IntakeReceipt.self) { return earlier }
            let admission = try admit(action, incident: message.incidentID, eventID: eventID)
            if admission.alreadyPublished {
                // Published before (through another intake, or longer ago than this intake keeps
                // answers): not published again, which would carry another timestamp under the
                // same event id; where it was stored is not known here.
                var receipt = Triage_V1_IntakeReceipt()
                receipt.incidentID = message.incidentID
                receipt.eventID = eventID
                receipt.partition = -1
                receipt.offset = -1
                return receipt
            }
            var event = Self.event(incidentID: message.incidentID, eventID: eventID, at: dependencies.now())
            event.event = try payload(message)
            let report = try await dependencies.publisher.publish(event, traceparent: IntakeTrace.current?.child().traceparent)
            admission.published()
            stats.withLock { $0.published += 1 }
            logPublished(incident: event.incidentID, eventID: event.eventID, kind: kind)
            var receipt = Triage_V1_IntakeReceipt()
            receipt.incidentID = event.incidentID
            receipt.eventID = event.eventID
            receipt.partition = report.partition
            receipt.offset = report.offset
            answers.remember(receipt, for: eventID)
            return receipt
        }
    }

    /// Checks `action` against the incident's current state (FAILED_PRECONDITION naming the
    /// state otherwise). A repeat of a call already published (same event id) is let through:
    /// it republishes the same event, which every consumer drops. The returned admission is
    /// told when the event is out, so this intake's next call sees the new state at once.
    private func admit(_ action: LifecycleAction, incident: String, eventID: String) throws -> LifecycleAdmission {
        let snapshot = dependencies.incidentState[incident]
        switch transitions.admit(action, incident: incident, eventID: eventID, snapshot: snapshot) {
        case .success(let admission):
            return admission
        case .failure(let refusal):
            throw IntakeFailure.failedPrecondition("incident \(incident): \(refusal)")
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
        let token = String(parts[1])
        // Foundation's trimming costs a string bridge on every call: only when there is padding.
        let padded = token.first?.isWhitespace == true || token.last?.isWhitespace == true
        guard let tenant = dependencies.tenants.authenticate(bearer: padded ? token.trimmingCharacters(in: .whitespaces) : token) else {
            throw IntakeFailure.unauthenticated("unknown bearer token")
        }
        return tenant
    }

    /// The incident's directory entry, if the tenant may act on its account.
    private func authorize(_ tenant: Tenant, incident: String) async throws -> DirectoryEntry {
        guard let entry = await lookupAllowingLag(incident) else {
            throw IntakeFailure.notFound(
                "incident \(IntakeValidation.quoted(incident)) is not known to the intake (not opened through it, or not visible yet)")
        }
        guard tenant.mayActOn(account: entry.account) else {
            throw IntakeFailure.permissionDenied("incident \(incident) belongs to an account tenant \(tenant.name) may not act for")
        }
        return entry
    }

    /// The incident this tenant opened under `requestID` for one of its other accounts (every
    /// account with an entitlement, for an admin), if its directory view shows one. Ids are
    /// scoped to the account, so even two such opens racing each other can only open two
    /// separate incidents; this check turns the reuse that can be seen into ALREADY_EXISTS.
    private func requestIDUsedForAnotherAccount(_ tenant: Tenant, requestID: String, account: String) -> (
        incident: String, account: String
    )? {
        let accounts =
            tenant.isAdmin ? Set(dependencies.entitlements.values.flatMap { [$0.account, $0.purchasingAccount] }) : tenant.accounts
        for other in accounts.sorted() where other != account {
            if let earlier = dependencies.directory[IntakeIDs.requestKey("open", tenant: tenant.name, scope: other, requestID: requestID)] {
                return (earlier.incidentID, other)
            }
        }
        return nil
    }

    /// Records what a request id was first used for (see ``IntakeIDs/requestKey(_:tenant:scope:requestID:)``).
    /// Written after the ledger accepted: if this intake stops in between, a retry of the same
    /// request derives the same ids and the ledger answers it as a repeat, which records it then.
    /// The call does not wait for the broker's acknowledgement (another round trip on every
    /// open): this intake knows the record at once, and a record that fails to be stored is
    /// logged. The record only refuses a later, different request under the same id; a retry
    /// of the same request is recognised by its incident's directory entry, written by the
    /// ledger before it answered.
    private func recordRequest(_ key: String, _ event: IncidentEvent) async throws {
        guard let requestIndex = dependencies.requestIndex else { return }
        if let entry = try? DirectoryEntry(event) {
            dependencies.directory.remember(key, entry)
            // The ledger wrote the incident's own record before it answered; this intake reads
            // it at once, so a retry here is never mistaken for another request under the id.
            dependencies.directory.remember(entry.incidentID, entry)
        }
        let logger = self.logger
        await requestIndex.producer.submit([
            KafkaProducerMessage(topic: requestIndex.topic, key: Array(key.utf8), value: try event.serializedBytes())
        ]) { error in
            if let error {
                logger.warning("the record of a request id was not stored", metadata: ["key": "\(key)", "error": "\(error)"])
            }
        }
    }

    /// An incident opened a moment ago (by this intake or another) is in the directory topic
    /// before its open was answered, but this intake's view may be a few milliseconds behind: an
    /// unknown incident is waited for up to `directoryGrace` (in either view, woken by the
    /// record) before it is NOT_FOUND.
    private func lookupAllowingLag(_ incident: String) async -> DirectoryEntry? {
        if let entry = lookup(incident) { return entry }
        let (directory, incidentState) = (dependencies.directory, dependencies.incidentState)
        return await withTaskGroup(of: DirectoryEntry?.self) { group in
            group.addTask { await directory.value(for: incident, within: Self.directoryGrace) }
            group.addTask {
                await incidentState.value(for: incident, within: Self.directoryGrace) { !$0.customerAccount.isEmpty }.map(
                    DirectoryEntry.init)
            }
            for await entry in group where entry != nil {
                group.cancelAll()
                return entry
            }
            return nil
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
            if let entitlement = dependencies.entitlements[named], entitlement.account != account,
                entitlement.charge(for: incidentID) == nil
            {
                throw IntakeFailure.permissionDenied(
                    "entitlement \(IntakeValidation.quoted(named)) does not belong to account \(IntakeValidation.quoted(account))")
            }
            candidates = [named]
        } else if let already = owned.first(where: { $0.charge(for: incidentID) != nil }) {
            candidates = [already.id]
        } else {
            candidates = EntitlementSelection.candidates(for: account, at: at, among: owned, coverage: nil).map(\.id)
            guard !candidates.isEmpty else {
                let owned = owned.sorted { $0.id < $1.id }
                let detail =
                    owned.isEmpty
                    ? "it has none" : owned.map { "\($0.id): \(IntakeValidation.describe($0.status(at: at)))" }.joined(separator: "; ")
                throw IntakeFailure.failedPrecondition(
                    "account \(IntakeValidation.quoted(account)) has no entitlement that can pay for an incident now (\(detail))")
            }
        }
        var refusals: [(rejection: LedgerRejection, entitlementID: String)] = []
        for entitlementID in candidates {
            let (ledgerCommand, events) = command(entitlementID)
            let answer = try await dependencies.ledger.submit(
                ledgerCommand, entitlementID: entitlementID, requestID: "\(tenant)/\(incidentID)/open/\(entitlementID)", events: events,
                requestedBy: tenant, at: at,
                traceparent: IntakeTrace.current?.child().traceparent
            )
            switch answer.outcome {
            case .success:
                for position in answer.events { logPublished(incident: position.incidentID, eventID: position.eventID, kind: "open") }
                return (entitlementID, answer)
            case .failure(let rejection) where rejection.code == .exhausted || rejection.code == .expired:
                refusals.append((rejection, entitlementID))
                continue
            case .failure(let rejection):
                throw IntakeFailure(rejection, entitlementID: entitlementID, account: account)
            }
        }
        // Every candidate was used up or expired meanwhile (opens racing for the last credits):
        // one candidate's refusal as the ledger said it; several named together, each with its reason.
        guard refusals.count > 1 else {
            throw IntakeFailure(refusals[0].rejection, entitlementID: refusals[0].entitlementID, account: account)
        }
        throw IntakeFailure.failedPrecondition(
            "account \(IntakeValidation.quoted(account)) has no entitlement that can pay for an incident now (every one tried was refused: "
                + refusals.map(\.rejection.message).joined(separator: "; ") + ")")
    }

    private func submit(
        _ command: LedgerCommand, entitlementID: String, requestID: String, events: [IncidentEvent], tenant: String
    ) async throws -> LedgerAnswer {
        guard !entitlementID.isEmpty else {
            throw IntakeFailure.failedPrecondition(
                "the incident has no entitlement on record; entitlement operations are not possible for it")
        }
        let answer = try await dependencies.ledger.submit(
            command, entitlementID: entitlementID, requestID: requestID, events: events, requestedBy: tenant,
            traceparent: IntakeTrace.current?.child().traceparent
        )
        if case .failure(let rejection) = answer.outcome { throw IntakeFailure(rejection, entitlementID: entitlementID, account: nil) }
        stats.withLock { $0.published += answer.events.count }
        for position in answer.events { logPublished(incident: position.incidentID, eventID: position.eventID, kind: "ledger") }
        return answer
    }

    /// One line per published event, with the incident and the call's trace id.
    private func logPublished(incident: String, eventID: String, kind: String) {
        logger.info(
            "event published",
            metadata: [
                "incident": "\(incident)", "event_id": "\(eventID)", "kind": "\(kind)",
                "trace_id": "\(IntakeTrace.current?.traceID ?? "-")",
            ]
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
        event.actor = IntakeActor.current ?? ""
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
    var requestID: String { get set }
    var incidentID: String { get }
}

extension Triage_V1_AcknowledgeRequest: IntakeIncidentRequest {}
extension Triage_V1_ReassignRequest: IntakeIncidentRequest {}
extension Triage_V1_TakeNextRequest: IntakeIncidentRequest {}
extension Triage_V1_AddNoteRequest: IntakeIncidentRequest {}
extension Triage_V1_ChangeSeverityRequest: IntakeIncidentRequest {}
extension Triage_V1_WaitOnCustomerRequest: IntakeIncidentRequest {}
extension Triage_V1_CustomerRespondedRequest: IntakeIncidentRequest {}
extension Triage_V1_DeliverSolutionRequest: IntakeIncidentRequest {}
extension Triage_V1_CloseResolvedRequest: IntakeIncidentRequest {}
extension Triage_V1_RequestCloseRequest: IntakeIncidentRequest {}
extension Triage_V1_CloseUnresolvedRequest: IntakeIncidentRequest {}
extension Triage_V1_ReopenIncidentRequest: IntakeIncidentRequest {}
extension Triage_V1_SplitIncidentRequest: IntakeIncidentRequest {}
extension Triage_V1_OverrideBillingRequest: IntakeIncidentRequest {}

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
    ///
    /// Status messages and details travel in HTTP/2 trailers (clients refuse more than 8–16 KiB):
    /// the message lists the first ``listedInMessage`` problems, the details the first
    /// ``listedInDetails``, each saying how many more there are.
    static func invalid(_ violations: [Violation]) -> Self {
        var listed = violations.prefix(listedInMessage).map { "\($0.field): \($0.description)" }
        if violations.count > listedInMessage { listed.append("and \(violations.count - listedInMessage) more") }
        var failure = Self(code: .invalidArgument, message: listed.joined(separator: "; "))
        failure.violations = Array(violations.prefix(listedInDetails))
        if violations.count > listedInDetails {
            failure.violations.append(.init(field: "(more)", description: "and \(violations.count - listedInDetails) more problems"))
        }
        return failure
    }

    static let listedInMessage = 10
    static let listedInDetails = 40

    /// The status sent to the client, with the field violations in `grpc-status-details-bin`.
    var rpcError: RPCError {
        guard !violations.isEmpty else { return RPCError(code: code, message: message) }
        let status = GoogleRPCStatus(
            code: code, message: message,
            details: [
                .badRequest(
                    violations: violations.map { ErrorDetails.BadRequest.FieldViolation(field: $0.field, description: $0.description) })
            ]
        )
        return RPCError(code: code, message: message, metadata: status.rpcErrorMetadata)
    }

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
    ///
    /// A rejection that would name another account (the entitlement's owner, the account an
    /// incident was charged by) is reworded: a caller learns only about its own account.
    init(_ rejection: LedgerRejection, entitlementID: String, account: String?) {
        switch rejection.code {
        case .unknownEntitlement: self.init(code: .notFound, message: "there is no entitlement \(IntakeValidation.quoted(entitlementID))")
        case .unknownIncident: self.init(code: .notFound, message: rejection.message)
        case .wrongAccount:
            self.init(
                code: .permissionDenied,
                message:
                    "entitlement \(IntakeValidation.quoted(entitlementID)) does not belong to account \(account.map(IntakeValidation.quoted) ?? "of the incident")"
            )
        case .invalid: self.init(code: .invalidArgument, message: rejection.message)
        case .conflict where rejection.message.contains(" account "):
            self.init(
                code: .alreadyExists,
                message: "the request conflicts with what entitlement \(entitlementID) has recorded for another request")
        case .conflict: self.init(code: .alreadyExists, message: rejection.message)
        case .expired, .notYetValid, .exhausted, .notClosedUnresolved: self.init(code: .failedPrecondition, message: rejection.message)
        }
    }
}

/// Deterministic ids from the tenant and the client's request id, each kind in its own hash
/// domain (the text hashed starts with the kind), so no client input can produce an id of
/// another kind.
public enum IntakeIDs {
    /// An incident opened by `OpenIncident`: from the tenant, the customer account, the request
    /// id and the request's content (`fingerprint`), so two accounts, or two different requests
    /// under one request id, can never share an incident, whatever the timing.
    public static func incident(tenant: String, account: String, requestID: String, fingerprint: String) -> String {
        "INC-" + digest(["incident", tenant, account, requestID, fingerprint]).prefix(16).uppercased()
    }

    /// The `index`th child of a split of `parent`: derived from the parent and the split's
    /// content, never from a client-chosen request id alone, so `OpenIncident` cannot reach it.
    public static func splitChild(tenant: String, parent: String, requestID: String, fingerprint: String, index: Int) -> String {
        "INC-" + digest(["split-child", tenant, parent, requestID, fingerprint, String(index)]).prefix(16).uppercased()
    }

    /// The directory key under which the first request with a request id is recorded (its
    /// incident's Opened event, or a split's first child's), so a later request with the same id
    /// finds what it was used for: `REQ-` + 32 hex digits, never an incident id.
    public static func requestKey(_ kind: String, tenant: String, scope: String, requestID: String) -> String {
        "REQ-" + digest(["request", kind, tenant, scope, requestID]).prefix(32)
    }

    /// The event a call publishes on `incident`: unique per incident, call kind, request and the
    /// request's content, so one event id never carries two contents.
    public static func event(tenant: String, incident: String, requestID: String, kind: String, fingerprint: String = "") -> String {
        "intake-" + digest(["event", tenant, incident, requestID, kind, fingerprint]).prefix(32)
    }

    /// SHA-256 of the parts, each prefixed with its length (no two part lists hash alike,
    /// whatever separators a client puts into its values).
    static func digest(_ parts: [String]) -> String {
        var bytes: [UInt8] = []
        for part in parts {
            let utf8 = Array(part.utf8)
            bytes += withUnsafeBytes(of: UInt32(utf8.count).bigEndian, Array.init)
            bytes += utf8
        }
        return hex(SHA256.hash(data: bytes))
    }

    /// Lowercase hex digits (`String(format:)` per byte was a tenth of the intake's CPU).
    static func hex(_ digest: SHA256.Digest) -> String {
        digest.withUnsafeBytes { bytes in
            String(unsafeUninitializedCapacity: bytes.count * 2) { buffer in
                for (index, byte) in bytes.enumerated() {
                    buffer[2 * index] = hexDigits[Int(byte >> 4)]
                    buffer[2 * index + 1] = hexDigits[Int(byte & 0x0f)]
                }
                return bytes.count * 2
            }
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}

/// The trace of the call being handled (set by ``IntakeService`` for the call's duration).
enum IntakeTrace {
    @TaskLocal static var current: TraceContext?
}

/// The person a staff tool acts for (`triage-actor` call metadata), stamped on every event the
/// call publishes as its `actor`: the audit trail.
enum IntakeActor {
    @TaskLocal static var current: String?

    /// The metadata key.
    static let metadataKey = "triage-actor"
    /// At most this many characters.
    static let limit = 128

    /// The actor a call names, if its tenant may name one: staff and admin tenants vouch for
    /// their users; a customer portal's claim is ignored (its events carry no actor).
    static func claimed(by tenant: Tenant, in metadata: Metadata) throws -> String? {
        guard tenant.isAdmin || tenant.kind == .staff, let value = metadata[stringValues: metadataKey].first(where: { _ in true }) else {
            return nil
        }
        guard !value.isEmpty, value.count <= limit, value.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
            throw IntakeFailure(
                code: .invalidArgument,
                message: "metadata \(metadataKey): give the signed-in user's name, 1 to \(limit) printable characters on one line")
        }
        return value
    }
}
