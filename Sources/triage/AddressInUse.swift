import Foundation
import NIOCore
import TriageOps

/// A worker could not listen where it was told to: another process listens there.
struct AddressInUse: Error, CustomStringConvertible {
    let address: ListenAddress
    var description: String { "\(address) is already in use (\(address.option))" }

    /// Whether `error` (from NIO, Hummingbird, grpc-swift or ``OpsServer``) says the address is taken.
    static func matches(_ error: any Error) -> Bool {
        if error is AddressInUse { return false }  // already translated: keep the first listener's words
        if (error as? IOError)?.errnoCode == EADDRINUSE { return true }
        if let ops = error as? OpsServerError, ops.isAddressInUse { return true }
        let text = String(reflecting: error) + " " + String(describing: error)
        return text.contains("Address already in use") || text.contains("EADDRINUSE") || text.contains("errno: 98")
    }
}
