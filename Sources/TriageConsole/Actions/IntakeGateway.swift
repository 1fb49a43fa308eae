import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
public import Logging
public import ServiceLifecycle
import SwiftProtobuf
import TriageCore
import TriageIntake
import TriageSchema

/// The console's only way to change anything: the intake's gRPC API, with an admin tenant's
/// bearer token and the signed-in person in the `triage-actor` metadata (the intake stamps it on
/// the event as its `actor`). One long-lived client; as a `Service`, ``run()`` keeps its
/// connections until graceful shutdown.
///
/// The token is never logged or shown; a refused call (any gRPC error) becomes an
/// ``ActionOutcome`` carrying the intake's code and message.
public final class IntakeGateway: Service, Sendable {
    /// `host:port` of the intake.
    public let address: String
    let client: GRPCClient<HTTP2ClientTransport.Posix>
    let intake: Triage_V1_IncidentIntake.Client<HTTP2ClientTransport.Posix>
    private let token: String
    private let timeout: Duration
    let logger: Logger

    /// - Parameters:
    ///   - host, port: the intake's gRPC address.
    ///   - token: an admin (or staff) tenant's bearer token.
    ///   - tls: use TLS with the system's trust roots. Default `false`.
    public init(host: String, port: Int, token: String, tls: Bool = false, timeout: Duration = .seconds(10), logger: Logger) throws {
        address = "\(host):\(port)"
        let transport = try HTTP2ClientTransport.Posix(target: .dns(host: host, port: port), transportSecurity: tls ? .tls : .plaintext)
        client = GRPCClient(transport: transport)
        intake = Triage_V1_IncidentIntake.Client(wrapping: client)
        self.token = token
        self.timeout = timeout
        self.logger = logger
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await client.runConnections()
        } onGracefulShutdown: { [client] in
            client.beginGracefulShutdown()
        }
    }

    func metadata(actor: String) -> Metadata {
        var metadata = Metadata()
        metadata.addString("Bearer \(token)", forKey: "authorization")
        metadata.addString(actor, forKey: "triage-actor")
        return metadata
    }

    var options: CallOptions {
        var options = CallOptions.defaults
        options.timeout = timeout
        return options
    }

    /// Sends `action` on `incident` for `actor`; `agentID` is the agent the call names where it
    /// needs one (acknowledge, deliver solution).
    public func perform(_ action: IncidentAction, incident: String, agentID: String, actor: String, requestID: String) async
        -> ActionOutcome
    {
        let metadata = metadata(actor: actor)
        let options = options
        do {
            let receipt: Triage_V1_IntakeReceipt
            switch action {
            case .acknowledge:
                var request = Triage_V1_AcknowledgeRequest()
                (request.requestID, request.incidentID, request.agentID) = (requestID, incident, agentID)
                receipt = try await intake.acknowledge(request, metadata: metadata, options: options)
            case .addNote(let text, let isPublic):
                var request = Triage_V1_AddNoteRequest()
                (request.requestID, request.incidentID, request.author, request.text, request.public) = (
                    requestID, incident, actor, text, isPublic
                )
                receipt = try await intake.addNote(request, metadata: metadata, options: options)
            case .changeSeverity(let severity, let reason):
                var request = Triage_V1_ChangeSeverityRequest()
                (request.requestID, request.incidentID, request.reason) = (requestID, incident, reason)
                request.severity = Self.severity(severity)
                receipt = try await intake.changeSeverity(request, metadata: metadata, options: options)
            case .waitOnCustomer(let reason, let pauseReason, let resumeAfterHours):
                var request = Triage_V1_WaitOnCustomerRequest()
                (request.requestID, request.incidentID, request.reason) = (requestID, incident, reason)
                request.pauseReason = pauseReason
                if let resumeAfterHours {
                    request.resumeAt = Google_Protobuf_Timestamp(date: Date().addingTimeInterval(resumeAfterHours * 3600))
                }
                receipt = try await intake.waitOnCustomer(request, metadata: metadata, options: options)
            case .customerResponded:
                var request = Triage_V1_CustomerRespondedRequest()
                (request.requestID, request.incidentID) = (requestID, incident)
                receipt = try await intake.customerResponded(request, metadata: metadata, options: options)
            case .reassign(let toAgent, let toQueue, let note):
                receipt = try await reassign(
                    incident: incident, toAgent: toAgent, toQueue: toQueue, note: note, requestID: requestID, metadata: metadata)
            case .deliverSolution(let summary):
                var request = Triage_V1_DeliverSolutionRequest()
                (request.requestID, request.incidentID, request.agentID, request.summary) = (requestID, incident, agentID, summary)
                receipt = try await intake.deliverSolution(request, metadata: metadata, options: options)
            case .closeResolved:
                var request = Triage_V1_CloseResolvedRequest()
                (request.requestID, request.incidentID, request.closedBy) = (requestID, incident, actor)
                receipt = try await intake.closeResolved(request, metadata: metadata, options: options)
            case .closeUnresolved(let reason):
                var request = Triage_V1_CloseUnresolvedRequest()
                (request.requestID, request.incidentID, request.closedBy, request.closerRole, request.reason) = (
                    requestID, incident, actor, "agent", reason
                )
                let answer = try await intake.closeUnresolved(request, metadata: metadata, options: options)
                let billing = answer.creditRefunded ? "credit refunded" : "credit kept"
                return .done("\(Self.done(action)) (event \(answer.receipt.eventID); \(billing) by \(answer.billingRule))")
            }
            return .done("\(Self.done(action)) (event \(receipt.eventID))")
        } catch {
            return Self.refusal(error, action: action.name, incident: incident, logger: logger)
        }
    }

    /// The past tense shown after success.
    static func done(_ action: IncidentAction) -> String {
        switch action {
        case .acknowledge: "Acknowledged"
        case .addNote(_, let isPublic): isPublic ? "Public note added" : "Internal note added"
        case .changeSeverity(let severity, _): "Severity changed to \(severity.rawValue)"
        case .waitOnCustomer: "SLA paused (waiting)"
        case .customerResponded: "Customer responded (SLA resumed)"
        case .reassign(let agent?, _, _): "Reassignment to \(agent) requested"
        case .reassign(nil, true, _): "Returned to the queue (requested)"
        case .reassign: "Reassignment requested"
        case .deliverSolution: "Solution delivered"
        case .closeResolved: "Closed resolved"
        case .closeUnresolved: "Closed unresolved"
        }
    }

    static func severity(_ severity: SupportSeverity) -> Severity {
        switch severity {
        case .a: .a
        case .b: .b
        case .c: .c
        }
    }

    /// The intake's answer to a refused call: its code and message, for the person.
    static func refusal(_ error: any Error, action: String, incident: String, logger: Logger) -> ActionOutcome {
        logger.info("intake refused", metadata: ["action": "\(action)", "target": "\(incident)", "error": "\(error)"])
        if let rpc = error as? RPCError {
            return .refused("The intake refused: \(IntakeService.statusName(rpc.code)): \(rpc.message)")
        }
        return .refused("The intake could not be reached: \(error)")
    }
}
