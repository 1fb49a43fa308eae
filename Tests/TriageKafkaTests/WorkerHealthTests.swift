import Testing
import TriageOps

@Suite("Worker readiness")
struct WorkerHealthTests {
    @Test func readyOnlyWhenRunningJoinedAndNotRestoring() {
        let health = WorkerHealth()
        #expect(!health.isReady)
        health.markRunning(true, status: "running")
        #expect(!health.isReady, "running but no assignment yet: not ready")
        health.beginRestore("partitions [0]")
        health.markAssigned()
        #expect(!health.isReady, "restoring")
        #expect(health.status == "restoring partitions [0]")
        health.endRestore(status: "running")
        #expect(health.isReady)
        health.beginRestore("partitions [1]")
        #expect(!health.isReady, "a later assignment's restore makes it unready again")
        health.endRestore(status: "running")
        health.markRunning(false, status: "stopped")
        #expect(!health.isReady)
    }
}
