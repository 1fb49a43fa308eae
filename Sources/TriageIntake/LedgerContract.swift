import Foundation
import SwiftProtobuf
public import TriageEntitlements
public import TriageSchema

// The entitlement ledger's contract (`EntitlementRequest`, `EntitlementReply` and their ledger
// messages in schemas/triage/v1/intake.proto) spoken in TriageEntitlements' types: the one place
// either is turned into the other. The client and the ledger worker call these; neither builds
// or reads a ledger message field by field.
//
// Instants travel as `Timestamp`s kept to the millisecond, the precision the ledger works in
// (its JSON state, and the JSON commands before them), so a round trip gives back equal values.
// Requests and replies written before the typed messages existed carry the command or answer as
// JSON in the deprecated `command_json` / `outcome_json`; they are read from there when the typed
// field is unset (docs/schemas.md).

/// A ledger request or reply whose command or answer cannot be read: which field, and why.
public struct LedgerContractError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The field, as named in the `.proto` (`command.open.at`), then what is wrong with it.
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension EntitlementRequest {
    /// The command the request carries: the typed `command`, or, in a request written before
    /// it existed, the deprecated `command_json`.
    public func ledgerCommand() throws(LedgerContractError) -> LedgerCommand {
        if hasCommand { return try LedgerCommand(command, field: "command") }
        guard !commandJson.isEmpty else { throw LedgerContractError("command: the request carries no ledger command") }
        do {
            return try LedgerJSON.decode(LedgerCommand.self, from: Array(commandJson.utf8))
        } catch {
            throw LedgerContractError("command_json is not a ledger command: \(error)")
        }
    }

    /// Sets `command` (and never the deprecated `command_json`).
    public mutating func setLedgerCommand(_ command: LedgerCommand) {
        self.command = Triage_V1_LedgerCommand(command)
        commandJson = ""
    }
}

extension EntitlementReply {
    /// The ledger's answer: the typed `outcome` or `rejection`, or, in a reply written before
    /// they existed, the deprecated `outcome_json` (read as an outcome when `ok`, a rejection
    /// otherwise).
    public func ledgerAnswer() throws(LedgerContractError) -> Result<LedgerOutcome, LedgerRejection> {
        switch answer {
        case .outcome(let outcome): return .success(try LedgerOutcome(outcome, field: "outcome"))
        case .rejection(let rejection): return .failure(try LedgerRejection(rejection, field: "rejection"))
        case nil: break
        }
        guard !outcomeJson.isEmpty else { throw LedgerContractError("answer: the reply carries neither an outcome nor a rejection") }
        do {
            let bytes = Array(outcomeJson.utf8)
            return ok
                ? .success(try LedgerJSON.decode(LedgerOutcome.self, from: bytes))
                : .failure(try LedgerJSON.decode(LedgerRejection.self, from: bytes))
        } catch {
            throw LedgerContractError("outcome_json is not a ledger \(ok ? "outcome" : "rejection"): \(error)")
        }
    }

    /// Sets `ok` and `outcome` or `rejection` (and never the deprecated `outcome_json`).
    public mutating func setLedgerAnswer(_ answer: Result<LedgerOutcome, LedgerRejection>) {
        switch answer {
        case .success(let outcome):
            ok = true
            self.answer = .outcome(Triage_V1_LedgerOutcome(outcome))
        case .failure(let rejection):
            ok = false
            self.answer = .rejection(Triage_V1_LedgerRejection(rejection))
        }
        outcomeJson = ""
    }
}

// MARK: - Commands

