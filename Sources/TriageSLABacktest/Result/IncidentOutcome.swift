import Foundation

/// What one incident's SLA came to under one policy: the first-response and resolution clocks,
/// the update clocks that ended, the warnings and the escalations per level.
public struct IncidentOutcome: Sendable, Hashable, Codable {
    /// The first clock since Opened (as `triage report sla` measures it).
    public var firstResponse: ClockOutcome
    public var resolution: ClockOutcome
    /// Update clocks that ended (started over by a public note, stopped, or past their target by
    /// the end of the window) and how many of them reached their target.
    public var updatesMeasured: Int
    public var updatesBreached: Int
    public var warnings: Int
    /// Escalations fired per level: index 0 is level 1 (every clock together).
    public var escalations: [Int]

    public init(
        firstResponse: ClockOutcome, resolution: ClockOutcome, updatesMeasured: Int = 0, updatesBreached: Int = 0, warnings: Int = 0,
        escalations: [Int] = []
    ) {
        self.firstResponse = firstResponse
        self.resolution = resolution
        self.updatesMeasured = updatesMeasured
        self.updatesBreached = updatesBreached
        self.warnings = warnings
        self.escalations = escalations
    }

    /// The levels fired, for a person: `L1,L2`, a level fired more than once (on several
    /// clocks) with its count, `L1×2,L2`; `none`.
    public var escalationLevels: String {
        let fired = escalations.enumerated().filter { $0.element > 0 }.map {
            $0.element == 1 ? "L\($0.offset + 1)" : "L\($0.offset + 1)×\($0.element)"
        }
        return fired.isEmpty ? "none" : fired.joined(separator: ",")
    }

    /// The same verdicts, counts and escalations (deadlines aside).
    public func sameResult(as other: IncidentOutcome) -> Bool {
        firstResponse.verdict == other.firstResponse.verdict && resolution.verdict == other.resolution.verdict
            && updatesMeasured == other.updatesMeasured && updatesBreached == other.updatesBreached && warnings == other.warnings
            && Self.trimmed(escalations) == Self.trimmed(other.escalations)
    }

    /// Whether a deadline differs by a millisecond or more.
    public func sameDeadlines(as other: IncidentOutcome) -> Bool {
        func same(_ a: Date?, _ b: Date?) -> Bool {
            switch (a, b) {
            case (nil, nil): true
            case (let a?, let b?): abs(a.timeIntervalSince(b)) < 0.001
            default: false
            }
        }
        return same(firstResponse.deadline, other.firstResponse.deadline) && same(resolution.deadline, other.resolution.deadline)
    }

    private static func trimmed(_ counts: [Int]) -> ArraySlice<Int> {
        var slice = counts[...]
        while slice.last == 0 { slice = slice.dropLast() }
        return slice
    }
}
