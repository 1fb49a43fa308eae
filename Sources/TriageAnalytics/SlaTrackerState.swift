public import TriageCore
public import TriageSLA

/// An ``IncidentSla`` (the escalator's per-incident SLA state) in a form that survives JSON:
/// the calendar by name (as the `triage.sla-state` changelog stores it), NaN as `nil`.
///
/// Keeping the escalator's own state, and driving it with the same ``SlaInput``s, is what makes
/// the analytics measures agree exactly with what the escalator does.
public struct SlaTrackerState: Sendable, Hashable {
    /// One clock: ``SlaClockState`` with instants in seconds since 1970.
    public struct Clock: Sendable, Hashable {
        public var phase: SlaClockState.Phase
        public var warningsDone: UInt8
        public var levelsDone: UInt8
        /// Start of the running segment.
        public var segmentStart: Double
        /// Minutes used before ``segmentStart``.
        public var usedMinutes: Double
        /// The breach instant once escalation level 1 fired.
        public var breachedAt: Double?

        /// The JSON-safe form of the escalator's clock.
        public init(_ clock: SlaClockState) {
            phase = clock.phase
            warningsDone = clock.firedWarnings
            levelsDone = clock.firedLevels
            segmentStart = clock.since
            usedMinutes = clock.used
            breachedAt = clock.breachedAt.isNaN ? nil : clock.breachedAt
        }

        /// Back to the escalator's clock (`nil` breach instant → NaN).
        public var clockState: SlaClockState {
            SlaClockState(
                phase: phase, firedWarnings: warningsDone, firedLevels: levelsDone, since: segmentStart, used: usedMinutes,
                breachedAt: breachedAt ?? .nan
            )
        }
    }

    public var severity: SupportSeverity
    public var coverage: SlaCoverage
    /// The calendar's name in the policy (`24x7`, `default`, or a named calendar).
    public var calendar: String
    /// Paused, whatever the reason (the JSON key keeps its first name, `waiting_on_customer`).
    public var waitingOnCustomer: Bool
    /// The active pause reason's name; `nil` when not paused (or paused by a record without one).
    public var pauseReason: String?
    /// When the active pause ends by itself (seconds since 1970).
    public var resumeAt: Double?
    /// ``IncidentSla/progress``: bit 0 acknowledged, bit 1 solution delivered.
    public var progress: UInt8
    /// Seconds since 1970 of the close; `nil` while open.
    public var closedAt: Double?
    public var firstResponse: Clock
    public var resolution: Clock
    /// The periodic-update clock (`off` in snapshots written before it existed).
    public var update: Clock

    public init(_ sla: IncidentSla, rules: SlaRules) {
        severity = sla.severity
        coverage = sla.coverage
        calendar = rules.calendarNames[Int(sla.calendarIndex)]
        waitingOnCustomer = sla.isPaused
        pauseReason = sla.pauseReason(rules: rules)
        resumeAt = sla.resumeAt.isNaN ? nil : sla.resumeAt
        progress = sla.progress
        closedAt = sla.closedAt.isNaN ? nil : sla.closedAt
        firstResponse = Clock(sla.firstResponse)
        resolution = Clock(sla.resolution)
        update = Clock(sla.update)
    }

    /// The escalator's state; a calendar the policy no longer has falls back to the default one.
    public func incidentSla(rules: SlaRules) -> IncidentSla {
        IncidentSla(
            severity: severity, coverage: coverage,
            calendarIndex: coverage == .twentyFourSeven ? 0 : rules.calendarIndex(named: calendar),
            pauseReasonIndex: waitingOnCustomer ? rules.effectivePauseReasonIndex(named: pauseReason ?? "") : nil,
            resumeAt: resumeAt ?? .nan, progress: progress, closedAt: closedAt ?? .nan,
            firstResponse: firstResponse.clockState, resolution: resolution.clockState, update: update.clockState, appliedThrough: -1,
            rules: rules
        )
    }
}
