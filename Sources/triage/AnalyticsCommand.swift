import ArgumentParser
import Foundation
import Logging
import TriageAnalyticsFeed
import TriageOps
import TriageSchema

struct AnalyticsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analytics",
        abstract: "Run the analytics feed: one flat JSON record per lifecycle event, and the latest snapshot per incident.",
        discussion: """
            Consumes \(TriageTopic.incidentEvents) in the consumer group --group and publishes \
            \(TriageTopic.analytics): one flat JSON record per event with the incident's attributes \
            (severity, coverage, product, customer account, team, assigned agent) and derived measures \
            (business minutes to first response, breached and by how much, reassignments, time waiting \
            on the customer, outcome), documented by schemas/analytics-record.schema.json. The latest \
            snapshot of every incident goes to the compacted \(TriageTopic.incidentState) \
            (schemas/incident-state.schema.json): what a KTable or a database sink loads, and the \
            feed's own state, restored when a partition is assigned. SLA minutes are measured with \
            the --policy the escalator uses (docs/analytics.md).
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var sla: SlaOptions

    @OptionGroup var worker: WorkerOptions<AnalyticsDefaults>

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let logger = common.bootstrapLogging(label: "triage.analytics")
        StartupSignals.install(logger: logger)
        StartupSignals.limitShutdown(to: worker.shutdownTimeoutDuration)
        let policy = try sla.loadPolicy()
        let client = try connection.clientConfiguration()
        try await requireTopics(of: .analytics, client: client, logger: logger)
        let instance = try await AnalyticsFeedInstance(
            client: client, policy: policy, group: worker.group, sessionTimeout: worker.sessionTimeoutDuration, logger: logger
        )
        var group = WorkerServiceGroup(logger: logger)
        group.add(instance.services)
        group.addListener(
            OpsServer(host: worker.opsHost, port: worker.opsPort, health: instance.health, logger: logger),
            at: ListenAddress(host: worker.opsHost, port: worker.opsPort, option: "--ops-port")
        )
        try await group.run()
        let figures = instance.feed.statistics
        logger.info("analytics feed stopped", metadata: ["records": "\(figures.records)", "incidents": "\(figures.incidents)"])
    }
}
