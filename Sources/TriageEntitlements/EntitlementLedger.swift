import Foundation

/// The entitlement ledger's transition function: one command applied to one entitlement's state,
/// with no I/O and no clock (every instant comes from the command), so a single writer per
/// entitlement can replay its input and reach the same state and the same answers.
///
/// ## Semantics
///
/// - `grant` creates the entitlement. Granting again with the same spec (after defaults are filled
///   in: 5 credits, the kind's coverage) is accepted as `.granted(alreadyExisted: true)`, also
///   after a transfer; a different spec under the same id is a `conflict`.
/// - `open` checks, in this order: the incident was already charged to this pack by the same
///   account (a retry: accepted without a second charge, even if the pack has since run out or
///   expired); the account owns the entitlement (`wrong_account`); `at` is in
///   `[purchasedAt, expiresAt)` (`not_yet_valid`, `expired`); a credit is left (`exhausted`).
/// - `split` opens every child like `open`, all or none: if the pack has fewer credits left than
///   children not yet charged, nothing is charged. Children record the parent.
/// - `closeUnresolved` records the ``BillingPolicy``'s decision on the incident's charge; an
///   incident already decided keeps its decision. Contracts are never charged per incident and
///   answer with a `"contract"` decision without changing state.
/// - `overrideBilling` (packs) replaces the decision of an unresolved close with an admin's
///   (`not_closed_unresolved` when none is on record: the incident is open, reopened or was closed
///   resolved); taking a refunded credit back when none is left is `exhausted`.
/// - `reopen` takes a refunded credit again (subject to expiry and credits, like `open`), so
///   closing unresolved and reopening cannot make incidents free; the decision is cleared.
/// - `transfer` moves the entitlement and its remaining credits to another account, once per
///   request id; incidents already opened stay with the account that opened them. Expired
///   entitlements may be transferred.
///
/// Every rejection leaves the state as it was.
///
/// ## Redelivery
///
/// Commands are delivered at least once. Accepted commands are recognised when they come again:
/// grants by spec, opens and splits by incident id (packs: the charges; contracts: the last
/// ``contractMemory`` incident ids, beyond which a repeated open would be counted again; the
/// incident lifecycle de-duplicates its events by event id, so only ``Entitlement/incidentsOpened``
/// would be off), transfers by request id, and closes, overrides and reopens by their instant: one
/// older than the latest change of its incident's charge is stale and changes nothing. Rejections
/// are not remembered (they change no state), so a rejected command redelivered after the state
/// has changed (say, an `open` refused as exhausted, redelivered after a refund) is decided
/// afresh: the writer must not re-apply commands at or below the input offset its stored state
/// already includes.
///
/// All instants are rounded to the millisecond on the way in (the precision of ``LedgerJSON``),
/// so a state compares equal to itself after a JSON round trip.
public enum EntitlementLedger {
    /// How many incident ids a contract remembers to recognise a repeated open.
    public static let contractMemory = 64

    /// Applies `command` to the entitlement `entitlementID`, whose current state is `state` (`nil`
    /// if it does not exist yet), deciding unresolved closes by `policy`.
    ///
    /// - Returns: The new state (unchanged on a rejection) and the outcome or the rejection.
    public static func apply(_ command: LedgerCommand, to state: Entitlement?, entitlementID: String, policy: BillingPolicy)
        -> (state: Entitlement?, outcome: Result<LedgerOutcome, LedgerRejection>)
    {
        var working = state
        switch transition(command.canonical, state: &working, entitlementID: entitlementID, policy: policy) {
        case .success(let outcome): return (working, .success(outcome))
        case .failure(let rejection): return (state, .failure(rejection))
        }
    }

    typealias Step = Result<LedgerOutcome, LedgerRejection>

