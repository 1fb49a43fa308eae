import Foundation
import Testing
import TriageCore
import TriageSLA

@Suite("SLA state: product, customer and team of an incident")
struct SlaPartiesTests {
    let rules = SlaRules(SlaPolicy())
    let start = Date(timeIntervalSince1970: 1_780_000_000)

    @Test func aBookSharesOneCopyPerTripleAndKeepsThemThroughTheChangelog() throws {
        var book = SlaBook()
        for index in 0..<3 {
            _ = book.apply(
                .opened(severity: .b, coverage: .twentyFourSeven, team: "tier-1"), to: "INC-\(index)", at: start, position: 1, rules: rules)
            let changed = book.setParties(product: "billing", customer: "acme", team: "tier-1", of: "INC-\(index)")
            #expect(changed)
        }
        let again = book.setParties(product: "billing", customer: "acme", team: "tier-1", of: "INC-0")
        #expect(!again, "unchanged: no record")
        let first = try #require(book["INC-0"]?.parties)
        #expect(book["INC-2"]?.parties === first, "one shared instance")
        let unknown = book.setParties(product: "billing", customer: "acme", team: "tier-1", of: "INC-unknown")
        #expect(!unknown)

        let state = try #require(book["INC-1"])
        let decoded = try IncidentSlaCodec.decode(IncidentSlaCodec.encode(state, rules: rules), rules: rules)
        #expect(decoded.parties == first && decoded == state)
        var restored = SlaBook()
        restored.restore("INC-1", state: decoded)
        restored.restore("INC-2", state: try IncidentSlaCodec.decode(IncidentSlaCodec.encode(book["INC-2"]!, rules: rules), rules: rules))
        #expect(restored["INC-1"]?.parties === restored["INC-2"]?.parties, "restore interns again")

        // A repeated Opened with another team: the new triple.
        let moved = book.setParties(product: "billing", customer: "acme", team: "tier-2", of: "INC-0")
        #expect(moved)
        #expect(book["INC-0"]?.parties?.team == "tier-2" && book["INC-1"]?.parties?.team == "tier-1")
    }

    @Test func aRecordWithoutThemDecodesWithNone() throws {
        let state = IncidentSla(openedAt: start, severity: .c, coverage: .twentyFourSeven, team: nil, rules: rules)
        let decoded = try IncidentSlaCodec.decode(IncidentSlaCodec.encode(state, rules: rules), rules: rules)
        #expect(decoded.parties == nil)
    }
}
