import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TriageAnalyticsFeed
import TriageKafka
import TriageOps
import TriageSLA
import TriageSchema
import TriageStreams

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
        try await AnalyticsFeed.checkTopics(AnalyticsFeedTopics(), client: client, logger: logger)
        let services = try AnalyticsServices(
            client: client, policy: policy, group: worker.group, sessionTimeout: worker.sessionTimeoutDuration, logger: logger
        )
        var group = WorkerServiceGroup(logger: logger)
        group.add(services.ordered)
        group.addListener(
            OpsServer(host: worker.opsHost, port: worker.opsPort, health: services.feed.health, logger: logger),
            at: ListenAddress(host: worker.opsHost, port: worker.opsPort, option: "--ops-port")
        )
        try await group.run()
        let figures = services.feed.statistics
        logger.info("analytics feed stopped", metadata: ["records": "\(figures.records)", "incidents": "\(figures.incidents)"])
    }
}

/// The analytics feed with its consumer and producer, in shutdown order.
struct AnalyticsServices {
    let feed: AnalyticsFeed
    let ordered: [ServiceGroupConfiguration.ServiceConfiguration]

    init(client: KafkaClientConfiguration, policy: SlaPolicy, group: String, sessionTimeout: Duration, logger: Logger) throws {
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(5)), logger: logger)
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                groupID: group, topics: [TriageTopic.incidentEvents], client: client, autoOffsetReset: .earliest,
                sessionTimeout: sessionTimeout, heartbeatInterval: sessionTimeout / 10
            ),
            logger: logger
        )
        feed = AnalyticsFeed(consumer: consumer, producer: producer, client: client, policy: policy, logger: logger)
        ordered = [
            .init(service: producer), .init(service: feed), .init(service: consumer),
            .init(service: ConsumerLagReporter(consumer: consumer, worker: "analytics")),
        ]
    }
}
