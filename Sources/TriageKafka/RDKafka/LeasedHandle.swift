internal import CRdKafka
import Foundation

/// An `rd_kafka_t` shared by concurrent Swift callers and the client's own thread.
///
/// Callers borrow the pointer through ``lease(_:_:)`` for the duration of one call; shutdown calls
/// ``closeAndWaitForLeases()`` (from a dedicated thread) before destroying the instance, so no call
/// ever runs against a destroyed handle. A lease is a counter bump, not a lock held across the
/// call: a blocking commit on one thread does not stall `storeOffset` on another.
final class LeasedHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    private let what: String
    private let condition = NSCondition()
    private var open = true
    private var leases = 0

    init(_ pointer: OpaquePointer, what: String) {
        self.pointer = pointer
        self.what = what
    }

    var isOpen: Bool {
        condition.lock()
        defer { condition.unlock() }
        return open
    }

    func lease<T>(_ body: (OpaquePointer) throws(KafkaError) -> T) throws(KafkaError) -> T {
        condition.lock()
        guard open else {
            condition.unlock()
            throw .clientClosed(what)
        }
        leases += 1
        condition.unlock()
        defer {
            condition.lock()
            leases -= 1
            if leases == 0 { condition.broadcast() }
            condition.unlock()
        }
        return try body(pointer)
    }

    /// Refuses new leases and blocks until the outstanding ones are returned. Returns `false` if
    /// it had already been closed.
    @discardableResult
    func closeAndWaitForLeases() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let wasOpen = open
        open = false
        while leases > 0 { condition.wait() }
        return wasOpen
    }
}