extension Triage_V1_LedgerCommand {
    public init(_ command: LedgerCommand) {
        self.init()
        switch command {
        case .grant(let spec):
            self.grant = .with {
                $0.id = spec.id
                $0.kind = Triage_V1_ContractKind(spec.kind)
                $0.account = spec.account
                $0.purchasedAt = LedgerValue.timestamp(spec.purchasedAt)
                $0.timeZone = spec.timeZone
                if let credits = spec.credits { $0.credits = Int64(credits) }
                $0.coverage = spec.coverage.map(Coverage.init) ?? .unspecified
                if let calendar = spec.calendar { $0.calendar = calendar }
                $0.termYears = Int64(spec.termYears)
            }
        case .open(let incident, let account, let at, let parent, let fingerprint):
            self.open = .with {
                $0.incidentID = incident
                $0.account = account
                $0.at = LedgerValue.timestamp(at)
                if let parent { $0.parentIncidentID = parent }
                if let fingerprint { $0.fingerprint = fingerprint }
            }
        case .split(let parent, let children, let account, let at, let fingerprint):
            self.split = .with {
                $0.parentIncidentID = parent
                $0.childIncidentIds = children
                $0.account = account
                $0.at = LedgerValue.timestamp(at)
                if let fingerprint { $0.fingerprint = fingerprint }
            }
        case .closeUnresolved(let incident, let at, let closedBy, let reason, let severity, let openedAt):
            self.closeUnresolved = .with {
                $0.incidentID = incident
                $0.at = LedgerValue.timestamp(at)
                $0.closedBy = Triage_V1_CloserRole(closedBy)
                $0.reason = reason
                if let severity { $0.severity = severity }
                if let openedAt { $0.openedAt = LedgerValue.timestamp(openedAt) }
            }
        case .overrideBilling(let incident, let refund, let by, let note, let at):
            self.overrideBilling = .with {
                $0.incidentID = incident
                $0.refund = refund
                $0.by = by
                if let note { $0.note = note }
                $0.at = LedgerValue.timestamp(at)
            }
        case .reopen(let incident, let at):
            self.reopen = .with {
                $0.incidentID = incident
                $0.at = LedgerValue.timestamp(at)
            }
        case .transfer(let to, let by, let at, let requestID):
            self.transfer = .with {
                $0.toAccount = to
                $0.by = by
                $0.at = LedgerValue.timestamp(at)
                $0.requestID = requestID
            }
        }
    }
}

extension LedgerCommand {
    /// - Parameter field: the message's field name, for errors (`command`).
    public init(_ message: Triage_V1_LedgerCommand, field: String = "command") throws(LedgerContractError) {
        switch message.command {
        case .grant(let grant):
            let path = "\(field).grant"
            let credits = try grant.hasCredits ? LedgerValue.int(grant.credits, field: "\(path).credits") : nil
            let termYears = try grant.hasTermYears ? LedgerValue.int(grant.termYears, field: "\(path).term_years") : 1
            self = .grant(
                GrantSpec(
                    id: grant.id, kind: try ContractKind(grant.kind, field: "\(path).kind"), account: grant.account,
                    purchasedAt: try LedgerValue.date(grant.hasPurchasedAt ? grant.purchasedAt : nil, field: "\(path).purchased_at"),
                    timeZone: grant.timeZone, credits: credits,
                    coverage: try EntitlementCoverage.from(grant.coverage, field: "\(path).coverage"),
                    calendar: grant.hasCalendar ? grant.calendar : nil, termYears: termYears))
        case .open(let open):
            self = .open(
                incidentID: open.incidentID, account: open.account,
                at: try LedgerValue.date(open.hasAt ? open.at : nil, field: "\(field).open.at"),
                parentIncidentID: open.hasParentIncidentID ? open.parentIncidentID : nil,
                fingerprint: open.hasFingerprint ? open.fingerprint : nil)
        case .split(let split):
            self = .split(
                parentIncidentID: split.parentIncidentID, childIncidentIDs: split.childIncidentIds, account: split.account,
                at: try LedgerValue.date(split.hasAt ? split.at : nil, field: "\(field).split.at"),
                fingerprint: split.hasFingerprint ? split.fingerprint : nil)
        case .closeUnresolved(let close):
            let path = "\(field).close_unresolved"
            let openedAt = try close.hasOpenedAt ? LedgerValue.date(close.openedAt, field: "\(path).opened_at") : nil
            self = .closeUnresolved(
                incidentID: close.incidentID, at: try LedgerValue.date(close.hasAt ? close.at : nil, field: "\(path).at"),
                closedBy: try CloserRole(close.closedBy, field: "\(path).closed_by"), reason: close.reason,
                severity: close.hasSeverity ? close.severity : nil, openedAt: openedAt)
        case .overrideBilling(let override):
            self = .overrideBilling(
                incidentID: override.incidentID, refund: override.refund, by: override.by, note: override.hasNote ? override.note : nil,
                at: try LedgerValue.date(override.hasAt ? override.at : nil, field: "\(field).override_billing.at"))
        case .reopen(let reopen):
            self = .reopen(
                incidentID: reopen.incidentID, at: try LedgerValue.date(reopen.hasAt ? reopen.at : nil, field: "\(field).reopen.at"))
        case .transfer(let transfer):
            self = .transfer(
                toAccount: transfer.toAccount, by: transfer.by,
                at: try LedgerValue.date(transfer.hasAt ? transfer.at : nil, field: "\(field).transfer.at"),
                requestID: transfer.requestID)
        case nil:
            throw LedgerContractError("\(field): no command is set (or one this build does not know)")
        }
    }
}

