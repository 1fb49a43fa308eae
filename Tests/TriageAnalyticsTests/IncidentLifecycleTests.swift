import Testing
import TriageLifecycle

@Suite("The incident lifecycle's rules")
struct IncidentLifecycleTests {
    static let closed: [IncidentStatus] = [.closedResolved, .closedUnresolved]
    static let open = IncidentStatus.allCases.filter { !$0.isClosed }

    /// Every action in every status, against the table in docs/intake.md.
    @Test(arguments: LifecycleAction.allCases)
    func theTable(action: LifecycleAction) {
        for status in IncidentStatus.allCases {
            let expected: Bool =
                switch action {
                case .addNote: true
                case .reopen: status.isClosed
                case .waitOnCustomer: !status.isClosed && status != .waitingOnCustomer
                default: !status.isClosed
                }
            #expect(IncidentLifecycle.allows(action, in: status) == expected, "\(action.rawValue) in \(status.rawValue)")
        }
    }

    @Test func whatTheAttackFoundIsRefused() {
        let closed = LifecycleState(status: .closedResolved)
        for action: LifecycleAction in [.split, .closeResolved, .closeUnresolved, .acknowledge] {
            guard case .failure(let refusal) = IncidentLifecycle.apply(action, to: closed) else {
                Issue.record("\(action.rawValue) on a closed incident was allowed")
                continue
            }
            #expect(refusal.description.hasPrefix("the incident is closed_resolved; \(action.rawValue) is possible only when it is open"))
        }
        guard case .failure(let refusal) = IncidentLifecycle.apply(.reopen, to: .opened) else {
            Issue.record("reopening an open incident was allowed")
            return
        }
        #expect(refusal.description == "the incident is open; reopen is possible only when it is closed_resolved or closed_unresolved")
    }

    /// Seeded random walks: a refusal never changes the state; a closed incident leaves that
    /// state only by reopening; every state reached is one the table can get out of.
    @Test(arguments: Array(UInt64(1)...300))
    func randomWalks(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        var state = LifecycleState.opened
        for _ in 0..<60 {
            let action = LifecycleAction.allCases.randomElement(using: &random)!
            switch IncidentLifecycle.apply(action, to: state) {
            case .failure(let refusal):
                #expect(refusal.status == state.status && refusal.action == action)
            case .success(let next):
                if state.status.isClosed && action != .reopen {
                    #expect(next == state, "seed \(seed): only a reopen changes a closed incident")
                }
                if action == .reopen { #expect(!next.status.isClosed) }
                if [.closeResolved, .closeUnresolved].contains(action) { #expect(next.status.isClosed && next.statusBeforeWaiting == nil) }
                #expect(
                    (next.status == .waitingOnCustomer) == (next.statusBeforeWaiting != nil),
                    "seed \(seed): waiting remembers what it interrupted")
                state = next
            }
            #expect(LifecycleAction.allCases.contains { IncidentLifecycle.allows($0, in: state.status) && $0 != .addNote })
        }
    }
}
