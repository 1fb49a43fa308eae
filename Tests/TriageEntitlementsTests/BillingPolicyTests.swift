import Foundation
import Testing
import TriageCore
import TriageEntitlements

private func loadError(_ yaml: String) -> String? {
    do {
        _ = try BillingPolicy.load(yaml: yaml, file: "billing.yaml")
        return nil
    } catch {
        return error.description
    }
}

private let closedAt = instant("2026-05-01T12:00:00Z")

@Suite("Billing policy")
struct BillingPolicyTests {
    @Test func theStandardPolicyChargesWithdrawalsAndRefundsTheRest() {
        let standard = BillingPolicy.standard
        #expect(
            standard.decide(closedBy: .customer, reason: "withdrawn", severity: "A", openedAt: nil, closedAt: closedAt) == (
                false, "customer-withdrew"
            ))
        for role in [CloserRole.agent, .system, .admin] {
            #expect(
                standard.decide(closedBy: role, reason: "not_solved", severity: nil, openedAt: nil, closedAt: closedAt) == (true, "default")
            )
        }
    }

    @Test func theFirstMatchingRuleDecides() {
        let policy = BillingPolicy(
            rules: [
                .init(name: "duplicates", reasons: ["duplicate"], refund: true),
                .init(name: "quick-withdrawal", closedBy: [.customer], openedForLessThan: .seconds(1800), refund: true),
                .init(name: "withdrew", closedBy: [.customer], refund: false),
                .init(name: "sev-c", severities: ["C"], refund: false),
            ], defaultRefund: true)
        let opened = closedAt.addingTimeInterval(-1799)
        #expect(
            policy.decide(closedBy: .customer, reason: "duplicate", severity: "C", openedAt: nil, closedAt: closedAt) == (
                true, "duplicates"
            ))
        #expect(
            policy.decide(closedBy: .customer, reason: "x", severity: nil, openedAt: opened, closedAt: closedAt) == (
                true, "quick-withdrawal"
            ))
        // Open exactly 30 minutes is not less than 30 minutes; unknown opening never matches.
        #expect(
            policy.decide(closedBy: .customer, reason: "x", severity: nil, openedAt: closedAt.addingTimeInterval(-1800), closedAt: closedAt)
                == (false, "withdrew"))
        #expect(policy.decide(closedBy: .customer, reason: "x", severity: nil, openedAt: nil, closedAt: closedAt) == (false, "withdrew"))
        #expect(policy.decide(closedBy: .agent, reason: "x", severity: "C", openedAt: nil, closedAt: closedAt) == (false, "sev-c"))
        #expect(policy.decide(closedBy: .agent, reason: "x", severity: nil, openedAt: nil, closedAt: closedAt) == (true, "default"))
        #expect(
            BillingPolicy(rules: [], defaultRefund: false).decide(
                closedBy: .agent, reason: "", severity: nil, openedAt: nil, closedAt: closedAt) == (false, "default"))
        // A rule without conditions matches everything.
        #expect(
            BillingPolicy(rules: [.init(name: "all", refund: false)]).decide(
                closedBy: .admin, reason: "", severity: nil, openedAt: nil, closedAt: closedAt) == (false, "all"))
    }

    @Test func aFullPolicyLoads() throws {
        let policy = try BillingPolicy.load(
            yaml: """
                unresolved_closes:
                  default: charge
                  rules:
                    - name: customer-withdrew
                      when: { closed_by: [customer] }
                      decision: charge
                    - name: quick
                      when:
                        closed_by: [agent, system]
                        reason: [duplicate, no_response]
                        severity: [A, B]
                        opened_for_less_than: 1h30m
                      decision: refund
                    - name: catch-all
                      decision: Refund
                """, file: "billing.yaml")
        #expect(policy.defaultRefund == false)
        #expect(
            policy.rules == [
                .init(name: "customer-withdrew", closedBy: [.customer], refund: false),
                .init(
                    name: "quick", closedBy: [.agent, .system], reasons: ["duplicate", "no_response"], severities: ["A", "B"],
                    openedForLessThan: .seconds(5400), refund: true),
                .init(name: "catch-all", refund: true),
            ])
    }

    @Test func missingPartsKeepTheStandardPolicy() throws {
        #expect(try BillingPolicy.load(yaml: "", file: "b.yaml") == .standard)
        #expect(
            try BillingPolicy.load(yaml: "unresolved_closes:\n  default: charge\n", file: "b.yaml").rules == BillingPolicy.standard.rules)
        #expect(
            try BillingPolicy.load(yaml: "unresolved_closes:\n  rules: []\n", file: "b.yaml")
                == BillingPolicy(rules: [], defaultRefund: true))
    }

    @Test(arguments: [
        ("30s", 30), ("30m", 1800), ("2h", 7200), ("1d", 86_400), ("1d2h", 93_600), ("1h 30m", 5400),
    ])
    func durations(_ text: String, _ seconds: Int) throws {
        let policy = try BillingPolicy.load(
            yaml: "unresolved_closes:\n  rules:\n    - name: r\n      when: { opened_for_less_than: \(text) }\n      decision: charge\n",
            file: "b.yaml")
        #expect(policy.rules.first?.openedForLessThan == .seconds(seconds))
    }

    @Test(arguments: [
        (
            "unresolved_close:\n  default: refund\n",
            "billing.yaml:1:1: unresolved_close: unknown key 'unresolved_close'; did you mean 'unresolved_closes'?"
        ),
        (
            "unresolved_closes:\n  defualt: refund\n",
            "billing.yaml:2:3: unresolved_closes.defualt: unknown key 'defualt'; did you mean 'default'?"
        ),
        (
            "unresolved_closes:\n  default: maybe\n",
            "billing.yaml:2:12: unresolved_closes.default: 'maybe' is not a decision: write refund or charge"
        ),
        (
            "unresolved_closes:\n  rules:\n    - name: a\n      when: { closed_by: [custmer] }\n      decision: charge\n",
            "billing.yaml:4:27: unresolved_closes.rules[0].when.closed_by[0]: unknown role 'custmer'; did you mean 'customer'?"
        ),
        (
            "unresolved_closes:\n  rules:\n    - name: a\n      when: { opened_for_less_than: 30x }\n      decision: charge\n",
            "billing.yaml:4:37: unresolved_closes.rules[0].when.opened_for_less_than: '30x': unknown unit 'x'; write a duration such as 90s, 30m, 4h, 2d or 1h30m"
        ),
        (
            "unresolved_closes:\n  rules:\n    - name: a\n      when: { opened_for_less_than: 30 }\n      decision: charge\n",
            "billing.yaml:4:37: unresolved_closes.rules[0].when.opened_for_less_than: '30' needs a unit: write a duration such as 90s, 30m, 4h, 2d or 1h30m"
        ),
        (
            "unresolved_closes:\n  rules:\n    - name: a\n      when: { opened_for_less_than: 0m }\n      decision: charge\n",
            "billing.yaml:4:37: unresolved_closes.rules[0].when.opened_for_less_than: '0m': must be more than zero"
        ),
        (
            "unresolved_closes:\n  rules:\n    - name: a\n      when: { reasons: [x] }\n      decision: charge\n",
            "billing.yaml:4:15: unresolved_closes.rules[0].when.reasons: unknown key 'reasons'; did you mean 'reason'?"
        ),
        (
            "unresolved_closes:\n  rules:\n    - name: a\n      when: { reason: [] }\n      decision: charge\n",
            "billing.yaml:4:23: unresolved_closes.rules[0].when.reason: an empty list matches nothing; remove 'reason' to match any"
        ),
        (
            "unresolved_closes:\n  rules:\n    - name: a\n      decision: charge\n    - name: a\n      decision: refund\n",
            "billing.yaml:5:13: unresolved_closes.rules[1].name: rule 'a' is already defined by unresolved_closes.rules[0]; each name once"
        ),
        (
            "unresolved_closes:\n  rules:\n    - name: a\n",
            "billing.yaml:3:7: unresolved_closes.rules[0].decision: missing 'decision': refund or charge"
        ),
        (
            "unresolved_closes:\n  rules:\n    - decision: charge\n",
            "billing.yaml:3:7: unresolved_closes.rules[0].name: missing 'name': the rule's name, recorded with each decision it makes"
        ),
        (
            "unresolved_closes:\n  rules:\n    - name: a\n      decision: charge\n      decison: refund\n",
            "billing.yaml:5:7: unresolved_closes.rules[0].decison: unknown key 'decison'; did you mean 'decision'?"
        ),
        ("unresolved_closes: [1]\n", "billing.yaml:1:20: unresolved_closes: expected a mapping with 'default' and 'rules', found a list"),
    ])
    func loadErrorsPointAtTheProblem(_ yaml: String, _ expected: String) {
        #expect(loadError(yaml) == expected)
    }

    @Test func anUnreadableFileIsNamed() throws {
        let url = URL(fileURLWithPath: "/nonexistent/billing-\(UUID().uuidString).yaml")
        do {
            _ = try BillingPolicy.load(contentsOf: url)
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.file == url.path)
            #expect(error.description.hasPrefix("\(url.path): cannot read the billing policy"))
        }
    }

    @Test func aFileIsRead() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("billing-\(UUID().uuidString).yaml")
        try "unresolved_closes:\n  default: charge\n  rules: []\n".write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(try BillingPolicy.load(contentsOf: url) == BillingPolicy(rules: [], defaultRefund: false))
    }
}
