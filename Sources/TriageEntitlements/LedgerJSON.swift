import Foundation

// The JSON form of the ledger's values: the entitlement state (the compacted state topic), the
// commands and the outcomes. Keys are snake_case and written by hand below, so renaming a Swift
// property never changes the format; keys of absent optional values are left out. Instants are
// RFC 3339 in UTC with milliseconds (`2027-03-01T09:00:00.000Z`) whatever the encoder's date
// strategy, so the values also encode the same way with a plain `JSONEncoder`. Enums carry their
// case in `type` (`{"type": "open", "incident_id": ...}`).

/// Encoding and decoding of the ledger's values as JSON: keys sorted (equal values give equal
/// bytes), instants to the millisecond (a round trip gives back equal values).
public enum LedgerJSON {
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    public static func decode<T: Decodable>(_ type: T.Type = T.self, from bytes: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}

/// Every key the ledger's JSON uses.
enum JSONKey: String, CodingKey {
    case version, type
    case id, kind, coverage, calendar, account
    case purchasedAt = "purchased_at"
    case timeZone = "time_zone"
    case expiresAt = "expires_at"
    case termYears = "term_years"
    case credits, charges
    case incidentsOpened = "incidents_opened"
    case transfers
    case recentIncidentIDs = "recent_incident_ids"
    case appliedRequestOffset = "applied_request_offset"
    case recentFingerprints = "recent_fingerprints"
    case fingerprint
    case requestFingerprint = "request_fingerprint"
    case incidentID = "incident_id"
    case chargedAt = "charged_at"
    case parentIncidentID = "parent_incident_id"
    case billing
    case lastReopen = "last_reopen"
    case at, recharged
    case clearedDecision = "cleared_decision"
    case refunded, rule
    case decidedAt = "decided_at"
    case decidedBy = "decided_by"
    case note
    case from, to, by
    case requestID = "request_id"
    case spec
    case childIncidentIDs = "child_incident_ids"
    case closedBy = "closed_by"
    case reason, severity
    case openedAt = "opened_at"
    case refund
    case toAccount = "to_account"
    case alreadyExisted = "already_existed"
    case incidentIDs = "incident_ids"
    case newlyCharged = "newly_charged"
    case creditsRemaining = "credits_remaining"
    case decision, changed
    case alreadyDone = "already_done"
    case code, message
}

extension KeyedEncodingContainer where K == JSONKey {
    mutating func encodeInstant(_ date: Date, forKey key: K) throws { try encode(Instant.string(date), forKey: key) }
    mutating func encodeInstantIfPresent(_ date: Date?, forKey key: K) throws {
        if let date { try encodeInstant(date, forKey: key) }
    }
}

extension KeyedDecodingContainer where K == JSONKey {
    func decodeInstant(_ key: K) throws -> Date {
        let text = try decode(String.self, forKey: key)
        guard let date = Instant.parse(text) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self, debugDescription: "'\(text)' is not an RFC 3339 instant such as 2027-03-01T09:00:00.000Z")
        }
        return date
    }
    func decodeInstantIfPresent(_ key: K) throws -> Date? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decodeInstant(key)
    }
}