// MARK: - Outcomes and rejections

extension Triage_V1_LedgerOutcome {
    public init(_ outcome: LedgerOutcome) {
        self.init()
        switch outcome {
        case .granted(let existed):
            self.granted = .with { $0.alreadyExisted = existed }
        case .opened(let incidents, let charged, let remaining):
            self.opened = .with {
                $0.incidentIds = incidents
                $0.newlyCharged = charged
                if let remaining { $0.creditsRemaining = Int64(remaining) }
            }
        case .billed(let decision, let remaining, let changed):
            self.billed = .with {
                $0.decision = .with {
                    $0.refunded = decision.refunded
                    $0.rule = decision.rule
                    $0.decidedAt = LedgerValue.timestamp(decision.decidedAt)
                    $0.decidedBy = decision.decidedBy
                    if let note = decision.note { $0.note = note }
                }
                if let remaining { $0.creditsRemaining = Int64(remaining) }
                $0.changed = changed
            }
        case .reopened(let recharged, let remaining):
            self.reopened = .with {
                $0.recharged = recharged
                if let remaining { $0.creditsRemaining = Int64(remaining) }
            }
        case .transferred(let from, let to, let done):
            self.transferred = .with {
                $0.from = from
                $0.to = to
                $0.alreadyDone = done
            }
        }
    }
}

extension LedgerOutcome {
    /// - Parameter field: the message's field name, for errors (`outcome`).
    public init(_ message: Triage_V1_LedgerOutcome, field: String = "outcome") throws(LedgerContractError) {
        switch message.outcome {
        case .granted(let granted):
            self = .granted(alreadyExisted: granted.alreadyExisted)
        case .opened(let opened):
            let remaining =
                try opened.hasCreditsRemaining ? LedgerValue.int(opened.creditsRemaining, field: "\(field).opened.credits_remaining") : nil
            self = .opened(incidentIDs: opened.incidentIds, newlyCharged: opened.newlyCharged, creditsRemaining: remaining)
        case .billed(let billed):
            let path = "\(field).billed"
            guard billed.hasDecision else { throw LedgerContractError("\(path).decision: missing") }
            let decision = billed.decision
            let remaining =
                try billed.hasCreditsRemaining ? LedgerValue.int(billed.creditsRemaining, field: "\(path).credits_remaining") : nil
            self = .billed(
                BillingDecision(
                    refunded: decision.refunded, rule: decision.rule,
                    decidedAt: try LedgerValue.date(decision.hasDecidedAt ? decision.decidedAt : nil, field: "\(path).decision.decided_at"),
                    decidedBy: decision.decidedBy, note: decision.hasNote ? decision.note : nil),
                creditsRemaining: remaining, changed: billed.changed)
        case .reopened(let reopened):
            let remaining =
                try reopened.hasCreditsRemaining
                ? LedgerValue.int(reopened.creditsRemaining, field: "\(field).reopened.credits_remaining") : nil
            self = .reopened(recharged: reopened.recharged, creditsRemaining: remaining)
        case .transferred(let transferred):
            self = .transferred(from: transferred.from, to: transferred.to, alreadyDone: transferred.alreadyDone)
        case nil:
            throw LedgerContractError("\(field): no outcome is set (or one this build does not know)")
        }
    }
}

extension Triage_V1_LedgerRejection {
    public init(_ rejection: LedgerRejection) {
        self.init()
        code = Triage_V1_LedgerRejectionCode(rejection.code)
        message = rejection.message
    }
}

extension LedgerRejection {
    /// - Parameter field: the message's field name, for errors (`rejection`).
    public init(_ message: Triage_V1_LedgerRejection, field: String = "rejection") throws(LedgerContractError) {
        self.init(code: try Code(message.code, field: "\(field).code"), message: message.message)
    }
}

// MARK: - Enumerations and values

extension Triage_V1_ContractKind {
    init(_ kind: ContractKind) {
        switch kind {
        case .fivePack: self = .fivePack
        case .businessHours: self = .businessHours
        case .twentyFourSeven: self = .contractKind24X7
        }
    }
}

