public import Foundation
public import TriageCore

/// A lifecycle fact as the SLA engine sees it (the worker maps `IncidentEvent`s to these).
public enum SlaInput: Sendable, Hashable {
    case opened(severity: SupportSeverity, coverage: SlaCoverage, team: String?)
    /// First response: the first-response clock stops, the update clock (if targeted) starts.
    case acknowledged
    /// The SLA pause (WaitingOnCustomer): the clocks `reason` names pause (a reason the policy
    /// does not know pauses as `waiting_on_customer` does). With `resumeAt`, the pause ends by
    /// itself at that instant.
    case paused(reason: String, resumeAt: Date?)
    /// Every paused clock runs again.
    case customerResponded
    /// A customer-visible note (NoteAdded with `public`): the update clock starts over.
    case publicNote
    /// New targets; time already used is kept.
    case severityChanged(SupportSeverity)
    /// A solution was delivered: every clock stops.
    case solutionDelivered
    /// Closed resolved, unresolved or on the customer's request: every clock stops.
    case closed
    /// A new first-response clock starts; the resolution clock runs on with its used time; the
    /// update clock is off until the next Acknowledged.
    case reopened
    /// The escalator's own SlaWarning, read back from the topic: that warning is done.
    case warningEmitted(target: SlaTarget, percent: Int, deadline: Date)
    /// The escalator's own Escalated, read back from the topic: that level is done.
    case escalationEmitted(target: SlaTarget, level: Int, deadline: Date)

    /// The pause of a WaitingOnCustomer without a reason or end.
    public static let waitingOnCustomer = SlaInput.paused(reason: SlaPolicy.waitingOnCustomer, resumeAt: nil)
}

/// Something due: a warning, or an escalation level past the breach.
public struct SlaAction: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case warning(percent: Int, notify: [String])
        case escalation(EscalationLevel)
    }

    public private(set) var kind: Kind
    public let target: SlaTarget
    public let severity: SupportSeverity
    /// The instant the target is (or was) breached.
    public let deadline: Date
    /// When this action became due (event time; it may be earlier than when it was noticed).
    public let due: Date

    /// The same action with every recipient name replaced by `resolve(name, due)`: names that
    /// stand for someone chosen when the action falls due (`oncall:<team>` → the person on call
    /// at ``due``). The event id does not change.
    public func resolvingRecipients(_ resolve: (_ name: String, _ at: Date) -> String) -> SlaAction {
        var copy = self
        switch kind {
        case .warning(let percent, let notify):
            copy.kind = .warning(percent: percent, notify: notify.map { resolve($0, due) })
        case .escalation(var level):
            level.notify = level.notify.map { resolve($0, due) }
            copy.kind = .escalation(level)
        }
        return copy
    }

    /// A stable id for the event this action publishes: the same incident, target, milestone,
    /// level and deadline always give the same id, so a re-emission after a crash is
    /// recognisable downstream.
    public func eventID(incident: String) -> String {
        let milestone: String
        switch kind {
        case .warning(let percent, _): milestone = "warning-\(percent)"
        case .escalation(let level): milestone = "level-\(level.level)"
        }
        let millis = Int64((deadline.timeIntervalSince1970 * 1000).rounded())
        return "sla-" + StableHash.hex128("\(incident)|\(target.rawValue)|\(milestone)|\(millis)")
    }

    public var description: String {
        switch kind {
        case .warning(let percent, _):
            "\(target.rawValue) warning \(percent)% (due \(due.formatted(.iso8601)), deadline \(deadline.formatted(.iso8601)))"
        case .escalation(let level):
            "\(target.rawValue) escalation level \(level.level) (due \(due.formatted(.iso8601)), deadline \(deadline.formatted(.iso8601)))"
        }
    }
}

/// One SLA clock (first response, resolution or update), compact: business minutes used before the
/// current running segment, when that segment began, and which milestones are done.
public struct SlaClockState: Sendable, Hashable {
    public enum Phase: UInt8, Sendable {
        /// No target of this kind.
        case off = 0
        case running = 1
        case paused = 2
        case stopped = 3
    }

