internal import CRdKafka
import Foundation
import Synchronization

/// An `rd_kafka_t` shared by concurrent Swift callers and the client's own thread.
///
/// Callers borrow the pointer through ``lease(_:_:)`` for the duration of one call; shutdown calls
/// ``closeAndWaitForLeases()`` (from a dedicated thread) before destroying the instance, so no call
/// ever runs against a destroyed handle. A lease is a counter bump, not a lock held across the
/// call: a blocking commit on one thread does not stall `storeOffset` on another. Leasing is one
/// atomic increment and one decrement, cheap enough for the per-record produce path.
final class LeasedHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    private let what: String
    /// Outstanding leases in the low bits, plus ``closedBit`` once closing started.
    private let state = Atomic<Int>(0)
    private static let closedBit = 1 << 62
    private let drained = NSCondition()

    init(_ pointer: OpaquePointer, what: String) {
        self.pointer = pointer
        self.what = what
    }

    var isOpen: Bool { state.load(ordering: .acquiring) & Self.closedBit == 0 }

    func lease<T>(_ body: (OpaquePointer) throws(KafkaError) -> T) throws(KafkaError) -> T {
        let before = state.wrappingAdd(1, ordering: .acquiringAndReleasing).oldValue
        defer { release() }
        guard before & Self.closedBit == 0 else { throw .clientClosed(what) }
        return try body(pointer)
    }

    private func release() {
        let after = state.wrappingSubtract(1, ordering: .acquiringAndReleasing).newValue
        if after == Self.closedBit {
            // The last lease of a closing handle: wake the closer.
            drained.lock()
            drained.broadcast()
            drained.unlock()
        }
    }

    /// Refuses new leases and blocks until the outstanding ones are returned. Returns `false` if
    /// it had already been closed.
    @discardableResult
    func closeAndWaitForLeases() -> Bool {
        let before = state.bitwiseOr(Self.closedBit, ordering: .acquiringAndReleasing).oldValue
        drained.lock()
        while state.load(ordering: .acquiring) != Self.closedBit { drained.wait() }
        drained.unlock()
        return before & Self.closedBit == 0
    }
}
