import Synchronization

/// Figures of a router instance.
public struct RouterStatistics: Sendable, Hashable {
    public var partitions = 0
    public var teams = 0
    public var agents = 0
    /// Agents whose latest presence (as this instance has applied it) is online.
    public var online = 0
    public var assigned = 0
    public var reassigned = 0
    public var queued = 0
    /// Incidents moved to another team (overflow, follow-the-sun).
    public var teamChanged = 0
    public var inputs = 0
    /// Times another instance's fence was found before this one's writes (see
    /// ``ChangelogFencing``): the step's decisions were withheld and the partition dropped.
    public var fencedOff = 0
    /// Partitions taken over again after being fenced off while still assigned here.
    public var retaken = 0
    /// Routing records read again (after a restart or takeover) that the restored desks
    /// already reflected: not applied twice.
    public var skipped = 0
}

/// A router's figures, shared by the desks (the single writer) and whoever reads them.
final class RouterCounters: Sendable {
    private let state = Mutex(RouterStatistics())
    func withLock<Result: Sendable>(_ body: @Sendable (inout RouterStatistics) -> Result) -> Result { state.withLock { body(&$0) } }
}
