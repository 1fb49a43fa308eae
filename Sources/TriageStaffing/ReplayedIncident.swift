import Foundation
import TriageRouting
import TriageSLA

/// One incident as a ``RosterReplay`` has it: where it is routed, its SLA state and what
/// happened to its current spell under that roster.
struct ReplayedIncident {
    var routing: RoutingIncident
    /// The team of the opening or reopening (the report's group).
    var homeTeam: String
    var spell: Int
    var startedAt: Date
    var open = true
    var assignedAt: Date?
    var firstAgent: String?
    var firstAgentTeam: String?
    var sla: IncidentSla
    var acknowledgeScheduled = false
    var releaseScheduled = false
    /// When the scheduled release is due.
    var releaseAt: Date?
    var firstResponse: StaffingOutcome.FirstResponse?
    var firstResponseMinutes: Double?
    var teamChanges = 0

    init(routing: RoutingIncident, spell: Int, startedAt: Date, sla: IncidentSla) {
        self.routing = routing
        self.homeTeam = routing.team
        self.spell = spell
        self.startedAt = startedAt
        self.sla = sla
    }
}
