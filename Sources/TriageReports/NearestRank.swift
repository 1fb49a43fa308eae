/// Percentiles by the nearest-rank method: the `p`-th percentile of `n` sorted values is the
/// value at (1-based) rank `⌈p × n / 100⌉`, so it is always one of the values (never an
/// interpolation), the median of an even count is the lower middle value, and the 100th
/// percentile is the maximum.
///
/// The rank is computed in integers (`(p × n + 99) / 100`), so no floating-point rounding can
/// move it: 90 % of 30 values is rank 27, not 28.
public enum NearestRank {
    /// The `percent`-th percentile (1...100) of `sorted` (ascending); `nil` when it is empty.
    public static func percentile(_ percent: Int, of sorted: [Double]) -> Double? {
        precondition((1...100).contains(percent), "a nearest-rank percentile is 1...100, not \(percent)")
        guard !sorted.isEmpty else { return nil }
        let rank = (percent * sorted.count + 99) / 100
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}