    public var phase: Phase
    /// Bit `i`: the warning at `warningPercents[i]` is done.
    public var firedWarnings: UInt8
    /// Escalation levels `1...firedLevels` are done.
    public var firedLevels: UInt8
    /// Start of the running segment, seconds since 1970.
    public var since: Double
    /// Minutes of the clock's calendar used before `since`.
    public var used: Double
    /// The breach instant once level 1 fired (seconds since 1970), NaN before.
    public var breachedAt: Double

    public static let off = SlaClockState(phase: .off, firedWarnings: 0, firedLevels: 0, since: 0, used: 0, breachedAt: .nan)

    public static func running(since: Date) -> SlaClockState {
        SlaClockState(phase: .running, firedWarnings: 0, firedLevels: 0, since: since.timeIntervalSince1970, used: 0, breachedAt: .nan)
    }

    public init(phase: Phase, firedWarnings: UInt8, firedLevels: UInt8, since: Double, used: Double, breachedAt: Double) {
        self.phase = phase
        self.firedWarnings = firedWarnings
        self.firedLevels = firedLevels
        self.since = since
        self.used = used
        self.breachedAt = breachedAt
    }

    public static func == (lhs: SlaClockState, rhs: SlaClockState) -> Bool {
        lhs.phase == rhs.phase && lhs.firedWarnings == rhs.firedWarnings && lhs.firedLevels == rhs.firedLevels
            && lhs.since == rhs.since && lhs.used == rhs.used
            && (lhs.breachedAt == rhs.breachedAt || lhs.breachedAt.isNaN && rhs.breachedAt.isNaN)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(phase)
        hasher.combine(firedWarnings)
        hasher.combine(firedLevels)
        hasher.combine(since)
        hasher.combine(used)
    }
}

/// A compiled ``SlaPolicy``: calendars and pause reasons numbered so an incident stores a small
/// index, not a calendar or a name. Calendar index 0 is 24x7, 1 the default business calendar,
/// then the named ones by name; pause reasons are numbered by name.
public struct SlaRules: Sendable {
    public let policy: SlaPolicy
    public let calendars: [BusinessCalendar]
    /// Parallel to ``calendars``: the names written to the changelog (`24x7`, `default`, ...).
    public let calendarNames: [String]
    let indexByName: [String: UInt16]
    /// Pause-reason names, sorted; an incident's ``IncidentSla/pauseReasonIndex`` indexes this.
    public let pauseReasonNames: [String]
    /// Parallel to ``pauseReasonNames``: the ``SlaTarget/pauseBit``s of the clocks each pauses.
    public let pauseMasks: [UInt8]
    let pauseIndexByName: [String: UInt8]
    /// The index of `waiting_on_customer` (also used for reasons the policy does not know).
    public let waitingOnCustomerIndex: UInt8

