import Foundation
import Testing
import TriageNotification

/// `agents:` / `customers:` directories, maintenance windows, and texts per language.
@Suite("Notification rules: agents, customers, maintenance windows, languages")
struct PeopleAndWindowsTests {
    static let yaml = """
        endpoints:
          chat: { channel: chat, url: 'https://chat.example/hook' }
          portal: { channel: webhook, url: 'https://portal.example/triage', secret_env: PORTAL_KEY }
          mail: { channel: email, host: smtp.example, from: triage@example.com }
        agents:
          default: { email: '{id}@support.example', endpoints: [chat] }
          ada: { email: ada.lovelace@support.example }
        customers:
          default: { endpoints: [portal] }
          acme: { email: it@acme.example, language: de }
        maintenance_windows:
          - name: billing-upgrade
            start: 2026-12-05T22:00:00Z
            end: 2026-12-06T02:00:00Z
            products: [billing]
            reason: Billing database upgrade
          - name: acme-freeze
            start: 2026-12-10T00:00:00Z
            end: 2026-12-11T00:00:00Z
            customers: [acme]
            action: suppress
        """

    let rules = try! NotificationRules.load(yaml: Self.yaml, file: "rules.yaml")

    @Test("agent:<id> resolves to the agent's own entry, else to default with {id} filled in")
    func agents() throws {
        let own = try rules.deliveries(for: notification(to: "agent:ada"))
        #expect(own.map(\.endpoint.name) == ["mail"])
        #expect(own.first?.emailAddress == "ada.lovelace@support.example")
        #expect(own.first?.recipient == "agent:ada")
        let other = try rules.deliveries(for: notification(to: "agent:linus"))
        #expect(other.map(\.endpoint.name).sorted() == ["chat", "mail"])
        #expect(other.first { $0.endpoint.name == "mail" }?.emailAddress == "linus@support.example")
        #expect(rules.knows(recipient: "agent:anyone") && rules.knows(recipient: "customer:anyone"))
        #expect(!NotificationRules().knows(recipient: "agent:ada"))
    }

