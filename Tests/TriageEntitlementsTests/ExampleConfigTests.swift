import Foundation
import Testing
import TriageEntitlements

@Suite("Shipped example configuration")
struct ExampleConfigTests {
    static let config = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config")

    @Test func theBillingExampleLoadsAndDecides() throws {
        let policy = try BillingPolicy.load(contentsOf: Self.config.appendingPathComponent("billing-policy.example.yaml"))
        let closed = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(
            policy.decide(closedBy: .customer, reason: "x", severity: "B", openedAt: nil, closedAt: closed) == (false, "customer-withdrew"))
        #expect(
            policy.decide(closedBy: .agent, reason: "no_response", severity: "B", openedAt: nil, closedAt: closed) == (
                false, "customer-went-silent"
            ))
        #expect(
            policy.decide(closedBy: .agent, reason: "duplicate", severity: "B", openedAt: closed.addingTimeInterval(-600), closedAt: closed)
                == (true, "duplicate-within-an-hour"))
        #expect(
            policy.decide(closedBy: .agent, reason: "cannot_reproduce", severity: "B", openedAt: nil, closedAt: closed) == (true, "default")
        )
    }

    @Test func theTenantsExampleLoadsWithItsVariables() throws {
        let url = Self.config.appendingPathComponent("tenants.example.yaml")
        let directory = try TenantDirectory.load(
            contentsOf: url,
            environment: [
                "TRIAGE_BETA_TOKEN": "beta", "TRIAGE_OPS_TOKEN": "ops", "TRIAGE_CONSOLE_TOKEN": "console",
            ])
        #expect(directory.authenticate(bearer: "foo")?.name == "acme-portal")
        #expect(directory.authenticate(bearer: "console")?.isAdmin == true, "the console acts on every account")
        #expect(directory.authenticate(bearer: "beta")?.accounts == ["BETA"])
        #expect(directory.authenticate(bearer: "ops")?.isAdmin == true)
        #expect(directory.authenticate(bearer: "bar") == nil)
        // Without the variables it fails, naming the variable.
        #expect(throws: (any Error).self) { try TenantDirectory.load(contentsOf: url, environment: [:]) }
        do {
            _ = try TenantDirectory.load(contentsOf: url, environment: ["TRIAGE_OPS_TOKEN": "ops", "TRIAGE_CONSOLE_TOKEN": "console"])
        } catch {
            #expect("\(error)".contains("TRIAGE_BETA_TOKEN"), "\(error)")
        }
    }
}
