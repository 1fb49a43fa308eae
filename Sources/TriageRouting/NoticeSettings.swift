/// Which notices the router asks the notifier for (the roster's `notifications` section,
/// docs/roster.md). Both on by default.
public struct NoticeSettings: Sendable, Hashable {
    /// `assigned` to `agent:<id>` on every Assigned and Reassigned.
    public var agents: Bool
    /// `customer-update` to `customer:<account>` on acknowledgement, solution delivered and close.
    public var customers: Bool

    public init(agents: Bool = true, customers: Bool = true) {
        self.agents = agents
        self.customers = customers
    }
}
