import Foundation
import Testing
import TriageConsole
import TriageKafkaTesting
import TriageRouting
import TriageSchema

@Suite("Console actions through the intake, over loopback HTTP", .serialized)
struct ConsoleActionTests {
    /// Posts the form `id` of the page at `path` with `extra` fields; returns the response.
    static func submit(_ browser: WebSession, page path: String, form id: String, _ extra: [(String, String)] = []) async throws
        -> WebSession.Page
    {
        let page = try await browser.get(path)
        let form = try #require(WebSession.form(id, in: page.body), "no form \(id) on \(path)")
        return try await browser.post(form.action, form.fields + extra)
    }

    @Test func csrfAndOtherTeamsAreRefusedAndPublishNothing() async throws {
        try await HeavyTests.run {
            let harness = try await ConsoleHarness()
            defer { Task { try? await harness.stop() } }
            try await harness.grantPack()
            let tier1 = try await harness.open(team: "tier-1")
            let before = try await harness.events(of: tier1).count
            #expect(before == 1)  // the Opened

            let ana = WebSession(http: harness.http, base: harness.base)
            try await ana.signIn("ana")
            let page = try await ana.get("/incidents/\(tier1)")
            #expect(page.status == 200)
            #expect(page.body.contains("id=\"incident-status\" data-status=\"open\""))
            let form = try #require(WebSession.form("action-acknowledge", in: page.body))

            // No token, a wrong token, no Origin/Referer, another site's Origin: 403.
            let nonce = form.fields.filter { $0.0 == "nonce" }
            #expect(try await ana.post(form.action, nonce).status == 403)
            #expect(try await ana.post(form.action, nonce + [("csrf", String(repeating: "0", count: 64))]).status == 403)
            #expect(try await ana.post(form.action, form.fields, origin: .none).status == 403)
            #expect(try await ana.post(form.action, form.fields, origin: "http://evil.example").status == 403)
            // Another session's token does not work either.
            let lee = WebSession(http: harness.http, base: harness.base)
            try await lee.signIn("lee")
            let leePage = try await lee.get("/incidents/\(tier1)")
            let leeForm = try #require(WebSession.form("action-acknowledge", in: leePage.body))
            #expect(try await ana.post(form.action, leeForm.fields).status == 403)

            // An agent of tier-2: the tier-1 incident is 403, to see and to act.
            let bo = WebSession(http: harness.http, base: harness.base)
            try await bo.signIn("bo")
            let forbidden = try await bo.get("/incidents/\(tier1)")
            #expect(forbidden.status == 403 && forbidden.body.contains("id=\"forbidden\""))
            let boQueues = try await bo.get("/queues")
            let boToken = try #require(WebSession.form("sign-out", in: boQueues.body)).fields
            #expect(try await bo.post("/incidents/\(tier1)/actions/acknowledge", boToken).status == 403)
            #expect(try await bo.post("/incidents/\(tier1)/actions/close-resolved", boToken).status == 403)
            let boList = try await bo.get("/incidents?state=all")
            #expect(!boList.body.contains("data-incident-id=\"\(tier1)\""))

            // Nothing was published by any of it (read the topic after a real action went through).
            let done = try await ana.post(form.action, form.fields)
            #expect(done.status == 303 && done.outcome == "done")
            try await eventually("the acknowledge is on the topic", timeout: .seconds(20)) {
                (try? await harness.events(of: tier1).count) == 2
            }
            let events = try await harness.events(of: tier1)
            #expect(events.count == 2)
            #expect(events.last.map { if case .acknowledged = $0.event { true } else { false } } == true)
            try await harness.stop()
        }
    }

