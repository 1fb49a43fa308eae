import Foundation
import SwiftProtobuf
import Testing
import TriageEntitlements
import TriageIntake
import TriageSchema

/// A millisecond instant, the precision the ledger keeps.
private let at = Date(timeIntervalSince1970: 1_800_000_000.123)
private let decision = BillingDecision(refunded: true, rule: "customer-withdrew", decidedAt: at, decidedBy: "policy", note: "n")

@Suite("Ledger contract: commands and answers between protobuf and the domain")
struct LedgerContractTests {
    static let commands: [LedgerCommand] = [
        .grant(
            GrantSpec(
                id: "PACK-1", kind: .fivePack, account: "ACME", purchasedAt: at, timeZone: "Europe/Zurich", credits: 7,
                coverage: .twentyFourSeven, calendar: "emea", termYears: 2)),
        .grant(GrantSpec(id: "BH-1", kind: .businessHours, account: "ACME", purchasedAt: at)),
        .grant(GrantSpec(id: "247-1", kind: .twentyFourSeven, account: "ACME", purchasedAt: at, coverage: .businessHours)),
        .open(incidentID: "INC-1", account: "ACME", at: at, parentIncidentID: nil),
        .open(incidentID: "INC-2", account: "ACME", at: at, parentIncidentID: "INC-1", fingerprint: "f-2"),
        .split(parentIncidentID: "INC-1", childIncidentIDs: ["INC-1a", "INC-1b"], account: "ACME", at: at),
        .split(parentIncidentID: "INC-1", childIncidentIDs: [], account: "ACME", at: at, fingerprint: "f-s"),
        .closeUnresolved(incidentID: "INC-1", at: at, closedBy: .customer, reason: "withdrawn", severity: "A", openedAt: at),
        .closeUnresolved(incidentID: "INC-1", at: at, closedBy: .agent, reason: "duplicate", severity: nil, openedAt: nil),
        .closeUnresolved(incidentID: "INC-1", at: at, closedBy: .system, reason: "stale", severity: "C", openedAt: nil),
        .closeUnresolved(incidentID: "INC-1", at: at, closedBy: .admin, reason: "", severity: nil, openedAt: at),
        .overrideBilling(incidentID: "INC-1", refund: true, by: "admin@acme", note: "goodwill", at: at),
        .overrideBilling(incidentID: "INC-1", refund: false, by: "admin@acme", note: nil, at: at),
        .reopen(incidentID: "INC-1", at: at),
        .transfer(toAccount: "GLOBEX", by: "ops", at: at, requestID: "t-1"),
    ]

    static let outcomes: [LedgerOutcome] = [
        .granted(alreadyExisted: false),
        .granted(alreadyExisted: true),
        .opened(incidentIDs: ["INC-1"], newlyCharged: ["INC-1"], creditsRemaining: 4),
        .opened(incidentIDs: ["INC-1a", "INC-1b"], newlyCharged: [], creditsRemaining: nil),
        .billed(decision, creditsRemaining: 5, changed: true),
        .billed(BillingDecision(refunded: false, rule: "default", decidedAt: at, decidedBy: "ops"), creditsRemaining: nil, changed: false),
        .reopened(recharged: true, creditsRemaining: 0),
        .reopened(recharged: false, creditsRemaining: nil),
        .transferred(from: "ACME", to: "GLOBEX", alreadyDone: false),
        .transferred(from: "ACME", to: "GLOBEX", alreadyDone: true),
    ]

    @Test("every command survives request → bytes → request", arguments: commands)
    func commandRoundTrip(_ command: LedgerCommand) throws {
        var request = EntitlementRequest()
        request.requestID = "r-1"
        request.setLedgerCommand(command)
        #expect(request.commandJson.isEmpty)
        let decoded = try EntitlementRequest(serializedBytes: try request.serializedBytes() as [UInt8])
        #expect(try decoded.ledgerCommand() == command)
    }

    @Test("every outcome survives reply → bytes → reply", arguments: outcomes)
    func outcomeRoundTrip(_ outcome: LedgerOutcome) throws {
        var reply = EntitlementReply()
        reply.setLedgerAnswer(.success(outcome))
        #expect(reply.ok && reply.outcomeJson.isEmpty)
        let decoded = try EntitlementReply(serializedBytes: try reply.serializedBytes() as [UInt8])
        #expect(try decoded.ledgerAnswer() == .success(outcome))
    }

    @Test("every rejection code survives reply → bytes → reply", arguments: LedgerRejection.Code.allCases)
    func rejectionRoundTrip(_ code: LedgerRejection.Code) throws {
        let rejection = LedgerRejection(code: code, message: "because \(code.rawValue)")
        var reply = EntitlementReply()
        reply.setLedgerAnswer(.failure(rejection))
        #expect(!reply.ok)
        let decoded = try EntitlementReply(serializedBytes: try reply.serializedBytes() as [UInt8])
        #expect(try decoded.ledgerAnswer() == .failure(rejection))
    }

