import Foundation
import SwiftProtobuf
import Testing
import TriageDevTools
import TriageSLA
import TriageSchema

@Suite("Chaos audit: update-clock escalations expected by a replay")
struct ChaosUpdateExpectationTests {
    @Test func aRestartMovesTheExpectedLevelsAndEscalatorEventsAreIgnored() {
        let start = Date(timeIntervalSince1970: 1_780_000_000)
        func at(_ minutes: Double) -> Date { start.addingTimeInterval(minutes * 60) }
        let rules = SlaRules(SlaPolicy(targets: [.twentyFourSeven: [.a: SlaTargets(firstResponseMinutes: 120, updateMinutes: 60)]]))
        let events = [
            opened("INC-1", at: start),
            lifecycleEvent("INC-1", "ack", at: at(5)) { $0.acknowledged = .with { $0.agentID = "ada" } },
            lifecycleEvent("INC-1", "note", at: at(50)) { $0.noteAdded = .with { $0.public = true } },
            // An escalator's event in the topic changes nothing in the replay.
            lifecycleEvent("INC-1", "esc", at: at(65)) {
                $0.producer = "escalator";
                $0.escalated = .with {
                    $0.level = 1; $0.target = "update"
                }
            },
            opened("INC-2", at: start),
        ]
        let records = events.enumerated().map { (partition: Int32(0), offset: Int64($0.offset), event: $0.element) }
        // Level 1 (breach at +110) is due; level 2 (an hour later, +170) is not yet at +120.
        #expect(ChaosUpdateExpectation.expected(records, rules: rules, cutoff: at(120)) == ["INC-1|1"])
        #expect(ChaosUpdateExpectation.expected(records, rules: rules, cutoff: at(200)) == ["INC-1|1", "INC-1|2"])
        #expect(ChaosUpdateExpectation.expected(records, rules: rules, cutoff: at(100)).isEmpty, "the note moved the breach to +110")
    }
}