    @Test func eachActionPublishesOneEventWithTheActorAndADoubleSubmitOnce() async throws {
        try await HeavyTests.run {
            let harness = try await ConsoleHarness()
            defer { Task { try? await harness.stop() } }
            try await harness.grantPack()
            let incident = try await harness.open(team: "tier-1")
            let ana = WebSession(http: harness.http, base: harness.base)
            try await ana.signIn("ana")
            let path = "/incidents/\(incident)"

            var expected = 1
            func check(_ response: WebSession.Page, _ what: String, type: String) async throws {
                #expect(response.status == 303 && response.outcome == "done", "\(what): \(response.status) \(response.outcome ?? "-")")
                expected += 1
                let expected = expected
                try await eventually("\(what) on the topic", timeout: .seconds(20)) {
                    (try? await harness.events(of: incident).count) ?? 0 >= expected
                }
                let events = try await harness.events(of: incident)
                #expect(events.count == expected, "\(what): \(events.map { $0.eventTypeName ?? "?" })")
                #expect(events.last?.eventTypeName == type, "\(what)")
                #expect(ConsoleActionTests.actor(of: events.last) == "ana", "\(what)")
                // The console shows it (its timeline follows the topic).
                try await eventually("\(what) on the timeline", timeout: .seconds(20)) {
                    harness.console.records.timeline(incident).events.count == expected
                }
            }

            // A double submit (the same form twice) publishes once.
            let page = try await ana.get(path)
            let acknowledge = try #require(WebSession.form("action-acknowledge", in: page.body))
            let first = try await ana.post(acknowledge.action, acknowledge.fields)
            let second = try await ana.post(acknowledge.action, acknowledge.fields)
            try await check(first, "acknowledge", type: "Acknowledged")
            #expect(second.status == 303 && second.outcome == "repeated")
            try await Task.sleep(for: .seconds(1))
            #expect(try await harness.events(of: incident).count == expected)

            try await check(
                try await Self.submit(ana, page: path, form: "action-note", [("text", "looking into it"), ("visibility", "internal")]),
                "note",
                type: "NoteAdded")
            try await check(
                try await Self.submit(ana, page: path, form: "action-severity", [("severity", "A"), ("reason", "all invoices")]),
                "severity",
                type: "SeverityChanged")
            // The pause form offers the policy's reasons and an optional resume; both reach the event.
            let waitPage = try await ana.get(path)
            #expect(waitPage.body.contains("<option value=\"waiting_on_vendor\">waiting on vendor (pauses resolution)</option>"))
            let refusedPause = try await Self.submit(ana, page: path, form: "action-wait", [("pause", "Vendor!"), ("resume_hours", "-1")])
            #expect(refusedPause.outcome != "done", "a malformed pause is refused: \(refusedPause.status) \(refusedPause.outcome ?? "-")")
            let asked = Date()
            try await check(
                try await Self.submit(
                    ana, page: path, form: "action-wait", [("reason", "logs"), ("pause", "waiting_on_vendor"), ("resume_hours", "2")]),
                "wait", type: "WaitingOnCustomer")
            if case .waitingOnCustomer(let pause)? = try await harness.events(of: incident).last?.event {
                #expect(pause.pauseReason == "waiting_on_vendor" && pause.reason == "logs")
                #expect(abs(pause.resumeAt.date.timeIntervalSince(asked.addingTimeInterval(7200))) < 60, "\(pause.resumeAt.date)")
            } else {
                Issue.record("the last event is not the pause")
            }
            try await eventually("waiting shown", timeout: .seconds(20)) {
                harness.console.records.snapshot(incident)?.status.rawValue == "waiting_on_customer"
            }
            try await check(try await Self.submit(ana, page: path, form: "action-responded"), "responded", type: "CustomerResponded")
            try await check(
                try await Self.submit(ana, page: path, form: "action-solution", [("summary", "cleared the cache")]), "solution",
                type: "SolutionDelivered")
            try await check(try await Self.submit(ana, page: path, form: "action-close-resolved"), "close", type: "ClosedResolved")

            // A refused action shows the intake's message and publishes nothing.
            try await eventually("closed shown", timeout: .seconds(20)) {
                harness.console.records.snapshot(incident)?.status.isClosed == true
            }
            let closed = try await ana.get(path)
            #expect(WebSession.form("action-acknowledge", in: closed.body) == nil)
            let token = try #require(WebSession.form("action-note", in: closed.body)).fields
            let refused = try await ana.post("\(path)/actions/acknowledge", token)
            #expect(refused.status == 303 && refused.outcome == "refused")
            let shown = try await ana.get(path)
            let flash = WebSession.capture(#"<p id="flash"[^>]*>([^<]*)</p>"#, in: shown.body) ?? ""
            #expect(
                shown.body.contains("data-outcome=\"refused\"") && flash.contains("The intake refused")
                    && flash.contains("closed_resolved"), "\(flash)")
            try await Task.sleep(for: .seconds(1))
            #expect(try await harness.events(of: incident).count == expected)

            // The detail page shows the timeline with actors, the clocks and the entitlement.
            #expect(shown.body.contains("id=\"timeline\"") && shown.body.contains("data-event-type=\"Acknowledged\""))
            #expect(shown.body.contains("data-entitlement-id=\"PACK-1\""))
            #expect(shown.body.contains("id=\"sla-explain\""))
            try await harness.stop()
        }
    }

    /// The event's actor (the signed-in username the intake stamped).
    static func actor(of event: IncidentEvent?) -> String? { event?.actor }
}

