import Foundation
import Testing
import TriageCore
import TriageSLA

@Suite("SLA policy: resolution on by default for severity A")
struct ResolutionDefaultTests {
    @Test func severityAHasAResolutionTargetUnlessTurnedOff() throws {
        let defaults = SlaPolicy()
        #expect(defaults.targets(for: .a, coverage: .twentyFourSeven).resolutionMinutes == 1_440)
        #expect(defaults.targets(for: .a, coverage: .businessHours).resolutionMinutes == 960)
        #expect(defaults.targets(for: .b, coverage: .twentyFourSeven).resolutionMinutes == nil)
        #expect(defaults.targets(for: .c, coverage: .businessHours).resolutionMinutes == nil)
        let off = try SlaPolicy.load(yaml: "targets:\n  24x7:\n    A: { resolution: off }\n", file: "p.yaml")
        #expect(off.targets(for: .a, coverage: .twentyFourSeven).resolutionMinutes == nil)
        #expect(off.targets(for: .a, coverage: .businessHours).resolutionMinutes == 960, "only where turned off")
        let shorter = try SlaPolicy.load(yaml: "targets:\n  business_hours:\n    A: { first_response: 1h }\n", file: "p.yaml")
        #expect(shorter.targets(for: .a, coverage: .businessHours) == SlaTargets(firstResponseMinutes: 60, resolutionMinutes: 16 * 60))

        // The clock runs from the Opened and escalates at 24 h under 24x7.
        let rules = SlaRules(defaults)
        let start = Date(timeIntervalSince1970: 1_780_000_000)
        var state = IncidentSla(openedAt: start, severity: .a, coverage: .twentyFourSeven, team: nil, rules: rules)
        state.apply(.acknowledged, at: start.addingTimeInterval(600), rules: rules)
        var actions: [SlaAction] = []
        while let next = state.nextDue, next < start.addingTimeInterval(3 * 86_400) { actions += state.fire(upTo: next, rules: rules) }
        let breach = actions.first { if case .escalation = $0.kind { $0.target == .resolution } else { false } }
        #expect(breach?.deadline == start.addingTimeInterval(86_400))
    }
}
