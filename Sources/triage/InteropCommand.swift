import ArgumentParser
import Foundation
import TriageDevTools
import TriageKafka

struct InteropCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interop",
        abstract: "Qualify a Kafka cluster: run the whole Triage flow on it as separate processes, kill -9 each worker once, then audit.",
        discussion: """
            What an operator runs before go-live (`make test-kafka BOOTSTRAP=host:port`), and what \
            `make test` runs on the tansu broker with a current librdkafka and on the embedded broker:

              1. creates the Triage topics (`triage topics create --all`) unless they exist;
              2. starts one escalator, router, notifier, analytics feed and intake as processes of \
            their own, waits until each is ready, and prints the librdkafka each one loaded;
              3. applies a roster (`triage agents apply`), grants the run's customer account a 24x7 \
            contract (`triage entitlements grant`), opens incidents through the intake's gRPC \
            service (`triage call OpenIncident`) and with `triage publish`, on sped-up SLA time so \
            that severity A incidents breach within seconds;
              4. SIGKILLs each worker once mid-run and starts it again, opening more incidents \
            meanwhile;
              5. audits this run's incidents (others on the cluster are ignored): every incident \
            assigned and none held twice, every SLA warning and escalation level exactly once after \
            dedupe by event id, every severity A incident escalated, every webhook delivered with a \
            valid signature, an analytics record for every lifecycle event, nothing dead-lettered, \
            and every worker exits 0 on SIGTERM.

            Without --bootstrap it runs on a fresh embedded broker (`triage broker`). The run writes \
            to the Triage topics of the cluster it is given: point it at a cluster that is not yet \
            in production, or one whose Triage topics may take a few dozen test incidents.

            Examples:
              triage interop --bootstrap kafka-1:9092
              triage interop --bootstrap kafka-1:9093 --kafka-property security.protocol=SASL_SSL \\
                --kafka-property sasl.mechanisms=PLAIN --kafka-property sasl.username=triage
              triage interop                      # the embedded broker
            """
    )

    @Option(help: "Bootstrap servers of the cluster to qualify (default: a fresh embedded broker).")
    var bootstrap: String?

    @Option(
        name: .customLong("kafka-property"),
        help:
            "Raw librdkafka property KEY=VALUE for every process of the run (TLS, SASL...). Repeatable; TRIAGE_KAFKA_* variables work too."
    )
    var properties: [String] = []

    @Option(help: "Incidents opened in all (half through gRPC, half with triage publish).")
    var incidents: Int = 24

    @Option(help: "Partitions of the topics it creates.")
    var partitions: Int = 6

    @Option(help: "Replication factor of the topics it creates (default: what `triage topics create` chooses).")
    var replicationFactor: Int?

    @Option(help: "SLA time runs this many times as fast as real time (720: severity A's 2 h target in 10 s).")
    var timeScale: Double = 720

    @Option(help: "Longest wait, in seconds, for a worker to become ready (group joins take seconds on real brokers).")
    var readyTimeout: Double = 180

    @Option(help: "Longest wait, in seconds, for the output to be complete after the last incident was opened.")
    var settle: Double = 240

    @Option(help: "Append the audit table (markdown) to this file.")
    var report: String?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        if let bootstrap, bootstrap.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--bootstrap is empty: give host:port[,host:port...]")
        }
        guard (2...200).contains(incidents) else { throw ValidationError("--incidents must be between 2 and 200") }
        guard (1...64).contains(partitions) else { throw ValidationError("--partitions must be between 1 and 64") }
        if let replicationFactor, replicationFactor < 1 { throw ValidationError("--replication-factor must be at least 1") }
        guard timeScale >= 1 else { throw ValidationError("--time-scale must be at least 1") }
        guard readyTimeout > 0, settle > 0 else { throw ValidationError("--ready-timeout and --settle must be positive") }
        _ = try keyValuePairs(properties, option: "--kafka-property")
    }

    func run() async throws {
        let logger = common.bootstrapLogging(label: "triage.interop")
        let pairs = try keyValuePairs(properties, option: "--kafka-property")
        let cluster: DevProcessCluster
        if let bootstrap {
            cluster = try DevProcessCluster(external: bootstrap, environment: InteropRun.childEnvironment(pairs))
        } else {
            cluster = try await DevProcessCluster(brokers: 1, partitions: partitions)
        }
        var client = KafkaClientConfiguration(bootstrap: cluster.bootstrap)
        client.librdkafkaOverrides = ConnectionOptions.environmentProperties(ProcessInfo.processInfo.environment)
            .merging(pairs) { $1 }
        if cluster.isEmbedded { client.fetchWait = EmbeddedKafka.mockFetchWait }
        var configuration = InteropRun.Configuration()
        configuration.incidents = incidents
        configuration.partitions = partitions
        configuration.replicationFactor = replicationFactor
        configuration.timeScale = timeScale
        configuration.readyTimeout = readyTimeout
        configuration.settle = settle
        configuration.report = report
        configuration.reachTimeout = ConnectionOptions.reachTimeout
        let run = InteropRun(
            cluster: cluster, client: client, configuration: configuration, propertyArguments: InteropRun.childArguments(pairs),
            reachCluster: { client, logger in try await ConnectionOptions.admin(reaching: client, logger: logger) }, logger: logger
        )
        InteropSignals.install(cluster: cluster)
        let passed: Bool
        do {
            passed = try await run.run()
        } catch {
            // Workers whose cluster is gone take long to leave their groups: 20 s, then SIGKILL.
            _ = await cluster.stop(timeout: .seconds(20))
            throw error
        }
        if !passed {
            _ = await cluster.stop(timeout: .seconds(20))  // as after any failure (the run stopped them already)
            throw ExitCode(1)
        }
    }
}
