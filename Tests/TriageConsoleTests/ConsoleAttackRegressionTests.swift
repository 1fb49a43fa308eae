import Foundation
import Testing
import TriageConsole
import TriageKafkaTesting

/// What the outside attack on issue 22 found in forms the console accepted.
@Suite("Console: what the outside attack found", .serialized)
struct ConsoleAttackRegressionTests {
    @Test func aNextWithControlCharactersAndAReassignToAnAgentTheFormDidNotOfferAreRefused() async throws {
        try await HeavyTests.run {
            let harness = try await ConsoleHarness()
            defer { Task { try? await harness.stop() } }
            let ana = WebSession(http: harness.http, base: harness.base)
            // "/\t/evil.example" became "//evil.example" in a browser: another site.
            for next in ["/\t/evil.example/phish", "/\n/evil.example", "/ /evil.example"] {
                let signIn = try await ana.post("/signin", [("username", "ana"), ("password", ConsoleHarness.password), ("next", next)])
                #expect(signIn.status == 303 && signIn.location == "/queues", "\(next.debugDescription) → \(signIn.location ?? "-")")
            }

            try await harness.grantPack()
            let incident = try await harness.open(team: "tier-1")
            try await eventually("the console knows \(incident)", timeout: .seconds(30)) {
                (try? await ana.get("/incidents/\(incident)"))?.status == 200
            }
            let page = try await ana.get("/incidents/\(incident)")
            let form = try #require(WebSession.form("action-reassign", in: page.body))
            // agent-2 is bo, of tier-2; "ghost" is nobody. Neither is offered, neither is sent.
            for target in ["agent:agent-2", "agent:ghost\"><b>x"] {
                let refused = try await ana.post(form.action, form.fields.filter { $0.0 != "nonce" } + [("nonce", target), ("to", target)])
                #expect(refused.status == 303 && refused.outcome == "refused", "\(target): \(refused.outcome ?? "-")")
            }
            try await Task.sleep(for: .seconds(2))
            #expect(try await harness.events(of: incident).count == 1, "only the Opened: nothing was published")

            // /api/live sent every incident to every page on every poll; a page now asks for its kinds.
            let other = try await harness.open(team: "tier-1", title: "another")
            try await eventually("the console knows \(other)", timeout: .seconds(30)) {
                (try? await ana.get("/api/live"))?.body.contains("incident-status:\(other)") == true
            }
            func keys(_ path: String) async throws -> Set<String> {
                let body = try await ana.get(path).body
                let json = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
                return Set((json["values"] as? [String: String] ?? [:]).keys)
            }
            let everything = try await keys("/api/live")
            #expect(everything.contains("incident-status:\(incident)") && everything.contains("open-incidents"))
            // (No router runs here, so there are no queues: the queue kinds bring nothing else.)
            let queues = try await keys("/api/live?kinds=queue-depth,queue-oldest")
            #expect(queues.allSatisfy { $0.hasPrefix("queue-") }, "\(queues)")
            // A queues page opened before any desk exists learns when one appears (CI, stop 43:
            // the page said "No team desk is known yet" for good): it carries the teams it was
            // rendered for, and the live figures say which teams there are now.
            let empty = try await ana.get("/queues").body
            #expect(empty.contains("id=\"no-queues\"") && empty.contains("data-live=\"queue-teams\" data-live-reload>[]</span>"))
            let teams = try JSONSerialization.jsonObject(with: Data(try await ana.get("/api/live?kinds=queue-teams").body.utf8))
            #expect((teams as? [String: Any])?["values"] as? [String: String] == ["queue-teams": "[]"], "\(teams)")
            let detail = try await keys("/api/live?kinds=incident-status,incident-agent&ids=\(incident)")
            #expect(detail.contains("incident-status:\(incident)") && !detail.contains { $0.hasSuffix(other) }, "\(detail)")
            try await harness.stop()
        }
    }
}
