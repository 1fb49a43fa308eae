import Foundation
import Testing
import TriageSchema

@testable import TriageConsole

@Suite("Console pieces without a server")
struct ConsoleModelTests {
    @Test func originCheckAcceptsOnlyTheConsoleItself() {
        let check = OriginCheck(allowedOrigins: ["https://console.example.com/"])
        #expect(check.allows(origin: "http://127.0.0.1:8090", referer: nil, host: "127.0.0.1:8090"))
        #expect(check.allows(origin: "https://console.example.com", referer: nil, host: "10.0.0.1:8090"))
        #expect(check.allows(origin: nil, referer: "http://127.0.0.1:8090/incidents/X", host: "127.0.0.1:8090"))
        #expect(!check.allows(origin: "http://127.0.0.1:8090.evil.example", referer: nil, host: "127.0.0.1:8090"))
        #expect(!check.allows(origin: nil, referer: "http://127.0.0.1:8090.evil.example/x", host: "127.0.0.1:8090"))
        #expect(!check.allows(origin: "null", referer: nil, host: "127.0.0.1:8090"))
        #expect(!check.allows(origin: nil, referer: nil, host: "127.0.0.1:8090"))
    }

    @Test func requestIDsFollowTheFormNonce() {
        let one = ActionRequestID.make(username: "ana", action: "acknowledge", target: "INC-1", nonce: "n1")
        #expect(one == ActionRequestID.make(username: "ana", action: "acknowledge", target: "INC-1", nonce: "n1"))
        #expect(one != ActionRequestID.make(username: "ana", action: "acknowledge", target: "INC-1", nonce: "n2"))
        #expect(one != ActionRequestID.make(username: "bo", action: "acknowledge", target: "INC-1", nonce: "n1"))
        #expect(one.hasPrefix("console-") && one.count == 40)
        #expect(ActionRequestID.nonce() != ActionRequestID.nonce())
    }

    @Test func aFormIsSentOnceButARefusalMayBeRetried() {
        let forms = SubmittedForms(capacity: 2)
        #expect(forms.claim("a") == .first)
        #expect(forms.claim("a") == .inFlight)
        forms.finish("a", with: .done("ok"))
        #expect(forms.claim("a") == .done(.done("ok")))
        #expect(forms.claim("b") == .first)
        forms.finish("b", with: .refused("no"))
        #expect(forms.claim("b") == .first)
    }

    @Test func timelinesKeepTheFirstAndTheLatestEventsOnce() {
        var timeline = IncidentTimeline(limit: 3)
        for index in 1...5 {
            timeline.append(
                .with {
                    $0.eventID = "e\(index)"; $0.incidentID = "INC-1"
                })
        }
        timeline.append(
            .with {
                $0.eventID = "e5"; $0.incidentID = "INC-1"
            })
        #expect(timeline.events.map(\.eventID) == ["e1", "e4", "e5"])
        #expect(timeline.dropped == 2)
    }

    @Test func sessionsExpireWhenIdleAndTokensAreRandom() {
        let clock = MovableClock()
        let store = SessionStore(configuration: .init(idleTimeout: .seconds(60)), now: { clock.now })
        let session = store.start(username: "ana")
        #expect(session.id.count == 64 && session.csrfToken.count == 64 && session.id != session.csrfToken)
        clock.advance(seconds: 59)
        #expect(store.resume(session.id) != nil)
        clock.advance(seconds: 59)
        #expect(store.resume(session.id) != nil)  // the last request restarted the idle timer
        clock.advance(seconds: 61)
        #expect(store.resume(session.id) == nil)
    }

    @Test func throttleLocksAUsernameAfterRepeatedFailures() {
        let clock = MovableClock()
        let throttle = SignInThrottle(configuration: .init(maximumFailures: 3), now: { clock.now })
        for _ in 0..<2 { throttle.failed("Ana") }
        #expect(!throttle.isLocked("ana"))
        throttle.failed("ana")
        #expect(throttle.isLocked("ANA"))
        clock.advance(seconds: 15 * 60 + 1)
        #expect(!throttle.isLocked("ana"))
    }

    @Test func escapingKeepsDataOutOfTheMarkup() {
        #expect(HTML.escape("<script>alert('x') & \"y\"</script>") == "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;")
    }
}