extension ContractKind {
    init(_ kind: Triage_V1_ContractKind, field: String) throws(LedgerContractError) {
        switch kind {
        case .fivePack: self = .fivePack
        case .businessHours: self = .businessHours
        case .contractKind24X7: self = .twentyFourSeven
        case .unspecified, .UNRECOGNIZED: throw LedgerContractError("\(field): \(kind) is not a contract kind")
        }
    }
}

extension Coverage {
    init(_ coverage: EntitlementCoverage) {
        switch coverage {
        case .businessHours: self = .businessHours
        case .twentyFourSeven: self = .coverage24X7
        }
    }
}

extension EntitlementCoverage {
    /// `nil` for an unspecified coverage (a grant that leaves it to the kind).
    static func from(_ coverage: Coverage, field: String) throws(LedgerContractError) -> EntitlementCoverage? {
        switch coverage {
        case .unspecified: nil
        case .businessHours: .businessHours
        case .coverage24X7: .twentyFourSeven
        case .UNRECOGNIZED: throw LedgerContractError("\(field): \(coverage) is not a coverage")
        }
    }
}

extension Triage_V1_CloserRole {
    init(_ role: CloserRole) {
        switch role {
        case .customer: self = .customer
        case .agent: self = .agent
        case .system: self = .system
        case .admin: self = .admin
        }
    }
}

extension CloserRole {
    init(_ role: Triage_V1_CloserRole, field: String) throws(LedgerContractError) {
        switch role {
        case .customer: self = .customer
        case .agent: self = .agent
        case .system: self = .system
        case .admin: self = .admin
        case .unspecified, .UNRECOGNIZED: throw LedgerContractError("\(field): \(role) is not a closer role")
        }
    }
}

extension Triage_V1_LedgerRejectionCode {
    init(_ code: LedgerRejection.Code) {
        switch code {
        case .unknownEntitlement: self = .unknownEntitlement
        case .expired: self = .expired
        case .notYetValid: self = .notYetValid
        case .exhausted: self = .exhausted
        case .wrongAccount: self = .wrongAccount
        case .unknownIncident: self = .unknownIncident
        case .conflict: self = .conflict
        case .invalid: self = .invalid
        case .notClosedUnresolved: self = .notClosedUnresolved
        }
    }
}

extension LedgerRejection.Code {
    init(_ code: Triage_V1_LedgerRejectionCode, field: String) throws(LedgerContractError) {
        switch code {
        case .unknownEntitlement: self = .unknownEntitlement
        case .expired: self = .expired
        case .notYetValid: self = .notYetValid
        case .exhausted: self = .exhausted
        case .wrongAccount: self = .wrongAccount
        case .unknownIncident: self = .unknownIncident
        case .conflict: self = .conflict
        case .invalid: self = .invalid
        case .notClosedUnresolved: self = .notClosedUnresolved
        case .unspecified, .UNRECOGNIZED: throw LedgerContractError("\(field): \(code) is not a rejection code")
        }
    }
}

/// Instants and counts between the ledger's domain and its messages.
enum LedgerValue {
    /// `date` to the millisecond (rounded, as the ledger's JSON writes it).
    static func timestamp(_ date: Date) -> Google_Protobuf_Timestamp {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : -((-milliseconds + 999) / 1000)
        return Google_Protobuf_Timestamp(seconds: seconds, nanos: Int32(milliseconds - seconds * 1000) * 1_000_000)
    }

    /// The instant to the millisecond (the form the ledger's JSON decoding produces, so equal
    /// instants compare equal whichever way they came); a missing one is an error.
    static func date(_ timestamp: Google_Protobuf_Timestamp?, field: String) throws(LedgerContractError) -> Date {
        guard let timestamp else { throw LedgerContractError("\(field): missing") }
        // Timestamp's own range (years 1 to 9999): anything else is garbage, and would overflow.
        guard (-62_135_596_800...253_402_300_799).contains(timestamp.seconds), (0..<1_000_000_000).contains(timestamp.nanos) else {
            throw LedgerContractError("\(field): \(timestamp.seconds) s \(timestamp.nanos) ns is not a valid timestamp")
        }
        let milliseconds = timestamp.seconds * 1000 + (Int64(timestamp.nanos) + 500_000) / 1_000_000
        return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    static func int(_ value: Int64, field: String) throws(LedgerContractError) -> Int {
        guard let result = Int(exactly: value) else { throw LedgerContractError("\(field): \(value) is out of range") }
        return result
    }
}
