public import Foundation

/// What a customer bought.
public enum ContractKind: String, Sendable, Codable, CaseIterable {
    /// Five incident credits (the count is set at grant, default 5), valid for a year.
    case fivePack = "5-pack"
    /// Unlimited incidents during the term, handled in business hours.
    case businessHours = "business-hours"
    /// Unlimited incidents during the term, handled around the clock.
    case twentyFourSeven = "24x7"

    /// Whether incidents are counted against a number of credits (packs) or unlimited (contracts).
    public var isPack: Bool { self == .fivePack }

    /// The coverage a contract of this kind gives; `nil` for packs (theirs is chosen at grant).
    public var contractCoverage: EntitlementCoverage? {
        switch self {
        case .fivePack: nil
        case .businessHours: .businessHours
        case .twentyFourSeven: .twentyFourSeven
        }
    }
}

/// The hours in which an entitlement's incidents are worked, which the SLA clocks run in.
public enum EntitlementCoverage: String, Sendable, Codable, CaseIterable {
    case businessHours = "business-hours"
    case twentyFourSeven = "24x7"
}

/// One incident charged to a pack (contracts keep no charges).
public struct Charge: Sendable, Codable, Equatable {
    public var incidentID: String
    /// The account that opened the incident; it stays with this account after a transfer.
    public var account: String
    /// When the request that opened it was received.
    public var chargedAt: Date
    /// The incident it was split from, for subordinate problems.
    public var parentIncidentID: String?
    /// Set when the incident is closed unresolved (or by an admin override); cleared when it is
    /// reopened. A charge counts as a used credit unless this says `refunded`.
    public var billing: BillingDecision?
    /// The latest reopen of the incident, kept so that a redelivered reopen, or a redelivered close
    /// that the reopen has since undone, is recognised instead of being applied again.
    public var lastReopen: Reopen?
    /// The content fingerprint of the request that opened it (``LedgerCommand/open``): a repeat
    /// with another fingerprint is a different request under the same id, refused as a conflict.
    /// `nil` for charges recorded before fingerprints existed (they match any repeat).
    public var requestFingerprint: String?

    /// A reopen as recorded on its charge.
    public struct Reopen: Sendable, Codable, Equatable {
        /// When the reopen request was received.
        public var at: Date
        /// Whether it took the (refunded) credit again.
        public var recharged: Bool
        /// The billing decision the reopen cleared, if any.
        public var clearedDecision: BillingDecision?

        public init(at: Date, recharged: Bool, clearedDecision: BillingDecision? = nil) {
            self.at = at
            self.recharged = recharged
            self.clearedDecision = clearedDecision
        }
    }

    public init(
        incidentID: String, account: String, chargedAt: Date, parentIncidentID: String? = nil, billing: BillingDecision? = nil,
        lastReopen: Reopen? = nil, requestFingerprint: String? = nil
    ) {
        self.requestFingerprint = requestFingerprint
        self.incidentID = incidentID
        self.account = account
        self.chargedAt = chargedAt
        self.parentIncidentID = parentIncidentID
        self.billing = billing
        self.lastReopen = lastReopen
    }

    /// Whether the charge uses up a credit (it does unless refunded).
    public var usesCredit: Bool { billing?.refunded != true }
}

/// Whether an incident closed unresolved costs its credit, and who decided.
public struct BillingDecision: Sendable, Codable, Equatable {
    /// `true`: the credit is given back.
    public var refunded: Bool
    /// Which policy rule decided: `"default"`, a rule's name, `"admin override"`, or `"contract"`
    /// for contracts (which are never charged per incident).
    public var rule: String
    public var decidedAt: Date
    /// `"policy"`, or the name of the admin who overrode the decision.
    public var decidedBy: String
    public var note: String?

    public init(refunded: Bool, rule: String, decidedAt: Date, decidedBy: String, note: String? = nil) {
        self.refunded = refunded
        self.rule = rule
        self.decidedAt = decidedAt
        self.decidedBy = decidedBy
        self.note = note
    }
}

/// A change of the purchasing account.
public struct Transfer: Sendable, Codable, Equatable {
    public var from: String
    public var to: String
    public var at: Date
    /// Who asked for it (an admin or a tenant name).
    public var by: String
    /// The caller's id for the request; a transfer is applied once per request id.
    public var requestID: String

