import Foundation
import Testing

@testable import TriageEntitlements

private func entitlement(
    _ id: String, _ kind: ContractKind, account: String = "ACME", coverage: EntitlementCoverage? = nil,
    purchased: String = "2026-01-01T00:00:00Z",
    credits: Int? = nil, used: Int = 0
) -> Entitlement {
    let purchasedAt = instant(purchased)
    var value = Entitlement(
        id: id, kind: kind, coverage: coverage ?? kind.contractCoverage ?? .businessHours, account: account, purchasedAt: purchasedAt,
        timeZone: "UTC", expiresAt: EntitlementTerm.expiry(purchasedAt: purchasedAt, timeZone: TimeZone(identifier: "UTC")!),
        credits: kind.isPack ? (credits ?? 5) : nil)
    value.charges = (0..<used).map { Charge(incidentID: "\(id)-\($0)", account: account, chargedAt: purchasedAt) }
    value.incidentsOpened = used
    return value
}

@Suite("Selection")
struct SelectionTests {
    let at = instant("2026-06-01T00:00:00Z")

    @Test func contractsFirstThenCoverageThenEarliestExpiryThenFewestCreditsThenId() {
        let all = [
            entitlement("P-late", .fivePack, purchased: "2026-03-01T00:00:00Z"),
            entitlement("P-early-full", .fivePack, purchased: "2026-02-01T00:00:00Z"),
            entitlement("P-early-low", .fivePack, purchased: "2026-02-01T00:00:00Z", used: 3),
            entitlement("P-early-low-b", .fivePack, purchased: "2026-02-01T00:00:00Z", used: 3),
            entitlement("P-24", .fivePack, coverage: .twentyFourSeven, purchased: "2026-05-01T00:00:00Z"),
            entitlement("C-bh", .businessHours),
            entitlement("C-24", .twentyFourSeven),
            entitlement("P-exhausted", .fivePack, used: 5),
            entitlement("P-expired", .fivePack, purchased: "2025-01-01T00:00:00Z"),
            entitlement("P-future", .fivePack, purchased: "2026-07-01T00:00:00Z"),
            entitlement("P-other", .fivePack, account: "BETA"),
        ]
        #expect(
            EntitlementSelection.candidates(for: "ACME", at: at, among: all, coverage: nil).map(\.id)
                == ["C-24", "C-bh", "P-early-low", "P-early-low-b", "P-early-full", "P-late", "P-24"])
        #expect(
            EntitlementSelection.candidates(for: "ACME", at: at, among: all, coverage: .twentyFourSeven).map(\.id)
                == ["C-24", "C-bh", "P-24", "P-early-low", "P-early-low-b", "P-early-full", "P-late"])
        #expect(
            EntitlementSelection.candidates(for: "ACME", at: at, among: all, coverage: .businessHours).map(\.id)
                == ["C-bh", "C-24", "P-early-low", "P-early-low-b", "P-early-full", "P-late", "P-24"])
        #expect(EntitlementSelection.candidates(for: "BETA", at: at, among: all, coverage: nil).map(\.id) == ["P-other"])
        #expect(EntitlementSelection.candidates(for: "NOBODY", at: at, among: all, coverage: nil).isEmpty)
    }
}

@Suite("Ledger JSON")
struct LedgerJSONTests {
    static let at = instant("2026-03-04T05:06:07.089Z")

