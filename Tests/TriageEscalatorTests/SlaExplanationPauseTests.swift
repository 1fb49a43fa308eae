import Foundation
import SwiftProtobuf
import Testing
import TriageSLA
import TriageSLAEvents
import TriageSchema

@Suite("triage sla explain: pause time per reason")
struct SlaExplanationPauseTests {
    @Test func pauseTimeIsSummedPerReasonAndClockInTheIncidentsCalendar() {
        let start = Date(timeIntervalSince1970: 1_780_000_000)
        func at(_ minutes: Double) -> Date { start.addingTimeInterval(minutes * 60) }
        let rules = SlaRules(
            SlaPolicy(targets: [.twentyFourSeven: [.a: SlaTargets(firstResponseMinutes: 120, resolutionMinutes: 600, updateMinutes: 240)]]))
        let events = [
            opened("INC-E", at: start),
            lifecycleEvent("INC-E", "v", at: at(10)) { $0.waitingOnCustomer = .with { $0.pauseReason = "waiting_on_vendor" } },
            lifecycleEvent("INC-E", "r", at: at(40)) { $0.customerResponded = .init() },
            lifecycleEvent("INC-E", "w", at: at(50)) { $0.waitingOnCustomer = .init() },
            lifecycleEvent("INC-E", "r2", at: at(70)) { $0.customerResponded = .init() },
            // Ends by itself at +100 (no event), and a reason the policy does not know.
            lifecycleEvent("INC-E", "f", at: at(80)) {
                $0.waitingOnCustomer = .with {
                    $0.pauseReason = "waiting_on_aliens"; $0.resumeAt = Google_Protobuf_Timestamp(date: at(100))
                }
            },
        ]
        let explanation = SlaExplanation(incident: "INC-E", events: events, rules: rules, until: at(300))
        func minutes(_ reason: String, _ target: String) -> Double? {
            explanation.pauseTimes.first { $0.reason == reason && $0.target == target }?.minutes
        }
        #expect(minutes("waiting_on_vendor", "resolution") == 30)
        #expect(minutes("waiting_on_vendor", "first_response") == nil, "the vendor does not hold the first response")
        // waiting_on_customer: 20 minutes explicit, then the unknown reason's 20 minutes.
        #expect(minutes("waiting_on_customer", "first_response") == 40)
        #expect(minutes("waiting_on_customer", "resolution") == 40)
        let lines = explanation.lines()
        #expect(lines.contains { $0.contains("paused for waiting_on_vendor: resolution 30.0 min") }, "\(lines)")
        #expect(lines.contains { $0.contains("waiting_on_aliens, unknown to the policy") }, "\(lines)")
        #expect(lines.contains { $0.contains("resumes") }, "\(lines)")
    }
}