    @Test("an id that would break the address is refused, and an unknown one names what to add")
    func hostileIDs() throws {
        for id in ["eve@evil.example", "a b", "x\r\nBcc: victim@example.com", "<script>", String(repeating: "a", count: 65)] {
            #expect(throws: DeliveryResolutionError.self) { try rules.deliveries(for: notification(to: "agent:\(id)")) }
        }
        let error = #expect(throws: DeliveryResolutionError.self) {
            try NotificationRules().deliveries(for: notification(to: "customer:acme"))
        }
        #expect(error?.message == "customer 'acme' has no contact in the notification rules: add customers.acme or customers.default")
        #expect(error?.code == .unknownRecipient)
    }

    @Test("customer:<account> resolves per account, with its language over the request's")
    func customers() throws {
        let acme = try rules.deliveries(for: notification(to: "customer:acme", template: "customer-update"))
        #expect(acme.map(\.endpoint.name) == ["mail"])
        #expect(acme.first?.language == "de")
        let other = try rules.deliveries(for: notification(to: "customer:globex", template: "customer-update"))
        #expect(other.map(\.endpoint.name) == ["portal"])
        #expect(other.first?.language == nil)
    }

    @Test("a window delays what it holds to its end, drops what a suppress window holds, and never holds critical escalations")
    func windows() {
        let inside = instant("2026-12-05T23:00:00Z")
        let billing = notification(to: "agent:ada", payload: ["product": "billing"])
        #expect(
            rules.schedule(billing, recipient: "agent:ada", at: inside) == .at(instant("2026-12-06T02:00:00Z"), heldBy: "billing-upgrade"))
        // Another product, or outside the window: not held.
        let storage = notification(to: "agent:ada", payload: ["product": "storage"])
        #expect(rules.schedule(storage, recipient: "agent:ada", at: inside) == .at(inside, heldBy: nil))
        let before = instant("2026-12-05T21:59:59Z")
        #expect(rules.schedule(billing, recipient: "agent:ada", at: before) == .at(before, heldBy: nil))
        #expect(
            rules.schedule(billing, recipient: "agent:ada", at: instant("2026-12-06T02:00:00Z"))
                == .at(instant("2026-12-06T02:00:00Z"), heldBy: nil))
        // A Sev A escalation goes through; a Sev A warning (not an escalation) is held.
        let critical = notification(to: "agent:ada", template: "escalated", payload: ["product": "billing", "level": "1"], urgent: true)
        #expect(rules.schedule(critical, recipient: "agent:ada", at: inside) == .at(inside, heldBy: nil))
        // Outside attack: a Sev A escalation whose producer left `urgent` false was held.
        let unflagged = notification(
            to: "agent:ada", template: "escalated", payload: ["product": "billing", "level": "2", "severity": "A"])
        #expect(rules.schedule(unflagged, recipient: "agent:ada", at: inside) == .at(inside, heldBy: nil))
        let sevB = notification(to: "agent:ada", template: "escalated", payload: ["product": "billing", "level": "2", "severity": "B"])
        #expect(rules.schedule(sevB, recipient: "agent:ada", at: inside) == .at(instant("2026-12-06T02:00:00Z"), heldBy: "billing-upgrade"))
        let warning = notification(to: "agent:ada", template: "sla-warning", payload: ["product": "billing"], urgent: true)
        #expect(
            rules.schedule(warning, recipient: "agent:ada", at: inside) == .at(instant("2026-12-06T02:00:00Z"), heldBy: "billing-upgrade"))
        // A window that says so holds critical escalations too.
        var strict = rules
        strict.maintenanceWindows[0].includeCritical = true
        #expect(
            strict.schedule(critical, recipient: "agent:ada", at: inside) == .at(instant("2026-12-06T02:00:00Z"), heldBy: "billing-upgrade")
        )
        // Suppress: by customer.
        let acme = notification(to: "customer:acme", template: "customer-update", payload: ["customer": "acme"])
        #expect(rules.schedule(acme, recipient: "customer:acme", at: instant("2026-12-10T12:00:00Z")) == .suppressed(window: "acme-freeze"))
        // A request that does not say its product is not held by a product window.
        #expect(rules.schedule(notification(to: "agent:ada"), recipient: "agent:ada", at: inside) == .at(inside, heldBy: nil))
    }

    @Test("a window ending in the recipient's quiet hours waits for them to wake up, and back-to-back windows chain")
    func windowsAndQuietHours() throws {
        let rules = try NotificationRules.load(
            yaml: """
                endpoints: { chat: { channel: chat, url: 'https://chat.example/hook' } }
                recipients:
                  lead:
                    endpoints: [chat]
                    awake_hours: { time_zone: UTC, hours: { monday: ["08:00-18:00"], tuesday: ["08:00-18:00"] } }
                maintenance_windows:
                  - { name: one, start: 2026-12-07T10:00:00Z, end: 2026-12-07T12:00:00Z }
                  - { name: two, start: 2026-12-07T12:00:00Z, end: 2026-12-07T19:00:00Z }
                """, file: "f")
        // Monday 11:00 → window one until 12:00 → window two until 19:00 → asleep until Tuesday 08:00.
        let result = rules.schedule(notification(to: "lead"), recipient: "lead", at: instant("2026-12-07T11:00:00Z"))
        #expect(result == .at(instant("2026-12-08T08:00:00Z"), heldBy: "two"))
    }

    @Test("bad directory and window entries fail at load, naming the key")
    func loadErrors() {
        let cases: [(String, String)] = [
            (
                "agents:\n  ada: { email: '{id}@x.example' }",
                "f:2:17: agents.ada.email: '{id}' is replaced by an id only in agents.default and customers.default"
            ),
            ("agents:\n  ada: { language: de, endpoints: [] }", "f:2:10: agents.ada.language: unknown key 'language'"),
            (
                "customers:\n  acme: { language: 'xx_YY' }",
                "f:2:21: customers.acme.language: 'xx_YY' is not a BCP 47 language tag such as de or pt-BR"
            ),
            (
                "maintenance_windows:\n  - { name: w, start: 2026-12-05T22:00:00, end: 2026-12-06T02:00:00Z }",
                "f:2:23: maintenance_windows[0].start: '2026-12-05T22:00:00' is not an instant with its offset, such as 2026-12-05T22:00:00Z or 2026-12-05T17:00:00-05:00"
            ),
            (
                "maintenance_windows:\n  - { name: w, start: 2026-12-06T02:00:00Z, end: 2026-12-05T22:00:00Z }",
                "f:2:50: maintenance_windows[0].end: the window ends before it starts"
            ),
            (
                "maintenance_windows:\n  - { name: w, start: 2026-12-05T22:00:00Z, end: 2026-12-06T02:00:00Z, action: mute }",
                "f:2:80: maintenance_windows[0].action: 'mute' is not an action: delay or suppress"
            ),
        ]
        for (yaml, expected) in cases {
            let error = #expect(throws: NotificationRulesError.self) { try NotificationRules.load(yaml: yaml, file: "f") }
            #expect(error?.description.hasPrefix(expected) == true, "\(error?.description ?? "no error") ≠ \(expected)")
        }
    }

    // MARK: Languages

    @Test("customer updates are written in the customer's language, falling back from pt-BR to pt to English")
    func languages() throws {
        let templates = NotificationTemplates.defaults
        let payload = [
            "event": "acknowledged", "agent": "ada", "occurred_at": "2026-12-03T14:05:00Z", "customer_time_zone": "America/New_York",
        ]
        let update = notification(to: "customer:acme", template: "customer-update", payload: payload)
        let english = templates.render(update, for: .email)
        #expect(english.subject == "We are working on your incident INC-42")
        #expect(english.text.hasPrefix("Your incident INC-42 was acknowledged by ada on December 3, 2026"))
        #expect(english.text.contains("9:05"), "New York local time: \(english.text)")
        let german = templates.render(update, for: .email, language: "de-CH")
        #expect(german.subject == "Wir bearbeiten Ihren Vorfall INC-42")
        #expect(german.text.contains("3. Dezember 2026") && german.text.contains("09:05"), "\(german.text)")
        // The request's language when the rules give none; an unknown one is English.
        var spanish = update
        spanish.payload["language"] = "es-MX"
        #expect(templates.render(spanish, for: .chat).text.hasPrefix("Estamos trabajando en su incidencia INC-42"))
        #expect(templates.render(update, for: .webhook, language: "ja").text == "We are working on your incident INC-42")
        #expect(templates.render(update, for: .webhook, language: "not a tag!").text == "We are working on your incident INC-42")
    }

    @Test("every customer-update event has its own text in every shipped language, and unknown events the general one")
    func everyEvent() {
        let templates = NotificationTemplates.defaults
        for language in ["en", "de", "fr", "es"] {
            var subjects: Set<String> = []
            for event in ["acknowledged", "solution_delivered", "closed_resolved", "closed_by_customer", "reopened", ""] {
                let rendered = templates.render(
                    notification(
                        to: "customer:x", template: "customer-update", payload: ["event": event, "summary": "Restart the sync job"]),
                    for: .email, language: language)
                #expect(!rendered.text.isEmpty && !(rendered.subject ?? "").isEmpty, "\(language) \(event)")
                #expect(!rendered.text.contains("{{"), "\(language) \(event): \(rendered.text)")
                if event == "solution_delivered" { #expect(rendered.text.contains("Restart the sync job")) }
                subjects.insert(rendered.subject ?? "")
            }
            // acknowledged, solution, closed, closed at your request, and the general text.
            #expect(subjects.count == 5, "\(language): \(subjects.sorted())")
        }
    }

    @Test("language files override one language; a broken language tag in a file name is refused")
    func languageFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("templates-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "Hei {{incident_id}}".write(
            to: directory.appendingPathComponent("customer-update.fi.webhook.mustache"), atomically: true, encoding: .utf8)
        let templates = try NotificationTemplates.load(directory: directory.path)
        let update = notification(to: "customer:x", template: "customer-update", payload: ["event": "acknowledged"])
        #expect(templates.render(update, for: .webhook, language: "fi").text == "Hei INC-42")
        #expect(templates.render(update, for: .webhook, language: "de").text == "Wir bearbeiten Ihren Vorfall INC-42")
        try "x".write(to: directory.appendingPathComponent("customer-update.x_1.webhook.mustache"), atomically: true, encoding: .utf8)
        let error = #expect(throws: NotificationTemplateError.self) { try NotificationTemplates.load(directory: directory.path) }
        #expect(error?.message.contains("'x_1' is not a BCP 47 language tag") == true)
    }

    @Test("the queue alert and the assignment texts say who, why and how long")
    func otherTemplates() {
        let templates = NotificationTemplates.defaults
        let alert = templates.render(
            notification(
                to: "team-lead", template: "queue-waiting",
                payload: ["team": "tier-1", "waited_minutes": "42", "threshold_minutes": "30", "depth": "5", "severity": "B"]),
            for: .email)
        #expect(alert.subject == "Queue tier-1: incident INC-42 has waited 42 minutes")
        #expect(alert.text.contains("(alert after 30)") && alert.text.contains("Incidents waiting in the queue: 5."))
        let assigned = templates.render(
            notification(to: "agent:ada", payload: ["agent": "ada", "from_agent": "linus", "cause": "agent_offline", "team": "tier-1"]),
            for: .chat)
        #expect(assigned.text == "Incident *INC-42* assigned to ada (tier-1), from linus — agent_offline")
        let mail = templates.render(notification(to: "agent:ada", payload: ["agent": "ada", "cause": "agent_offline"]), for: .email)
        #expect(mail.text == "Incident INC-42 is assigned to ada.\n\nWhy: agent_offline.")
    }
}