extension Entitlement {
    /// The version of the JSON form written; decoding refuses other versions.
    public static let jsonVersion = 1

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(Self.jsonVersion, forKey: .version)
        try c.encode(id, forKey: .id)
        try c.encode(kind, forKey: .kind)
        try c.encode(coverage, forKey: .coverage)
        try c.encodeIfPresent(calendar, forKey: .calendar)
        try c.encode(account, forKey: .account)
        try c.encodeInstant(purchasedAt, forKey: .purchasedAt)
        try c.encode(timeZone, forKey: .timeZone)
        try c.encodeInstant(expiresAt, forKey: .expiresAt)
        try c.encode(termYears, forKey: .termYears)
        try c.encodeIfPresent(credits, forKey: .credits)
        try c.encode(charges, forKey: .charges)
        try c.encode(incidentsOpened, forKey: .incidentsOpened)
        try c.encode(transfers, forKey: .transfers)
        try c.encode(recentIncidentIDs, forKey: .recentIncidentIDs)
        if !recentFingerprints.isEmpty { try c.encode(recentFingerprints, forKey: .recentFingerprints) }
        try c.encodeIfPresent(appliedRequestOffset, forKey: .appliedRequestOffset)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        let version = try c.decode(Int.self, forKey: .version)
        guard version == Self.jsonVersion else {
            let problem =
                version > Self.jsonVersion
                ? "entitlement JSON version \(version) is newer than this build understands (\(Self.jsonVersion)); upgrade the reader"
                : "entitlement JSON version \(version) is not a known version (this build reads \(Self.jsonVersion))"
            throw DecodingError.dataCorruptedError(forKey: .version, in: c, debugDescription: problem)
        }
        self.init(
            id: try c.decode(String.self, forKey: .id), kind: try c.decode(ContractKind.self, forKey: .kind),
            coverage: try c.decode(EntitlementCoverage.self, forKey: .coverage),
            calendar: try c.decodeIfPresent(String.self, forKey: .calendar),
            account: try c.decode(String.self, forKey: .account), purchasedAt: try c.decodeInstant(.purchasedAt),
            timeZone: try c.decode(String.self, forKey: .timeZone), expiresAt: try c.decodeInstant(.expiresAt),
            termYears: try c.decodeIfPresent(Int.self, forKey: .termYears) ?? 1, credits: try c.decodeIfPresent(Int.self, forKey: .credits),
            charges: try c.decodeIfPresent([Charge].self, forKey: .charges) ?? [],
            incidentsOpened: try c.decode(Int.self, forKey: .incidentsOpened),
            transfers: try c.decodeIfPresent([Transfer].self, forKey: .transfers) ?? [],
            recentIncidentIDs: try c.decodeIfPresent([String].self, forKey: .recentIncidentIDs) ?? [])
        appliedRequestOffset = try c.decodeIfPresent(Int64.self, forKey: .appliedRequestOffset)
        recentFingerprints = try c.decodeIfPresent([String: String].self, forKey: .recentFingerprints) ?? [:]
    }
}

extension Charge {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(incidentID, forKey: .incidentID)
        try c.encode(account, forKey: .account)
        try c.encodeInstant(chargedAt, forKey: .chargedAt)
        try c.encodeIfPresent(parentIncidentID, forKey: .parentIncidentID)
        try c.encodeIfPresent(billing, forKey: .billing)
        try c.encodeIfPresent(lastReopen, forKey: .lastReopen)
        try c.encodeIfPresent(requestFingerprint, forKey: .requestFingerprint)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        self.init(
            incidentID: try c.decode(String.self, forKey: .incidentID), account: try c.decode(String.self, forKey: .account),
            chargedAt: try c.decodeInstant(.chargedAt), parentIncidentID: try c.decodeIfPresent(String.self, forKey: .parentIncidentID),
            billing: try c.decodeIfPresent(BillingDecision.self, forKey: .billing),
            lastReopen: try c.decodeIfPresent(Reopen.self, forKey: .lastReopen),
            requestFingerprint: try c.decodeIfPresent(String.self, forKey: .requestFingerprint))
    }
}

extension Charge.Reopen {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encodeInstant(at, forKey: .at)
        try c.encode(recharged, forKey: .recharged)
        try c.encodeIfPresent(clearedDecision, forKey: .clearedDecision)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        self.init(
            at: try c.decodeInstant(.at), recharged: try c.decode(Bool.self, forKey: .recharged),
            clearedDecision: try c.decodeIfPresent(BillingDecision.self, forKey: .clearedDecision))
    }
}

extension BillingDecision {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(refunded, forKey: .refunded)
        try c.encode(rule, forKey: .rule)
        try c.encodeInstant(decidedAt, forKey: .decidedAt)
        try c.encode(decidedBy, forKey: .decidedBy)
        try c.encodeIfPresent(note, forKey: .note)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        self.init(
            refunded: try c.decode(Bool.self, forKey: .refunded), rule: try c.decode(String.self, forKey: .rule),
            decidedAt: try c.decodeInstant(.decidedAt), decidedBy: try c.decode(String.self, forKey: .decidedBy),
            note: try c.decodeIfPresent(String.self, forKey: .note))
    }
}