    static func transition(_ command: LedgerCommand, state: inout Entitlement?, entitlementID: String, policy: BillingPolicy) -> Step {
        if case .grant(let spec) = command { return grant(spec, state: &state, entitlementID: entitlementID) }
        guard var entitlement = state else {
            return .failure(.init(code: .unknownEntitlement, message: "there is no entitlement \(entitlementID)"))
        }
        guard entitlement.id == entitlementID else {
            return .failure(.init(code: .invalid, message: "the state given is entitlement \(entitlement.id), not \(entitlementID)"))
        }
        let step: Step
        switch command {
        case .grant:
            preconditionFailure("handled above")
        case .open(let incident, let account, let at, let parent, let fingerprint):
            if let problem = invalidIDs([("incident id", incident), ("account", account)]) { return .failure(problem) }
            if parent == incident { return .failure(.init(code: .invalid, message: "incident \(incident) cannot be its own parent")) }
            step = open([incident], parent: parent, account: account, at: at, split: false, fingerprint: fingerprint, in: &entitlement)
        case .split(let parent, let children, let account, let at, let fingerprint):
            if let problem = invalidIDs(
                [("parent incident id", parent), ("account", account)] + children.map { ("child incident id", $0) })
            {
                return .failure(problem)
            }
            if children.isEmpty { return .failure(.init(code: .invalid, message: "splitting \(parent) needs at least one child incident")) }
            if Set(children).count != children.count {
                return .failure(.init(code: .invalid, message: "splitting \(parent) lists a child incident more than once"))
            }
            if children.contains(parent) {
                return .failure(.init(code: .invalid, message: "incident \(parent) cannot be split into itself"))
            }
            step = open(children, parent: parent, account: account, at: at, split: true, fingerprint: fingerprint, in: &entitlement)
        case .closeUnresolved(let incident, let at, let closedBy, let reason, let severity, let openedAt):
            step = closeUnresolved(
                incident, at: at, closedBy: closedBy, reason: reason, severity: severity, openedAt: openedAt, policy: policy,
                in: &entitlement)
        case .overrideBilling(let incident, let refund, let by, let note, let at):
            step = overrideBilling(incident, refund: refund, by: by, note: note, at: at, in: &entitlement)
        case .reopen(let incident, let at):
            step = reopen(incident, at: at, in: &entitlement)
        case .transfer(let to, let by, let at, let requestID):
            step = transfer(to: to, by: by, at: at, requestID: requestID, in: &entitlement)
        }
        if case .success = step { state = entitlement }
        return step
    }

    // MARK: Grant

    static func grant(_ spec: GrantSpec, state: inout Entitlement?, entitlementID: String) -> Step {
        if let problem = invalidIDs([("entitlement id", spec.id), ("account", spec.account)]) { return .failure(problem) }
        guard spec.id == entitlementID else {
            return .failure(.init(code: .invalid, message: "the grant is for entitlement \(spec.id), not \(entitlementID)"))
        }
        let fresh: Entitlement
        switch entitlement(from: spec) {
        case .success(let value): fresh = value
        case .failure(let rejection): return .failure(rejection)
        }
        guard let existing = state else {
            state = fresh
            return .success(.granted(alreadyExisted: false))
        }
        var granted = existing
        granted.account = existing.purchasingAccount
        let differences = grantDifferences(granted, fresh)
        guard differences.isEmpty else {
            return .failure(
                .init(
                    code: .conflict,
                    message: "entitlement \(spec.id) already exists with a different grant (\(differences.joined(separator: "; ")))"))
        }
        return .success(.granted(alreadyExisted: true))
    }

