import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import SwiftProtobuf
import TriageIntake
import TriageSchema

/// A command-line client of the intake's gRPC service.
struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call the intake's gRPC service: one RPC, the request as JSON, the answer printed as JSON.",
        discussion: """
            METHOD is an RPC of triage.v1.IncidentIntake (schemas/triage/v1/intake.proto): \
            \(CallCommand.methods.joined(separator: ", ")). REQUEST is the request message in \
            protobuf's JSON mapping (lowerCamelCase or the proto field names), or '-' to read it from \
            stdin. The bearer token comes from --token or $TRIAGE_TOKEN.

            Examples:
              triage call OpenIncident '{"requestId":"r1","customerAccount":"ACME","product":"billing",
                "language":"en","severity":"SEVERITY_B","customerTimeZone":"Europe/Zurich","title":"invoices fail"}'
              triage call Acknowledge '{"requestId":"r2","incidentId":"INC-…","agentId":"ana"}'
              triage call GetIncident '{"incidentId":"INC-…"}'
              triage call Reassign '{"requestId":"r3","incidentId":"INC-…","toQueue":true}' --actor lee

            The answer is printed in protobuf's JSON mapping, which leaves out fields at their zero \
            value: no "partition" means partition 0, no "creditsRemaining" means none left, no \
            "creditRefunded" means false.

            A failed call prints the gRPC status code (e.g. FAILED_PRECONDITION) and message on \
            stderr and exits 2; for INVALID_ARGUMENT every field to fix follows on its own line (the \
            google.rpc.BadRequest field violations of the status details).
            """
    )

    static let methods = [
        "OpenIncident", "Acknowledge", "AddNote", "ChangeSeverity", "WaitOnCustomer", "CustomerResponded", "Split", "DeliverSolution",
        "CloseResolved", "CloseUnresolved", "RequestClose", "Reopen", "OverrideBilling", "GetIncident", "Reassign", "TakeNext",
        "SetPresence",
    ]

    @Argument(help: "The RPC, e.g. OpenIncident.") var method: String
    @Argument(help: "The request as JSON, or - for stdin.") var request: String = "{}"
    @Option(help: "The intake's address, host:port.") var intake: String = "127.0.0.1:50051"
    @Option(help: "Bearer token (default: $TRIAGE_TOKEN).") var token: String?
    @Flag(help: "Use TLS (the system's trust roots, or --ca).") var tls = false
    @Option(help: "PEM file of the certificate authority (or self-signed certificate) to trust.") var ca: String?
    @Option(help: "Seconds before the call is abandoned (DEADLINE_EXCEEDED).") var timeout: Double = 30
    @Option(help: "The person a staff tenant acts for (triage-actor metadata; stamped on the events as their actor).")
    var actor: String?

    func validate() throws {
        guard Self.methods.contains(method) else {
            throw ValidationError("unknown method '\(method)'; one of: \(Self.methods.joined(separator: ", "))")
        }
        guard intake.split(separator: ":").count == 2, Int(intake.split(separator: ":")[1]) != nil else {
            throw ValidationError("--intake must be host:port, e.g. 127.0.0.1:50051")
        }
    }

    func run() async throws {
        let json = request == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : request
        guard let token = token ?? ProcessInfo.processInfo.environment["TRIAGE_TOKEN"], !token.isEmpty else {
            throw ValidationError("no bearer token: pass --token or set TRIAGE_TOKEN")
        }
        var metadata = Metadata()
        metadata.addString("Bearer \(token)", forKey: "authorization")
        if let actor { metadata.addString(actor, forKey: "triage-actor") }
        var options = CallOptions.defaults
        options.timeout = .milliseconds(Int64(timeout * 1000))
        let parts = intake.split(separator: ":")
        let security: HTTP2ClientTransport.Posix.TransportSecurity =
            if let ca {
                .tls { $0.trustRoots = .certificates([.file(path: ca, format: .pem)]) }
            } else if tls {
                .tls
            } else {
                .plaintext
            }
        let method = self.method
        let output: String
        do {
            output = try await withGRPCClient(
                transport: .http2NIOPosix(target: .dns(host: String(parts[0]), port: Int(parts[1])!), transportSecurity: security)
            ) { client in
                try await Self.call(
                    method, json: json, on: Triage_V1_IncidentIntake.Client(wrapping: client), metadata: metadata, options: options)
            }
        } catch let error as RPCError {
            var text = "\(IntakeService.statusName(error.code)): \(error.message)\n"
            // The fields to fix, as the intake sent them in the status details (google.rpc.BadRequest).
            for detail in (try? error.unpackGoogleRPCStatus())?.details ?? [] {
                guard let request = detail.badRequest else { continue }
                for violation in request.violations { text += "  \(violation.field): \(violation.violationDescription)\n" }
            }
            FileHandle.standardError.write(Data(text.utf8))
            throw ExitCode(2)
        } catch let error as SwiftProtobuf.JSONDecodingError {
            throw ValidationError("the request is not a valid \(method) request in protobuf JSON: \(error)")
        }
        print(output)
    }

    static func call(
        _ method: String, json: String, on intake: Triage_V1_IncidentIntake.Client<HTTP2ClientTransport.Posix>, metadata: Metadata,
        options: CallOptions
    ) async throws -> String {
        var printing = JSONEncodingOptions()
        printing.alwaysPrintEnumsAsInts = false
        func decode<M: SwiftProtobuf.Message>(_: M.Type) throws -> M { try M(jsonString: json) }
        func text(_ message: some SwiftProtobuf.Message) throws -> String { try message.jsonString(options: printing) }
        switch method {
        case "OpenIncident":
            return try text(
                try await intake.openIncident(try decode(Triage_V1_OpenIncidentRequest.self), metadata: metadata, options: options))
        case "Acknowledge":
            return try text(
                try await intake.acknowledge(try decode(Triage_V1_AcknowledgeRequest.self), metadata: metadata, options: options))
        case "AddNote":
            return try text(try await intake.addNote(try decode(Triage_V1_AddNoteRequest.self), metadata: metadata, options: options))
        case "ChangeSeverity":
            return try text(
                try await intake.changeSeverity(try decode(Triage_V1_ChangeSeverityRequest.self), metadata: metadata, options: options))
        case "WaitOnCustomer":
            return try text(
                try await intake.waitOnCustomer(try decode(Triage_V1_WaitOnCustomerRequest.self), metadata: metadata, options: options))
        case "CustomerResponded":
            return try text(
                try await intake.customerResponded(
                    try decode(Triage_V1_CustomerRespondedRequest.self), metadata: metadata, options: options))
        case "Split":
            return try text(try await intake.split(try decode(Triage_V1_SplitIncidentRequest.self), metadata: metadata, options: options))
        case "DeliverSolution":
            return try text(
                try await intake.deliverSolution(try decode(Triage_V1_DeliverSolutionRequest.self), metadata: metadata, options: options))
        case "CloseResolved":
            return try text(
                try await intake.closeResolved(try decode(Triage_V1_CloseResolvedRequest.self), metadata: metadata, options: options))
        case "CloseUnresolved":
            return try text(
                try await intake.closeUnresolved(try decode(Triage_V1_CloseUnresolvedRequest.self), metadata: metadata, options: options))
        case "RequestClose":
            return try text(
                try await intake.requestClose(try decode(Triage_V1_RequestCloseRequest.self), metadata: metadata, options: options))
        case "Reopen":
            return try text(try await intake.reopen(try decode(Triage_V1_ReopenIncidentRequest.self), metadata: metadata, options: options))
        case "OverrideBilling":
            return try text(
                try await intake.overrideBilling(try decode(Triage_V1_OverrideBillingRequest.self), metadata: metadata, options: options))
        case "GetIncident":
            return try text(
                try await intake.getIncident(try decode(Triage_V1_GetIncidentRequest.self), metadata: metadata, options: options))
        case "Reassign":
            return try text(try await intake.reassign(try decode(Triage_V1_ReassignRequest.self), metadata: metadata, options: options))
        case "TakeNext":
            return try text(try await intake.takeNext(try decode(Triage_V1_TakeNextRequest.self), metadata: metadata, options: options))
        case "SetPresence":
            return try text(
                try await intake.setPresence(try decode(Triage_V1_SetPresenceRequest.self), metadata: metadata, options: options))
        default: throw ValidationError("unknown method '\(method)'")
        }
    }
}
