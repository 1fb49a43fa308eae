import GRPCCore
import TriageSchema

// The staff calls (Reassign, TakeNext, SetPresence). Until the generated client has them, they
// are refused here with UNIMPLEMENTED.
extension IntakeGateway {
    func reassign(incident: String, toAgent: String?, toQueue: Bool, note: String, requestID: String, metadata: Metadata) async throws
        -> Triage_V1_IntakeReceipt
    {
        throw RPCError(code: .unimplemented, message: "this intake has no Reassign call yet")
    }

    /// Takes `incident` (a waiting one of the agent's team) for `agentID`.
    public func takeNext(agentID: String, incident: String, actor: String, requestID: String) async -> ActionOutcome {
        Self.refusal(
            RPCError(code: .unimplemented, message: "this intake has no TakeNext call yet"), action: "take-next", incident: incident,
            logger: logger)
    }

    /// Sets the presence of `agentID` (`online`, `away`, `offline`).
    public func setPresence(agentID: String, presence: String, actor: String, requestID: String) async -> ActionOutcome {
        Self.refusal(
            RPCError(code: .unimplemented, message: "this intake has no SetPresence call yet"), action: "presence", incident: agentID,
            logger: logger)
    }
}
