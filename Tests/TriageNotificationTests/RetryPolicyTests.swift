import Foundation
import Testing
import TriageNotification

@Suite("Retry policy and delivery outcomes")
struct RetryPolicyTests {
    @Test("ceilings grow from the initial delay by the multiplier up to the cap")
    func ceilings() {
        let policy = RetryPolicy()
        #expect((1...10).map(policy.ceiling(afterAttempt:)) == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300])
        #expect(policy.ceiling(afterAttempt: 5000) == 300)
        #expect(policy.allowsRetry(after: 5) && !policy.allowsRetry(after: 6))
    }

    @Test("property: delays stay within [ceiling/2, ceiling] and never shrink before the cap (fixed seeds)")
    func equalJitter() {
        let policies = [
            RetryPolicy(), RetryPolicy(maxAttempts: 12, initialDelay: 0.5, maxDelay: 600, multiplier: 3),
            RetryPolicy(maxAttempts: 20, initialDelay: 2, maxDelay: 3600, multiplier: 2.5),
        ]
        for (index, policy) in policies.enumerated() {
            for seed in UInt64(1)...200 {
                var random = SplitMix64(seed: seed &* 7919 &+ UInt64(index))
                var previous = 0.0
                for attempt in 1..<policy.maxAttempts {
                    let ceiling = policy.ceiling(afterAttempt: attempt)
                    let delay = policy.delay(afterAttempt: attempt, using: &random)
                    #expect(
                        delay >= ceiling / 2 && delay <= ceiling,
                        "seed \(seed) attempt \(attempt): \(delay) outside [\(ceiling / 2), \(ceiling)]")
                    if ceiling < policy.maxDelay {
                        #expect(delay >= previous, "seed \(seed) attempt \(attempt): \(delay) < \(previous)")
                    }
                    previous = delay
                }
            }
        }
    }

    @Test("jitter actually varies, and the same seed gives the same delays")
    func jitterVaries() {
        let policy = RetryPolicy()
        var a = SplitMix64(seed: 42)
        var b = SplitMix64(seed: 42)
        let first = (0..<50).map { _ in policy.delay(afterAttempt: 4, using: &a) }
        #expect(first == (0..<50).map { _ in policy.delay(afterAttempt: 4, using: &b) })
        #expect(Set(first).count > 40)
        #expect(first.contains { $0 < 6 } && first.contains { $0 > 6 })
    }

    @Test("a longer Retry-After wins; a shorter one does not")
    func retryAfter() {
        var random = SplitMix64(seed: 7)
        #expect(RetryPolicy().delay(afterAttempt: 1, retryAfter: 120, using: &random) == 120)
        let delay = RetryPolicy().delay(afterAttempt: 3, retryAfter: 0.1, using: &random)
        #expect(delay >= 2 && delay <= 4)
    }

    @Test(
        "HTTP statuses classify as delivered, retriable or permanent",
        arguments: [
            (200, "delivered"), (204, "delivered"), (299, "delivered"), (408, "retriable"), (425, "retriable"), (429, "retriable"),
            (500, "retriable"), (502, "retriable"), (503, "retriable"), (599, "retriable"), (301, "permanent"), (400, "permanent"),
            (401, "permanent"), (404, "permanent"), (409, "permanent"), (422, "permanent"), (499, "permanent"),
        ])
    func httpStatuses(_ status: Int, _ expected: String) {
        #expect(kind(DeliveryOutcome.http(status: status)) == expected)
    }

    @Test("Retry-After delay-seconds are kept; dates and garbage are ignored")
    func retryAfterHeader() {
        #expect(DeliveryOutcome.http(status: 429, retryAfter: " 30 ") == .retriable("HTTP 429", retryAfter: 30))
        #expect(DeliveryOutcome.http(status: 503, retryAfter: "Fri, 06 Mar 2026 16:00:00 GMT") == .retriable("HTTP 503"))
        #expect(DeliveryOutcome.http(status: 503, retryAfter: "-1") == .retriable("HTTP 503"))
        #expect(DeliveryOutcome.http(status: 429, retryAfter: "30").description == "HTTP 429 (retriable, Retry-After 30 s)")
    }

    @Test("transport failures are retriable; SMTP 4xx retriable, 5xx permanent")
    func transportAndSMTP() {
        for failure in [DeliveryOutcome.TransportFailure.timeout, .connectionRefused, .connectionReset, .other("TLS handshake failed")] {
            #expect(DeliveryOutcome.transport(failure).isRetriable)
        }
        #expect(DeliveryOutcome.transport(.timeout).description == "timed out (retriable)")
        #expect(DeliveryOutcome.smtp(replyCode: 250) == .delivered)
        #expect(DeliveryOutcome.smtp(replyCode: 421, message: "try later") == .retriable("SMTP 421 try later"))
        #expect(DeliveryOutcome.smtp(replyCode: 452).isRetriable)
        #expect(DeliveryOutcome.smtp(replyCode: 550, message: "no such user") == .permanent("SMTP 550 no such user"))
        #expect(DeliveryOutcome.smtp(replyCode: 354).isRetriable)
    }

    private func kind(_ outcome: DeliveryOutcome) -> String {
        switch outcome {
        case .delivered: "delivered"
        case .retriable: "retriable"
        case .permanent: "permanent"
        }
    }
}
