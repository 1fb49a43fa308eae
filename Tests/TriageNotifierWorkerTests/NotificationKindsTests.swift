import Foundation
import Testing
import TriageKafkaTesting
import TriageNotification
import TriageNotifierWorker
import TriageSchema

/// Each kind of notification issue 23 added, as its producer writes it, through a notifier on the
/// embedded broker to a real webhook receiver and a real SMTP server.
@Suite("Notification kinds delivered to real receivers")
struct NotificationKindsTests {
    static let people = """
        agents:
          default: { email: '{id}@support.example', endpoints: [chat] }
        customers:
          default: { endpoints: [ok] }
          acme: { email: it@acme.example, language: de }

        """

    @Test(.enabled(if: ProcessInfo.processInfo.environment["CI"] == "true" || SMTPSinkProcess.isAvailable, "aiosmtpd is not installed"))
    func everyKindReachesItsReceiver() async throws {
        let smtp = try await SMTPSinkProcess()
        defer { smtp.stop() }
        let fixture = try await NotifierFixture(smtpPort: smtp.port, extraRules: Self.people)
        let (notifier, group, running) = try fixture.startNotifier()
        let common = ["severity": "B", "product": "billing", "team": "tier-1"]
        // The router's notices: an assignment to an agent, updates to two customers.
        try await fixture.request(
            "evt-assigned/agent:ada", to: "agent:ada", template: "assigned",
            payload: common.merging(["incident_id": "INC-7", "agent": "ada", "from_agent": "linus", "cause": "agent_offline"]) { $1 })
        let acknowledged = common.merging([
            "incident_id": "INC-7", "event": "acknowledged", "agent": "ada", "occurred_at": "2026-12-03T14:05:00Z",
            "customer_time_zone": "Europe/Berlin", "language": "en", "customer": "acme",
        ]) { $1 }
        try await fixture.request("evt-ack/customer:acme", to: "customer:acme", template: "customer-update", payload: acknowledged)
        var globex = acknowledged
        globex["customer"] = "globex"
        globex["customer_time_zone"] = "America/New_York"
        try await fixture.request("evt-ack/customer:globex", to: "customer:globex", template: "customer-update", payload: globex)
        // The router's queue alert and the escalator's update-clock escalation, to the lead.
        try await fixture.request(
            "queue-waiting/tier-1/INC-8/30", to: "lead", template: "queue-waiting",
            payload: common.merging(["incident_id": "INC-8", "waited_minutes": "31", "threshold_minutes": "30", "depth": "4"]) { $1 })
        try await fixture.request(
            "sla-update/lead", to: "lead", template: "escalated",
            payload: common.merging([
                "incident_id": "INC-9", "target": "update", "level": "1", "reason": "update target breached (severity B)",
                "deadline": "2026-12-03T16:00:00Z",
            ]) { $1 })

        // ada: chat + e-mail; acme: e-mail; globex: webhook; lead: chat + e-mail twice.
        try await eventually("every delivery made", timeout: .seconds(30)) { notifier.statistics.delivered == 8 }
        let mails = smtp.messages.map(ParsedMail.init)
        let toAda = try #require(mails.first { $0.headers["to"]?.contains("ada@support.example") == true })
        #expect(toAda.subject == "Incident INC-7 assigned to ada")
        #expect(toAda.body.contains("is assigned to ada in team tier-1 (from linus)"), "\(toAda.body)")
        #expect(toAda.body.contains("Severity B, product billing.") && toAda.body.contains("Why: agent_offline."), "\(toAda.body)")
        let toAcme = try #require(mails.first { $0.headers["to"]?.contains("it@acme.example") == true })
        // The rules' language (de) wins over the request's (en); the time is Berlin's.
        #expect(toAcme.subject == "Wir bearbeiten Ihren Vorfall INC-7")
        #expect(toAcme.body.contains("3. Dezember 2026") && toAcme.body.contains("15:05"), "\(toAcme.body)")
        let toLead = mails.filter { $0.headers["to"]?.contains("lead@example.com") == true }.map(\.subject).sorted()
        #expect(toLead == ["Escalation level 1: incident INC-9", "Queue tier-1: incident INC-8 has waited 31 minutes"])

        let portal = try #require(fixture.receiver.requests("/ok").first)
        let envelope = try #require(try JSONSerialization.jsonObject(with: portal.body) as? [String: Any])
        #expect(envelope["recipient"] as? String == "customer:globex")
        #expect(envelope["summary"] as? String == "We are working on your incident INC-7")
        #expect((envelope["payload"] as? [String: String])?["customer_time_zone"] == "America/New_York")
        #expect(portal.headers["idempotency-key"] == "evt-ack/customer:globex")
        let chats = fixture.receiver.requests("/chat").compactMap {
            (try? JSONSerialization.jsonObject(with: $0.body) as? [String: Any])?["text"] as? String
        }
        #expect(chats.contains { $0.hasPrefix("Incident *INC-7* assigned to ada (tier-1), from linus") })
        #expect(chats.contains { $0.contains("Queue *tier-1*: incident *INC-8* has waited 31 min") })
        #expect(chats.contains { $0.contains("INC-9") && $0.contains("update target breached") })
        await group.triggerGracefulShutdown()
        try await running.value
    }

