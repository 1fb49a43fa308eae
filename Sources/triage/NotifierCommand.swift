import ArgumentParser
import Foundation
import Logging
import TriageNotification
import TriageNotifierWorker
import TriageOps
import TriageSchema

struct NotifierCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notifier",
        abstract: "Run the notifier: deliver notification requests by webhook, chat and e-mail.",
        discussion: """
            Consumes \(TriageTopic.notificationRequests) and its retry topic \(TriageTopic.notificationRetry) \
            in the consumer group --group and delivers each request to the endpoints its recipient has \
            in the --rules file (docs/notifier.md): webhooks signed with Triage-Signature (HMAC-SHA256), \
            Slack-compatible chat posts, e-mail over SMTP; every delivery carries Idempotency-Key. \
            Failures are retried with exponential backoff and jitter through the retry topic (never \
            holding up other recipients), guarded per endpoint by a concurrency limit, a timeout and a \
            circuit breaker; the last failure goes to \(TriageTopic.deadLetter) with every attempt's \
            outcome. Delivered keys are kept in the compacted \(TriageTopic.notificationLedger) so a \
            redelivered request is not sent twice within the dedupe window.
            Secrets (webhook keys, chat URLs, SMTP passwords) come from the environment variables the \
            rules name; a missing one stops the notifier at start-up, naming it.
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Notification rules YAML: endpoints, recipients, escalation extras, retry, circuit breaker (docs/notifier.md).")
    var rules: String

    @Option(help: "Folder of template overrides, <template>.<part>.mustache (docs/notifier.md). Default: the built-in templates.")
    var templates: String?

    @Option(
        help: """
            Deliveries in hand (started, not finished, not held for later) at which the notifier stops fetching \
            requests until half are done: bounds its memory on a backlog. It also bounds the retries read back and \
            held for later (a dead endpoint's backlog): at that many the notifier stops fetching the retry topic.
            """)
    var readAhead = Notifier.defaultReadAhead

    @OptionGroup var worker: WorkerOptions<NotifierDefaults>

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard readAhead > 0 else { throw ValidationError("--read-ahead must be at least 1, got \(readAhead)") }
    }

    func run() async throws {
        let logger = common.bootstrapLogging(label: "triage.notifier")
        StartupSignals.install(logger: logger)
        StartupSignals.limitShutdown(to: worker.shutdownTimeoutDuration)
        let loaded: NotificationRules
        do {
            loaded = try NotificationRules.load(path: rules)
        } catch {
            throw ValidationError("invalid notification rules: \(error)")
        }
        let environment = ProcessInfo.processInfo.environment
        let missing = loaded.missingEnvironmentVariables(in: environment)
        guard missing.isEmpty else {
            throw ValidationError(
                "the notification rules need these environment variables, which are not set: \(missing.joined(separator: ", "))")
        }
        let rendering: NotificationTemplates
        do {
            rendering = try templates.map(NotificationTemplates.load(directory:)) ?? .defaults
        } catch {
            throw ValidationError("invalid templates: \(error)")
        }
        let client = try connection.clientConfiguration()
        try await requireTopics(of: .notifier, client: client, logger: logger)
        let deliverer = Deliverer(templates: rendering, environment: environment, rules: loaded)
        var serviceGroup = WorkerServiceGroup(logger: logger)
        // The notifier shuts its HTTP client down when it stops normally; when it never ran to
        // its end (a taken --ops-port failed the group first) an HTTP client left open is a crash.
        serviceGroup.onShutdown { await deliverer.shutdown() }
        let instance: NotifierInstance
        do {
            instance = try await NotifierInstance(
                client: client, rules: loaded, deliverer: deliverer, group: worker.group,
                sessionTimeout: worker.sessionTimeoutDuration, readAhead: readAhead, logger: logger
            )
        } catch {
            await deliverer.shutdown()
            throw error
        }
        serviceGroup.add(instance.services)
        serviceGroup.addListener(
            OpsServer(host: worker.opsHost, port: worker.opsPort, health: instance.health, logger: logger),
            at: ListenAddress(host: worker.opsHost, port: worker.opsPort, option: "--ops-port")
        )
        try await serviceGroup.run()
        let figures = instance.notifier.statistics
        logger.info(
            "notifier stopped",
            metadata: ["delivered": "\(figures.delivered)", "retried": "\(figures.retried)", "dead_lettered": "\(figures.deadLettered)"]
        )
    }
}
