/// A person who signs in to the console, as the accounts file (``StaffDirectory``) describes them.
public struct StaffAccount: Sendable, Hashable {
    /// The sign-in name; also the actor stamped on every event the person causes.
    public var username: String
    /// Shown in the header and on timelines.
    public var displayName: String
    public var role: StaffRole
    /// The agent id routing knows them by (agents: required; leads and admins: optional, when
    /// they also take incidents).
    public var agentID: String?
    /// Their team (agents: required).
    public var team: String?
    /// bcrypt hash of the password (`triage console hash-password`); never the password.
    public var passwordHash: String

    public init(username: String, displayName: String, role: StaffRole, agentID: String? = nil, team: String? = nil, passwordHash: String) {
        self.username = username
        self.displayName = displayName
        self.role = role
        self.agentID = agentID
        self.team = team
        self.passwordHash = passwordHash
    }
}
