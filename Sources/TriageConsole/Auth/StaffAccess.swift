public import TriageAnalytics

/// Who may see and act on what: leads and admins every team; an agent the incidents of their
/// own team (its queue included) and any incident they hold.
public struct StaffAccess: Sendable {
    public let account: StaffAccount

    public init(_ account: StaffAccount) {
        self.account = account
    }

    /// Whether the account may see (and act on) the incident.
    public func allows(_ incident: IncidentSnapshot) -> Bool {
        allows(team: incident.team, assignedAgent: incident.assignedAgentID)
    }

    /// Whether the account may see an incident of `team` held by `assignedAgent` (empty: nobody).
    public func allows(team: String, assignedAgent: String) -> Bool {
        if account.role.seesEveryTeam { return true }
        if let agent = account.agentID, !agent.isEmpty, agent == assignedAgent { return true }
        if let own = account.team, !own.isEmpty, own == team { return true }
        return false
    }

    /// Whether the account may see the queue (and agents) of `team`.
    public func allows(team: String) -> Bool {
        account.role.seesEveryTeam || account.team == team
    }

    /// Whether the account may set the presence of `agentID` (their own; leads and admins anyone's).
    public func mayManage(agentID: String) -> Bool {
        account.role.seesEveryTeam || account.agentID == agentID
    }
}
