public import Foundation
import SwiftProtobuf
import TriageCore
public import TriageRouting
import TriageSLAEvents
public import TriageSchema

// Between the contract (agent.proto, incident.proto) and the routing domain: what a roster
// record says about an agent, what a lifecycle event asks of a desk, and the event a desk's
// decision is published as. The only place routing is translated (workers and commands use this).

extension Presence {
    public init(_ presence: Triage_V1_Presence) {
        switch presence {
        case .online: self = .online
        case .away: self = .away
        default: self = .offline
        }
    }

    public var proto: Triage_V1_Presence {
        switch self {
        case .online: .online
        case .away: .away
        case .offline: .offline
        }
    }
}

extension Agent {
    /// The routing profile an `AgentProfile` record gives agent `id`.
    public init(id: String, profile: Triage_V1_AgentProfile) {
        self.init(
            id: id, team: profile.team, skills: Set(profile.products), languages: Set(profile.languages), capacity: Int(profile.capacity),
            shiftCalendar: profile.shiftCalendarID.isEmpty ? nil : profile.shiftCalendarID
        )
    }
}

extension AgentEvent {
    /// The most load units an agent profile may give (a roster file has no limit, but a
    /// capacity this high is a mistake or an attack, not a person).
    public static let maximumCapacity: UInt32 = 10_000

    /// Why this agent event cannot be applied (`nil`: it can), as a roster file would refuse
    /// it. `key`: the record's key, which must be the agent's id (it decides the partition, and
    /// only one partition keeps one agent's events in order).
    public func rosterProblem(key: String?) -> String? {
        if agentID.isEmpty { return "no agent_id" }
        if let key, key != agentID { return "the record key '\(key)' is not the agent_id '\(agentID)'" }
        if !occurredAt.isInProtobufRange { return "occurred_at is outside the Timestamp range (years 1 to 9999)" }
        switch event {
        case .profile(let profile):
            if profile.team.isEmpty { return "profile of '\(agentID)' has no team" }
            if profile.capacity == 0 || profile.capacity > Self.maximumCapacity {
                return "profile of '\(agentID)': capacity \(profile.capacity) is not in 1...\(Self.maximumCapacity) load units"
            }
        case .presenceChanged(let change):
            switch change.presence {
            case .online, .away, .offline: break
            default: return "presence of '\(agentID)' is not online, away or offline (\(change.presence.rawValue))"
            }
        case nil:
            return "neither a profile nor a presence change"
        }
        return nil
    }
}

/// An agent as the roster topic (`triage.agent-events`) has it: the latest profile and presence.
public struct RosterEntry: Sendable, Hashable {
    public var profile: Agent?
    public var presence: Presence

    public init(profile: Agent? = nil, presence: Presence = .offline) {
        self.profile = profile
        self.presence = presence
    }

    /// The entry after `event` (a profile or a presence change) of the same agent.
    public func after(_ event: AgentEvent) -> RosterEntry {
        var entry = self
        switch event.event {
        case .profile(let profile): entry.profile = Agent(id: event.agentID, profile: profile)
        case .presenceChanged(let change): entry.presence = Presence(change.presence)
        case nil: break
        }
        return entry
    }
}

/// The incident attributes the dispatcher carries along with a routing record (in headers), for
/// events that do not carry them (a Reopened is routed again like a new incident).
public struct RoutedAttributes: Sendable, Hashable {
    /// The contract's severity number (`Severity.rawValue`).
    public var severity: Int?
    public var product: String
    public var language: String
    /// The customer account (empty: not known).
    public var customer: String
    /// When the incident was opened (a TeamChanged keeps its place in the new team's queue).
    public var openedAt: Date?

    public init(severity: Int?, product: String = "", language: String = "", customer: String = "", openedAt: Date? = nil) {
        self.severity = severity
        self.product = product
        self.language = language
        self.customer = customer
        self.openedAt = openedAt
    }
}