    public init(_ policy: SlaPolicy) {
        self.policy = policy
        var calendars = [BusinessCalendar.twentyFourSeven, policy.defaultCalendar]
        var names = ["24x7", "default"]
        for (name, calendar) in policy.calendars.sorted(by: { $0.key < $1.key }) where name != "default" && name != "24x7" {
            calendars.append(calendar)
            names.append(name)
        }
        self.calendars = calendars
        self.calendarNames = names
        self.indexByName = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, UInt16($0)) })
        var reasons = policy.pauseReasons
        if reasons[SlaPolicy.waitingOnCustomer] == nil { reasons[SlaPolicy.waitingOnCustomer] = Set(SlaTarget.allCases) }
        // At most 255 reasons fit the incident's one-byte index (the loader refuses more).
        let sorted = reasons.sorted { $0.key < $1.key }.prefix(255)
        pauseReasonNames = sorted.map(\.key)
        pauseMasks = sorted.map { $0.value.reduce(0) { $0 | $1.pauseBit } }
        pauseIndexByName = Dictionary(uniqueKeysWithValues: pauseReasonNames.enumerated().map { ($1, UInt8($0)) })
        waitingOnCustomerIndex = pauseIndexByName[SlaPolicy.waitingOnCustomer] ?? 0
    }

    /// The calendar index for an incident's coverage and team.
    public func calendarIndex(coverage: SlaCoverage, team: String?) -> UInt16 {
        switch coverage {
        case .twentyFourSeven: return 0
        case .businessHours:
            if let team, let name = policy.teamCalendars[team], let index = indexByName[name] { return index }
            return 1
        }
    }

    /// The index of a calendar named in a changelog record; unknown names (the policy changed)
    /// fall back to the default business calendar.
    public func calendarIndex(named name: String) -> UInt16 { indexByName[name] ?? 1 }

    /// The index of a pause reason, `nil` when the policy does not know it (an empty name is
    /// `waiting_on_customer`).
    public func pauseReasonIndex(named name: String) -> UInt8? {
        name.isEmpty ? waitingOnCustomerIndex : pauseIndexByName[name]
    }

    /// The index a pause with `name` uses: unknown reasons pause as `waiting_on_customer` does.
    public func effectivePauseReasonIndex(named name: String) -> UInt8 { pauseReasonIndex(named: name) ?? waitingOnCustomerIndex }
}

/// The SLA state of one incident: its severity, coverage, calendar, pause and three clocks.
///
/// Driven only by ``SlaInput``s with their event times; ``fire(upTo:rules:)`` returns what has
/// become due, each action exactly once, and ``nextDue`` is the next instant something will be
/// (a milestone, the end of a pause with a resume instant, or forgetting a closed incident).
/// About 170 bytes (product, customer and team are one shared reference); the worker keeps one
/// per open (or recently closed) incident.
public struct IncidentSla: Sendable, Hashable {
    /// The trace of the request that opened the incident (W3C trace id, opaque here): the SLA
    /// events and notifications this state causes continue that trace. `nil` when the Opened
    /// event carried none.
    public var trace: SlaTraceID?
    /// Product, customer account and team from the Opened event (shared per book); `nil` when
    /// unknown (e.g. a changelog record written before they were kept).
    public var parties: SlaParties?
    public var severity: SupportSeverity
    public var coverage: SlaCoverage
    public var calendarIndex: UInt16
    /// The active pause: an index into ``SlaRules/pauseReasonNames``; `nil` while not paused.
    public var pauseReasonIndex: UInt8?
    /// Bit 0: acknowledged since opened (or reopened); bit 1: a solution was delivered since.
    public var progress: UInt8
    /// Seconds since 1970 at which the active pause ends by itself; NaN: when the customer responds.
    public var resumeAt: Double
    /// Seconds since 1970 of the close; NaN while open.
    public var closedAt: Double
    public var firstResponse: SlaClockState
    public var resolution: SlaClockState
    /// The periodic-update clock: off until the first response, started over by every
    /// customer-visible note.
    public var update: SlaClockState
    /// The position (e.g. Kafka offset) of the last input applied; inputs at or before it are
    /// replays and are skipped.
    public var appliedThrough: Int64
    /// Cached next due instant (seconds since 1970); +infinity when nothing is due.
    public private(set) var nextDueSeconds: Double

    static let acknowledgedBit: UInt8 = 1
    static let solutionDeliveredBit: UInt8 = 2

    public static func == (lhs: IncidentSla, rhs: IncidentSla) -> Bool {
        lhs.severity == rhs.severity && lhs.coverage == rhs.coverage && lhs.calendarIndex == rhs.calendarIndex
            && lhs.pauseReasonIndex == rhs.pauseReasonIndex && lhs.progress == rhs.progress
            && (lhs.resumeAt == rhs.resumeAt || lhs.resumeAt.isNaN && rhs.resumeAt.isNaN)
            && (lhs.closedAt == rhs.closedAt || lhs.closedAt.isNaN && rhs.closedAt.isNaN)
            && lhs.firstResponse == rhs.firstResponse && lhs.resolution == rhs.resolution && lhs.update == rhs.update
            && lhs.appliedThrough == rhs.appliedThrough && lhs.trace == rhs.trace && lhs.parties == rhs.parties
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(severity)
        hasher.combine(firstResponse)
        hasher.combine(resolution)
        hasher.combine(update)
        hasher.combine(appliedThrough)
    }

