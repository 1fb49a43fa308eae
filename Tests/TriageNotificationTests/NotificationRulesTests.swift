import Foundation
import Testing
import TriageNotification
import TriageSLA

@Suite("Notification rules: loading")
struct NotificationRulesLoadingTests {
    @Test("the example file loads with every section")
    func exampleFile() throws {
        let rules = try NotificationRules.load(path: repositoryPath("config/notification-rules.example.yaml"))
        #expect(rules.endpoints.keys.sorted() == ["customer-portal", "mail", "ops-webhook", "support-chat"])
        #expect(rules.agents.fallback?.email == "{id}@example.com" && rules.agents.contacts["linus"]?.email == "linus.t@example.com")
        #expect(rules.customers.contacts["acme"]?.language == "de" && rules.customers.fallback?.endpoints == ["customer-portal"])
        #expect(rules.maintenanceWindows.map(\.name) == ["billing-upgrade"])
        #expect(rules.recipients.count == 4)
        #expect(rules.escalation == [2: ["duty-manager"], 3: ["duty-manager", "head-of-support"]])
        #expect(rules.retry == RetryPolicy())
        #expect(rules.circuitBreaker == CircuitBreaker.Configuration())
        #expect(rules.dedupeWindow == 24 * 3600)
        #expect(rules.recipients["team-lead"]?.emailEndpoint == "mail")
        #expect(rules.recipients["team-lead"]?.awakeHours?.timeZone.identifier == "America/New_York")
        #expect(rules.recipients["head-of-support"]?.awakeHours?.timeZone.identifier == "Europe/London")
        guard case .email(let smtp)? = rules.endpoints["mail"]?.kind else {
            Issue.record("mail is not an email endpoint")
            return
        }
        #expect(
            smtp
                == .init(
                    host: "smtp.example.com", port: 587, startTLS: true, from: "triage@example.com", username: "triage",
                    passwordVariable: "TRIAGE_SMTP_PASSWORD"))
        #expect(
            rules.missingEnvironmentVariables(in: ["TRIAGE_SMTP_PASSWORD": "x"]) == [
                "TRIAGE_OPS_WEBHOOK_SECRET", "TRIAGE_PORTAL_WEBHOOK_SECRET", "TRIAGE_SUPPORT_CHAT_URL",
            ])
    }

    @Test("an empty document is the default rules, and every default is documented in code")
    func defaults() throws {
        let rules = try NotificationRules.load(yaml: "", file: "empty.yaml")
        #expect(rules == NotificationRules())
        #expect(rules.retry.maxAttempts == 6 && rules.retry.initialDelay == 1 && rules.retry.maxDelay == 300 && rules.retry.multiplier == 2)
        #expect(rules.circuitBreaker.failureThreshold == 5 && rules.circuitBreaker.openFor == 30)
        let endpoint = try NotificationRules.load(
            yaml: "endpoints:\n  hook: { channel: webhook, url: 'https://h.example/x', secret_env: K }", file: "f"
        ).endpoints["hook"]
        #expect(endpoint?.timeout == 5 && endpoint?.maxConcurrency == 4)
        let mail = try NotificationRules.load(yaml: "endpoints:\n  m: { channel: email, host: smtp, from: a@b.example }", file: "f")
            .endpoints["m"]
        #expect(mail?.kind == .email(.init(host: "smtp", port: 25, startTLS: false, from: "a@b.example")))
    }

    @Test("durations take h, m, s and ms units")
    func durations() throws {
        let rules = try NotificationRules.load(
            yaml: "retry: { initial_delay: 250ms, max_delay: 1m30s }\ncircuit_breaker: { open_for: 2m }\ndedupe_window: 1h30m", file: "f")
        #expect(rules.retry.initialDelay == 0.25)
        #expect(rules.retry.maxDelay == 90)
        #expect(rules.circuitBreaker.openFor == 120)
        #expect(rules.dedupeWindow == 5400)
    }

    /// Each case: the YAML and the exact error description.
    static let invalid: [(yaml: String, error: String)] = [
        ("retyr: {}", "r.yaml:1:1: retyr: unknown key 'retyr'; did you mean 'retry'?"),
        ("retry: { max_atempts: 3 }", "r.yaml:1:10: retry.max_atempts: unknown key 'max_atempts'; did you mean 'max_attempts'?"),
        ("dedupe_window: 24", "r.yaml:1:16: dedupe_window: '24' needs a unit, e.g. 24s"),
        ("dedupe_window: 1d", "r.yaml:1:16: dedupe_window: '1d' is not a duration: write e.g. 500ms, 5s, 1m30s or 24h"),
        ("dedupe_window: 0s", "r.yaml:1:16: dedupe_window: '0s' must be longer than zero"),
        (
            "retry: { multiplier: 1.5 }",
            "r.yaml:1:22: retry.multiplier: '1.5' must be a number of at least 2 (below 2 a jittered delay could be shorter than the one before)"
        ),
        ("retry: { initial_delay: 10m, max_delay: 1m }", "r.yaml:1:25: retry.initial_delay: initial_delay is longer than max_delay"),
        (
            "circuit_breaker: { failure_threshold: 0 }",
            "r.yaml:1:39: circuit_breaker.failure_threshold: '0' must be a positive integer (consecutive failures)"
        ),
        ("endpoints:\n  x: { channel: sms }", "r.yaml:2:17: endpoints.x.sms: unknown channel 'sms' (expected 'webhook', 'chat', 'email')"),
        (
            "endpoints:\n  x: { channel: webhook, url: 'https://h.example/' }",
            "r.yaml:2:6: endpoints.x.secret_env: missing 'secret_env': webhook deliveries are signed (Triage-Signature); name the environment variable holding the HMAC key"
        ),
        (
            "endpoints:\n  x: { channel: chat, url: 'ftp://h.example/' }",
            "r.yaml:2:28: endpoints.x.url: not an absolute http:// or https:// URL"
        ),
        (
            "endpoints:\n  x: { channel: chat, url: 'https://h', url_env: U }",
            "r.yaml:2:41: endpoints.x.url_env: give either url or url_env, not both"
        ),
        (
            "endpoints:\n  x: { channel: chat, url: 'https://h', host: smtp }",
            "r.yaml:2:41: endpoints.x.host: 'host' is not a setting of chat endpoints (they take url, url_env, secret_env, timeout, max_concurrency)"
        ),
        (
            "endpoints:\n  m: { channel: email, host: smtp, from: 'Triage <t@x.example>' }",
            "r.yaml:2:42: endpoints.m.from: 'Triage <t@x.example>' is not an e-mail address (name@domain, without a display name)"
        ),
        (
            "endpoints:\n  m: { channel: email, host: smtp, from: t@x.example, username: u }",
            "r.yaml:2:6: endpoints.m.password_env: missing 'password_env': SMTP authentication needs both username and password_env"
        ),
        (
            "endpoints:\n  m: { channel: email, host: smtp, from: t@x.example, port: 70000 }",
            "r.yaml:2:61: endpoints.m.port: 70000 is not a TCP port (1-65535)"
        ),
        (
            "recipients:\n  ann: {}",
            "r.yaml:2:8: recipients.ann: recipient 'ann' has neither 'email' nor 'endpoints': nothing could reach them"
        ),
        (
            "recipients:\n  ann: { email: ann@x.example }",
            "r.yaml:2:17: recipients.ann.email: no endpoint can send this e-mail: define one under 'endpoints' with channel: email"
        ),
        (
            "endpoints:\n  chat: { channel: chat, url: 'https://h' }\nrecipients:\n  ann: { endpoints: [caht] }",
            "r.yaml:4:22: recipients.ann.endpoints[0]: endpoint 'caht' is not defined; did you mean 'chat'?"
        ),
        (
            "endpoints:\n  chat: { channel: chat, url: 'https://h' }\nrecipients:\n  ann: { endpoints: [chat], awake_hours: office }",
            "r.yaml:4:42: recipients.ann.awake_hours: calendar 'office' is not defined"
        ),
        (
            "endpoints:\n  chat: { channel: chat, url: 'https://h' }\nrecipients:\n  chat: { endpoints: [chat] }",
            "r.yaml:4:3: recipients.chat: 'chat' is both an endpoint and a recipient; requests name either, so give them distinct names"
        ),
        (
            "endpoints:\n  chat: { channel: chat, url: 'https://h' }\nescalation:\n  - { level: 1, notify: [bob] }",
            "r.yaml:4:26: escalation[0].notify[0]: recipient 'bob' is not defined (defined: chat)"
        ),
        (
            "endpoints:\n  chat: { channel: chat, url: 'https://h' }\nescalation:\n  - { level: 1, notify: chat }\n  - { level: 1, notify: chat }",
            "r.yaml:5:14: escalation[1].level: level 1 is given twice; list its recipients once"
        ),
    ]

    @Test("invalid files name the file, position and key", arguments: 0..<invalid.count)
    func invalidFiles(_ index: Int) {
        let (yaml, expected) = Self.invalid[index]
        #expect(throws: NotificationRulesError.self) { try NotificationRules.load(yaml: yaml, file: "r.yaml") }
        do {
            _ = try NotificationRules.load(yaml: yaml, file: "r.yaml")
        } catch {
            #expect(error.description == expected)
        }
    }

    /// Issue 18: an HMAC key that happens to read like an identifier (letters and digits) passed
    /// the name check and was echoed by the notifier's "environment variables ... not set" error.
    @Test(arguments: ["whsecAbc123XyZ789", "9f86d081884c7d659a2feaa0c55ad015", "JBSWY3DPEHPK3PXP", "k3y"])
    func aKeyThatLooksLikeANameIsStillNotEchoed(_ pasted: String) {
        let yaml = "endpoints:\n  hook: { channel: webhook, url: 'https://h.example/', secret_env: \(pasted) }"
        do {
            let rules = try NotificationRules.load(yaml: yaml, file: "r.yaml")
            Issue.record("accepted as a variable name: \(rules.endpoints["hook"]?.environmentVariables ?? [])")
        } catch {
            #expect(!error.description.contains(pasted), "\(error)")
            let expected = "r.yaml:2:68: endpoints.hook.secret_env: expected an environment variable name such as WEBHOOK_KEY"
            #expect(error.description.hasPrefix(expected + " (found \(pasted.count) characters that are not one"), "\(error)")
        }
    }

    @Test("a secret pasted where its variable's name belongs never appears in the error")
    func secretsStayOutOfErrors() {
        let secret = "whsec_9f8e7d6c5b4a-super-secret"
        let token = "T000/B000/XXXXXXXXXXXXXXXX"
        let cases = [
            "endpoints:\n  hook: { channel: webhook, url: 'https://h.example/', secret_env: '\(secret)' }",
            "endpoints:\n  m: { channel: email, host: smtp, from: a@b.example, username: u, password_env: '\(secret)' }",
            "endpoints:\n  c: { channel: chat, url: 'hooks.example.com/\(token)' }",
        ]
        for yaml in cases {
            do {
                _ = try NotificationRules.load(yaml: yaml, file: "r.yaml")
                Issue.record("accepted: \(yaml)")
            } catch {
                #expect(error.code == .invalidValue)
                #expect(!error.description.contains(secret) && !error.description.contains(token))
            }
        }
    }

    @Test("a calendar error inside awake_hours points into this file")
    func calendarErrorPosition() {
        let yaml = """
            endpoints:
              chat: { channel: chat, url: 'https://h' }
            recipients:
              ann:
                endpoints: [chat]
                awake_hours:
                  time_zone: Europe/Lodnon
            """
        #expect {
            try NotificationRules.load(yaml: yaml, file: "r.yaml")
        } throws: { error in
            (error as? NotificationRulesError)?.description
                == "r.yaml:7:18: recipients.ann.awake_hours.time_zone: unknown time zone 'Europe/Lodnon'; did you mean 'Europe/London'?"
        }
    }

    @Test("awake_hours may name a calendar passed in, such as an SLA policy's")
    func externalCalendars() throws {
        let office = SlaPolicy.defaultBusinessCalendar
        let yaml = "endpoints:\n  chat: { channel: chat, url: 'https://h' }\nrecipients:\n  ann: { endpoints: [chat], awake_hours: office }"
        let rules = try NotificationRules.load(yaml: yaml, file: "r.yaml", calendars: ["office": office])
        #expect(rules.recipients["ann"]?.awakeHours == office)
    }
}

