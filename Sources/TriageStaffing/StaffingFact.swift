public import Foundation
public import TriageCore
public import TriageSLA

/// A lifecycle fact as the staffing replay reads it from history (the translation from
/// `IncidentEvent` lives in TriageRoutingEvents, `StaffingFact.init?(_:)`).
///
/// Facts about the incident itself (opened, severity, pauses, the customer's close, reopened)
/// keep their instant in the replay. Facts about its handling by the agent who holds it
/// (acknowledged, closed by an agent) are re-timed after the replayed assignment (see
/// ``StaffingReplay``); a historical assignment (`assigned`) only tells when that handling began.
public struct StaffingFact: Sendable, Hashable {
    /// What an Opened says about routing and the SLA.
    public struct Opening: Sendable, Hashable {
        /// `nil`: the replay's default team (``StaffingReplay/Configuration/defaultTeam``).
        public var team: String?
        public var severity: SupportSeverity
        public var product: String
        /// BCP 47 tag; `nil`: any agent will do.
        public var language: String?
        public var customer: String?
        public var coverage: SlaCoverage

        public init(
            team: String?, severity: SupportSeverity, product: String, language: String? = nil, customer: String? = nil,
            coverage: SlaCoverage = .businessHours
        ) {
            self.team = team
            self.severity = severity
            self.product = product
            self.language = language
            self.customer = customer
            self.coverage = coverage
        }
    }

    public enum Kind: Sendable, Hashable {
        case opened(Opening)
        /// The router (or a person) gave the incident to an agent: Assigned or Reassigned. Only
        /// the first one after an opening or reopening counts.
        case assigned
        /// The first response.
        case acknowledged
        case severityChanged(SupportSeverity)
        /// WaitingOnCustomer (the SLA pause).
        case paused(reason: String, resumeAt: Date?)
        case customerResponded
        /// ClosedResolved or ClosedUnresolved: the agent's work ends.
        case closedByAgent
        /// CloseRequestedByCustomer: ends whenever the customer says so.
        case closedByCustomer
        case reopened
    }

    public var incident: String
    public var at: Date
    public var kind: Kind

    public init(incident: String, at: Date, kind: Kind) {
        self.incident = incident
        self.at = at
        self.kind = kind
    }
}