    /// A new incident opened at `openedAt`.
    public init(openedAt: Date, severity: SupportSeverity, coverage: SlaCoverage, team: String?, rules: SlaRules, position: Int64 = -1) {
        self.severity = severity
        self.coverage = coverage
        self.calendarIndex = rules.calendarIndex(coverage: coverage, team: team)
        self.pauseReasonIndex = nil
        self.progress = 0
        self.resumeAt = .nan
        self.closedAt = .nan
        self.firstResponse = .running(since: openedAt)
        let hasResolution = rules.policy.targets(for: severity, coverage: coverage).resolutionMinutes != nil
        self.resolution = hasResolution ? .running(since: openedAt) : .off
        self.update = .off
        self.appliedThrough = position
        self.nextDueSeconds = .infinity
        recomputeNextDue(rules: rules)
    }

    /// A state read back from the changelog.
    public init(
        severity: SupportSeverity, coverage: SlaCoverage, calendarIndex: UInt16, pauseReasonIndex: UInt8?, resumeAt: Double = .nan,
        progress: UInt8 = 0, closedAt: Double, firstResponse: SlaClockState, resolution: SlaClockState, update: SlaClockState = .off,
        appliedThrough: Int64, rules: SlaRules
    ) {
        self.severity = severity
        self.coverage = coverage
        self.calendarIndex = calendarIndex
        self.pauseReasonIndex = pauseReasonIndex
        self.progress = progress
        self.resumeAt = pauseReasonIndex == nil ? .nan : resumeAt
        self.closedAt = closedAt
        self.firstResponse = firstResponse
        self.resolution = resolution
        self.update = update
        self.appliedThrough = appliedThrough
        self.nextDueSeconds = .infinity
        recomputeNextDue(rules: rules)
    }

    /// The next instant something is due (a warning, an escalation level, the end of a pause,
    /// or forgetting a closed incident), or `nil`.
    public var nextDue: Date? { nextDueSeconds.isFinite ? Date(timeIntervalSince1970: nextDueSeconds) : nil }

    public var isClosed: Bool { !closedAt.isNaN }

    /// Whether a pause (of any reason) is active.
    public var isPaused: Bool { pauseReasonIndex != nil }

    /// The active pause reason's name, `nil` while not paused.
    public func pauseReason(rules: SlaRules) -> String? {
        pauseReasonIndex.flatMap { Int($0) < rules.pauseReasonNames.count ? rules.pauseReasonNames[Int($0)] : nil }
    }

    /// When the active pause ends by itself, if it does.
    public var resumesAt: Date? { resumeAt.isNaN ? nil : Date(timeIntervalSince1970: resumeAt) }

    /// Whether the first response was given since the incident was opened or reopened.
    public var isAcknowledged: Bool { progress & Self.acknowledgedBit != 0 }

    /// Whether a closed incident has been remembered long enough.
    public func isForgettable(at now: Date, rules: SlaRules) -> Bool {
        isClosed && now.timeIntervalSince1970 >= closedAt + rules.policy.reopenWindowMinutes * 60
    }

    // MARK: Inputs

