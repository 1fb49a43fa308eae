import Foundation
import Testing
import TriageNotification

@Suite("Circuit breaker")
struct CircuitBreakerTests {
    let configuration = CircuitBreaker.Configuration(failureThreshold: 3, openFor: 30)

    @Test("closed until the threshold of consecutive failures; a success resets the count")
    func opensAtThreshold() {
        var breaker = CircuitBreaker(configuration: configuration)
        breaker.recordFailure(at: instant(0))
        breaker.recordFailure(at: instant(1))
        breaker.recordSuccess()
        breaker.recordFailure(at: instant(2))
        breaker.recordFailure(at: instant(3))
        #expect(breaker.state == .closed(consecutiveFailures: 2))
        #expect(breaker.admit(at: instant(4)) == .allowed)
        breaker.recordFailure(at: instant(4))
        #expect(breaker.state == .open(until: instant(34)))
    }

    @Test("open refuses until open_for has passed, then lets exactly one probe through")
    func halfOpenProbe() {
        var breaker = opened(at: 0)
        #expect(breaker.admit(at: instant(29.999)) == .refused(until: instant(30)))
        #expect(breaker.admit(at: instant(30)) == .probe)
        #expect(breaker.admit(at: instant(30)) == .refused(until: instant(60)))
        #expect(breaker.admit(at: instant(45)) == .refused(until: instant(60)))
        breaker.recordSuccess()
        #expect(breaker.state == .closed(consecutiveFailures: 0))
        #expect(breaker.admit(at: instant(46)) == .allowed)
    }

    @Test("deliveries refused while the probe is pending may go the moment it succeeds, not open_for later")
    func refusedGoWhenTheProbeSucceeds() {
        var breaker = opened(at: 0)
        #expect(!breaker.isClosed)
        #expect(breaker.admit(at: instant(30)) == .probe)
        // Refused while half-open: "until" is only the latest time to ask again.
        #expect(breaker.admit(at: instant(30.1)) == .refused(until: instant(60)))
        #expect(breaker.admit(at: instant(30.2)) == .refused(until: instant(60)))
        #expect(!breaker.isClosed, "one probe at a time: nobody else may go while it is pending")
        breaker.record(.delivered, at: instant(30.3))
        #expect(breaker.isClosed, "the probe's success closes the breaker: the refused deliveries are woken")
        for offset in [0.31, 0.32, 0.33] { #expect(breaker.admit(at: instant(30 + offset)) == .allowed) }
    }

    @Test("a failed probe opens the breaker again for open_for")
    func failedProbe() {
        var breaker = opened(at: 0)
        #expect(breaker.admit(at: instant(31)) == .probe)
        breaker.recordFailure(at: instant(32))
        #expect(breaker.state == .open(until: instant(62)))
        #expect(breaker.admit(at: instant(61)) == .refused(until: instant(62)))
        #expect(breaker.admit(at: instant(62)) == .probe)
    }

    @Test("a probe that never reports back is replaced after open_for")
    func lostProbe() {
        var breaker = opened(at: 0)
        #expect(breaker.admit(at: instant(30)) == .probe)
        #expect(breaker.admit(at: instant(59)) == .refused(until: instant(60)))
        #expect(breaker.admit(at: instant(60)) == .probe)
    }

    @Test("late failures while open change nothing; permanent outcomes count as answers")
    func lateResults() {
        var breaker = opened(at: 0)
        breaker.recordFailure(at: instant(10))
        #expect(breaker.state == .open(until: instant(30)))
        var closed = CircuitBreaker(configuration: configuration)
        closed.record(.retriable("HTTP 503"), at: instant(0))
        closed.record(.permanent("HTTP 400"), at: instant(1))
        #expect(closed.state == .closed(consecutiveFailures: 0))
        closed.record(.transport(.timeout), at: instant(2))
        #expect(closed.state == .closed(consecutiveFailures: 1))
    }

    @Test("property: a seeded random sequence of admissions and outcomes agrees with a reference model")
    func againstReferenceModel() {
        for seed in UInt64(1)...100 {
            var random = SplitMix64(seed: seed)
            let configuration = CircuitBreaker.Configuration(
                failureThreshold: Int.random(in: 1...4, using: &random), openFor: Double(Int.random(in: 1...20, using: &random)))
            var breaker = CircuitBreaker(configuration: configuration)
            var model = ReferenceBreaker(threshold: configuration.failureThreshold, openFor: configuration.openFor)
            var now = 0.0
            for step in 0..<300 {
                now += Double(Int.random(in: 0...6, using: &random))
                switch Int.random(in: 0..<3, using: &random) {
                case 0:
                    let admission = breaker.admit(at: instant(now))
                    #expect(admission == model.admit(now), "seed \(seed) step \(step)")
                case 1:
                    breaker.recordSuccess()
                    model.success()
                default:
                    breaker.recordFailure(at: instant(now))
                    model.failure(now)
                }
            }
        }
    }

    private func opened(at seconds: TimeInterval) -> CircuitBreaker {
        var breaker = CircuitBreaker(configuration: configuration)
        for _ in 0..<configuration.failureThreshold { breaker.recordFailure(at: instant(seconds)) }
        return breaker
    }
}

/// The breaker's rules written as plainly as possible, with numbers instead of states.
private struct ReferenceBreaker {
    let threshold: Int
    let openFor: Double
    var failures = 0
    var openUntil: Double?  // open while now < openUntil
    var probeAt: Double?  // half-open with a probe in flight since then

    mutating func admit(_ now: Double) -> CircuitBreaker.Admission {
        if let probeAt {
            if now < probeAt + openFor { return .refused(until: instant(probeAt + openFor)) }
            self.probeAt = now
            return .probe
        }
        if let openUntil {
            if now < openUntil { return .refused(until: instant(openUntil)) }
            self.openUntil = nil
            probeAt = now
            return .probe
        }
        return .allowed
    }

    mutating func success() {
        failures = 0
        openUntil = nil
        probeAt = nil
    }

    mutating func failure(_ now: Double) {
        if probeAt != nil {
            probeAt = nil
            openUntil = now + openFor
        } else if openUntil == nil {
            failures += 1
            if failures >= threshold {
                failures = 0
                openUntil = now + openFor
            }
        }
    }
}
