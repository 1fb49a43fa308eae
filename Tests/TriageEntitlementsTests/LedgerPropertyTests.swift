import Foundation
import Testing

@testable import TriageEntitlements

/// A simple reference model of one pack under the standard policy, and random command sequences
/// with strictly increasing instants checked against it.
@Suite("Ledger properties")
struct LedgerPropertyTests {
    /// What the model expects a pack to hold.
    struct Model {
        var credits: Int
        var owner = "ACME"
        var expiresAt: Date
        /// incident → (account, refunded: nil = no decision)
        var charges: [String: (account: String, refunded: Bool?)] = [:]
        var requests: [String: String] = [:]
        var used: Int { charges.values.filter { $0.refunded != true }.count }

        /// The expected rejection code (nil: accepted), updating the model when accepted.
        mutating func apply(_ command: LedgerCommand) -> LedgerRejection.Code? {
            switch command {
            case .grant: return nil
            case .open(let incident, let account, let at, _, _):
                return charge([incident], account: account, at: at)
            case .split(_, let children, let account, let at, _):
                return charge(children, account: account, at: at)
            case .closeUnresolved(let incident, _, let role, _, _, _):
                guard let charge = charges[incident] else { return .unknownIncident }
                if charge.refunded == nil { charges[incident]!.refunded = role != .customer }
                return nil
            case .overrideBilling(let incident, let refund, _, _, _):
                guard let charge = charges[incident] else { return .unknownIncident }
                guard charge.refunded != nil else { return .notClosedUnresolved }
                if charge.refunded == true && !refund && used >= credits { return .exhausted }
                charges[incident]!.refunded = refund
                return nil
            case .reopen(let incident, let at):
                guard let charge = charges[incident] else { return .unknownIncident }
                if charge.refunded == true {
                    if at >= expiresAt { return .expired }
                    if used >= credits { return .exhausted }
                }
                charges[incident]!.refunded = nil
                return nil
            case .transfer(let to, _, _, let request):
                if let done = requests[request] { return done == to ? nil : .conflict }
                if to == owner { return .invalid }
                requests[request] = to
                owner = to
                return nil
            }
        }

        mutating func charge(_ incidents: [String], account: String, at: Date) -> LedgerRejection.Code? {
            if incidents.contains(where: { charges[$0] != nil && charges[$0]!.account != account }) {
                return account == owner ? .conflict : .wrongAccount
            }
            let fresh = incidents.filter { charges[$0] == nil }
            if fresh.isEmpty { return nil }
            if account != owner { return .wrongAccount }
            if at >= expiresAt { return .expired }
            if credits - used < fresh.count { return .exhausted }
            for incident in fresh { charges[incident] = (account, nil) }
            return nil
        }
    }

    static func randomCommands(_ random: inout SeededGenerator, count: Int) -> [LedgerCommand] {
        var commands: [LedgerCommand] = []
        var clock = Instant.milliseconds(purchase)
        var nextIncident = 0
        var nextRequest = 0
        let accounts = ["ACME", "BETA", "GAMMA"]
        for _ in 0..<count {
            // Mostly within the term; now and then a jump towards (or past) the expiry.
            clock += Int.random(in: 0..<20, using: &random) == 0 ? 60 * 86_400_000 : Int64.random(in: 1...3 * 86_400_000, using: &random)
            let at = Instant.date(milliseconds: clock)
            let known = nextIncident == 0 ? "INC-0" : "INC-\(Int.random(in: 0..<nextIncident, using: &random))"
            switch Int.random(in: 0..<10, using: &random) {
            case 0, 1, 2:
                let incident = Bool.random(using: &random) || nextIncident == 0 ? "INC-\(nextIncident)" : known
                nextIncident += 1
                commands.append(
                    .open(incidentID: incident, account: accounts.randomElement(using: &random)!, at: at, parentIncidentID: nil))
            case 3:
                let parent = nextIncident == 0 ? "EXTERNAL" : known
                let children = (0..<Int.random(in: 1...3, using: &random)).map { "INC-\(nextIncident + $0)" }
                nextIncident += children.count
                commands.append(
                    .split(parentIncidentID: parent, childIncidentIDs: children, account: accounts.randomElement(using: &random)!, at: at))
            case 4, 5:
                commands.append(
                    .closeUnresolved(
                        incidentID: known, at: at, closedBy: [.customer, .agent, .system].randomElement(using: &random)!, reason: "r",
                        severity: nil,
                        openedAt: nil))
            case 6:
                commands.append(.overrideBilling(incidentID: known, refund: Bool.random(using: &random), by: "ada", note: nil, at: at))
            case 7, 8:
                commands.append(.reopen(incidentID: known, at: at))
            default:
                let request =
                    Int.random(in: 0..<3, using: &random) == 0 && nextRequest > 0 ? "req-\(nextRequest - 1)" : "req-\(nextRequest)"
                nextRequest += 1
                commands.append(.transfer(toAccount: accounts.randomElement(using: &random)!, by: "ops", at: at, requestID: request))
            }
        }
        return commands
    }

