import Foundation
public import ServiceLifecycle
public import TriageAnalyticsFeed
public import TriageEscalator
public import TriageIntake
public import TriageKafka
public import TriageNotifierWorker
public import TriageRouterWorker

/// Prints one summary line per interval.
public struct SelfCheckReporter: Service {
    let consumer: KafkaConsumer
    let statistics: SelfCheckStatistics
    let escalator: Escalator
    let router: DeskRouter
    let simulator: IncidentSimulator
    let notifier: Notifier
    let sink: DevWebhookSink
    let analytics: AnalyticsFeed
    let intake: IntakeInstance
    let portal: DevIntakeDriver
    let deadLetters: DevDeadLetters
    let interval: Double

    public init(
        consumer: KafkaConsumer, statistics: SelfCheckStatistics, escalator: Escalator, router: DeskRouter, simulator: IncidentSimulator,
        notifier: Notifier, sink: DevWebhookSink, analytics: AnalyticsFeed, intake: IntakeInstance, portal: DevIntakeDriver,
        deadLetters: DevDeadLetters, interval: Double
    ) {
        self.consumer = consumer
        self.statistics = statistics
        self.escalator = escalator
        self.router = router
        self.simulator = simulator
        self.notifier = notifier
        self.sink = sink
        self.analytics = analytics
        self.intake = intake
        self.portal = portal
        self.deadLetters = deadLetters
        self.interval = interval
    }

    public func run() async throws {
        await reportPeriodically(every: interval) { elapsed in
            let snapshot = statistics.snapshot(resettingLatencies: true)
            let lag = ((try? await consumer.unprocessed()) ?? [:]).values.reduce(0, +)
            let sorted = snapshot.latencies.sorted()
            func percentile(_ p: Double) -> String {
                sorted.isEmpty ? "-" : String(format: "%.1fms", sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))])
            }
            print(
                "[\(elapsed)s] kafka self-check: produced \(snapshot.produced)  consumed \(snapshot.consumed)  "
                    + "lag \(lag)  e2e p50 \(percentile(0.5)) p99 \(percentile(0.99))  failures \(snapshot.failed)"
            )
            let sla = escalator.statistics
            print(
                "[\(elapsed)s] escalator: \(escalator.health.isReady ? "ready" : "not ready")  incidents opened \(simulator.opened)  "
                    + "tracked \(sla.tracked)  warnings \(sla.warnings)  escalations \(sla.escalations)  "
                    + "last breach lag \(String(format: "%.0f", sla.lastLagSeconds)) SLA-s"
            )
            let routing = router.statistics
            print(
                "[\(elapsed)s] router: agents \(routing.agents)  teams \(routing.teams)  assigned \(routing.assigned)  "
                    + "reassigned \(routing.reassigned)  queued \(routing.queued)"
            )
            let notified = notifier.statistics
            let received = sink.snapshot
            print(
                "[\(elapsed)s] notifier: delivered \(notified.delivered)  retried \(notified.retried)  held \(notified.held)  "
                    + "suppressed \(notified.suppressed)  dead-lettered \(notified.deadLettered)  "
                    + "webhooks received \(received.received) (signature ok \(received.verified)\(received.templateLine))"
            )
            let facts = analytics.statistics
            print("[\(elapsed)s] analytics: records \(facts.records)  incidents \(facts.incidents)  duplicates dropped \(facts.duplicates)")
            let calls = intake.service.statistics
            let ledger = intake.ledger.statistics
            let demo = portal.figures
            print(
                "[\(elapsed)s] intake: calls \(calls.calls)  opened via gRPC \(demo.opened)  refused \(demo.refused)  "
                    + "\(DevIntakeDriver.pack) credits left \(demo.packCreditsLeft.map(String.init) ?? "-")  "
                    + "ledger commands \(ledger.commands) (rejected \(ledger.rejected))"
                    + (demo.lastRefusal.isEmpty ? "" : "  last refusal: \(demo.lastRefusal)")
            )
            print("[\(elapsed)s] \(DevDeadLetters.line(await deadLetters.refresh()))")
            fflush(nil)
        }
    }
}
