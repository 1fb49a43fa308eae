import Foundation
import Testing
import TriageNotification

@Suite("Delivery attempts")
struct DeliveryAttemptsTests {
    let policy = RetryPolicy(maxAttempts: 3)
    let first = DeliveryAttempts(recipient: "duty-manager", endpoint: "ops-webhook", notBefore: instant(0))

    @Test("a retriable failure schedules the next attempt after the policy's delay")
    func retry() throws {
        var random = SplitMix64(seed: 1)
        guard case .retry(let second) = first.after(.http(status: 503), at: instant(1), policy: policy, using: &random) else {
            Issue.record("expected a retry")
            return
        }
        #expect(second.attempt == 2)
        #expect(second.previous == [.init(number: 1, at: instant(1), outcome: "HTTP 503 (retriable)")])
        let delay = second.notBefore.timeIntervalSince(instant(1))
        #expect(delay >= 0.5 && delay <= 1)
        guard case .retry(let third) = second.after(.http(status: 429, retryAfter: "60"), at: instant(3), policy: policy, using: &random)
        else {
            Issue.record("expected a retry")
            return
        }
        #expect(third.attempt == 3 && third.notBefore == instant(63))
    }

    @Test("the last failed attempt and permanent failures dead-letter with every attempt's outcome")
    func deadLetter() {
        var random = SplitMix64(seed: 1)
        var state = first
        var decisions: [DeliveryAttempts.Decision] = []
        for (second, outcome) in [(1.0, DeliveryOutcome.http(status: 500)), (3, .transport(.timeout)), (9, .transport(.connectionRefused))]
        {
            let decision = state.after(outcome, at: instant(second), policy: policy, using: &random)
            decisions.append(decision)
            if case .retry(let next) = decision { state = next }
        }
        #expect(
            decisions.last
                == .deadLetter(
                    reason: """
                        not delivered to duty-manager via ops-webhook after 3 attempts: #1 2026-03-06T16:00:01.000Z HTTP 500 (retriable); \
                        #2 2026-03-06T16:00:03.000Z timed out (retriable); #3 2026-03-06T16:00:09.000Z connection refused (retriable)
                        """))
        #expect(
            first.after(.http(status: 404), at: instant(1), policy: policy, using: &random)
                == .deadLetter(
                    reason:
                        "not delivered to duty-manager via ops-webhook after 1 attempt: #1 2026-03-06T16:00:01.000Z HTTP 404 (permanent)"))
        #expect(first.after(.delivered, at: instant(1), policy: policy, using: &random) == .delivered)
    }

    @Test("headers round-trip, history included")
    func headersRoundTrip() throws {
        let state = DeliveryAttempts(
            recipient: "jürgen", endpoint: "mail", attempt: 3, notBefore: instant(12.345),
            previous: [
                .init(number: 1, at: instant(0), outcome: "SMTP 421 \"busy\", try later (retriable)"),
                .init(number: 2, at: instant(4.5), outcome: "timed out (retriable)"),
            ])
        let headers = state.headers
        #expect(headers.map(\.name) == DeliveryAttempts.Header.all)
        #expect(headers[0].value == "3" && headers[1].value == "2026-03-06T16:00:12.345Z")
        let decoded = try DeliveryAttempts.decode(headers: Dictionary(uniqueKeysWithValues: headers.map { ($0.name, $0.value) }))
        #expect(decoded == state)
        #expect(try DeliveryAttempts.decode(headers: ["content-type": "application/x-protobuf"]) == nil)
        let fresh = try DeliveryAttempts.decode(headers: Dictionary(uniqueKeysWithValues: first.headers.map { ($0.name, $0.value) }))
        #expect(fresh == first && first.headers[4].value == "[]")
    }

    @Test("a re-queue the breaker turned away says so in triage-held-by; the next attempt does not")
    func heldByCircuitBreaker() throws {
        var held = DeliveryAttempts(
            recipient: "ops", endpoint: "hook", attempt: 2, notBefore: instant(30),
            previous: [.init(number: 1, at: instant(0), outcome: "HTTP 503 (retriable)")])
        held.heldByCircuitBreaker = true
        let headers = held.headers
        #expect(headers.map(\.name) == DeliveryAttempts.Header.all + [DeliveryAttempts.Header.heldBy])
        let decoded = try DeliveryAttempts.decode(headers: Dictionary(uniqueKeysWithValues: headers.map { ($0.name, $0.value) }))
        #expect(decoded == held && decoded?.heldByCircuitBreaker == true)
        guard case .retry(let next) = held.after(.retriable("HTTP 503"), at: instant(31), policy: RetryPolicy()) else {
            Issue.record("a retriable failure of attempt 2 is retried")
            return
        }
        #expect(!next.heldByCircuitBreaker && next.headers.map(\.name) == DeliveryAttempts.Header.all)
    }

    @Test("outcome texts are bounded so headers stay small")
    func boundedOutcome() {
        let attempt = DeliveryAttempts.Attempt(number: 1, at: instant(0), outcome: String(repeating: "x", count: 5000))
        #expect(attempt.outcome.count == 200)
    }

    @Test(
        "partial or malformed headers are typed errors",
        arguments: [
            (["triage-attempt": "2"], NotificationRecordError.Code.missingHeader),
            (valid(replacing: "triage-attempt", with: "0"), .malformed),
            (valid(replacing: "triage-attempt", with: "two"), .malformed),
            (valid(replacing: "triage-not-before", with: "yesterday"), .malformed),
            (valid(replacing: "triage-endpoint", with: ""), .malformed),
            (valid(replacing: "triage-attempts", with: "{"), .malformed),
            (valid(replacing: "triage-attempts", with: #"[{"n":1,"at":"soon","outcome":"x"}]"#), .malformed),
            (
                valid(
                    replacing: "triage-attempts",
                    with: #"[{"n":1,"at":"2026-03-06T16:00:00.000Z","outcome":"x"},{"n":2,"at":"2026-03-06T16:00:00.000Z","outcome":"x"}]"#),
                .malformed
            ),
        ])
    func malformed(_ headers: [String: String], _ code: NotificationRecordError.Code) {
        #expect(throws: NotificationRecordError.self) { try DeliveryAttempts.decode(headers: headers) }
        do {
            _ = try DeliveryAttempts.decode(headers: headers)
        } catch {
            #expect(error.code == code)
        }
    }

    @Test("rules find the target a re-queued attempt continues, or say it is gone")
    func resuming() throws {
        let rules = try NotificationRules.load(path: repositoryPath("config/notification-rules.example.yaml"))
        let request = notification(to: "duty-manager")
        let target = try rules.target(
            for: request, resuming: DeliveryAttempts(recipient: "duty-manager", endpoint: "ops-webhook", notBefore: instant()))
        #expect(target.endpoint.name == "ops-webhook" && target.recipient == "duty-manager")
        #expect {
            try rules.target(
                for: request, resuming: DeliveryAttempts(recipient: "duty-manager", endpoint: "old-hook", notBefore: instant()))
        } throws: { error in
            (error as? DeliveryResolutionError)?.code == .targetGone
        }
    }
}

/// Headers of a valid second attempt with one header replaced.
private func valid(replacing name: String, with value: String) -> [String: String] {
    var headers: [String: String] = [
        "triage-attempt": "2", "triage-not-before": "2026-03-06T16:00:02.000Z", "triage-recipient": "ann", "triage-endpoint": "mail",
        "triage-attempts": #"[{"n":1,"at":"2026-03-06T16:00:00.000Z","outcome":"timed out (retriable)"}]"#,
    ]
    headers[name] = value
    return headers
}
