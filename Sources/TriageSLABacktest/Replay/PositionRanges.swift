/// The positions (offsets) read of one partition, as disjoint ranges in order: a partition read
/// in order, or backwards, is one range, so the memory is the number of gaps, not of records.
struct PositionRanges: Sendable {
    private(set) var ranges: [ClosedRange<Int64>] = []

    /// Adds `position`; `false` when it had been read already.
    mutating func insert(_ position: Int64) -> Bool {
        // The first range that ends at or after the position just before this one: every range
        // before it ends too early to hold or touch the position.
        var low = 0
        var high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].upperBound < position, ranges[middle].upperBound &+ 1 < position {
                low = middle + 1
            } else {
                high = middle
            }
        }
        if low < ranges.count {
            let range = ranges[low]
            if range.contains(position) { return false }
            if range.upperBound < position {  // position == upperBound + 1: extend, maybe join the next
                if low + 1 < ranges.count, ranges[low + 1].lowerBound &- 1 == position {
                    ranges[low] = range.lowerBound...ranges[low + 1].upperBound
                    ranges.remove(at: low + 1)
                } else {
                    ranges[low] = range.lowerBound...position
                }
                return true
            }
            if range.lowerBound &- 1 == position {
                ranges[low] = position...range.upperBound
                return true
            }
        }
        ranges.insert(position...position, at: low)
        return true
    }
}
