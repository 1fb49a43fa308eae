public import Foundation
public import TriageCore

/// The first-response clock of one incident, driven only by lifecycle facts.
///
/// It starts when the incident is opened, stops for good at the first response or a close,
/// pauses while the team waits on the customer, keeps the business time already used when the
/// severity (and so the target) changes, and starts over when the incident is reopened. Time is
/// measured in the contract's ``BusinessCalendar``.
public struct FirstResponseClock: Sendable, Hashable {
    public enum State: Sendable, Hashable {
        case running(since: Date)
        case paused
        case stopped
    }

    public let calendar: BusinessCalendar
    public let policy: FirstResponsePolicy
    public private(set) var severity: SupportSeverity
    public private(set) var state: State
    /// Business minutes used before the current running segment.
    public private(set) var usedBeforeSegment: Double

    /// Opened at `openedAt` with `severity`.
    public init(openedAt: Date, severity: SupportSeverity, calendar: BusinessCalendar, policy: FirstResponsePolicy = .init()) {
        self.calendar = calendar
        self.policy = policy
        self.severity = severity
        self.state = .running(since: openedAt)
        self.usedBeforeSegment = 0
    }

    public var targetMinutes: Double { policy.target(for: severity) }

    /// Business minutes used up to `instant`.
    public func usedMinutes(at instant: Date) -> Double {
        switch state {
        case .running(let since): usedBeforeSegment + calendar.businessMinutes(from: since, to: instant)
        case .paused, .stopped: usedBeforeSegment
        }
    }

    /// When the target is reached if nothing else happens; `nil` while paused or stopped.
    public func deadline() throws(CalendarError) -> Date? {
        guard case .running(let since) = state else { return nil }
        return try calendar.adding(businessMinutes: max(0, targetMinutes - usedBeforeSegment), to: since)
    }

    /// Every warning and the breach still ahead of (or at) `instant`, in order; empty unless running.
    public func milestones(after instant: Date) throws(CalendarError) -> [SlaMilestone] {
        guard case .running(let since) = state else { return [] }
        var result: [SlaMilestone] = []
        for percent in policy.warningPercents {
            let at = targetMinutes * Double(percent) / 100
            guard at > usedBeforeSegment else { continue }  // already passed before this segment
            let due = try calendar.adding(businessMinutes: at - usedBeforeSegment, to: since)
            if due >= instant { result.append(SlaMilestone(kind: .warning(percent: percent), due: due)) }
        }
        let breach = try calendar.adding(businessMinutes: max(0, targetMinutes - usedBeforeSegment), to: since)
        if breach >= instant { result.append(SlaMilestone(kind: .breach, due: breach)) }
        return result
    }

    /// The first response (Acknowledged): the clock stops for good.
    public mutating func acknowledge(at instant: Date) { stop(at: instant) }

    /// Closed (resolved, unresolved, or on the customer's request): the clock stops.
    public mutating func close(at instant: Date) { stop(at: instant) }

    /// WaitingOnCustomer: the clock pauses (a no-op unless running).
    public mutating func pause(at instant: Date) {
        guard case .running = state else { return }
        usedBeforeSegment = usedMinutes(at: instant)
        state = .paused
    }

    /// CustomerResponded: the clock runs again (a no-op unless paused).
    public mutating func resume(at instant: Date) {
        guard case .paused = state else { return }
        state = .running(since: instant)
    }

    /// SeverityChanged: a new target; the business time already used is kept.
    public mutating func changeSeverity(to newSeverity: SupportSeverity, at instant: Date) {
        if case .running = state {
            usedBeforeSegment = usedMinutes(at: instant)
            state = .running(since: instant)
        }
        severity = newSeverity
    }

    /// Reopened: a new first-response clock starts from zero.
    public mutating func reopen(at instant: Date) {
        usedBeforeSegment = 0
        state = .running(since: instant)
    }

    private mutating func stop(at instant: Date) {
        usedBeforeSegment = usedMinutes(at: instant)
        state = .stopped
    }
}