    static let commands: [LedgerCommand] = [
        .grant(GrantSpec(id: "P", kind: .fivePack, account: "A", purchasedAt: at)),
        .grant(
            GrantSpec(
                id: "C", kind: .twentyFourSeven, account: "A", purchasedAt: at, timeZone: "Europe/London", coverage: .twentyFourSeven,
                calendar: "emea", termYears: 2)),
        .grant(GrantSpec(id: "P", kind: .fivePack, account: "A", purchasedAt: at, credits: 10, coverage: .twentyFourSeven)),
        .open(incidentID: "I", account: "A", at: at, parentIncidentID: nil),
        .open(incidentID: "I", account: "A", at: at, parentIncidentID: "P"),
        .split(parentIncidentID: "P", childIncidentIDs: ["a", "b"], account: "A", at: at),
        .closeUnresolved(
            incidentID: "I", at: at, closedBy: .customer, reason: "withdrawn", severity: "A", openedAt: at.adding(milliseconds: -1)),
        .closeUnresolved(incidentID: "I", at: at, closedBy: .system, reason: "r", severity: nil, openedAt: nil),
        .overrideBilling(incidentID: "I", refund: true, by: "ada", note: "outage", at: at),
        .overrideBilling(incidentID: "I", refund: false, by: "ada", note: nil, at: at),
        .reopen(incidentID: "I", at: at),
        .transfer(toAccount: "B", by: "ops", at: at, requestID: "r1"),
    ]

    static let outcomes: [LedgerOutcome] = [
        .granted(alreadyExisted: false), .granted(alreadyExisted: true),
        .opened(incidentIDs: ["a", "b"], newlyCharged: ["b"], creditsRemaining: 3),
        .opened(incidentIDs: ["a"], newlyCharged: [], creditsRemaining: nil),
        .billed(BillingDecision(refunded: true, rule: "default", decidedAt: at, decidedBy: "policy"), creditsRemaining: 2, changed: true),
        .billed(
            BillingDecision(refunded: false, rule: "admin override", decidedAt: at, decidedBy: "ada", note: "n"), creditsRemaining: nil,
            changed: false),
        .reopened(recharged: true, creditsRemaining: 0), .reopened(recharged: false, creditsRemaining: nil),
        .transferred(from: "A", to: "B", alreadyDone: false),
    ]

    @Test(arguments: commands)
    func commandsRoundTrip(_ command: LedgerCommand) throws {
        let bytes = try LedgerJSON.encode(command)
        #expect(try LedgerJSON.decode(LedgerCommand.self, from: bytes) == command)
        #expect(String(decoding: bytes, as: UTF8.self).contains("\"type\":\"\(command.name)\""))
    }

    @Test(arguments: outcomes)
    func outcomesRoundTrip(_ outcome: LedgerOutcome) throws {
        #expect(try LedgerJSON.decode(LedgerOutcome.self, from: LedgerJSON.encode(outcome)) == outcome)
    }

    @Test(arguments: LedgerRejection.Code.allCases)
    func rejectionsRoundTrip(_ code: LedgerRejection.Code) throws {
        let rejection = LedgerRejection(code: code, message: "entitlement P: \(code)")
        let bytes = try LedgerJSON.encode(rejection)
        #expect(try LedgerJSON.decode(LedgerRejection.self, from: bytes) == rejection)
        #expect(String(decoding: bytes, as: UTF8.self).contains("\"code\":\"\(code.rawValue)\""))
    }

    @Test func theWireFormOfACommand() throws {
        let command = LedgerCommand.open(incidentID: "INC-1", account: "ACME", at: Self.at, parentIncidentID: nil)
        #expect(
            String(decoding: try LedgerJSON.encode(command), as: UTF8.self)
                == #"{"account":"ACME","at":"2026-03-04T05:06:07.089Z","incident_id":"INC-1","type":"open"}"#)
    }