    /// The entitlement a grant creates, or why the grant is invalid.
    static func entitlement(from spec: GrantSpec) -> Result<Entitlement, LedgerRejection> {
        func invalid(_ message: String) -> Result<Entitlement, LedgerRejection> { .failure(.init(code: .invalid, message: message)) }
        if let problem = invalidIDs([("entitlement id", spec.id), ("account", spec.account)]) { return .failure(problem) }
        guard let zone = TimeZone(identifier: spec.timeZone) else {
            return invalid("unknown time zone '\(spec.timeZone)' for entitlement \(spec.id); use an IANA id such as Europe/London or UTC")
        }
        guard (1...100).contains(spec.termYears) else {
            return invalid("entitlement \(spec.id): a term of \(spec.termYears) years is not possible; use 1 to 100")
        }
        let credits: Int?
        let coverage: EntitlementCoverage
        if let contractCoverage = spec.kind.contractCoverage {
            guard spec.credits == nil else {
                return invalid("entitlement \(spec.id) is a \(spec.kind.rawValue) contract, which is unlimited; give no credits")
            }
            guard spec.coverage == nil || spec.coverage == contractCoverage else {
                return invalid(
                    "entitlement \(spec.id) is a \(spec.kind.rawValue) contract, so its coverage is \(contractCoverage.rawValue), not \(spec.coverage!.rawValue)"
                )
            }
            credits = nil
            coverage = contractCoverage
        } else {
            let count = spec.credits ?? GrantSpec.defaultPackCredits
            guard count > 0 else { return invalid("entitlement \(spec.id): a pack needs at least one credit, not \(count)") }
            credits = count
            coverage = spec.coverage ?? .businessHours
        }
        let purchasedAt = Instant.canonical(spec.purchasedAt)
        return .success(
            Entitlement(
                id: spec.id, kind: spec.kind, coverage: coverage, calendar: spec.calendar, account: spec.account, purchasedAt: purchasedAt,
                timeZone: spec.timeZone, expiresAt: EntitlementTerm.expiry(purchasedAt: purchasedAt, timeZone: zone, years: spec.termYears),
                termYears: spec.termYears, credits: credits))
    }

    static func grantDifferences(_ existing: Entitlement, _ fresh: Entitlement) -> [String] {
        var differences: [String] = []
        func compare<T: Equatable>(_ name: String, _ old: T, _ new: T, _ text: (T) -> String) {
            if old != new { differences.append("\(name) \(text(old)), not \(text(new))") }
        }
        compare("kind", existing.kind, fresh.kind) { $0.rawValue }
        compare("purchasing account", existing.account, fresh.account) { $0 }
        compare("purchased", existing.purchasedAt, fresh.purchasedAt, Instant.readable)
        compare("time zone", existing.timeZone, fresh.timeZone) { $0 }
        compare("term", existing.termYears, fresh.termYears) { "\($0) years" }
        compare("credits", existing.credits, fresh.credits) { $0.map(String.init) ?? "unlimited" }
        compare("coverage", existing.coverage, fresh.coverage) { $0.rawValue }
        compare("calendar", existing.calendar, fresh.calendar) { $0 ?? "default" }
        return differences
    }

    // MARK: Open and split

