import Foundation
public import ServiceLifecycle

/// A line every 10 s while the load runs.
public struct ChaosReporter: Service {
    let cluster: DevProcessCluster
    let simulator: IncidentSimulator
    let monkey: ChaosMonkey
    let sink: DevWebhookSink

    public init(cluster: DevProcessCluster, simulator: IncidentSimulator, monkey: ChaosMonkey, sink: DevWebhookSink) {
        self.cluster = cluster
        self.simulator = simulator
        self.monkey = monkey
        self.sink = sink
    }

    public func run() async throws {
        await reportPeriodically(every: 10) { elapsed in
            let up = cluster.workers.filter(\.process.isRunning).count
            let figures = monkey.figures
            print(
                "[\(elapsed)s] incidents opened \(simulator.opened), events delivered \(simulator.deliveredEvents.count) "
                    + "(failed \(simulator.failedEvents)), workers up \(up)/\(cluster.workers.count), kills \(figures.kills), faults \(figures.faults), "
                    + "webhooks \(sink.snapshot.received)"
            )
            fflush(nil)
        }
    }
}
