import TriageSLA

/// One policy's figures over a group of incidents (a row of the back-test, or the total).
public struct BacktestFigures: Sendable, Hashable, Codable {
    public var incidents = 0
    /// First responses measured: the first-response clock stopped, or reached its target, by
    /// the end of the window.
    public var firstResponsesMeasured = 0
    public var firstResponsesWithinTarget = 0
    public var firstResponsesBreached = 0
    /// Within target of measured, in percent; `nil` when nothing was measured.
    public var firstResponsesWithinTargetPercent: Double?
    /// Resolution clocks measured (stopped, or past their target), where the policy has them.
    public var resolutionsMeasured = 0
    public var resolutionsWithinTarget = 0
    public var resolutionsBreached = 0
    /// Update clocks that ended, and those that reached their target, where the policy has them.
    public var updatesMeasured = 0
    public var updatesBreached = 0
    public var warnings = 0
    /// Escalations per level (index 0 is level 1), every clock together.
    public var escalations: [Int] = []
    /// How many escalations would have notified each recipient (names as the policy writes
    /// them: `oncall:<team>` stays unresolved).
    public var notified: [String: Int] = [:]

    public init() {}

    mutating func add(_ outcome: IncidentOutcome, policy: SlaPolicy) {
        incidents += 1
        switch outcome.firstResponse.verdict {
        case .withinTarget:
            firstResponsesMeasured += 1
            firstResponsesWithinTarget += 1
        case .breached:
            firstResponsesMeasured += 1
            firstResponsesBreached += 1
        case .open, .none: break
        }
        firstResponsesWithinTargetPercent =
            firstResponsesMeasured == 0 ? nil : Double(firstResponsesWithinTarget) * 100 / Double(firstResponsesMeasured)
        switch outcome.resolution.verdict {
        case .withinTarget:
            resolutionsMeasured += 1
            resolutionsWithinTarget += 1
        case .breached:
            resolutionsMeasured += 1
            resolutionsBreached += 1
        case .open, .none: break
        }
        updatesMeasured += outcome.updatesMeasured
        updatesBreached += outcome.updatesBreached
        warnings += outcome.warnings
        if escalations.count < outcome.escalations.count {
            escalations += Array(repeating: 0, count: outcome.escalations.count - escalations.count)
        }
        for (index, count) in outcome.escalations.enumerated() where count > 0 {
            escalations[index] += count
            let level = policy.escalation.first { $0.level == index + 1 }
            for name in level?.notify ?? [] { notified[name, default: 0] += count }
        }
    }
}
