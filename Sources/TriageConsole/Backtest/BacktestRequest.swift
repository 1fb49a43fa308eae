import Crypto
import Foundation
import TriageSLA
import TriageSLABacktest

/// A back-test the console was asked for: a window, a grouping and two loaded policies.
struct BacktestRequest: Sendable {
    var window: DateInterval
    /// The window as the form showed it.
    var fromText: String
    var toText: String
    var grouping: BacktestGrouping
    var baseline: SlaPolicy
    var baselineName: String
    var candidate: SlaPolicy
    var candidateName: String
    /// The same for the same form: identical requests share one run.
    var key: String

    static func key(_ parts: String...) -> String {
        var hash = SHA256()
        for part in parts {
            hash.update(data: Data(part.utf8))
            hash.update(data: Data([0]))
        }
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
