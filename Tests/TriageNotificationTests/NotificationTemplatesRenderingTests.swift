import Foundation
import Testing

@testable import TriageNotification

/// Rendering skips the local times of texts that cannot show them and trims without Foundation
/// when there is nothing to trim: the output must be what computing every value gave.
@Suite("Notification templates: fast rendering equals full rendering")
struct NotificationTemplatesRenderingTests {
    @Test("the shipped templates render byte for byte as with every value computed, over varied payloads")
    func sameOutput() {
        let templates = NotificationTemplates.defaults
        var generator = SplitMix64(seed: 24)
        let names = ["assigned", "queue-waiting", "sla-warning", "escalated", "customer-update", "generic", "no-such-template"]
        let languages: [String?] = [nil, "en", "de", "DE-ch", "fr", "fr-CA", "es", "pt-BR", "not a tag", ""]
        let values = [
            "", " ", "x", " padded ", "\n\tline\n", "\u{00A0}nbsp\u{00A0}", "é", "e\u{301}", "<!channel> & <https://x|y>", "日本語",
            "2", "A", "Ann", "99", "a\u{2028}b",
        ]
        let instants = ["2026-03-06T17:00:00Z", "2026-12-31T23:59:59+01:00", "not a date", "", "2026-03-06T17:00:00.250Z"]
        let zones = ["", "UTC", "Europe/Berlin", "America/New_York", "Mars/Olympus"]
        let keys = [
            "agent", "from_agent", "cause", "team", "severity", "product", "title", "target", "percent", "level", "reason",
            "waited_minutes", "threshold_minutes", "depth", "summary", "message",
        ]
        let events = ["acknowledged", "solution_delivered", "closed_resolved", "closed_unresolved", "closed_by_customer", "other", ""]
        var compared = 0
        for round in 0..<600 {
            var payload: [String: String] = [:]
            for key in keys where Bool.random(using: &generator) { payload[key] = values.randomElement(using: &generator)! }
            if Bool.random(using: &generator) { payload["occurred_at"] = instants.randomElement(using: &generator)! }
            if Bool.random(using: &generator) { payload["deadline"] = instants.randomElement(using: &generator)! }
            if Bool.random(using: &generator) { payload["customer_time_zone"] = zones.randomElement(using: &generator)! }
            if Bool.random(using: &generator) { payload["event"] = events.randomElement(using: &generator)! }
            if Bool.random(using: &generator) { payload["language"] = languages.randomElement(using: &generator)! ?? "de" }
            let request = notification(
                to: "ann", template: names[round % names.count], payload: payload, urgent: Bool.random(using: &generator))
            let language = languages.randomElement(using: &generator)!
            for channel in [NotificationChannel.email, .chat, .webhook] {
                let fast = templates.render(request, for: channel, language: language)
                let full = templates.render(request, for: channel, language: language, everyValue: true)
                #expect(fast == full, "\(request.template) \(channel) \(language ?? "-") \(payload)")
                compared += 1
            }
        }
        #expect(compared == 1_800)
    }

    @Test("a text may read a local time when it names one, prints the context with {{.}} or changes delimiters")
    func localTimeDetection() {
        let reads = NotificationTemplates.CompiledText.mayRead
        #expect(reads("_local", "Closed on {{occurred_at_local}}."))
        #expect(reads("_local", "{{#deadline_local}}due {{deadline_local}}{{/deadline_local}}"))
        #expect(reads("_local", "{{=<% %>=}}Closed on <%occurred_at_local%>"))
        #expect(reads("_local", "everything: {{.}}"))
        #expect(reads("_local", "everything: {{ . }}"))
        #expect(reads("_local", "{{#agent}}{{& .}}{{/agent}}"))
        #expect(!reads("_local", "Incident {{incident_id}} escalated to level {{level}}: {{reason}}. Done."))
        #expect(!reads("_local", "{{#deadline}}The breached deadline was {{deadline}}.{{/deadline}}"))
    }
}