    /// Fires what became due before `at` (event time), then applies `input`. Returns the
    /// actions that fired.
    @discardableResult
    public mutating func apply(_ input: SlaInput, at instant: Date, rules: SlaRules) -> [SlaAction] {
        var actions: [SlaAction] = []
        if instant.timeIntervalSince1970 >= nextDueSeconds { actions = fire(upTo: instant, rules: rules) }
        // An event older than a clock's running segment (out of order) counts at the segment start.
        let calendar = rules.calendars[Int(calendarIndex)]
        switch input {
        case .opened(let severity, let coverage, let team):
            // A repeated Opened (e.g. re-published) re-targets but keeps the clocks.
            self.coverage = coverage
            calendarIndex = rules.calendarIndex(coverage: coverage, team: team)
            changeSeverity(to: severity, at: instant, calendar: calendar, rules: rules)
        case .acknowledged:
            firstResponse.stop(at: instant, calendar: calendar)
            if !isAcknowledged, !isClosed {
                progress |= Self.acknowledgedBit
                startUpdateClockIfTargeted(at: instant, calendar: calendar, rules: rules)
            }
        case .paused(let reason, let resumeAt):
            // A pause that would end at or before it starts is no pause.
            if let resumeAt, resumeAt <= instant {
                break
            }
            setPause(rules.effectivePauseReasonIndex(named: reason), at: instant, calendar: calendar, rules: rules)
            self.resumeAt = resumeAt?.timeIntervalSince1970 ?? .nan
        case .customerResponded:
            setPause(nil, at: instant, calendar: calendar, rules: rules)
        case .publicNote:
            update.restart(at: instant)
        case .severityChanged(let severity):
            changeSeverity(to: severity, at: instant, calendar: calendar, rules: rules)
        case .solutionDelivered:
            progress |= Self.solutionDeliveredBit
            stopAll(at: instant, calendar: calendar)
        case .closed:
            stopAll(at: instant, calendar: calendar)
            if !isClosed { closedAt = instant.timeIntervalSince1970 }
        case .reopened:
            closedAt = .nan
            pauseReasonIndex = nil
            resumeAt = .nan
            progress = 0
            firstResponse = .running(since: instant)
            update = .off
            if resolution.phase != .off { resolution.resume(at: instant, evenIfStopped: true) }
        case .warningEmitted(let target, let percent, let deadline):
            guard let index = rules.policy.warningPercents.firstIndex(of: percent), index < 8,
                matches(deadline, target: target, rules: rules)
            else { break }
            modify(target) { $0.firedWarnings |= 1 << UInt8(index) }
        case .escalationEmitted(let target, let level, let deadline):
            guard level > 0, level <= Int(UInt8.max), matches(deadline, target: target, rules: rules) else { break }
            modify(target) {
                if Int($0.firedLevels) < level {
                    $0.firedLevels = UInt8(level)
                    if $0.breachedAt.isNaN { $0.breachedAt = deadline.timeIntervalSince1970 }
                }
            }
        }
        recomputeNextDue(rules: rules)
        return actions
    }

