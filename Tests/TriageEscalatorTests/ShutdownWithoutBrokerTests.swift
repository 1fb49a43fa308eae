import Foundation
import Testing
import TriageKafkaTesting
import TriageSchema

/// Found by an outside attack: with the broker process dead, a worker sent SIGTERM never exited
/// (the final commit and the group leave wait for a coordinator that is gone; 14 minutes and
/// counting). Now the shutdown is bounded by --shutdown-timeout: exit 1, saying why — or, when
/// nothing it waits for needs the broker (its partitions already lost to the session timeout,
/// the lag metric's questions bounded since stop 49), the graceful stop finishes: exit 0.
@Suite("A worker whose broker died still stops on SIGTERM")
struct ShutdownWithoutBrokerTests {
    @Test(arguments: ["analytics", "escalator"])
    func aWorkerStopsWithinItsShutdownTimeoutWhenTheBrokerIsGone(worker: String) async throws {
        try await HeavyTests.run {
            let broker = try await BrokerProcess(arguments: TriageTopic.all.flatMap { ["--topic", "\($0):2"] })
            let process = try TriageProcess(
                [worker, "--bootstrap", broker.bootstrap, "--session-timeout", "3", "--shutdown-timeout", "5", "--ops-port", "0"])
            try await eventually("the \(worker) restored its partitions", timeout: .seconds(60)) { process.output.contains(" restored") }
            broker.process.send(SIGKILL)
            try await Task.sleep(for: .seconds(2))
            let started = ContinuousClock.now
            let status = try await process.stop(timeout: .seconds(40))
            let took = ContinuousClock.now - started
            #expect(took < .seconds(30), "stopped after \(took)")
            #expect(status == 0 || status == 1, "\(process.output.suffix(2_000))")
            if status == 1 {
                #expect(
                    process.output.contains("the graceful shutdown did not finish within 5.0 s (--shutdown-timeout); exiting 1"),
                    "\(process.output.suffix(2_000))")
            } else {
                let stopped = worker == "analytics" ? "analytics feed stopped" : "escalator stopped"
                #expect(process.output.contains(stopped), "\(process.output.suffix(2_000))")
            }
        }
    }
}
