/// The baseline replay's warnings and escalations against the SlaWarning and Escalated events the
/// escalator published for the same incidents (by event id and instant, up to the end of the
/// window). When the baseline is the policy the escalator ran and it kept up, everything is the
/// same; events only in the log say the baseline is not that policy, or the escalator was down
/// or behind (it then fires late and skips overtaken warnings), or the policy changed meanwhile.
public struct BaselineAgainstLog: Sendable, Hashable, Codable {
    public var same = 0
    public var onlyInLog = 0
    public var onlyInReplay = 0

    public init(same: Int = 0, onlyInLog: Int = 0, onlyInReplay: Int = 0) {
        self.same = same
        self.onlyInLog = onlyInLog
        self.onlyInReplay = onlyInReplay
    }
}
