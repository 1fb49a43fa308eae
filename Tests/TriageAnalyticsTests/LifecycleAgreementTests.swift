import Foundation
import Testing
import TriageAnalytics
import TriageLifecycle
import TriageSchema

/// The intake's lifecycle rules (`IncidentLifecycle`) and the analytics fold agree: for every
/// sequence of actions the rules allow, with the router's assignments in between, the fold
/// reaches the status the rules say.
@Suite("The lifecycle rules and the analytics fold agree")
struct LifecycleAgreementTests {
    static let seeds: [UInt64] = Array(1...200)

    /// The event an allowed action publishes.
    static func fact(_ action: LifecycleAction) -> Fact {
        switch action {
        case .acknowledge: .acknowledged("agent-1")
        case .addNote: .note
        case .changeSeverity: .severityChanged(.b, .a)
        case .waitOnCustomer: .waitingOnCustomer
        case .customerResponded: .customerResponded
        case .deliverSolution: .solutionDelivered
        case .requestClose: .closeRequested
        case .split: .split(["INC-9"])
        case .closeResolved: .closedResolved
        case .closeUnresolved: .closedUnresolved(refunded: false)
        case .reopen: .reopened
        case .reassign: .reassignRequested
        }
    }

    @Test(arguments: seeds)
    func theFoldReachesTheStatusTheRulesSay(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        var script = Script()
        let start = at("2026-03-02T09:00:00Z")
        _ = script.add(.opened(.b, .businessHours), at: start)
        var state = LifecycleState.opened
        var snapshot = IncidentSnapshot(incidentID: "INC-1")
        _ = snapshot.apply(script.events[0], rules: rules)
        for step in 1...40 {
            let instant = start.addingTimeInterval(Double(step) * 60)
            if Int.random(in: 0..<8, using: &random) == 0 {
                // The router assigns (only an open incident): not an intake action.
                guard !state.status.isClosed else { continue }
                _ = snapshot.apply(script.add(.assigned("agent-\(step)"), at: instant), rules: rules)
                if state.status == .open { state.status = .assigned }
                if state.statusBeforeWaiting == .open { state.statusBeforeWaiting = .assigned }
                state.hasAgent = true
                #expect(snapshot.status == state.status, "seed \(seed) step \(step): assignment")
                continue
            }
            let action = LifecycleAction.allCases.randomElement(using: &random)!
            switch IncidentLifecycle.apply(action, to: state) {
            case .failure(let refusal):
                #expect(!IncidentLifecycle.allows(action, in: state.status))
                #expect(refusal.description.contains(state.status.rawValue) && refusal.description.contains(action.rawValue))
            case .success(let next):
                _ = snapshot.apply(script.add(Self.fact(action), at: instant), rules: rules)
                state = next
                #expect(snapshot.status == state.status, "seed \(seed) step \(step): \(action.rawValue)")
                #expect(snapshot.statusBeforeWaiting == state.statusBeforeWaiting, "seed \(seed) step \(step): \(action.rawValue)")
            }
        }
    }

    @Test func theFirstOfTwoRacingClosesStands() {
        var script = Script()
        let start = at("2026-03-02T09:00:00Z")
        _ = script.add(.opened(.b, .businessHours), at: start)
        _ = script.add(.closedResolved, at: start.addingTimeInterval(60))
        _ = script.add(.closedUnresolved(refunded: true), at: start.addingTimeInterval(61))
        var snapshot = IncidentSnapshot(incidentID: "INC-1")
        _ = fold(script.events, into: &snapshot)
        #expect(snapshot.status == .closedResolved && snapshot.outcome == .resolved && !snapshot.creditRefunded)
        #expect(snapshot.closedAt == start.addingTimeInterval(60))
    }
}