    /// Everything due at or before `now`, each exactly once, in order of due time per clock.
    ///
    /// Warnings overtaken by the breach (noticed late, e.g. after an outage or for a late
    /// Opened) are marked done without being emitted; of several overdue warnings only the
    /// highest is emitted. A pause whose resume instant has come ends first: the clocks run
    /// again from that instant.
    public mutating func fire(upTo now: Date, rules: SlaRules) -> [SlaAction] {
        // Every comparison in seconds since 1970, the representation of `nextDueSeconds`: two
        // instants a fraction of a microsecond apart can compare differently as `Date`s (seconds
        // since 2001) than as seconds since 1970, and a threshold that is due by one measure and
        // not by the other would never be fired nor scheduled past `now`.
        let nowSeconds = now.timeIntervalSince1970
        guard nowSeconds >= nextDueSeconds else { return [] }
        var actions: [SlaAction] = []
        let calendar = rules.calendars[Int(calendarIndex)]
        if pauseReasonIndex != nil, resumeAt <= nowSeconds {
            setPause(nil, at: Date(timeIntervalSince1970: resumeAt), calendar: calendar, rules: rules)
        }
        let targets = rules.policy.targets(for: severity, coverage: coverage)
        for target in SlaTarget.allCases {
            guard let minutes = targets.minutes(for: target) else { continue }
            var clock = self.clock(target)
            guard clock.phase == .running else { continue }
            let breach =
                clock.breachedAt.isNaN ? clock.due(atUsed: minutes, calendar: calendar) : Date(timeIntervalSince1970: clock.breachedAt)
            // Warnings.
            var highestDue: (percent: Int, due: Date)?
            for (index, percent) in rules.policy.warningPercents.enumerated()
            where index < 8 && clock.firedWarnings & (1 << UInt8(index)) == 0 {
                let due = clock.due(atUsed: minutes * Double(percent) / 100, calendar: calendar)
                guard due.timeIntervalSince1970 <= nowSeconds else { continue }
                clock.firedWarnings |= 1 << UInt8(index)
                highestDue = (percent, due)
            }
            if let highestDue, breach.timeIntervalSince1970 > nowSeconds {
                actions.append(
                    SlaAction(
                        kind: .warning(percent: highestDue.percent, notify: rules.policy.warningNotify),
                        target: target, severity: severity, deadline: breach, due: highestDue.due
                    )
                )
            }
            // Escalation levels.
            let levels = rules.policy.escalation
            while Int(clock.firedLevels) < levels.count {
                let level = levels[Int(clock.firedLevels)]
                let due = clock.due(atUsed: minutes + level.afterMinutes, calendar: calendar)
                guard due.timeIntervalSince1970 <= nowSeconds else { break }
                if clock.breachedAt.isNaN { clock.breachedAt = breach.timeIntervalSince1970 }
                clock.firedLevels += 1
                actions.append(SlaAction(kind: .escalation(level), target: target, severity: severity, deadline: breach, due: due))
            }
            modify(target) { $0 = clock }
        }
        recomputeNextDue(rules: rules)
        return actions
    }

    // MARK: Internals

    public func clock(_ target: SlaTarget) -> SlaClockState {
        switch target {
        case .firstResponse: firstResponse
        case .resolution: resolution
        case .update: update
        }
    }

    private mutating func modify(_ target: SlaTarget, _ body: (inout SlaClockState) -> Void) {
        switch target {
        case .firstResponse: body(&firstResponse)
        case .resolution: body(&resolution)
        case .update: body(&update)
        }
    }

    /// The pause bits of the active reason (0 while not paused).
    func pauseMask(rules: SlaRules) -> UInt8 {
        guard let index = pauseReasonIndex, Int(index) < rules.pauseMasks.count else { return 0 }
        return rules.pauseMasks[Int(index)]
    }

    /// Switches to the pause `index` (`nil`: none): clocks the old reason paused and the new one
    /// does not run again; clocks the new one pauses and the old one did not pause.
    private mutating func setPause(_ index: UInt8?, at instant: Date, calendar: BusinessCalendar, rules: SlaRules) {
        let old = pauseMask(rules: rules)
        pauseReasonIndex = index
        let new = pauseMask(rules: rules)
        if index == nil { resumeAt = .nan }
        for target in SlaTarget.allCases {
            let bit = target.pauseBit
            if old & bit != 0, new & bit == 0 {
                modify(target) { $0.resume(at: instant) }
            } else if new & bit != 0, old & bit == 0 {
                modify(target) { $0.pause(at: instant, calendar: calendar) }
            }
        }
    }

    private mutating func stopAll(at instant: Date, calendar: BusinessCalendar) {
        firstResponse.stop(at: instant, calendar: calendar)
        resolution.stop(at: instant, calendar: calendar)
        update.stop(at: instant, calendar: calendar)
        pauseReasonIndex = nil
        resumeAt = .nan
    }

    /// Starts the update clock (paused if the active pause pauses it) when the incident is
    /// acknowledged, open, without a delivered solution, and its severity has an update target.
    private mutating func startUpdateClockIfTargeted(at instant: Date, calendar: BusinessCalendar, rules: SlaRules) {
        guard update.phase == .off, isAcknowledged, progress & Self.solutionDeliveredBit == 0, !isClosed,
            rules.policy.targets(for: severity, coverage: coverage).updateMinutes != nil
        else { return }
        update = .running(since: instant)
        if pauseMask(rules: rules) & SlaTarget.update.pauseBit != 0 { update.pause(at: instant, calendar: calendar) }
    }