    @Test(arguments: 0..<8)
    func randomSequencesAgreeWithTheModel(_ seed: Int) throws {
        var random = SeededGenerator(state: 0x5EED_0000 + UInt64(seed))
        for _ in 0..<40 {
            let credits = Int.random(in: 1...6, using: &random)
            var driver = grantedPack(credits: credits)
            var model = Model(credits: credits, expiresAt: try #require(driver.state).expiresAt)
            for command in Self.randomCommands(&random, count: Int.random(in: 5...40, using: &random)) {
                let before = driver.state
                let outcome = driver.apply(command)
                let expected = model.apply(command)
                #expect(outcome.rejection?.code == expected, "\(command) → \(outcome)")
                let pack = try #require(driver.state)
                if outcome.rejection != nil { #expect(pack == before) }
                #expect(pack.creditsUsed <= credits)
                #expect(pack.creditsUsed == pack.charges.filter { $0.billing?.refunded != true }.count)
                #expect(pack.creditsUsed == model.used)
                #expect(pack.account == model.owner)
                #expect(Set(pack.charges.map(\.incidentID)) == Set(model.charges.keys))
                #expect(pack.incidentsOpened == pack.charges.count)
                #expect(zip(pack.charges, pack.charges.dropFirst()).allSatisfy { $0.chargedAt <= $1.chargedAt })
                if case .opened(_, _, let remaining)? = outcome.value { #expect(remaining == pack.creditsRemaining) }
            }
        }
    }

    /// At-least-once delivery: after any prefix has been applied, its accepted commands delivered
    /// again change nothing, and the rest of the sequence ends where a single delivery ends.
    /// (Rejected commands are not remembered; see `aRedeliveredRejectionIsDecidedAfresh`.)
    @Test(arguments: 0..<8)
    func replayingAPrefixReachesTheSameState(_ seed: Int) throws {
        var random = SeededGenerator(state: 0xA7_1EA5_0000 + UInt64(seed))
        for _ in 0..<40 {
            let credits = Int.random(in: 1...6, using: &random)
            let commands = Self.randomCommands(&random, count: Int.random(in: 5...40, using: &random))
            var once = grantedPack(credits: credits)
            for command in commands { once.apply(command) }

            let cut = Int.random(in: 0...commands.count, using: &random)
            var twice = grantedPack(credits: credits)
            var accepted: [LedgerCommand] = [
                .grant(GrantSpec(id: "PACK-1", kind: .fivePack, account: "ACME", purchasedAt: purchase, credits: credits))
            ]
            for command in commands[..<cut] where twice.apply(command).value != nil { accepted.append(command) }
            let afterPrefix = twice.state
            for command in accepted {
                twice.apply(command)
                #expect(twice.state == afterPrefix, "redelivered \(command) changed the state")
            }
            for command in commands[cut...] { twice.apply(command) }
            #expect(twice.state == once.state)
            // And the state survives the state topic's JSON unchanged.
            let state = try #require(once.state)
            #expect(try LedgerJSON.decode(Entitlement.self, from: LedgerJSON.encode(state)) == state)
        }
    }
}
