import Foundation
public import ServiceLifecycle

/// The live lines of `triage dev --processes`.
public struct DevProcessReporter: Service {
    let cluster: DevProcessCluster
    let portal: DevIntakeDriver
    let sink: DevWebhookSink
    let simulator: IncidentSimulator
    let deadLetters: DevDeadLetters
    let interval: Double

    public init(
        cluster: DevProcessCluster, portal: DevIntakeDriver, sink: DevWebhookSink, simulator: IncidentSimulator,
        deadLetters: DevDeadLetters, interval: Double
    ) {
        self.cluster = cluster
        self.portal = portal
        self.sink = sink
        self.simulator = simulator
        self.deadLetters = deadLetters
        self.interval = interval
    }

    public func run() async throws {
        await reportPeriodically(every: interval) { elapsed in
            print("[\(elapsed)s] processed: \(await cluster.statusLine())")
            let demo = portal.figures
            let received = sink.snapshot
            print(
                "[\(elapsed)s] simulator opened \(simulator.opened)  portal opened via gRPC \(demo.opened) (refused \(demo.refused))  "
                    + "webhooks received \(received.received) (signature ok \(received.verified)\(received.templateLine))"
            )
            print("[\(elapsed)s] \(DevDeadLetters.line(await deadLetters.refresh()))")
            fflush(nil)
        }
    }
}
