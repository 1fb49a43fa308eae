import Synchronization

/// Counters shared by the self-check services.
public final class SelfCheckStatistics: Sendable {
    public struct Snapshot: Sendable {
        public var produced = 0
        public var consumed = 0
        public var failed = 0
        public var latencies: [Double] = []  // milliseconds, since the last report
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public func produced() { state.withLock { $0.produced += 1 } }
    public func failed() { state.withLock { $0.failed += 1 } }
    public func consumed(latencies: [Double]) {
        state.withLock {
            $0.consumed += latencies.count
            $0.latencies += latencies
        }
    }
    public func snapshot(resettingLatencies: Bool = false) -> Snapshot {
        state.withLock {
            let copy = $0
            if resettingLatencies { $0.latencies = [] }
            return copy
        }
    }
}
