/// What a signed-in person may see and do in the console.
///
/// - ``agent``: their own incidents and their team's queue; acts on those, takes the next
///   incident of the team's queue, sets their own presence.
/// - ``lead``: every team; acts on every incident; sets anyone's presence.
/// - ``admin``: as a lead (and, later, the console's own administration).
public enum StaffRole: String, Sendable, Hashable, CaseIterable {
    case agent
    case lead
    case admin

    /// Leads and admins see (and act on) every team.
    public var seesEveryTeam: Bool { self != .agent }
}
