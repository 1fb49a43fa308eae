public import Foundation

/// Queue waits counted per whole second: exact percentiles (nearest rank, to the second) in
/// memory bounded by the number of distinct waits, not by the number of incidents.
public struct WaitDistribution: Sendable, Hashable {
    /// Whole seconds (rounded to the nearest) → incidents.
    public private(set) var counts: [Int: Int] = [:]
    public private(set) var count = 0

    public init() {}

    public mutating func add(_ wait: TimeInterval) {
        counts[Int(max(0, wait).rounded()), default: 0] += 1
        count += 1
    }

    /// The `percent`-th percentile (1...100) by nearest rank, in seconds; `nil` when empty.
    public func percentile(_ percent: Int) -> Int? {
        precondition((1...100).contains(percent), "a nearest-rank percentile is 1...100, not \(percent)")
        guard count > 0 else { return nil }
        let rank = (percent * count + 99) / 100
        var seen = 0
        for (seconds, number) in counts.sorted(by: { $0.key < $1.key }) {
            seen += number
            if seen >= rank { return seconds }
        }
        return counts.keys.max()
    }

    public var maximum: Int? { counts.keys.max() }
}
