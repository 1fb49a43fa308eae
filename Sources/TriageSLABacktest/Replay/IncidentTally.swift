import Foundation
import TriageCore
import TriageSLA

/// What a replay learns about one incident while it tracks it: an ``IncidentOutcome`` being
/// filled in from the states before and after each input and from the actions fired.
struct IncidentTally: Sendable {
    var outcome = IncidentOutcome(
        firstResponse: ClockOutcome(verdict: .open, deadline: nil), resolution: ClockOutcome(verdict: .none, deadline: nil))
    /// The first-response clock since Opened has stopped (or was restarted by a reopen): later
    /// first-response clocks do not change the measure, as in `triage report sla`.
    var firstResponseSettled = false

    /// Minutes are compared to a millionth (60 µs), as the analytics records round them: event
    /// times are whole milliseconds, and floating-point noise must not decide a breach.
    static func reached(_ used: Double, _ target: Double) -> Bool { (used * 1_000_000).rounded() >= (target * 1_000_000).rounded() }

    static func target(_ target: SlaTarget, of state: IncidentSla, rules: SlaRules) -> Double? {
        rules.policy.targets(for: state.severity, coverage: state.coverage).minutes(for: target)
    }

    /// After `input` at `instant` turned `before` (nil: a new incident) into `after`.
    mutating func observe(_ input: SlaInput, before: IncidentSla?, after: IncidentSla, at instant: Date, rules: SlaRules) {
        if !firstResponseSettled {
            if case .reopened = input, let before, before.firstResponse.phase != .stopped {
                // Reopened before the first response: the clock Opened started is measured now.
                let used = before.minutesUsed(of: .firstResponse, at: instant, rules: rules)
                settleFirstResponse(breached: Self.target(.firstResponse, of: before, rules: rules).map { Self.reached(used, $0) } ?? false)
            } else if after.firstResponse.phase == .stopped {
                let breached =
                    Self.target(.firstResponse, of: after, rules: rules).map { Self.reached(after.firstResponse.used, $0) } ?? false
                settleFirstResponse(breached: breached)
            }
        }
        if after.resolution.phase == .stopped, before?.resolution.phase != .stopped,
            let target = Self.target(.resolution, of: after, rules: rules)
        {
            if Self.reached(after.resolution.used, target) {
                outcome.resolution.verdict = .breached
            } else if outcome.resolution.verdict != .breached {
                outcome.resolution.verdict = .withinTarget
            }
        }
        if let before, Self.updateClockEnded(input, before: before.update, after: after.update),
            let target = Self.target(.update, of: before, rules: rules)
        {
            outcome.updatesMeasured += 1
            if Self.reached(before.minutesUsed(of: .update, at: instant, rules: rules), target) { outcome.updatesBreached += 1 }
        }
        refresh(after, rules: rules)
    }

    /// Whether an update clock that was on ended: stopped, turned off, or started over by a note.
    static func updateClockEnded(_ input: SlaInput, before: SlaClockState, after: SlaClockState) -> Bool {
        guard before.phase == .running || before.phase == .paused else { return false }
        if after.phase == .stopped || after.phase == .off { return true }
        if case .publicNote = input { return after.since != before.since || after.used != before.used }
        return false
    }

    /// What each deadline depends on, as last computed: firing a milestone changes none of it,
    /// so most refreshes skip the calendar arithmetic.
    private var firstResponseBasis: DeadlineBasis?
    private var resolutionBasis: DeadlineBasis?

    struct DeadlineBasis: Equatable {
        var severity: SupportSeverity
        var calendarIndex: UInt16
        var phase: SlaClockState.Phase
        var since: Double
        var used: Double

        init(_ state: IncidentSla, _ target: SlaTarget) {
            let clock = state.clock(target)
            severity = state.severity
            calendarIndex = state.calendarIndex
            phase = clock.phase
            since = clock.since
            used = clock.used
        }
    }

    /// Keeps the deadlines in force (a running clock's; a paused one keeps its last).
    mutating func refresh(_ state: IncidentSla, rules: SlaRules) {
        if !firstResponseSettled {
            let basis = DeadlineBasis(state, .firstResponse)
            if basis != firstResponseBasis, let deadline = state.deadline(of: .firstResponse, rules: rules) {
                outcome.firstResponse.deadline = deadline
            }
            firstResponseBasis = basis
        }
        let basis = DeadlineBasis(state, .resolution)
        if basis != resolutionBasis, let deadline = state.deadline(of: .resolution, rules: rules) { outcome.resolution.deadline = deadline }
        resolutionBasis = basis
        if outcome.resolution.verdict == .none, state.resolution.phase != .off { outcome.resolution.verdict = .open }
    }

    mutating func record(_ action: SlaAction) {
        switch action.kind {
        case .warning: outcome.warnings += 1
        case .escalation(let level):
            let index = max(0, level.level - 1)
            if outcome.escalations.count <= index {
                outcome.escalations += Array(repeating: 0, count: index + 1 - outcome.escalations.count)
            }
            outcome.escalations[index] += 1
            switch action.target {
            case .firstResponse: if !firstResponseSettled { outcome.firstResponse.verdict = .breached }
            case .resolution: outcome.resolution.verdict = .breached
            case .update: break  // counted when the clock ends
            }
        }
    }

    private mutating func settleFirstResponse(breached: Bool) {
        firstResponseSettled = true
        outcome.firstResponse.verdict = breached || outcome.firstResponse.verdict == .breached ? .breached : .withinTarget
    }

    /// The end of the window with the incident still tracked: clocks past their target are
    /// breached; running ones under it stay open (not measured).
    mutating func finish(_ state: IncidentSla, at end: Date, rules: SlaRules) {
        refresh(state, rules: rules)
        if !firstResponseSettled, let target = Self.target(.firstResponse, of: state, rules: rules),
            Self.reached(state.minutesUsed(of: .firstResponse, at: end, rules: rules), target)
        {
            outcome.firstResponse.verdict = .breached
        }
        if state.resolution.phase == .running || state.resolution.phase == .paused,
            let target = Self.target(.resolution, of: state, rules: rules)
        {
            outcome.resolution.verdict =
                Self.reached(state.minutesUsed(of: .resolution, at: end, rules: rules), target)
                ? .breached : outcome.resolution.verdict == .breached ? .breached : .open
        }
        if state.update.phase == .running || state.update.phase == .paused, let target = Self.target(.update, of: state, rules: rules),
            Self.reached(state.minutesUsed(of: .update, at: end, rules: rules), target)
        {
            outcome.updatesMeasured += 1
            outcome.updatesBreached += 1
        }
    }
}
