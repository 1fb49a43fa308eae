public import Foundation

/// What an entitlement is created from.
public struct GrantSpec: Sendable, Codable, Equatable {
    public var id: String
    public var kind: ContractKind
    /// The purchasing account.
    public var account: String
    public var purchasedAt: Date
    /// IANA id of the zone the term's anniversary is computed in. Default `"UTC"`.
    public var timeZone: String
    /// Packs: the number of credits, default 5 (`nil`). Contracts: must be `nil` (unlimited).
    public var credits: Int?
    /// Packs: default business hours. Contracts: default, and must be, the kind's coverage.
    public var coverage: EntitlementCoverage?
    /// The business calendar name for business-hours coverage; `nil` for the default calendar.
    public var calendar: String?
    /// The term in years. Default 1.
    public var termYears: Int

    public init(
        id: String, kind: ContractKind, account: String, purchasedAt: Date, timeZone: String = "UTC", credits: Int? = nil,
        coverage: EntitlementCoverage? = nil, calendar: String? = nil, termYears: Int = 1
    ) {
        self.id = id
        self.kind = kind
        self.account = account
        self.purchasedAt = purchasedAt
        self.timeZone = timeZone
        self.credits = credits
        self.coverage = coverage
        self.calendar = calendar
        self.termYears = termYears
    }

    /// Packs get this many credits unless the grant says otherwise.
    public static let defaultPackCredits = 5
}

/// Who closed an incident (billing policies can tell them apart).
public enum CloserRole: String, Sendable, Codable, CaseIterable {
    case customer, agent, system, admin
}

/// A request to the entitlement ledger, carrying the instant it was received (`at`), so that
/// applying it again gives the same decision. See ``EntitlementLedger/apply(_:to:entitlementID:policy:)``.
public enum LedgerCommand: Sendable, Codable, Equatable {
    /// Create the entitlement (idempotent for an identical spec).
    case grant(GrantSpec)
    /// Open an incident: a pack is charged one credit, a contract counts it. `fingerprint`
    /// identifies the request's content: a repeat of the open must carry the same one.
    case open(incidentID: String, account: String, at: Date, parentIncidentID: String?, fingerprint: String? = nil)
    /// Open each subordinate problem of an incident as its own incident, all or none.
    case split(parentIncidentID: String, childIncidentIDs: [String], account: String, at: Date, fingerprint: String? = nil)
    /// Record the billing decision for an incident closed without a resolution.
    case closeUnresolved(incidentID: String, at: Date, closedBy: CloserRole, reason: String, severity: String?, openedAt: Date?)
    /// An admin's billing decision, replacing the policy's (or deciding before the close).
    case overrideBilling(incidentID: String, refund: Bool, by: String, note: String?, at: Date)
    /// Reopen an incident; a refunded credit is taken again.
    case reopen(incidentID: String, at: Date)
    /// Move the entitlement (and its remaining credits) to another account.
    case transfer(toAccount: String, by: String, at: Date, requestID: String)

    /// The command's name as written in JSON (`type`) and in logs.
    public var name: String {
        switch self {
        case .grant: "grant"
        case .open: "open"
        case .split: "split"
        case .closeUnresolved: "close_unresolved"
        case .overrideBilling: "override_billing"
        case .reopen: "reopen"
        case .transfer: "transfer"
        }
    }
}

/// What an accepted command did.
public enum LedgerOutcome: Sendable, Codable, Equatable {
    case granted(alreadyExisted: Bool)
    /// `open` and `split` (for a split, `incidentIDs` are the children). `newlyCharged`: the
    /// incidents charged (packs) or counted (contracts) by this command, empty on a repeat.
    case opened(incidentIDs: [String], newlyCharged: [String], creditsRemaining: Int?)
    /// `closeUnresolved` and `overrideBilling`. `changed`: for a close, whether a decision was
    /// recorded (false when one already was); for an override, whether `refunded` flipped.
    case billed(BillingDecision, creditsRemaining: Int?, changed: Bool)
    case reopened(recharged: Bool, creditsRemaining: Int?)
    case transferred(from: String, to: String, alreadyDone: Bool)
}

/// Why the ledger refused a command; the state is left as it was.
public struct LedgerRejection: Error, Sendable, Codable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Codable, CaseIterable {
        case unknownEntitlement = "unknown_entitlement"
        case expired
        case notYetValid = "not_yet_valid"
        case exhausted
        case wrongAccount = "wrong_account"
        case unknownIncident = "unknown_incident"
        /// The command disagrees with what is recorded (a different grant under the same id, an
        /// incident charged to another account or parent).
        case conflict
        /// The command itself is malformed (empty ids, a bad time zone, credits for a contract, ...).
        case invalid
        /// A billing override for an incident with no unresolved close on record (open, reopened,
        /// or closed resolved): refunding it would make an open incident free.
        case notClosedUnresolved = "not_closed_unresolved"
    }

    public var code: Code
    /// What happened, specifically: `entitlement PACK-1 has no credits left (5 of 5 used)`.
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code.rawValue): \(message)" }
}