    @Test func anEntitlementWithChargesTransfersAndDecisionsRoundTripsToTheMillisecond() throws {
        var driver = grantedPack()
        let odd = purchase.adding(milliseconds: 86_400_000 + 7)
        driver.apply(.open(incidentID: "INC-1", account: "ACME", at: odd, parentIncidentID: nil))
        driver.apply(.split(parentIncidentID: "INC-1", childIncidentIDs: ["INC-1a"], account: "ACME", at: odd.adding(milliseconds: 1)))
        driver.apply(
            .closeUnresolved(
                incidentID: "INC-1", at: odd.adding(milliseconds: 999), closedBy: .agent, reason: "r", severity: nil, openedAt: nil))
        driver.apply(
            .closeUnresolved(
                incidentID: "INC-1a", at: odd.adding(milliseconds: 1000), closedBy: .customer, reason: "r", severity: nil, openedAt: nil))
        driver.apply(
            .overrideBilling(incidentID: "INC-1a", refund: true, by: "ada", note: "é ✓ \"quoted\"", at: odd.adding(milliseconds: 1001)))
        driver.apply(.reopen(incidentID: "INC-1", at: odd.adding(milliseconds: 2001)))
        driver.apply(.transfer(toAccount: "BETA", by: "ops", at: odd.adding(milliseconds: 3001), requestID: "req/1"))
        let pack = try #require(driver.state)
        #expect(pack.charges.count == 2 && pack.transfers.count == 1 && pack.charges[0].lastReopen != nil && pack.charges[1].billing != nil)
        let bytes = try LedgerJSON.encode(pack)
        let decoded = try LedgerJSON.decode(Entitlement.self, from: bytes)
        #expect(decoded == pack)
        #expect(try LedgerJSON.encode(decoded) == bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix(#"{"account":"BETA","charges":[{"account":"ACME","charged_at":"2026-03-02T09:00:00.007Z""#))
        #expect(text.contains(#""version":1"#))
        #expect(text.contains(#""expires_at":"2027-03-01T09:00:00.000Z""#))
    }

    @Test func otherVersionsAreRefused() throws {
        let pack = try #require(grantedPack().state)
        let text = String(decoding: try LedgerJSON.encode(pack), as: UTF8.self)
        for version in ["2", "0"] {
            let future = Array(text.replacingOccurrences(of: #""version":1"#, with: "\"version\":\(version)").utf8)
            do {
                _ = try LedgerJSON.decode(Entitlement.self, from: future)
                Issue.record("version \(version) was accepted")
            } catch let DecodingError.dataCorrupted(context) {
                #expect(context.debugDescription.contains("entitlement JSON version \(version)"))
            }
        }
        #expect(text.hasSuffix(#","version":1}"#))
        let missing = Array(text.replacingOccurrences(of: #","version":1"#, with: "").utf8)
        #expect(throws: DecodingError.self) { try LedgerJSON.decode(Entitlement.self, from: missing) }
    }

    @Test(arguments: [
        ("2026-03-04T05:06:07Z", "2026-03-04T05:06:07.000Z"), ("2026-03-04T05:06:07.1Z", "2026-03-04T05:06:07.100Z"),
        ("2026-03-04T05:06:07.0899Z", "2026-03-04T05:06:07.090Z"), ("2026-03-04T07:06:07.089+02:00", "2026-03-04T05:06:07.089Z"),
        ("1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z"), ("2028-02-29T00:00:00.000Z", "2028-02-29T00:00:00.000Z"),
    ])
    func instantsParseAndPrint(_ input: String, _ output: String) {
        #expect(Instant.parse(input).map(Instant.string) == output)
    }

    @Test(arguments: [
        "", "2026-03-04", "2026-02-30T00:00:00Z", "2026-03-04T05:06:07", "2026-03-04 05:06:07Z", "2026-03-04T25:00:00Z",
        "2026-03-04T05:06:07.Z",
    ])
    func badInstantsAreRefused(_ input: String) {
        #expect(Instant.parse(input) == nil)
    }

    @Test func millisecondsSurviveEveryRoundTrip() throws {
        var random = SeededGenerator(state: 77)
        for _ in 0..<500 {
            let millis = Int64.random(in: -2_000_000_000_000...4_000_000_000_000, using: &random)
            let date = Instant.date(milliseconds: millis)
            let command = LedgerCommand.reopen(incidentID: "I", at: date)
            let back = try LedgerJSON.decode(LedgerCommand.self, from: LedgerJSON.encode(command))
            #expect(back == command)
            #expect(Instant.milliseconds(date) == millis)
        }
    }
}