    /// The delivery after the window's end is the quiet-hours path (`schedule` says when; the
    /// scheduling is unit-tested in PeopleAndWindowsTests); here: what a window holds, drops and
    /// lets through, on a running notifier.
    @Test func maintenanceWindowsHoldOrDropWhatTheyCoverButNotCriticalEscalations() async throws {
        let start = Date().addingTimeInterval(-60)
        let windows = """
            maintenance_windows:
              - { name: billing-upgrade, start: \(start.formatted(.iso8601)), end: 2099-01-01T00:00:00Z, products: [billing] }
              - { name: acme-freeze, start: \(start.formatted(.iso8601)), end: 2099-01-01T00:00:00Z, customers: [acme], action: suppress }

            """
        let people = "customers:\n  default: { endpoints: [ok] }\n"
        let fixture = try await NotifierFixture(extraRules: people + windows)
        let (notifier, group, running) = try fixture.startNotifier()
        try await fixture.request(
            "delayed/ops", to: "ops", template: "sla-warning", payload: ["product": "billing", "severity": "A"], urgent: true)
        try await fixture.request(
            "critical/ops", to: "ops", template: "escalated", payload: ["product": "billing", "severity": "A", "level": "1"], urgent: true)
        try await fixture.request(
            "dropped/customer:acme", to: "customer:acme", template: "customer-update",
            payload: ["customer": "acme", "product": "storage", "event": "closed_resolved"])
        try await fixture.request("other/ops", to: "ops", template: "sla-warning", payload: ["product": "storage", "severity": "B"])
        // The escalation and the other product's warning go at once; the suppressed one never;
        // the billing warning is held (until 2099).
        try await eventually("unheld deliveries made", timeout: .seconds(60)) {
            notifier.statistics.delivered == 2 && notifier.statistics.suppressed == 1 && notifier.statistics.held == 1
        }
        try await Task.sleep(for: .seconds(1))
        let delivered = fixture.receiver.requests("/ok").compactMap { $0.headers["idempotency-key"] }
        #expect(Set(delivered) == ["critical/ops", "other/ops"] && delivered.count == 2)
        #expect(notifier.statistics.deadLettered == 0)
        await group.triggerGracefulShutdown()
        try await running.value
    }

    /// Outside attack (issue 23): a key with a line break could not be sent over HTTP, the failure
    /// counted as retriable, the endpoint's breaker opened and a Sev A escalation to the same
    /// healthy endpoint waited about a minute. Such a key is refused at once, unquoted.
    @Test func aKeyWithALineBreakIsDeadLetteredAndDoesNotDelayAnEscalation() async throws {
        let fixture = try await NotifierFixture(breakerThreshold: 2, openFor: "60s")
        let (notifier, group, running) = try fixture.startNotifier()
        try await eventually("partitions assigned", timeout: .seconds(30)) { notifier.assignedPartitions > 0 }
        for index in 0..<3 {
            try await fixture.request("hostile-\(index)\r\nX-Injected: yes", to: "ops", template: "generic", payload: [:])
        }
        try await fixture.request("sev-a/ops", to: "ops", template: "escalated", payload: ["severity": "A", "level": "1"], urgent: true)
        try await eventually("the escalation delivered", timeout: .seconds(20)) { fixture.receiver.requests("/ok").count == 1 }
        #expect(notifier.statistics.held == 0 && notifier.statistics.retried == 0, "\(notifier.statistics)")
        try await eventually("the hostile requests dead-lettered", timeout: .seconds(20)) { notifier.statistics.deadLettered == 3 }
        let reasons = try await fixture.deadLetters(atLeast: 3).compactMap { $0.header(TriageHeader.deadLetterReason)?.stringValue }
        #expect(reasons.count == 3 && reasons.allSatisfy { $0.contains("control characters") && !$0.contains("Injected") }, "\(reasons)")
        await group.triggerGracefulShutdown()
        try await running.value
    }
}