    public init(from: String, to: String, at: Date, by: String, requestID: String) {
        self.from = from
        self.to = to
        self.at = at
        self.by = by
        self.requestID = requestID
    }
}

/// A pack of incident credits or a support contract, as the ledger keeps it (the value of the
/// compacted entitlement state topic; ``LedgerJSON`` encodes it).
///
/// Packs record one ``Charge`` per incident they paid for. Contracts are unlimited and may open
/// any number of incidents, so they keep only counters: ``incidentsOpened`` and a bounded
/// ``recentIncidentIDs`` (the last ``EntitlementLedger/contractMemory`` ids) that lets an
/// immediate retry of an open be recognised.
public struct Entitlement: Sendable, Codable, Equatable {
    public var id: String
    public var kind: ContractKind
    public var coverage: EntitlementCoverage
    /// The business calendar name for business-hours coverage, if not the default.
    public var calendar: String?
    /// The current owner (the purchasing account, or the account it was transferred to).
    public var account: String
    public var purchasedAt: Date
    /// IANA time zone id in which the term's anniversary is computed.
    public var timeZone: String
    /// The first instant at which it is no longer valid (``EntitlementTerm``).
    public var expiresAt: Date
    /// The term in years (default 1).
    public var termYears: Int
    /// The number of credits; `nil` = unlimited (contracts).
    public var credits: Int?
    /// Packs only; ordered by `chargedAt` (ties in the order charged).
    public var charges: [Charge]
    /// All incidents opened against it (packs and contracts; split children count one each).
    public var incidentsOpened: Int
    public var transfers: [Transfer]
    /// Contracts only: the ids of the last incidents opened, oldest first, at most
    /// ``EntitlementLedger/contractMemory`` of them.
    public var recentIncidentIDs: [String]
    /// Contracts only: the request fingerprints of ``recentIncidentIDs`` (where known).
    public var recentFingerprints: [String: String] = [:]
    /// Set by the ledger worker: the offset (in the entitlement's request partition) of the last
    /// command that changed this state. A command redelivered after a crash at or below it was
    /// already applied (its events were published before this state was stored) and is skipped,
    /// so a rejection that later state would have turned into an acceptance stays a rejection.
    public var appliedRequestOffset: Int64?

    public init(
        id: String, kind: ContractKind, coverage: EntitlementCoverage, calendar: String? = nil, account: String, purchasedAt: Date,
        timeZone: String, expiresAt: Date, termYears: Int = 1, credits: Int?, charges: [Charge] = [], incidentsOpened: Int = 0,
        transfers: [Transfer] = [], recentIncidentIDs: [String] = []
    ) {
        self.id = id
        self.kind = kind
        self.coverage = coverage
        self.calendar = calendar
        self.account = account
        self.purchasedAt = purchasedAt
        self.timeZone = timeZone
        self.expiresAt = expiresAt
        self.termYears = termYears
        self.credits = credits
        self.charges = charges
        self.incidentsOpened = incidentsOpened
        self.transfers = transfers
        self.recentIncidentIDs = recentIncidentIDs
    }

    /// Charges that use a credit (all but the refunded ones); 0 for contracts.
    public var creditsUsed: Int { charges.reduce(0) { $0 + ($1.usesCredit ? 1 : 0) } }

    /// Credits left; `nil` for unlimited contracts.
    public var creditsRemaining: Int? { credits.map { max(0, $0 - creditsUsed) } }

    /// Whether an incident could be opened at `at` (the instant the request was received):
    /// before ``purchasedAt`` it is not yet valid, at or after ``expiresAt`` it has expired (the
    /// expiry is exclusive), a pack with no credits left is exhausted.
    public func status(at: Date) -> EntitlementStatus {
        if at < purchasedAt { return .notYetValid(startsAt: purchasedAt) }
        if at >= expiresAt { return .expired(at: expiresAt) }
        if let remaining = creditsRemaining, remaining <= 0 { return .exhausted }
        return .valid
    }

    /// The charge of `incidentID`, if this pack paid for it.
    public func charge(for incidentID: String) -> Charge? { charges.first { $0.incidentID == incidentID } }

    /// The account that bought it (before any transfer).
    public var purchasingAccount: String { transfers.first?.from ?? account }
}

/// Whether an entitlement can open an incident at a given instant.
public enum EntitlementStatus: Sendable, Equatable {
    case notYetValid(startsAt: Date)
    case valid
    /// A pack with every credit used.
    case exhausted
    case expired(at: Date)
}
