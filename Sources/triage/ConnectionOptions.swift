import ArgumentParser
import Foundation
import Logging
import TriageDevTools
import TriageKafka

/// `--bootstrap` and `--kafka-property`, shared by every command that talks to a cluster.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Bootstrap servers, host:port[,host:port...]. Default: $TRIAGE_BOOTSTRAP or localhost:9092.")
    var bootstrap: String?

    @Option(
        name: .customLong("kafka-property"),
        help: """
            Raw librdkafka property KEY=VALUE (TLS, SASL...). Repeatable. Properties can also come from the \
            environment, which keeps secrets off the command line: TRIAGE_KAFKA_SASL_PASSWORD=… sets \
            sasl.password (after TRIAGE_KAFKA_, underscores become dots, lowercase); this option wins. \
            Values of secret keys (*password*, *secret*, *token*, sasl.*, ssl.key*, *.jaas.config) are \
            never printed, in errors or logs.
            """
    )
    var properties: [String] = []

    // `.unconditional`: a negative number is the value (refused in words), not an option.
    @Option(
        parsing: .unconditional,
        help: """
            Longest wait of a Fetch without new records, in milliseconds (fetch.wait.max.ms), for every \
            consumer of this command. Default: $TRIAGE_FETCH_WAIT_MS or Kafka's 500. A real broker answers \
            as soon as records arrive, so lower only costs the broker CPU; the embedded broker of \
            `triage dev` waits the full time on every hop, so its workers run with 10.
            """
    )
    var fetchWaitMs: Int?

    /// The variable `triage dev` and `triage chaos` set for the workers they start on the embedded broker.
    static let fetchWaitVariable = TriageProcessEnvironment.fetchWait

    func clientConfiguration() throws -> KafkaClientConfiguration {
        let environment = ProcessInfo.processInfo.environment
        let bootstrapVariable = environment["TRIAGE_BOOTSTRAP"].flatMap { $0.isEmpty ? nil : $0 }
        var configuration = KafkaClientConfiguration(bootstrap: bootstrap ?? bootstrapVariable ?? "localhost:9092")
        configuration.librdkafkaOverrides = Self.environmentProperties(environment).merging(
            try keyValuePairs(properties, option: "--kafka-property")
        ) { _, option in option }
        let variable = environment[Self.fetchWaitVariable].flatMap { $0.isEmpty ? nil : $0 }
        if let text = fetchWaitMs.map(String.init) ?? variable {
            let source = fetchWaitMs != nil ? "--fetch-wait-ms" : "$\(Self.fetchWaitVariable)"
            guard let milliseconds = Int(text), (1...10_000).contains(milliseconds) else {
                throw ValidationError("\(source) must be a whole number of milliseconds between 1 and 10000, got '\(text)'")
            }
            configuration.fetchWait = .milliseconds(milliseconds)
        }
        // librdkafka's statistics feed the /metrics gauges (lag per partition, broker round
        // trips, queue depths: docs/kafka-binding.md); --kafka-property statistics.interval.ms=…
        // (0: off) overrides it.
        configuration.statisticsInterval = .seconds(30)
        return configuration
    }

    /// How long a one-shot command waits for the cluster's first answer before saying it cannot
    /// reach it (workers retry instead; a reachable cluster answers in milliseconds).
    static let reachTimeout: Duration = .seconds(4)

    /// An admin client that has had an answer from the cluster. Throws a ``CommandFailure``
    /// naming the bootstrap servers when no broker answers within ``reachTimeout``.
    func reachableAdmin(_ client: KafkaClientConfiguration, logger: Logger) async throws -> KafkaAdmin {
        try await Self.admin(reaching: client, logger: logger)
    }

    /// ``reachableAdmin(_:logger:)`` for callers without the options (`triage interop`).
    static func admin(reaching client: KafkaClientConfiguration, logger: Logger) async throws -> KafkaAdmin {
        let admin = try KafkaAdmin(configuration: client, logger: logger)
        do {
            _ = try await admin.listTopics(timeout: Self.reachTimeout)
        } catch {
            throw Self.unreachable(client, error)
        }
        return admin
    }

    /// Describes `topic` on a cluster ``reachableAdmin(_:logger:)`` reached: `nil` when it does
    /// not exist; a ``CommandFailure`` when the cluster stopped answering.
    func describe(_ topic: String, admin: KafkaAdmin, client: KafkaClientConfiguration) async throws -> KafkaTopicDescription? {
        do {
            return try await admin.describeTopic(topic, timeout: Self.reachTimeout)
        } catch {
            if Self.code(of: error) == .unknownTopicOrPartition { return nil }
            throw Self.unreachable(client, error)
        }
    }

    static func code(of error: any Error) -> KafkaError.Code? { (error as? KafkaError)?.code }

    static func unreachable(_ client: KafkaClientConfiguration, _ error: any Error) -> CommandFailure {
        let protocolName = client.librdkafkaOverrides["security.protocol"] ?? "PLAINTEXT"
        return CommandFailure(
            "cannot reach the Kafka cluster at \(client.bootstrapServers.joined(separator: ",")) within \(reachTimeout) (\(error)). "
                + "Is a broker running there? Point --bootstrap (or TRIAGE_BOOTSTRAP) at one. If something listens there, check that it "
                + "is a Kafka listener and that it speaks \(protocolName) (set with --kafka-property security.protocol=SSL, SASL_SSL or "
                + "SASL_PLAINTEXT); a librdkafka older than \(KafkaLibrary.firstVersionReadingTaggedFields) also fails on brokers that "
                + "send tagged fields (this process has \(KafkaLibrary.version))."
        )
    }

    /// `TRIAGE_KAFKA_SASL_PASSWORD=x` → `sasl.password=x`.
    static func environmentProperties(_ environment: [String: String]) -> [String: String] {
        var result: [String: String] = [:]
        for (name, value) in environment where name.hasPrefix("TRIAGE_KAFKA_") && name.count > "TRIAGE_KAFKA_".count {
            result[name.dropFirst("TRIAGE_KAFKA_".count).lowercased().replacingOccurrences(of: "_", with: ".")] = value
        }
        return result
    }
}
