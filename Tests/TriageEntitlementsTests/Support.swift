import Foundation
import Testing

@testable import TriageEntitlements

/// A small deterministic generator (SplitMix64) so property runs are reproducible (as in
/// TriageSLATests).
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// An instant from RFC 3339 text (`2027-03-01T09:00:00Z`, offsets and milliseconds allowed).
func instant(_ text: String) -> Date {
    guard let date = Instant.parse(text) else { fatalError("bad instant \(text)") }
    return date
}

func zone(_ identifier: String) -> TimeZone { TimeZone(identifier: identifier)! }

/// `2027-03-01T09:00:00Z` (milliseconds only when there are some).
func text(_ date: Date) -> String { Instant.readable(date) }

extension Date {
    func adding(milliseconds: Int64) -> Date { Instant.date(milliseconds: Instant.milliseconds(self) + milliseconds) }
    func adding(days: Int) -> Date { adding(milliseconds: Int64(days) * 86_400_000) }
}

/// One entitlement's state, driven through ``EntitlementLedger`` like the single writer would.
struct LedgerDriver {
    let id: String
    var policy: BillingPolicy = .standard
    var state: Entitlement?

    init(id: String = "PACK-1", policy: BillingPolicy = .standard, state: Entitlement? = nil) {
        self.id = id
        self.policy = policy
        self.state = state
    }

    /// Applies the command, asserting that a rejection leaves the state as it was.
    @discardableResult
    mutating func apply(_ command: LedgerCommand, sourceLocation: SourceLocation = #_sourceLocation) -> Result<
        LedgerOutcome, LedgerRejection
    > {
        let result = EntitlementLedger.apply(command, to: state, entitlementID: id, policy: policy)
        if case .failure = result.outcome {
            #expect(result.state == state, "a rejection changed the state", sourceLocation: sourceLocation)
        }
        state = result.state
        return result.outcome
    }

    /// Applies the command twice: the second application must give the same outcome and leave
    /// the state as the first left it. Returns the outcome.
    @discardableResult
    mutating func applyTwice(_ command: LedgerCommand, sourceLocation: SourceLocation = #_sourceLocation) -> Result<
        LedgerOutcome, LedgerRejection
    > {
        let first = apply(command, sourceLocation: sourceLocation)
        let after = state
        let second = apply(command, sourceLocation: sourceLocation)
        #expect(state == after, "repeating \(command.name) changed the state", sourceLocation: sourceLocation)
        #expect(Self.repeatForm(first) == second, "repeating \(command.name) gave another outcome", sourceLocation: sourceLocation)
        return first
    }

    /// What a repeat of an accepted command answers: the same, except that nothing is newly
    /// charged, a grant already existed, a billing decision did not change again, and a transfer
    /// is already done.
    static func repeatForm(_ outcome: Result<LedgerOutcome, LedgerRejection>) -> Result<LedgerOutcome, LedgerRejection> {
        guard case .success(let value) = outcome else { return outcome }
        switch value {
        case .granted: return .success(.granted(alreadyExisted: true))
        case .opened(let ids, _, let remaining): return .success(.opened(incidentIDs: ids, newlyCharged: [], creditsRemaining: remaining))
        case .billed(let decision, let remaining, _): return .success(.billed(decision, creditsRemaining: remaining, changed: false))
        case .reopened: return .success(value)
        case .transferred(let from, let to, _): return .success(.transferred(from: from, to: to, alreadyDone: true))
        }
    }
}

extension Result where Failure == LedgerRejection {
    var rejection: LedgerRejection? {
        if case .failure(let rejection) = self { return rejection }
        return nil
    }
    var value: Success? {
        if case .success(let value) = self { return value }
        return nil
    }
}