    static func open(
        _ incidents: [String], parent: String?, account: String, at: Date, split: Bool, fingerprint: String?,
        in entitlement: inout Entitlement
    ) -> Step {
        let id = entitlement.id
        var pending: [String] = []
        if entitlement.kind.isPack {
            for incident in incidents {
                guard let charge = entitlement.charge(for: incident) else {
                    pending.append(incident)
                    continue
                }
                if charge.account != account {
                    if account != entitlement.account { return .failure(wrongAccount(entitlement, account)) }
                    return .failure(
                        .init(
                            code: .conflict,
                            message:
                                "incident \(incident) is already charged to entitlement \(id) by account \(charge.account), not \(account)")
                    )
                }
                let parentConflict = split ? charge.parentIncidentID != parent : (parent != nil && charge.parentIncidentID != parent)
                if parentConflict {
                    let recorded = charge.parentIncidentID.map { "as a child of \($0)" } ?? "as an incident of its own"
                    return .failure(
                        .init(code: .conflict, message: "incident \(incident) is already charged to entitlement \(id) \(recorded)"))
                }
                if let recorded = charge.requestFingerprint, let fingerprint, recorded != fingerprint {
                    return .failure(differentRequest(incident, entitlement: id))
                }
            }
        } else {
            pending = incidents.filter { !entitlement.recentIncidentIDs.contains($0) }
            for incident in incidents where !pending.contains(incident) {
                if let recorded = entitlement.recentFingerprints[incident], let fingerprint, recorded != fingerprint {
                    return .failure(differentRequest(incident, entitlement: id))
                }
            }
        }
        guard !pending.isEmpty else {
            return .success(.opened(incidentIDs: incidents, newlyCharged: [], creditsRemaining: entitlement.creditsRemaining))
        }
        guard account == entitlement.account else { return .failure(wrongAccount(entitlement, account)) }
        if let problem = outsideTerm(entitlement, at: at) { return .failure(problem) }
        if let remaining = entitlement.creditsRemaining, remaining < pending.count {
            if remaining == 0 { return .failure(noCreditsLeft(entitlement)) }
            let what = split ? "splitting \(parent ?? "") needs" : "opening needs"
            return .failure(
                .init(
                    code: .exhausted,
                    message:
                        "entitlement \(id) has \(credits(remaining)) left but \(what) \(pending.count) (\(pending.joined(separator: ", "))); nothing was charged"
                ))
        }
        entitlement.incidentsOpened += pending.count
        if entitlement.kind.isPack {
            for incident in pending {
                let charge = Charge(
                    incidentID: incident, account: account, chargedAt: at, parentIncidentID: parent, requestFingerprint: fingerprint)
                // Commands may arrive slightly out of order; keep the list ordered by chargedAt.
                let index = entitlement.charges.lastIndex { $0.chargedAt <= at }.map { $0 + 1 } ?? 0
                entitlement.charges.insert(charge, at: index)
            }
        } else {
            entitlement.recentIncidentIDs.append(contentsOf: pending)
            entitlement.recentIncidentIDs.removeFirst(max(0, entitlement.recentIncidentIDs.count - contractMemory))
            if let fingerprint { for incident in pending { entitlement.recentFingerprints[incident] = fingerprint } }
            let remembered = Set(entitlement.recentIncidentIDs)
            entitlement.recentFingerprints = entitlement.recentFingerprints.filter { remembered.contains($0.key) }
        }
        return .success(.opened(incidentIDs: incidents, newlyCharged: pending, creditsRemaining: entitlement.creditsRemaining))
    }

    // MARK: Billing

    static func closeUnresolved(
        _ incident: String, at: Date, closedBy: CloserRole, reason: String, severity: String?, openedAt: Date?, policy: BillingPolicy,
        in entitlement: inout Entitlement
    ) -> Step {
        guard entitlement.kind.isPack else {
            let decision = BillingDecision(refunded: false, rule: "contract", decidedAt: at, decidedBy: "policy")
            return .success(.billed(decision, creditsRemaining: nil, changed: false))
        }
        guard let index = entitlement.charges.firstIndex(where: { $0.incidentID == incident }) else {
            return .failure(unknownIncident(entitlement, incident))
        }
        let charge = entitlement.charges[index]
        if let decided = charge.billing {
            return .success(.billed(decided, creditsRemaining: entitlement.creditsRemaining, changed: false))
        }
        let (refund, rule) = policy.decide(
            closedBy: closedBy, reason: reason, severity: severity, openedAt: openedAt ?? charge.chargedAt, closedAt: at)
        let decision = BillingDecision(refunded: refund, rule: rule, decidedAt: at, decidedBy: "policy")
        if let reopen = charge.lastReopen, at <= reopen.at {
            // A close the incident has since been reopened from: already decided then, cleared since.
            return .success(.billed(reopen.clearedDecision ?? decision, creditsRemaining: entitlement.creditsRemaining, changed: false))
        }
        entitlement.charges[index].billing = decision
        return .success(.billed(decision, creditsRemaining: entitlement.creditsRemaining, changed: true))
    }