extension RoutingInput {
    /// What lifecycle `event` of an incident of `team` asks of the team's desk; `nil`: nothing.
    public init?(_ event: IncidentEvent, team: String, attributes: @autoclosure () -> RoutedAttributes) {
        switch event.event {
        case .opened(let opened):
            guard let severity = SupportSeverity(opened.severity) else { return nil }
            self = .opened(
                RoutingIncident(
                    id: event.incidentID, team: team, severity: severity, product: opened.product,
                    language: opened.language.isEmpty ? nil : opened.language, openedAt: event.occurredAt.date,
                    customer: opened.customerAccount.isEmpty ? nil : opened.customerAccount
                )
            )
        case .acknowledged: self = .acknowledged(incident: event.incidentID)
        case .severityChanged(let change):
            guard let severity = SupportSeverity(change.to) else { return nil }
            self = .severityChanged(incident: event.incidentID, to: severity)
        case .closedResolved, .closedUnresolved, .closeRequestedByCustomer: self = .released(incident: event.incidentID)
        case .reopened:
            let attributes = attributes()
            guard let number = attributes.severity, let severity = Severity(rawValue: number).flatMap(SupportSeverity.init) else {
                return nil
            }
            self = .reopened(
                RoutingIncident(
                    id: event.incidentID, team: team, severity: severity, product: attributes.product,
                    language: attributes.language.isEmpty ? nil : attributes.language, openedAt: event.occurredAt.date,
                    customer: attributes.customer.isEmpty ? nil : attributes.customer
                )
            )
        case .teamChanged(let moved) where moved.toTeam == team:
            // Arrives from another team's desk: queued like a new incident, keeping its age.
            let attributes = attributes()
            guard let number = attributes.severity, let severity = Severity(rawValue: number).flatMap(SupportSeverity.init) else {
                return nil
            }
            self = .transferred(
                RoutingIncident(
                    id: event.incidentID, team: team, severity: severity, product: attributes.product,
                    language: attributes.language.isEmpty ? nil : attributes.language,
                    openedAt: attributes.openedAt ?? event.occurredAt.date,
                    customer: attributes.customer.isEmpty ? nil : attributes.customer
                )
            )
        case .escalated(let escalated) where escalated.reassignRequested:
            self = .reassignRequested(incident: event.incidentID, cause: "sla_breach")
        case .reassignRequested(let request):
            if request.toQueue {
                self = .returnRequested(incident: event.incidentID)
            } else if !request.toAgentID.isEmpty {
                self = .assignRequested(incident: event.incidentID, agent: request.toAgentID, onlyIfWaiting: request.onlyIfWaiting)
            } else {
                self = .reassignRequested(incident: event.incidentID, cause: AssignmentReason.Cause.requested)
            }
        default: return nil
        }
    }
}

extension IncidentEvent {
    /// The lifecycle event a desk's `decision` is published as (Assigned, Reassigned,
    /// ReturnedToQueue), with an id derived from what triggered it; `nil` for a decision that
    /// publishes nothing (queued).
    public init?(routing decision: RoutingDecision, trigger: String, at: Date) {
        self.init()
        producer = TriageProducer.router
        occurredAt = Google_Protobuf_Timestamp(date: at)
        incidentID = decision.incident
        switch decision {
        case .assigned(let incident, let agent, let reason):
            eventID = Self.routingID("\(trigger)|\(incident)|assigned|\(agent)")
            assigned = .with {
                $0.agentID = agent
                $0.reason = Triage_V1_AssignmentReason(reason)
            }
        case .reassigned(let incident, let from, let to, let reason):
            eventID = Self.routingID("\(trigger)|\(incident)|reassigned|\(from)|\(to)")
            reassigned = .with {
                $0.fromAgentID = from
                $0.toAgentID = to
                $0.reason = Triage_V1_AssignmentReason(reason)
            }
        case .unassigned(let incident, let from, let cause):
            // Back to the queue, published so the record of who holds what stays complete on
            // the lifecycle topic.
            eventID = Self.routingID("\(trigger)|\(incident)|unassigned|\(from)")
            returnedToQueue = .with {
                $0.fromAgentID = from
                $0.reason = .with { $0.cause = cause }
            }
        case .teamChanged(let incident, let from, let to, let cause, let detail):
            eventID = Self.routingID("\(trigger)|\(incident)|team|\(from)|\(to)")
            teamChanged = .with {
                $0.fromTeam = from
                $0.toTeam = to
                $0.cause = cause
                $0.detail = detail
            }
        case .queued, .queueWaiting:
            return nil
        }
    }

    private static func routingID(_ text: String) -> String { "route-" + StableHash.hex128(text) }
}

extension Triage_V1_AssignmentReason {
    public init(_ reason: AssignmentReason) {
        self.init()
        cause = reason.cause
        matchedSkills = reason.matchedSkills
        loadBefore = UInt32(max(0, reason.loadBefore))
        loadAfter = UInt32(max(0, reason.loadAfter))
        capacity = UInt32(max(0, reason.capacity))
        candidatesConsidered = UInt32(max(0, reason.candidatesConsidered))
    }
}

extension Roster {
    /// The roster as agent events: each agent's profile, then its presence when the roster
    /// gives one, stamped `now` (ids unique to the second, so publishing again is a new fact).
    public func agentEvents(source: String, at now: Date) -> [AgentEvent] {
        let stamp = Int(now.timeIntervalSince1970)
        var events: [AgentEvent] = []
        for agent in agents {
            events.append(
                .with {
                    $0.eventID = "roster-\(agent.id)-\(stamp)"
                    $0.agentID = agent.id
                    $0.occurredAt = Google_Protobuf_Timestamp(date: now)
                    $0.producer = source
                    $0.profile = .with {
                        $0.displayName = agent.id
                        $0.team = agent.team
                        $0.products = agent.skills.sorted()
                        $0.languages = agent.languages.sorted()
                        $0.capacity = UInt32(agent.capacity)
                        $0.shiftCalendarID = agent.shiftCalendar ?? ""
                    }
                })
            if let presence = initialPresence[agent.id] {
                events.append(
                    .with {
                        $0.eventID = "presence-\(agent.id)-\(stamp)"
                        $0.agentID = agent.id
                        $0.occurredAt = Google_Protobuf_Timestamp(date: now)
                        $0.producer = source
                        $0.presenceChanged = .with { $0.presence = presence.proto }
                    })
            }
        }
        return events
    }
}