    /// Whether `deadline` is the current breach instant of `target`'s clock (so a read-back
    /// event belongs to this clock, not to one before a reopen, a restart or a severity change).
    private func matches(_ deadline: Date, target: SlaTarget, rules: SlaRules) -> Bool {
        let clock = self.clock(target)
        guard clock.phase != .off, let minutes = rules.policy.targets(for: severity, coverage: coverage).minutes(for: target) else {
            return false
        }
        if !clock.breachedAt.isNaN { return abs(clock.breachedAt - deadline.timeIntervalSince1970) < 0.001 }
        guard clock.phase == .running else { return false }
        let breach = clock.due(atUsed: minutes, calendar: rules.calendars[Int(calendarIndex)])
        return abs(breach.timeIntervalSince(deadline)) < 0.001
    }

    private mutating func changeSeverity(to newSeverity: SupportSeverity, at instant: Date, calendar: BusinessCalendar, rules: SlaRules) {
        firstResponse.rebase(at: instant, calendar: calendar)
        resolution.rebase(at: instant, calendar: calendar)
        update.rebase(at: instant, calendar: calendar)
        severity = newSeverity
        let targets = rules.policy.targets(for: newSeverity, coverage: coverage)
        if targets.resolutionMinutes != nil, resolution.phase == .off, !isClosed {
            resolution = .running(since: instant)
            if pauseMask(rules: rules) & SlaTarget.resolution.pauseBit != 0 { resolution.pause(at: instant, calendar: calendar) }
        }
        startUpdateClockIfTargeted(at: instant, calendar: calendar, rules: rules)
        // Milestones still ahead under the new target are due again; passed ones stay done.
        for target in SlaTarget.allCases {
            guard let minutes = targets.minutes(for: target) else { continue }
            modify(target) { clock in
                var warnings: UInt8 = 0
                for (index, percent) in rules.policy.warningPercents.enumerated() where index < 8 {
                    if clock.used >= minutes * Double(percent) / 100 { warnings |= clock.firedWarnings & (1 << UInt8(index)) }
                }
                clock.firedWarnings = warnings
                // Still past the new target: the breach stands and the levels it fired stay fired
                // (fired again they would repeat their events: same breach, same event ids). No
                // longer past it: the breach is undone, and a later one is a new breach.
                let passedLevels = rules.policy.escalation.prefix { clock.used >= minutes + $0.afterMinutes }.count
                if passedLevels == 0 {
                    clock.firedLevels = 0
                    clock.breachedAt = .nan
                }
            }
        }
    }

    private mutating func recomputeNextDue(rules: SlaRules) {
        var next = Double.infinity
        if isClosed {
            next = closedAt + rules.policy.reopenWindowMinutes * 60
        }
        if pauseReasonIndex != nil, !resumeAt.isNaN { next = min(next, resumeAt) }
        let calendar = rules.calendars[Int(calendarIndex)]
        let targets = rules.policy.targets(for: severity, coverage: coverage)
        for target in SlaTarget.allCases {
            let clock = self.clock(target)
            guard clock.phase == .running, let minutes = targets.minutes(for: target) else { continue }
            var thresholds: [Double] = []
            for (index, percent) in rules.policy.warningPercents.enumerated()
            where index < 8 && clock.firedWarnings & (1 << UInt8(index)) == 0 {
                thresholds.append(minutes * Double(percent) / 100)
            }
            if Int(clock.firedLevels) < rules.policy.escalation.count {
                thresholds.append(minutes + rules.policy.escalation[Int(clock.firedLevels)].afterMinutes)
            }
            if let first = thresholds.min() {
                next = min(next, clock.due(atUsed: first, calendar: calendar).timeIntervalSince1970)
            }
        }
        nextDueSeconds = next
    }
}