    static func overrideBilling(_ incident: String, refund: Bool, by: String, note: String?, at: Date, in entitlement: inout Entitlement)
        -> Step
    {
        if let problem = invalidIDs([("incident id", incident), ("admin name", by)]) { return .failure(problem) }
        guard entitlement.kind.isPack else {
            return .failure(
                .init(
                    code: .invalid,
                    message:
                        "entitlement \(entitlement.id) is a \(entitlement.kind.rawValue) contract; contracts are not charged per incident"))
        }
        guard let index = entitlement.charges.firstIndex(where: { $0.incidentID == incident }) else {
            return .failure(unknownIncident(entitlement, incident))
        }
        let charge = entitlement.charges[index]
        let decision = BillingDecision(refunded: refund, rule: "admin override", decidedAt: at, decidedBy: by, note: note)
        // Stale: decided later than this override, or reopened since.
        if let decided = charge.billing, at < decided.decidedAt {
            return .success(.billed(decided, creditsRemaining: entitlement.creditsRemaining, changed: false))
        }
        if charge.billing == nil, let reopen = charge.lastReopen, at <= reopen.at {
            return .success(.billed(reopen.clearedDecision ?? decision, creditsRemaining: entitlement.creditsRemaining, changed: false))
        }
        guard charge.billing != nil else {
            return .failure(
                .init(
                    code: .notClosedUnresolved,
                    message: "incident \(incident) has no unresolved close on record; a billing override decides an unresolved close"))
        }
        if charge.billing == decision {
            return .success(.billed(decision, creditsRemaining: entitlement.creditsRemaining, changed: false))
        }
        let wasRefunded = charge.billing?.refunded ?? false
        if wasRefunded && !refund, let remaining = entitlement.creditsRemaining, remaining == 0 {
            return .failure(
                .init(
                    code: .exhausted,
                    message:
                        "charging incident \(incident) again needs a credit, but entitlement \(entitlement.id) has none left (\(entitlement.creditsUsed) of \(entitlement.credits ?? 0) used)"
                ))
        }
        entitlement.charges[index].billing = decision
        return .success(.billed(decision, creditsRemaining: entitlement.creditsRemaining, changed: wasRefunded != refund))
    }

    static func reopen(_ incident: String, at: Date, in entitlement: inout Entitlement) -> Step {
        guard entitlement.kind.isPack else { return .success(.reopened(recharged: false, creditsRemaining: nil)) }
        guard let index = entitlement.charges.firstIndex(where: { $0.incidentID == incident }) else {
            return .failure(unknownIncident(entitlement, incident))
        }
        let charge = entitlement.charges[index]
        let remaining = entitlement.creditsRemaining
        // A repeat of the latest reopen, or a reopen older than the latest change (stale).
        if let last = charge.lastReopen, at <= last.at {
            return .success(.reopened(recharged: at == last.at && last.recharged, creditsRemaining: remaining))
        }
        if let decided = charge.billing, at < decided.decidedAt {
            return .success(.reopened(recharged: false, creditsRemaining: remaining))
        }
        let recharge = charge.billing?.refunded == true
        if recharge {
            if let problem = outsideTerm(entitlement, at: at) { return .failure(problem) }
            if remaining == 0 { return .failure(noCreditsLeft(entitlement, reopening: incident)) }
        }
        entitlement.charges[index].lastReopen = Charge.Reopen(at: at, recharged: recharge, clearedDecision: charge.billing)
        entitlement.charges[index].billing = nil
        return .success(.reopened(recharged: recharge, creditsRemaining: entitlement.creditsRemaining))
    }

    // MARK: Transfer

    static func transfer(to account: String, by: String, at: Date, requestID: String, in entitlement: inout Entitlement) -> Step {
        if let problem = invalidIDs([("account", account), ("requester", by), ("request id", requestID)]) { return .failure(problem) }
        if let done = entitlement.transfers.first(where: { $0.requestID == requestID }) {
            guard done.to == account else {
                return .failure(
                    .init(
                        code: .conflict,
                        message:
                            "transfer request \(requestID) already moved entitlement \(entitlement.id) to account \(done.to), not \(account)"
                    ))
            }
            return .success(.transferred(from: done.from, to: done.to, alreadyDone: true))
        }
        guard account != entitlement.account else {
            return .failure(.init(code: .invalid, message: "entitlement \(entitlement.id) is already owned by account \(account)"))
        }
        let transfer = Transfer(from: entitlement.account, to: account, at: at, by: by, requestID: requestID)
        entitlement.transfers.append(transfer)
        entitlement.account = account
        return .success(.transferred(from: transfer.from, to: transfer.to, alreadyDone: false))
    }

