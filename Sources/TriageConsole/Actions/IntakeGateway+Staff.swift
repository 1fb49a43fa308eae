import GRPCCore
import TriageSchema

// The staff calls: Reassign, TakeNext (a take of one waiting incident) and SetPresence.
extension IntakeGateway {
    func reassign(incident: String, toAgent: String?, toQueue: Bool, note: String, requestID: String, metadata: Metadata) async throws
        -> Triage_V1_IntakeReceipt
    {
        var request = Triage_V1_ReassignRequest()
        (request.requestID, request.incidentID, request.toAgentID, request.toQueue, request.note) = (
            requestID, incident, toAgent ?? "", toQueue, note
        )
        return try await intake.reassign(request, metadata: metadata, options: options)
    }

    /// Takes `incident` (a waiting one of the agent's team) for `agentID`.
    public func takeNext(agentID: String, incident: String, actor: String, requestID: String) async -> ActionOutcome {
        var request = Triage_V1_TakeNextRequest()
        (request.requestID, request.agentID, request.incidentID) = (requestID, agentID, incident)
        do {
            let receipt = try await intake.takeNext(request, metadata: metadata(actor: actor), options: options)
            return .done("Asked to take \(incident) (event \(receipt.eventID)); it is yours unless someone was faster")
        } catch {
            return Self.refusal(error, action: "take-next", incident: incident, logger: logger)
        }
    }

    /// Sets the presence of `agentID` (`online`, `away`, `offline`).
    public func setPresence(agentID: String, presence: String, actor: String, requestID: String) async -> ActionOutcome {
        var request = Triage_V1_SetPresenceRequest()
        (request.requestID, request.agentID) = (requestID, agentID)
        request.presence =
            switch presence {
            case "online": .online
            case "away": .away
            default: .offline
            }
        do {
            let receipt = try await intake.setPresence(request, metadata: metadata(actor: actor), options: options)
            return .done("\(agentID) is now \(presence) (event \(receipt.eventID))")
        } catch {
            return Self.refusal(error, action: "presence", incident: agentID, logger: logger)
        }
    }
}