extension SlaClockState {
    /// The instant at which this running clock reaches `threshold` used minutes (the segment
    /// start if it was already reached).
    func due(atUsed threshold: Double, calendar: BusinessCalendar) -> Date {
        let start = Date(timeIntervalSince1970: since)
        guard threshold > used else { return start }
        // A calendar without working time for ten years never becomes due.
        return (try? calendar.adding(businessMinutes: threshold - used, to: start)) ?? .distantFuture
    }

    func usedMinutes(at instant: Date, calendar: BusinessCalendar) -> Double {
        guard phase == .running else { return used }
        return used + calendar.businessMinutes(from: Date(timeIntervalSince1970: since), to: instant)
    }

    mutating func stop(at instant: Date, calendar: BusinessCalendar) {
        guard phase == .running || phase == .paused else { return }
        used = usedMinutes(at: instant, calendar: calendar)
        phase = .stopped
    }

    mutating func pause(at instant: Date, calendar: BusinessCalendar) {
        guard phase == .running else { return }
        used = usedMinutes(at: instant, calendar: calendar)
        phase = .paused
    }

    /// The update clock's restart on a customer-visible note: nothing used, every milestone
    /// ahead again (a new deadline, so new event ids). A note not after the running segment's
    /// start changes nothing: it would give the same deadline, whose milestones are done.
    mutating func restart(at instant: Date) {
        guard phase == .running || phase == .paused else { return }
        let start = max(since, instant.timeIntervalSince1970)
        guard used > 0 || start > since else { return }
        used = 0
        since = start
        firedWarnings = 0
        firedLevels = 0
        breachedAt = .nan
    }

    mutating func resume(at instant: Date, evenIfStopped: Bool = false) {
        guard phase == .paused || evenIfStopped && phase == .stopped else { return }
        since = max(since, instant.timeIntervalSince1970)
        phase = .running
    }

    /// Starts a new running segment at `instant`, keeping the time used.
    mutating func rebase(at instant: Date, calendar: BusinessCalendar) {
        guard phase == .running else { return }
        used = usedMinutes(at: instant, calendar: calendar)
        since = max(since, instant.timeIntervalSince1970)
    }
}

/// A 128-bit W3C trace id kept with an incident's SLA state (16 bytes inline, no allocation).
public struct SlaTraceID: Sendable, Hashable {
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// From 32 hex digits; `nil` otherwise (or all zero).
    public init?(hex: some StringProtocol) {
        guard hex.count == 32, let high = UInt64(hex.prefix(16), radix: 16), let low = UInt64(hex.suffix(16), radix: 16), high | low != 0
        else {
            return nil
        }
        self.high = high
        self.low = low
    }

    /// 32 lowercase hex digits.
    public var hex: String {
        func pad(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        return pad(high) + pad(low)
    }
}

// MARK: Reading a clock (for back-tests and reports)

extension SlaClockState {
    /// Minutes of `calendar` this clock has used by `instant` (up to `instant` while it runs).
    public func minutesUsed(at instant: Date, calendar: BusinessCalendar) -> Double {
        usedMinutes(at: instant, calendar: calendar)
    }
}

extension IncidentSla {
    /// The instant `target`'s clock reaches its target: the breach instant once level 1 fired,
    /// else where the running clock will reach it. `nil` while the clock is off, paused or
    /// stopped (a paused clock's deadline moves with the pause) or the policy sets no target.
    public func deadline(of target: SlaTarget, rules: SlaRules) -> Date? {
        let clock = self.clock(target)
        guard clock.phase == .running, let minutes = rules.policy.targets(for: severity, coverage: coverage).minutes(for: target) else {
            return nil
        }
        if !clock.breachedAt.isNaN { return Date(timeIntervalSince1970: clock.breachedAt) }
        return clock.due(atUsed: minutes, calendar: rules.calendars[Int(calendarIndex)])
    }

    /// Minutes of the incident's calendar `target`'s clock has used by `instant`.
    public func minutesUsed(of target: SlaTarget, at instant: Date, rules: SlaRules) -> Double {
        clock(target).usedMinutes(at: instant, calendar: rules.calendars[Int(calendarIndex)])
    }
}