    @Test("a request and a reply written before the typed messages (JSON in fields 3 and 4) are still read")
    func oldJSONCarryingRecordsAreRead() throws {
        for command in Self.commands {
            var old = EntitlementRequest()
            old.requestID = "r-old"
            old.commandJson = String(decoding: try LedgerJSON.encode(command), as: UTF8.self)
            let stored: [UInt8] = try old.serializedBytes()
            #expect(try EntitlementRequest(serializedBytes: stored).ledgerCommand() == command)
        }
        // Bytes as an older intake wrote them: field 1 "r", field 3 an `open` as JSON.
        let json = #"{"account":"ACME","at":"2027-01-15T08:00:00.123Z","incident_id":"INC-9","type":"open"}"#
        let bytes: [UInt8] = [0x0A, 0x01, UInt8(ascii: "r"), 0x1A, UInt8(json.utf8.count)] + Array(json.utf8)
        let request = try EntitlementRequest(serializedBytes: bytes)
        let expected = LedgerCommand.open(
            incidentID: "INC-9", account: "ACME", at: Date(timeIntervalSince1970: 1_800_000_000.123), parentIncidentID: nil)
        #expect(try request.ledgerCommand() == expected)

        for outcome in Self.outcomes {
            var old = EntitlementReply()
            old.ok = true
            old.outcomeJson = String(decoding: try LedgerJSON.encode(outcome), as: UTF8.self)
            #expect(try EntitlementReply(serializedBytes: try old.serializedBytes() as [UInt8]).ledgerAnswer() == .success(outcome))
        }
        let rejection = LedgerRejection(code: .exhausted, message: "entitlement PACK-1 has no credits left (5 of 5 used)")
        var old = EntitlementReply()
        old.ok = false
        old.outcomeJson = String(decoding: try LedgerJSON.encode(rejection), as: UTF8.self)
        #expect(try EntitlementReply(serializedBytes: try old.serializedBytes() as [UInt8]).ledgerAnswer() == .failure(rejection))
    }

    @Test("the typed command wins over a leftover JSON one")
    func typedCommandWins() throws {
        var request = EntitlementRequest()
        request.commandJson = String(decoding: try LedgerJSON.encode(LedgerCommand.reopen(incidentID: "OLD", at: at)), as: UTF8.self)
        request.command = Triage_V1_LedgerCommand(.reopen(incidentID: "NEW", at: at))
        #expect(try request.ledgerCommand() == .reopen(incidentID: "NEW", at: at))
    }

    @Test("what cannot be read names the field")
    func unreadableCommandsNameTheField() {
        func problem(_ request: EntitlementRequest) -> String? {
            do {
                _ = try request.ledgerCommand()
                return nil
            } catch {
                return error.description
            }
        }
        #expect(problem(EntitlementRequest()) == "command: the request carries no ledger command")
        var request = EntitlementRequest()
        request.command = Triage_V1_LedgerCommand(.open(incidentID: "INC-1", account: "ACME", at: at, parentIncidentID: nil))
        request.command.open.clearAt()
        #expect(problem(request) == "command.open.at: missing")
        request.command = Triage_V1_LedgerCommand(
            .closeUnresolved(incidentID: "INC-1", at: at, closedBy: .agent, reason: "x", severity: nil, openedAt: nil))
        request.command.closeUnresolved.closedBy = .unspecified
        #expect(problem(request)?.hasPrefix("command.close_unresolved.closed_by:") == true)
        request.command = Triage_V1_LedgerCommand(.reopen(incidentID: "INC-1", at: at))
        request.command.reopen.at.seconds = .max
        #expect(problem(request)?.hasPrefix("command.reopen.at:") == true)
        request = EntitlementRequest()
        request.commandJson = #"{"type":"launch"}"#
        #expect(problem(request)?.hasPrefix("command_json is not a ledger command:") == true)
        #expect(throws: LedgerContractError.self) { try EntitlementReply().ledgerAnswer() }
    }

    @Test("instants are kept to the millisecond, as the ledger's JSON kept them")
    func instantsToTheMillisecond() throws {
        let fine = Date(timeIntervalSince1970: 1_800_000_000.123_456)
        var request = EntitlementRequest()
        request.setLedgerCommand(.reopen(incidentID: "INC-1", at: fine))
        let viaJSON = try LedgerJSON.decode(
            LedgerCommand.self, from: LedgerJSON.encode(LedgerCommand.reopen(incidentID: "INC-1", at: fine)))
        #expect(try request.ledgerCommand() == viaJSON)
        #expect(try request.ledgerCommand() == .reopen(incidentID: "INC-1", at: at))
        let before1970 = Date(timeIntervalSince1970: -1.5)
        request.setLedgerCommand(.reopen(incidentID: "INC-1", at: before1970))
        #expect(try request.ledgerCommand() == .reopen(incidentID: "INC-1", at: before1970))
    }
}
