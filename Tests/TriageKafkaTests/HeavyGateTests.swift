import Synchronization
import Testing
import TriageKafkaTesting

@Suite("The heavy-test gate")
struct HeavyGateTests {
    /// Regression: entries of weight 2 took their places one at a time, so two of them could
    /// each hold one place of two and wait for the other's forever (the escalator suite hung
    /// with the chaos run and the scaled-time story each holding one).
    @Test func weightedEntriesNeverDeadlockAndNeverExceedTheCapacity() async throws {
        let gate = HeavyGate(capacity: 2)
        let figures = Figures()
        let weights = [2, 1, 2, 1, 1, 2, 2, 1]
        for weight in weights {
            // Unstructured on purpose: a deadlock shows as a failed condition, not a hung suite. The
            // long timeout is for a loaded machine (the whole suite in parallel starved these tasks
            // for over 20 s), not for the gate.
            Task {
                await gate.enter(weight)
                figures.value.withLock {
                    $0.inUse += weight
                    $0.most = max($0.most, $0.inUse)
                }
                try? await Task.sleep(for: .milliseconds(5))
                figures.value.withLock { $0.inUse -= weight }
                gate.leave(weight)
                figures.value.withLock { $0.done += 1 }
            }
        }
        try await eventually("every entry got in and out", timeout: .seconds(120)) { figures.value.withLock { $0.done } == weights.count }
        #expect(figures.value.withLock { $0.most } == 2)
        #expect(figures.value.withLock { $0.inUse } == 0)
    }
}

private final class Figures: Sendable {
    let value = Mutex((inUse: 0, most: 0, done: 0))
}
