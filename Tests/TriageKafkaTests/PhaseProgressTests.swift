import Testing

@testable import TriageStreams

/// The order in which the runtime hands the write phases of pipelined steps to the producer.
@Suite("Write phases of pipelined steps")
struct PhaseProgressTests {
    @Test func aLaterPhaseLeavesWithoutWaitingForAnEarlierStepsAcknowledgement() {
        // Step 0's phase 1 is in flight (handed over, not acknowledged); step 1's phase 0 is done.
        var steps = [PhaseProgress(phaseCount: 2, sent: 2, done: 1), PhaseProgress(phaseCount: 2, sent: 1, done: 1)]
        let leaving = PhaseProgress.handOver(&steps)
        #expect(leaving.map(\.step) == [1] && leaving.map(\.phase) == [1])
        #expect(steps[1].sent == 2)
    }

    @Test func aPhaseNeverOvertakesTheSamePhaseOfAnEarlierStep() {
        // Step 0 still waits for its phase 0; step 1's phase 0 is done, but its phase 1 must not
        // leave before step 0's phase 1 (a key written in phase 1 by both lands in step order).
        var steps = [PhaseProgress(phaseCount: 2, sent: 1, done: 0), PhaseProgress(phaseCount: 2, sent: 1, done: 1)]
        #expect(PhaseProgress.handOver(&steps).isEmpty)
        // A step without that phase in between does not change that.
        var three = [
            PhaseProgress(phaseCount: 2, sent: 1, done: 0), PhaseProgress(phaseCount: 1, sent: 1, done: 1),
            PhaseProgress(phaseCount: 2, sent: 1, done: 1),
        ]
        #expect(PhaseProgress.handOver(&three).isEmpty)
        // ... nor lets a step wait for a phase the earlier step does not have.
        var shorter = [PhaseProgress(phaseCount: 1, sent: 1, done: 0), PhaseProgress(phaseCount: 2, sent: 1, done: 1)]
        #expect(PhaseProgress.handOver(&shorter).map(\.step) == [1])
    }

    @Test func aStepsNextPhaseWaitsForItsPreviousOne() {
        var steps = [PhaseProgress(phaseCount: 3, sent: 2, done: 1)]
        #expect(PhaseProgress.handOver(&steps).isEmpty, "phase 1 is in flight: phase 2 waits for its acknowledgement")
        steps[0].done = 2
        #expect(PhaseProgress.handOver(&steps).map(\.phase) == [2])
    }

    /// Random acknowledgements of random steps: every phase leaves after its step's previous
    /// phase was acknowledged and after the same phase of every earlier step left, and every
    /// step finishes.
    @Test(arguments: 0..<200)
    func randomAcknowledgementsKeepBothOrdersAndFinishEveryStep(seed: Int) {
        var random = SplitMix(seed: UInt64(seed))
        let count = 1 + Int(random.next() % 8)
        var steps = (0..<count).map { _ in PhaseProgress(phaseCount: 1 + Int(random.next() % 3)) }
        // When each (step, phase) was handed over, in a global sequence; phase 0 left at begin.
        var leftAt: [[Int]] = steps.map { Array(repeating: -1, count: $0.phaseCount) }
        var clock = 0
        for index in steps.indices {
            leftAt[index][0] = clock
            clock += 1
        }
        var inFlight = Set(steps.indices)  // steps with a phase handed over and not acknowledged
        var rounds = 0
        while !steps.allSatisfy(\.isFinished) {
            rounds += 1
            #expect(rounds < 1_000, "stuck: \(steps)")
            if rounds >= 1_000 { return }
            if let acknowledged = inFlight.randomElement(using: &random) {
                inFlight.remove(acknowledged)
                steps[acknowledged].done += 1
            }
            for (step, phase) in PhaseProgress.handOver(&steps) {
                #expect(steps[step].done == phase, "phase \(phase) of step \(step) left before its previous phase was done")
                for earlier in 0..<step where steps[earlier].phaseCount > phase {
                    #expect(leftAt[earlier][phase] >= 0, "phase \(phase) of step \(step) overtook step \(earlier)'s")
                }
                leftAt[step][phase] = clock
                clock += 1
                inFlight.insert(step)
            }
        }
        #expect(leftAt.allSatisfy { $0.allSatisfy { $0 >= 0 } })
    }
}

/// A small deterministic generator for the property test.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
