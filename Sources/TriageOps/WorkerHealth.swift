import Synchronization

/// Liveness and readiness of a worker, as `/healthz` and `/readyz` report them.
///
/// A worker is ready when it runs, has joined its consumer group (its first assignment arrived,
/// possibly empty: a member with no partitions is ready too) and no partition state is being
/// restored: a freshly assigned partition makes it unready until its changelog has been read back.
public final class WorkerHealth: Sendable {
    private let running = Atomic<Bool>(false)
    private let joined = Atomic<Bool>(false)
    private let restoring = Atomic<Int>(0)
    private let stateDescription = Mutex<String>("starting")

    public init() {}

    public var isLive: Bool { true }
    public var isReady: Bool {
        running.load(ordering: .acquiring) && joined.load(ordering: .acquiring) && restoring.load(ordering: .acquiring) == 0
    }

    /// The first assignment was handled (its state restored): from now on readiness follows
    /// restores only.
    public func markAssigned() {
        joined.store(true, ordering: .releasing)
    }
    /// A short text for `/readyz` bodies and logs.
    public var status: String { stateDescription.withLock { $0 } }

    public func markRunning(_ value: Bool, status: String) {
        running.store(value, ordering: .releasing)
        stateDescription.withLock { $0 = status }
    }

    public func beginRestore(_ what: String) {
        restoring.add(1, ordering: .acquiringAndReleasing)
        stateDescription.withLock { $0 = "restoring \(what)" }
    }

    public func endRestore(status: String) {
        restoring.subtract(1, ordering: .acquiringAndReleasing)
        stateDescription.withLock { $0 = status }
    }
}
