public import Foundation

/// Something the escalator must do at a given instant.
public struct SlaMilestone: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// `percent` of the target used.
        case warning(percent: Int)
        /// The target is breached.
        case breach
    }

    public let kind: Kind
    public let due: Date

    public var description: String {
        switch kind {
        case .warning(let percent): "warning \(percent)% at \(due)"
        case .breach: "breach at \(due)"
        }
    }
}