@Suite("Notification rules: resolving requests")
struct DeliveryResolutionTests {
    let rules: NotificationRules

    init() throws {
        rules = try NotificationRules.load(path: repositoryPath("config/notification-rules.example.yaml"))
    }

    @Test("an unspecified channel reaches every endpoint of the recipient")
    func everyChannel() throws {
        let targets = try rules.deliveries(for: notification(to: "team-lead"))
        #expect(targets.map(\.endpoint.name) == ["mail", "support-chat"])
        #expect(targets.map(\.emailAddress) == ["lead@example.com", nil])
        #expect(targets.allSatisfy { $0.idempotencyKey == "evt-1/someone" && $0.recipient == "team-lead" && $0.escalationLevel == nil })
        #expect(targets.map(\.ledgerKey) == ["evt-1/someone|mail", "evt-1/someone|support-chat"])
    }

    @Test("a channel picks the recipient's endpoints on it, and a recipient may be an endpoint")
    func oneChannel() throws {
        #expect(try rules.deliveries(for: notification(to: "team-lead", channel: .chat)).map(\.endpoint.name) == ["support-chat"])
        #expect(try rules.deliveries(for: notification(to: "ops-webhook")).map(\.endpoint.name) == ["ops-webhook"])
    }

    @Test("unknown recipients and missing channels are typed resolution failures")
    func failures() {
        #expect {
            try rules.deliveries(for: notification(to: "team-laed"))
        } throws: { error in
            let error = error as? DeliveryResolutionError
            return error?.code == .unknownRecipient
                && error?.description
                    == "unknown-recipient: recipient 'team-laed' is not defined in the notification rules; did you mean 'team-lead'?"
        }
        // Outside attack: a recipient "fast\r\n" split the notifier's log line in two and put a
        // line break into the dead-letter record's reason header.
        #expect {
            try rules.deliveries(for: notification(to: "team-laed\r\nforged: line"))
        } throws: { error in
            (error as? DeliveryResolutionError)?.description.hasPrefix(
                "unknown-recipient: recipient 'team-laed??forged: line' is not defined in the notification rules") == true
        }
        #expect {
            try rules.deliveries(for: notification(to: "support-team", channel: .email))
        } throws: { error in
            (error as? DeliveryResolutionError)?.description
                == "no-target-on-channel: recipient 'support-team' has no email endpoint (it has: chat)"
        }
        // An email endpoint has no address of its own, so it is not a recipient.
        #expect(throws: DeliveryResolutionError.self) { try rules.deliveries(for: notification(to: "mail")) }
        #expect(!rules.knows(recipient: "mail") && rules.knows(recipient: "ops-webhook") && rules.knows(recipient: "team-lead"))
    }

    @Test("an escalation level adds its extra recipients once per escalation, on all their endpoints")
    func escalationExtras() throws {
        let payload = ["level": "3", "target": "first_response", "deadline": "2026-03-06T17:00:00Z"]
        let first = try rules.deliveries(
            for: notification(to: "support-team", channel: .chat, template: "escalated", payload: payload, key: "e9/support-team"))
        let second = try rules.deliveries(
            for: notification(to: "team-lead", channel: .chat, template: "escalated", payload: payload, key: "e9/team-lead"))
        let extras = first.filter { $0.escalationLevel == 3 }
        #expect(
            extras.map { "\($0.recipient)@\($0.endpoint.name)" } == [
                "duty-manager@mail", "duty-manager@ops-webhook", "head-of-support@mail",
            ])
        #expect(extras.first?.idempotencyKey == "INC-42/first_response/2026-03-06T17:00:00Z/level-3/duty-manager")
        // The same escalation's request for another recipient yields the same extra keys: the ledger delivers them once.
        #expect(Set(extras.map(\.ledgerKey)) == Set(second.filter { $0.escalationLevel != nil }.map(\.ledgerKey)))
        // The request's own recipient is not told twice, and other levels add nobody.
        let own = try rules.deliveries(for: notification(to: "duty-manager", payload: ["level": "2"]))
        #expect(own.allSatisfy { $0.escalationLevel == nil })
        #expect(try rules.deliveries(for: notification(to: "support-team", payload: ["level": "1"])).count == 1)
        #expect(try rules.deliveries(for: notification(to: "support-team", payload: ["level": "two"])).count == 1)
    }

    @Test("quiet hours hold non-urgent notifications until the recipient's calendar opens")
    func quietHours() {
        // Friday 2026-03-06 20:00 New York (EST, UTC-5) is after hours; Monday opens at 08:00 local.
        let fridayEvening = instant("2026-03-07T01:00:00Z")
        #expect(rules.releaseTime(recipient: "team-lead", urgent: false, at: fridayEvening) == instant("2026-03-09T12:00:00Z"))
        #expect(rules.releaseTime(recipient: "team-lead", urgent: true, at: fridayEvening) == fridayEvening)
        let fridayMorning = instant("2026-03-06T14:00:00Z")
        #expect(rules.releaseTime(recipient: "team-lead", urgent: false, at: fridayMorning) == fridayMorning)
        #expect(rules.releaseTime(recipient: "support-team", urgent: false, at: fridayEvening) == fridayEvening)
        #expect(rules.releaseTime(recipient: "nobody", urgent: false, at: fridayEvening) == fridayEvening)
    }

    @Test("descriptions show endpoints without URL paths or secrets")
    func descriptions() throws {
        let hook = try #require(rules.endpoints["ops-webhook"])
        #expect(hook.description == "ops-webhook (webhook → https://hooks.example.com/…)")
        #expect(rules.endpoints["support-chat"]?.description == "support-chat (chat → $TRIAGE_SUPPORT_CHAT_URL)")
        #expect(rules.endpoints["mail"]?.description == "mail (email → smtp.example.com:587)")
    }
}