    // MARK: Rejections

    static func invalidIDs(_ values: [(what: String, value: String)]) -> LedgerRejection? {
        guard let empty = values.first(where: { $0.value.trimmingCharacters(in: .whitespaces).isEmpty }) else { return nil }
        return LedgerRejection(code: .invalid, message: "the \(empty.what) must not be empty")
    }

    static func wrongAccount(_ entitlement: Entitlement, _ account: String) -> LedgerRejection {
        LedgerRejection(
            code: .wrongAccount, message: "entitlement \(entitlement.id) belongs to account \(entitlement.account), not \(account)")
    }

    static func differentRequest(_ incident: String, entitlement: String) -> LedgerRejection {
        LedgerRejection(
            code: .conflict,
            message:
                "incident \(incident) was opened on entitlement \(entitlement) by a request with different content under the same request id"
        )
    }

    static func unknownIncident(_ entitlement: Entitlement, _ incident: String) -> LedgerRejection {
        LedgerRejection(code: .unknownIncident, message: "incident \(incident) is not charged to entitlement \(entitlement.id)")
    }

    static func noCreditsLeft(_ entitlement: Entitlement, reopening incident: String? = nil) -> LedgerRejection {
        let used = "(\(entitlement.creditsUsed) of \(entitlement.credits ?? 0) used)"
        if let incident {
            return LedgerRejection(
                code: .exhausted,
                message:
                    "reopening \(incident) takes its refunded credit again, but entitlement \(entitlement.id) has no credits left \(used)")
        }
        return LedgerRejection(code: .exhausted, message: "entitlement \(entitlement.id) has no credits left \(used)")
    }

    static func outsideTerm(_ entitlement: Entitlement, at: Date) -> LedgerRejection? {
        if at < entitlement.purchasedAt {
            return LedgerRejection(
                code: .notYetValid,
                message:
                    "entitlement \(entitlement.id) is not valid before \(Instant.readable(entitlement.purchasedAt)) (request received \(Instant.readable(at)))"
            )
        }
        if at >= entitlement.expiresAt {
            let term = entitlement.termYears == 1 ? "one-year term" : "\(entitlement.termYears)-year term"
            return LedgerRejection(
                code: .expired,
                message:
                    "entitlement \(entitlement.id) expired at \(Instant.readable(entitlement.expiresAt)) (purchased \(Instant.readable(entitlement.purchasedAt)), \(term))"
            )
        }
        return nil
    }

    static func credits(_ count: Int) -> String { count == 1 ? "1 credit" : "\(count) credits" }
}

extension LedgerCommand {
    /// The command with every instant rounded to the millisecond.
    var canonical: LedgerCommand {
        let c = Instant.canonical
        switch self {
        case .grant(var spec):
            spec.purchasedAt = c(spec.purchasedAt)
            return .grant(spec)
        case .open(let incident, let account, let at, let parent, let fingerprint):
            return .open(incidentID: incident, account: account, at: c(at), parentIncidentID: parent, fingerprint: fingerprint)
        case .split(let parent, let children, let account, let at, let fingerprint):
            return .split(parentIncidentID: parent, childIncidentIDs: children, account: account, at: c(at), fingerprint: fingerprint)
        case .closeUnresolved(let incident, let at, let closedBy, let reason, let severity, let openedAt):
            return .closeUnresolved(
                incidentID: incident, at: c(at), closedBy: closedBy, reason: reason, severity: severity, openedAt: openedAt.map(c))
        case .overrideBilling(let incident, let refund, let by, let note, let at):
            return .overrideBilling(incidentID: incident, refund: refund, by: by, note: note, at: c(at))
        case .reopen(let incident, let at):
            return .reopen(incidentID: incident, at: c(at))
        case .transfer(let to, let by, let at, let requestID):
            return .transfer(toAccount: to, by: by, at: c(at), requestID: requestID)
        }
    }
}
