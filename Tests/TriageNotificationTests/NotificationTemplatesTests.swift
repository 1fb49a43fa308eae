import Foundation
import Testing
import TriageNotification

@Suite("Notification templates")
struct NotificationTemplatesTests {
    let escalated = notification(
        to: "duty-manager", template: "escalated",
        payload: [
            "level": "2", "severity": "A", "reason": "first response target breached 30 minutes ago (severity A)",
            "deadline": "2026-03-06T17:00:00Z",
        ],
        urgent: true)

    @Test("the shipped templates render every channel from the payload and the request")
    func defaults() {
        let templates = NotificationTemplates.defaults
        let email = templates.render(escalated, for: .email)
        #expect(email.subject == "[URGENT] Escalation level 2: incident INC-42")
        #expect(
            email.text == """
                Incident INC-42 (severity A) is escalated to level 2: first response target breached 30 minutes ago (severity A).
                The breached deadline was 2026-03-06T17:00:00Z.
                """)
        #expect(
            templates.render(escalated, for: .chat)
                == .init(
                    text:
                        ":rotating_light: Incident *INC-42* escalated to level 2: first response target breached 30 minutes ago (severity A)"
                ))
        #expect(
            templates.render(escalated, for: .webhook).text
                == "Incident INC-42 escalated to level 2: first response target breached 30 minutes ago (severity A)")
        let warning = notification(
            to: "x", template: "sla-warning", payload: ["percent": "75", "target": "first_response", "severity": "B"])
        #expect(templates.render(warning, for: .email).subject == "SLA warning: incident INC-42 at 75% of its first_response target")
        #expect(templates.render(notification(to: "x", payload: ["agent": "ada"]), for: .webhook).text == "Incident INC-42 assigned to ada")
        #expect(
            templates.render(notification(to: "x", template: "customer-update", payload: ["message": "Fixed?"]), for: .chat).text
                == "Update on your incident INC-42: Fixed?")
    }

    @Test("unknown template names use the generic fallback")
    func fallback() {
        let other = notification(to: "x", template: "reopened", payload: ["summary": "customer replied"])
        #expect(NotificationTemplates.defaults.render(other, for: .chat).text == "Incident *INC-42*: reopened — customer replied")
        #expect(NotificationTemplates.defaults.render(other, for: .email).subject == "Incident INC-42: reopened")
    }

    @Test("values are not HTML-escaped, chat values are Slack-escaped, subjects stay on one line")
    func escaping() {
        let hostile = notification(to: "x", payload: ["agent": "<!channel> & \"Bob\"", "title": "a\r\nBcc: all@example.com"])
        let templates = NotificationTemplates.defaults
        #expect(templates.render(hostile, for: .webhook).text == "Incident INC-42 assigned to <!channel> & \"Bob\"")
        #expect(templates.render(hostile, for: .chat).text.contains("assigned to &lt;!channel&gt; &amp; \"Bob\""))
        #expect(templates.render(notification(to: "x").with(template: "x\r\ny"), for: .email).subject == "Incident INC-42: x y")
    }

    @Test("files override the defaults per template and part")
    func overrides() throws {
        try withDirectory([
            "escalated.chat.mustache": "L{{level}} {{recipient}}{{#urgent}}!{{/urgent}}", "notes.txt": "ignored",
            "page.webhook.mustache": "paged {{incident_id}}",
        ]) { directory in
            let templates = try NotificationTemplates.load(directory: directory)
            #expect(templates.render(escalated, for: .chat).text == "L2 duty-manager!")
            #expect(templates.render(escalated, for: .webhook) == NotificationTemplates.defaults.render(escalated, for: .webhook))
            #expect(templates.render(notification(to: "x", template: "page"), for: .webhook).text == "paged INC-42")
        }
    }

    @Test("broken files fail at load, naming the file and position")
    func brokenFiles() throws {
        try withDirectory(["escalated.email-body.mustache": "Hello\n{{#level}}level {{level}}\n"]) { directory in
            #expect {
                try NotificationTemplates.load(directory: directory)
            } throws: { error in
                let error = error as? NotificationTemplateError
                return error?.code == .syntax && error?.file == "\(directory)/escalated.email-body.mustache"
                    && error?.message.hasPrefix("a section is not closed") == true
            }
        }
        try withDirectory(["assigned.chat.mustache": "Hi {{name"]) { directory in
            #expect {
                try NotificationTemplates.load(directory: directory)
            } throws: { error in
                (error as? NotificationTemplateError)?.description.hasPrefix("\(directory)/assigned.chat.mustache:1:") == true
            }
        }
        try withDirectory(["assigned.email.mustache": "x"]) { directory in
            #expect {
                try NotificationTemplates.load(directory: directory)
            } throws: { error in
                let error = error as? NotificationTemplateError
                return error?.code == .unknownPart && error?.message.contains("email-subject") == true
            }
        }
        #expect(throws: NotificationTemplateError.self) { try NotificationTemplates.load(directory: "/nonexistent/templates") }
    }

    private func withDirectory(_ files: [String: String], _ body: (String) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("triage-templates-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, text) in files { try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        try body(directory.path)
    }
}

extension OutboundNotification {
    func with(template: String) -> OutboundNotification {
        var copy = self
        copy.template = template
        return copy
    }
}
