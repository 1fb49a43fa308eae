import Foundation
import Testing
import TriageCore
import TriageSLA

private func refusal(_ yaml: String) -> SlaPolicyError? {
    do {
        _ = try SlaPolicy.load(yaml: yaml, file: "policy.yaml")
        return nil
    } catch {
        return error
    }
}

@Suite("SLA policy files: pause reasons, update targets, targets turned off")
struct SlaPolicyPauseAndUpdateLoadingTests {
    @Test func withoutTheSectionTheDocumentedReasonsApply() throws {
        let policy = try SlaPolicy.load(yaml: "", file: "p.yaml")
        #expect(policy.pauseReasons == SlaPolicy.defaultPauseReasons)
        #expect(policy.pauseReasons["waiting_on_customer"] == [.firstResponse, .resolution, .update])
        #expect(policy.pauseReasons["waiting_on_vendor"] == [.resolution])
        #expect(policy.pauseReasons["waiting_on_engineering"] == [.resolution])
        #expect(policy.pauseReasons["scheduled_follow_up"] == [.resolution, .update])
    }

    @Test func entriesOverrideOrAddByName() throws {
        let policy = try SlaPolicy.load(
            yaml: """
                pause_reasons:
                  waiting_on_vendor: { pauses: [first_response, resolution] }
                  legal_review:
                    pauses: [resolution, update]
                """, file: "p.yaml")
        #expect(policy.pauseReasons["waiting_on_vendor"] == [.firstResponse, .resolution])
        #expect(policy.pauseReasons["legal_review"] == [.resolution, .update])
        #expect(policy.pauseReasons["waiting_on_customer"] == [.firstResponse, .resolution, .update], "always there")
        #expect(policy.pauseReasons["scheduled_follow_up"] == [.resolution, .update], "built-ins not named stay")
    }

    @Test func badPauseReasonsAreRefusedWithTheirPosition() {
        let name = refusal("pause_reasons:\n  Waiting-On-Legal: { pauses: [resolution] }\n")
        #expect(name?.code == .invalidValue && name?.key == "pause_reasons.Waiting-On-Legal" && name?.line == 2)
        let empty = refusal("pause_reasons:\n  legal: { pauses: [] }\n")
        #expect(empty?.code == .invalidValue && empty?.message.contains("at least one clock") == true)
        let unknown = refusal("pause_reasons:\n  legal: { pauses: [resolutoin] }\n")
        #expect(unknown?.code == .unknownKey && unknown?.message.contains("resolution") == true, "\(String(describing: unknown))")
        let missing = refusal("pause_reasons:\n  legal: {}\n")
        #expect(missing?.code == .missingKey)
        let twice = refusal("pause_reasons:\n  legal: { pauses: [update, update] }\n")
        #expect(twice?.key == "pause_reasons.legal.pauses[1]")
    }

    @Test func updateTargetsAndOffTargetsLoad() throws {
        let policy = try SlaPolicy.load(
            yaml: """
                targets:
                  24x7:
                    A: { first_response: 1h, resolution: off, update: 4h }
                  business_hours:
                    B: { update: 8h }
                    C: { update: off }
                """, file: "p.yaml")
        #expect(
            policy.targets(for: .a, coverage: .twentyFourSeven)
                == SlaTargets(firstResponseMinutes: 60, resolutionMinutes: nil, updateMinutes: 240))
        #expect(policy.targets(for: .b, coverage: .businessHours).updateMinutes == 480)
        #expect(policy.targets(for: .c, coverage: .businessHours).updateMinutes == nil)
        #expect(policy.targets(for: .b, coverage: .twentyFourSeven).updateMinutes == nil, "no update target unless given")
    }

    @Test func firstResponseCannotBeOff() {
        let error = refusal("targets:\n  24x7:\n    A: { first_response: off }\n")
        #expect(error?.code == .invalidValue && error?.key == "targets.24x7.A.first_response")
        #expect(error?.message.contains("cannot be off") == true)
    }
}