extension Transfer {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(from, forKey: .from)
        try c.encode(to, forKey: .to)
        try c.encodeInstant(at, forKey: .at)
        try c.encode(by, forKey: .by)
        try c.encode(requestID, forKey: .requestID)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        self.init(
            from: try c.decode(String.self, forKey: .from), to: try c.decode(String.self, forKey: .to), at: try c.decodeInstant(.at),
            by: try c.decode(String.self, forKey: .by), requestID: try c.decode(String.self, forKey: .requestID))
    }
}

extension GrantSpec {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(id, forKey: .id)
        try c.encode(kind, forKey: .kind)
        try c.encode(account, forKey: .account)
        try c.encodeInstant(purchasedAt, forKey: .purchasedAt)
        try c.encode(timeZone, forKey: .timeZone)
        try c.encodeIfPresent(credits, forKey: .credits)
        try c.encodeIfPresent(coverage, forKey: .coverage)
        try c.encodeIfPresent(calendar, forKey: .calendar)
        try c.encode(termYears, forKey: .termYears)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        self.init(
            id: try c.decode(String.self, forKey: .id), kind: try c.decode(ContractKind.self, forKey: .kind),
            account: try c.decode(String.self, forKey: .account), purchasedAt: try c.decodeInstant(.purchasedAt),
            timeZone: try c.decodeIfPresent(String.self, forKey: .timeZone) ?? "UTC",
            credits: try c.decodeIfPresent(Int.self, forKey: .credits),
            coverage: try c.decodeIfPresent(EntitlementCoverage.self, forKey: .coverage),
            calendar: try c.decodeIfPresent(String.self, forKey: .calendar),
            termYears: try c.decodeIfPresent(Int.self, forKey: .termYears) ?? 1)
    }
}

extension LedgerCommand {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(name, forKey: .type)
        switch self {
        case .grant(let spec):
            try c.encode(spec, forKey: .spec)
        case .open(let incident, let account, let at, let parent, let fingerprint):
            try c.encode(incident, forKey: .incidentID)
            try c.encode(account, forKey: .account)
            try c.encodeInstant(at, forKey: .at)
            try c.encodeIfPresent(parent, forKey: .parentIncidentID)
            try c.encodeIfPresent(fingerprint, forKey: .fingerprint)
        case .split(let parent, let children, let account, let at, let fingerprint):
            try c.encode(parent, forKey: .parentIncidentID)
            try c.encode(children, forKey: .childIncidentIDs)
            try c.encode(account, forKey: .account)
            try c.encodeInstant(at, forKey: .at)
            try c.encodeIfPresent(fingerprint, forKey: .fingerprint)
        case .closeUnresolved(let incident, let at, let closedBy, let reason, let severity, let openedAt):
            try c.encode(incident, forKey: .incidentID)
            try c.encodeInstant(at, forKey: .at)
            try c.encode(closedBy, forKey: .closedBy)
            try c.encode(reason, forKey: .reason)
            try c.encodeIfPresent(severity, forKey: .severity)
            try c.encodeInstantIfPresent(openedAt, forKey: .openedAt)
        case .overrideBilling(let incident, let refund, let by, let note, let at):
            try c.encode(incident, forKey: .incidentID)
            try c.encode(refund, forKey: .refund)
            try c.encode(by, forKey: .by)
            try c.encodeIfPresent(note, forKey: .note)
            try c.encodeInstant(at, forKey: .at)
        case .reopen(let incident, let at):
            try c.encode(incident, forKey: .incidentID)
            try c.encodeInstant(at, forKey: .at)
        case .transfer(let to, let by, let at, let requestID):
            try c.encode(to, forKey: .toAccount)
            try c.encode(by, forKey: .by)
            try c.encodeInstant(at, forKey: .at)
            try c.encode(requestID, forKey: .requestID)
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "grant":
            self = .grant(try c.decode(GrantSpec.self, forKey: .spec))
        case "open":
            self = .open(
                incidentID: try c.decode(String.self, forKey: .incidentID), account: try c.decode(String.self, forKey: .account),
                at: try c.decodeInstant(.at), parentIncidentID: try c.decodeIfPresent(String.self, forKey: .parentIncidentID),
                fingerprint: try c.decodeIfPresent(String.self, forKey: .fingerprint))
        case "split":
            self = .split(
                parentIncidentID: try c.decode(String.self, forKey: .parentIncidentID),
                childIncidentIDs: try c.decode([String].self, forKey: .childIncidentIDs),
                account: try c.decode(String.self, forKey: .account),
                at: try c.decodeInstant(.at), fingerprint: try c.decodeIfPresent(String.self, forKey: .fingerprint))
        case "close_unresolved":
            self = .closeUnresolved(
                incidentID: try c.decode(String.self, forKey: .incidentID), at: try c.decodeInstant(.at),
                closedBy: try c.decode(CloserRole.self, forKey: .closedBy), reason: try c.decode(String.self, forKey: .reason),
                severity: try c.decodeIfPresent(String.self, forKey: .severity), openedAt: try c.decodeInstantIfPresent(.openedAt))
        case "override_billing":
            self = .overrideBilling(
                incidentID: try c.decode(String.self, forKey: .incidentID), refund: try c.decode(Bool.self, forKey: .refund),
                by: try c.decode(String.self, forKey: .by), note: try c.decodeIfPresent(String.self, forKey: .note),
                at: try c.decodeInstant(.at))
        case "reopen":
            self = .reopen(incidentID: try c.decode(String.self, forKey: .incidentID), at: try c.decodeInstant(.at))
        case "transfer":
            self = .transfer(
                toAccount: try c.decode(String.self, forKey: .toAccount), by: try c.decode(String.self, forKey: .by),
                at: try c.decodeInstant(.at), requestID: try c.decode(String.self, forKey: .requestID))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: c,
                debugDescription:
                    "unknown ledger command '\(type)' (known: grant, open, split, close_unresolved, override_billing, reopen, transfer)")
        }
    }
}

