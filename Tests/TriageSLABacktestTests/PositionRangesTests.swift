import Testing

@testable import TriageSLABacktest

@Suite("PositionRanges: the offsets a back-test read, per partition")
struct PositionRangesTests {
    /// Against a set of every position: the same answer for every insert, and the ranges stay
    /// sorted, disjoint and not touching (so a partition read in order is one range).
    @Test(arguments: 1...40 as ClosedRange<UInt64>)
    func answersAsASetOfEveryPositionWould(seed: UInt64) {
        var generator = SeededGenerator(state: seed)
        var ranges = PositionRanges()
        var seen: Set<Int64> = []
        for _ in 0..<400 {
            let position = Int64.random(in: -20...120, using: &generator)
            let inserted = ranges.insert(position)
            #expect(inserted == seen.insert(position).inserted, "seed \(seed) at \(position)")
            for (first, second) in zip(ranges.ranges, ranges.ranges.dropFirst()) {
                #expect(first.upperBound + 1 < second.lowerBound, "seed \(seed): \(ranges.ranges)")
            }
        }
        #expect(ranges.ranges.reduce(0) { $0 + Int($1.count) } == seen.count)
    }

    @Test func inOrderBackwardsAndTheExtremesAreOneRange() {
        var forward = PositionRanges()
        #expect((Int64(0)..<1_000).allSatisfy { forward.insert($0) })
        #expect(forward.ranges == [0...999])
        var backward = PositionRanges()
        #expect((Int64(0)..<1_000).reversed().allSatisfy { backward.insert($0) })
        #expect(backward.ranges == [0...999])
        var extremes = PositionRanges()
        let inserted = [extremes.insert(.max), extremes.insert(.min), extremes.insert(.max - 1), extremes.insert(.max)]
        #expect(inserted == [true, true, true, false])
        #expect(extremes.ranges == [Int64.min...Int64.min, (Int64.max - 1)...Int64.max])
    }
}