@Suite("Console queues, take next, presence and reassignment with a router", .serialized)
struct ConsoleRoutingTests {
    /// agent-1 (tier-1) and agent-2 (tier-2), both away: incidents wait in the queue.
    static let roster = Roster(
        agents: [
            Agent(id: "agent-1", team: "tier-1", skills: ["billing"], languages: ["en"], capacity: 6),
            Agent(id: "agent-2", team: "tier-2", skills: ["billing"], languages: ["en"], capacity: 6),
        ],
        initialPresence: ["agent-1": .away, "agent-2": .away])

    @Test func takeNextPresenceAndBackToTheQueue() async throws {
        try await HeavyTests.run {
            let harness = try await ConsoleHarness(roster: Self.roster)
            defer { Task { try? await harness.stop() } }
            try await harness.grantPack()
            let incident = try await harness.open(team: "tier-1")
            try await eventually("tier-1 queues it", timeout: .seconds(30)) {
                harness.console.collector.desks()["tier-1"]?.queue == [incident]
            }
            let ana = WebSession(http: harness.http, base: harness.base)
            try await ana.signIn("ana")
            let queues = try await ana.get("/queues")
            #expect(queues.body.contains("id=\"queue-depth-tier-1\" data-queue-depth=\"1\""))
            #expect(queues.body.contains("data-oldest-id=\"\(incident)\""))
            #expect(!queues.body.contains("id=\"queue-tier-2\""))  // an agent sees their own team's queue
            // The rows' names for the live script: it reloads the page when they change.
            #expect(queues.body.contains("data-live=\"queue-teams\" data-live-reload>[&quot;tier-1&quot;]</span>"))
            let live = try JSONSerialization.jsonObject(with: Data(try await ana.get("/api/live?kinds=queue-teams,agent-ids").body.utf8))
            let values = (live as? [String: Any])?["values"] as? [String: String]
            #expect(values?["queue-teams"] == "[\"tier-1\"]", "\(live)")
            let agentsPage = try await ana.get("/agents").body
            #expect(
                values?["agent-ids"].map {
                    agentsPage.contains(
                        "data-live=\"agent-ids\" data-live-reload>\($0.replacingOccurrences(of: "\"", with: "&quot;"))</span>")
                } == true,
                "\(live)"
            )

            // Take next: a ReassignRequested (only while waiting) for agent-1, by ana; the router assigns it, cause "taken".
            let take = try await ConsoleActionTests.submit(ana, page: "/queues", form: "take-next-tier-1")
            #expect(take.status == 303 && take.outcome == "done")
            try await eventually("agent-1 holds it", timeout: .seconds(30)) {
                harness.console.records.snapshot(incident)?.assignedAgentID == "agent-1"
            }
            let events = try await harness.events(of: incident)
            let request = try #require(events.first { $0.eventTypeName == "ReassignRequested" })
            #expect(request.actor == "ana" && request.reassignRequested.toAgentID == "agent-1" && request.reassignRequested.onlyIfWaiting)
            let assigned = try #require(events.last { $0.eventTypeName == "Assigned" })
            #expect(assigned.assigned.reason.cause == "taken")
            try await eventually("the page shows the routing decision", timeout: .seconds(20)) {
                (try? await ana.get("/incidents/\(incident)").body.contains("data-cause=\"taken\"")) == true
            }

            // Presence: ana sets her own; not bo's.
            let presence = try await ConsoleActionTests.submit(ana, page: "/agents", form: "presence-agent-1", [("presence", "online")])
            #expect(presence.status == 303 && presence.outcome == "done")
            try await eventually("agent-1 online", timeout: .seconds(30)) {
                harness.console.collector.agentRows().first { $0.id == "agent-1" }?.presence == "online"
            }
            let agents = try await ana.get("/agents")
            let token = try #require(WebSession.form("presence-agent-1", in: agents.body)).fields
            #expect(try await ana.post("/agents/agent-2/presence", token + [("presence", "online")]).status == 403)

            // Back to the queue (nobody else qualifies: it waits again).
            let back = try await ConsoleActionTests.submit(ana, page: "/incidents/\(incident)", form: "action-reassign", [("to", "queue")])
            #expect(back.status == 303 && back.outcome == "done")
            try await eventually("a ReassignRequested to the queue by ana", timeout: .seconds(20)) {
                (try? await harness.events(of: incident))?.contains {
                    $0.eventTypeName == "ReassignRequested" && $0.reassignRequested.toQueue && $0.actor == "ana"
                } == true
            }
            try await harness.stop()
        }
    }
}