extension LedgerOutcome {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        switch self {
        case .granted(let existed):
            try c.encode("granted", forKey: .type)
            try c.encode(existed, forKey: .alreadyExisted)
        case .opened(let incidents, let charged, let remaining):
            try c.encode("opened", forKey: .type)
            try c.encode(incidents, forKey: .incidentIDs)
            try c.encode(charged, forKey: .newlyCharged)
            try c.encodeIfPresent(remaining, forKey: .creditsRemaining)
        case .billed(let decision, let remaining, let changed):
            try c.encode("billed", forKey: .type)
            try c.encode(decision, forKey: .decision)
            try c.encodeIfPresent(remaining, forKey: .creditsRemaining)
            try c.encode(changed, forKey: .changed)
        case .reopened(let recharged, let remaining):
            try c.encode("reopened", forKey: .type)
            try c.encode(recharged, forKey: .recharged)
            try c.encodeIfPresent(remaining, forKey: .creditsRemaining)
        case .transferred(let from, let to, let done):
            try c.encode("transferred", forKey: .type)
            try c.encode(from, forKey: .from)
            try c.encode(to, forKey: .to)
            try c.encode(done, forKey: .alreadyDone)
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        let type = try c.decode(String.self, forKey: .type)
        let remaining = try c.decodeIfPresent(Int.self, forKey: .creditsRemaining)
        switch type {
        case "granted":
            self = .granted(alreadyExisted: try c.decode(Bool.self, forKey: .alreadyExisted))
        case "opened":
            self = .opened(
                incidentIDs: try c.decode([String].self, forKey: .incidentIDs),
                newlyCharged: try c.decode([String].self, forKey: .newlyCharged),
                creditsRemaining: remaining)
        case "billed":
            self = .billed(
                try c.decode(BillingDecision.self, forKey: .decision), creditsRemaining: remaining,
                changed: try c.decode(Bool.self, forKey: .changed))
        case "reopened":
            self = .reopened(recharged: try c.decode(Bool.self, forKey: .recharged), creditsRemaining: remaining)
        case "transferred":
            self = .transferred(
                from: try c.decode(String.self, forKey: .from), to: try c.decode(String.self, forKey: .to),
                alreadyDone: try c.decode(Bool.self, forKey: .alreadyDone))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: c,
                debugDescription: "unknown ledger outcome '\(type)' (known: granted, opened, billed, reopened, transferred)")
        }
    }
}
