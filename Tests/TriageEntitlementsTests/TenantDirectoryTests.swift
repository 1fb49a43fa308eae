import Crypto
import Foundation
import Testing
import TriageCore
import TriageEntitlements

private func sha256(_ text: String) -> String { SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined() }

private let secret = "acme-s3cret-token"
private let example = """
    tenants:
      - name: acme-portal
        token_sha256: \(sha256(secret))
        accounts: [ACME, ACME-EU]
      - name: beta-portal
        token_env: BETA_TOKEN
        accounts: [BETA]
      - name: operations
        token: ops-plain-token
        admin: true
    """

private func loadError(_ yaml: String, environment: [String: String] = ["BETA_TOKEN": "beta-env-token"]) -> String? {
    do {
        _ = try TenantDirectory.load(yaml: yaml, file: "tenants.yaml", environment: environment)
        return nil
    } catch {
        return error.description
    }
}

@Suite("Tenants")
struct TenantDirectoryTests {
    @Test func tokensAuthenticateTheirTenants() throws {
        let directory = try TenantDirectory.load(yaml: example, file: "tenants.yaml", environment: ["BETA_TOKEN": "beta-env-token"])
        #expect(directory.tenants.map(\.name) == ["acme-portal", "beta-portal", "operations"])
        let acme = try #require(directory.authenticate(bearer: secret))
        #expect(acme == Tenant(name: "acme-portal", accounts: ["ACME", "ACME-EU"]))
        #expect(acme.mayActOn(account: "ACME-EU") && !acme.mayActOn(account: "BETA"))
        #expect(directory.authenticate(bearer: "beta-env-token")?.name == "beta-portal")
        let ops = try #require(directory.authenticate(bearer: "ops-plain-token"))
        #expect(ops.isAdmin && ops.mayActOn(account: "ANYONE"))
        for wrong in ["", "acme-s3cret-toke", "acme-s3cret-token ", sha256(secret), "BETA_TOKEN"] {
            #expect(directory.authenticate(bearer: wrong) == nil)
        }
    }

    @Test func aDirectoryFromPlainTokens() {
        let directory = TenantDirectory(tokens: [
            "t1": Tenant(name: "one", accounts: ["A"]), "t2": Tenant(name: "two", accounts: [], isAdmin: true),
        ])
        #expect(directory.authenticate(bearer: "t1")?.name == "one")
        #expect(directory.authenticate(bearer: "t2")?.isAdmin == true)
        #expect(directory.authenticate(bearer: "t3") == nil)
    }

    @Test(arguments: [
        (
            "tenants:\n  - name: a\n    accounts: [A]\n",
            "tenants.yaml:2:11: tenants[0].token_sha256: tenant 'a' needs a token: give one of token_sha256 (preferred), token_env or token"
        ),
        (
            "tenants:\n  - name: a\n    token: x-secret-1\n    token_env: T\n    accounts: [A]\n",
            "tenants.yaml:4:5: tenants[0].token_env: tenant 'a' gives token and token_env; give exactly one"
        ),
        (
            "tenants:\n  - name: a\n    token_sha256: abc123-secret\n    accounts: [A]\n",
            "tenants.yaml:3:19: tenants[0].token_sha256: must be the SHA-256 of the token as 64 hexadecimal digits (found 13 characters); compute it with: printf %s \"$TOKEN\" | sha256sum"
        ),
        (
            "tenants:\n  - name: a\n    token_env: MISSING_VAR\n    accounts: [A]\n",
            "tenants.yaml:3:16: tenants[0].token_env: environment variable MISSING_VAR is not set; it must hold tenant 'a''s token"
        ),
        (
            "tenants:\n  - name: a\n    token_env: EMPTY_VAR\n    accounts: [A]\n",
            "tenants.yaml:3:16: tenants[0].token_env: environment variable EMPTY_VAR is empty; it must hold tenant 'a''s token"
        ),
        (
            "tenants:\n  - name: a\n    token: x-secret-1\n",
            "tenants.yaml:2:11: tenants[0].accounts: tenant 'a' may act on no account; list its accounts (or make it admin: true)"
        ),
        (
            "tenants:\n  - name: a\n    token: x-secret-1\n    accounts: [A]\n  - name: a\n    token: x-secret-2\n    accounts: [B]\n",
            "tenants.yaml:5:11: tenants[1].name: tenant 'a' is already defined by tenants[0]; each name once"
        ),
        (
            "tenants:\n  - name: a\n    token: x-secret-1\n    accounts: [A]\n  - name: b\n    token: x-secret-1\n    accounts: [B]\n",
            "tenants.yaml:6:12: tenants[1].token: tenant 'b' has the same token as tenant 'a' (tenants[0]); every tenant needs its own"
        ),
        (
            "tenants:\n  - name: a\n    tokn: x-secret-1\n    accounts: [A]\n",
            "tenants.yaml:3:5: tenants[0].tokn: unknown key 'tokn'; did you mean 'token'?"
        ),
        (
            "tenants:\n  - name: a\n    token: x-secret-1\n    admin: maybe\n",
            "tenants.yaml:4:12: tenants[0].admin: 'maybe' is not true or false"
        ),
        ("tenants: []\n", "tenants.yaml:1:10: tenants: no tenants: nobody could call the intake; list at least one"),
        ("", "tenants.yaml: the tenants file is empty: list the intake's callers under 'tenants'"),
    ])
    func loadErrors(_ yaml: String, _ expected: String) {
        let error = loadError(yaml, environment: ["EMPTY_VAR": ""])
        #expect(error == expected)
        #expect(error?.contains("x-secret") == false)
    }

    /// Issue 18: a bearer token pasted into token_env (the value instead of a variable name)
    /// was echoed as "environment variable <token> is not set".
    @Test(arguments: ["tok3nValue9xQ", "dev-4f2a9c1b", "ABCDEF0123456789ABCDEF0123456789", "s3cr3t"])
    func aTokenPastedIntoTokenEnvIsNotEchoed(_ pasted: String) {
        let yaml = "tenants:\n  - name: a\n    token_env: \(pasted)\n    accounts: [A]\n"
        let error = loadError(yaml, environment: [:])
        #expect(error?.contains(pasted) == false, "\(error ?? "accepted")")
        #expect(
            error?.hasPrefix(
                "tenants.yaml:3:16: tenants[0].token_env: expected an environment variable name such as BETA_TOKEN (found \(pasted.count) characters that are not one"
            ) == true, "\(error ?? "accepted")")
    }

    @Test func theSameTokenThroughDifferentKeysIsRefusedWithoutQuotingIt() {
        let yaml =
            "tenants:\n  - name: a\n    token_sha256: \(sha256(secret))\n    accounts: [A]\n  - name: b\n    token_env: B_TOKEN\n    accounts: [B]\n"
        let error = loadError(yaml, environment: ["B_TOKEN": secret])
        #expect(error?.contains("same token") == true)
        #expect(error?.contains(secret) == false)
        #expect(error?.contains(sha256(secret)) == false)
    }

    @Test func anUnreadableFileIsNamed() {
        let url = URL(fileURLWithPath: "/nonexistent/tenants.yaml")
        #expect(throws: ConfigurationError.self) { try TenantDirectory.load(contentsOf: url, environment: [:]) }
        do {
            _ = try TenantDirectory.load(contentsOf: url, environment: [:])
        } catch {
            #expect(error.description.hasPrefix("/nonexistent/tenants.yaml: cannot read the tenants file"))
        }
    }
}
