public import Foundation
public import TriageDashboard

/// An incident as the Incidents list shows it.
public struct IncidentRow: Sendable, Hashable {
    public var id: String
    public var title: String
    /// `A`, `B`, `C` or empty.
    public var severity: String
    public var status: String
    public var team: String
    public var assignedAgent: String
    public var customer: String
    public var product: String
    public var openedAt: Date?
    /// The countdown of the target it is measured against now (open incidents).
    public var countdown: DashboardSnapshot.Countdown?
    /// `breached`, `at_risk`, `paused`, `running`, `stopped` (closed, or no target clock), `none`.
    public var clockState: String
    public var isClosed: Bool
}
