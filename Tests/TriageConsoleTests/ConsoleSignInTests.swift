import Foundation
import Testing
import TriageConsole
import TriageKafkaTesting

@Suite("Console sign-in and sessions over loopback HTTP", .serialized)
struct ConsoleSignInTests {
    @Test func signInSignOutExpiryAndThrottling() async throws {
        try await HeavyTests.run {
            let harness = try await ConsoleHarness { $0.sessions.idleTimeout = .seconds(600) }
            defer { Task { try? await harness.stop() } }
            let browser = WebSession(http: harness.http, base: harness.base)

            // Health and readiness like the other services; pages need a session.
            #expect(try await browser.get("/healthz").body == "ok\n")
            #expect(try await browser.get("/readyz").status == 200)
            let anonymous = try await browser.get("/queues")
            #expect(anonymous.status == 303 && anonymous.location == "/signin?next=%2Fqueues")
            #expect(try await browser.get("/api/live").status == 401)

            // A wrong password and an unknown user get the same answer.
            let wrong = try await browser.signIn("ana", password: "nope")
            let unknown = try await browser.signIn("nobody", password: "nope")
            #expect(wrong.status == 401 && unknown.status == 401)
            #expect(wrong.body.contains(SignInPageText.failure) && unknown.body.contains(SignInPageText.failure))
            #expect(browser.cookie == nil)

            // The right one: a session cookie with the protective attributes.
            let good = try await browser.signIn("ana")
            #expect(good.status == 303 && good.location == "/queues")
            let setCookie = try #require(browser.lastSetCookie)
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Secure"))
            let id = try #require(browser.cookie?.split(separator: "=").last)
            #expect(id.count == 64)  // 256 bits, hex
            let queues = try await browser.get("/queues")
            #expect(queues.status == 200 && queues.body.contains("data-username=\"ana\"") && queues.body.contains("data-role=\"agent\""))
            #expect(!queues.body.contains("http://") && !queues.body.contains("https://"))  // nothing fetched from elsewhere
            #expect(try await browser.get("/api/live").status == 200)

            // Sign-out needs the CSRF token, then ends the session.
            let signOut = try #require(WebSession.form("sign-out", in: queues.body))
            let stolen = browser.cookie
            #expect(try await browser.post("/signout", signOut.fields).status == 303)
            browser.cookie = stolen
            #expect(try await browser.get("/queues").status == 303)

            // Idle expiry.
            try await browser.signIn("lee")
            #expect(try await browser.get("/incidents").status == 200)
            harness.clock.advance(seconds: 601)
            let expired = try await browser.get("/incidents")
            #expect(expired.status == 303 && expired.location?.hasPrefix("/signin") == true)
            // A tab left open polls /api/live every two seconds: that is not the person's
            // activity, so the session still ends (stop 44's attack: it never did).
            try await browser.signIn("lee")
            for _ in 0..<5 {
                harness.clock.advance(seconds: 100)
                #expect(try await browser.get("/api/live").status == 200)
            }
            harness.clock.advance(seconds: 101)  // 601 s after the sign-in, the last page
            #expect(try await browser.get("/api/live").status == 401)
            #expect(try await browser.get("/incidents").status == 303)

            // Five failures lock the username (whether or not it exists), even for the right password.
            for _ in 0..<5 { _ = try await browser.signIn("bo", password: "guess") }
            let locked = try await browser.signIn("bo")
            #expect(locked.status == 429 && locked.body.contains(SignInPageText.failure))
            for _ in 0..<5 { _ = try await browser.signIn("ghost", password: "guess") }
            #expect(try await browser.signIn("ghost", password: "guess").status == 429)
            harness.clock.advance(seconds: 16 * 60)
            #expect(try await browser.signIn("bo").status == 303)

            // A sign-in posted from another site is refused.
            let foreign = WebSession(http: harness.http, base: harness.base)
            #expect(
                try await foreign.post(
                    "/signin", [("username", "lee"), ("password", ConsoleHarness.password)], origin: "http://evil.example"
                ).status == 403)
            try await harness.stop()
        }
    }
}

/// The sign-in failure text (the same for every failure).
enum SignInPageText {
    static let failure = "Sign-in failed: wrong username or password."
}
