public import Foundation
public import TriageCore

/// How one team routes, beyond the policy every team shares (the roster's `teams.<team>`
/// section, docs/roster.md).
///
/// Defaults: least-loaded choice, no queue alert, no overflow, no follow-the-sun hand-off.
public struct TeamSettings: Sendable, Hashable {
    /// How the desk chooses among eligible agents with room.
    public enum Choice: String, Sendable, Hashable, CaseIterable {
        /// The lowest load ratio, then the lowest load, then the longest idle (the default).
        case leastLoaded = "least_loaded"
        /// In turn by agent id, starting after the agent chosen last; load only decides who has room.
        case roundRobin = "round_robin"
    }

    /// Tell people when the team's oldest waiting incident has waited `after`.
    public struct QueueAlert: Sendable, Hashable {
        public var after: TimeInterval
        /// Recipients of the `queue-waiting` request (notification rule names, `agent:<id>`, ...).
        public var notify: [String]

        public init(after: TimeInterval, notify: [String]) {
            self.after = after
            self.notify = notify
        }
    }

    /// Move an incident that waited `after[severity]` in this team's queue to team `to`.
    public struct Overflow: Sendable, Hashable {
        public var to: String
        /// Severities left out never overflow.
        public var after: [SupportSeverity: TimeInterval]

        public init(to: String, after: [SupportSeverity: TimeInterval]) {
            self.to = to
            self.after = after
        }
    }

    /// When an agent's shift ends, move the acknowledged incidents they hold to team `to`.
    public struct FollowTheSun: Sendable, Hashable {
        public var to: String

        public init(to: String) { self.to = to }
    }

    public var choice: Choice
    public var queueAlert: QueueAlert?
    public var overflow: Overflow?
    public var followTheSun: FollowTheSun?

    public init(choice: Choice = .leastLoaded, queueAlert: QueueAlert? = nil, overflow: Overflow? = nil, followTheSun: FollowTheSun? = nil)
    {
        self.choice = choice
        self.queueAlert = queueAlert
        self.overflow = overflow
        self.followTheSun = followTheSun
    }

    /// `90m` → "90m", `7200` → "2h", 45 s → "45s": how a duration reads in a decision's detail.
    public static func text(_ interval: TimeInterval) -> String {
        let seconds = Int(interval.rounded())
        if seconds % 3_600 == 0, seconds > 0 { return "\(seconds / 3_600)h" }
        if seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }
}
