public import ArgumentParser
import Foundation
public import Logging
import Metrics
import TriageDevTools
import TriageKafka
import TriageOps

@main
struct Triage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "triage",
        abstract: "Triage: a support organisation's incident lifecycle on Kafka.",
        discussion: """
            Producers publish incident lifecycle events to Kafka; Triage's workers consume them to route \
            incidents, escalate breached SLAs, notify people and feed analytics.

            Start locally with `triage dev` (everything on an embedded broker), or run `triage broker` \
            and point separate processes at the address it prints. Any real Kafka works by passing \
            its bootstrap servers (--bootstrap host:port,...).
            """,
        version: "\(triageVersion) (librdkafka \(KafkaLibrary.version))",
        subcommands: [
            DevCommand.self, ChaosCommand.self, InteropCommand.self, BrokerCommand.self, EscalatorCommand.self, RouterCommand.self,
            NotifierCommand.self, AnalyticsCommand.self, IntakeCommand.self, CallCommand.self, EntitlementsCommand.self, AgentsCommand.self,
            SlaCommand.self, TopicsCommand.self, PublishCommand.self, TailCommand.self, ChildProcessProbeCommand.self,
        ]
    )

    /// ArgumentParser's `main`, except for what `run()` throws: argument errors (parsing and
    /// `validate()`) print the message with the usage and exit 64, as ArgumentParser does; a
    /// failure while running (a file that cannot be read, a broker that cannot be reached, a
    /// refusal) is not a usage problem, so it prints `error: <message>` alone and exits 1.
    static func main() async {
        let command: any ParsableCommand
        do {
            command = try await asyncParseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var command = command
                try command.run()
            }
        } catch {
            // ArgumentParser's own errors (`triage help`, ExitCode, CleanExit) keep its handling; a
            // ValidationError thrown while running is a runtime failure like any other.
            if !(error is ValidationError) && String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
                exit(withError: error)
            }
            FileHandle.standardError.write(Data("error: \(runtimeMessage(error))\n".utf8))
            Foundation.exit(1)
        }
    }

    /// The text of a runtime failure.
    static func runtimeMessage(_ error: any Error) -> String {
        (error as? ValidationError)?.message ?? String(describing: error)
    }
}

/// A command that could not do its work, for a reason that is not its arguments: printed as
/// `error: <message>` (without the usage) with exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// Options every command shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    /// Installs the process-wide log and metrics backends (executables only; libraries just take
    /// a Logger and use the swift-metrics API). `/metrics` on a worker's ops port serves them.
    func bootstrapLogging(label: String) -> Logger {
        exitWithParentIfAsked()
        TriageMetrics.bootstrap()
        // Which librdkafka this process loaded (LD_LIBRARY_PATH can swap it): /metrics says so,
        // and `triage interop` prints it per worker.
        Gauge(label: "triage_build_info", dimensions: [("version", triageVersion), ("librdkafka", KafkaLibrary.version)]).record(1)
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }
}

// swift-format-ignore: AvoidRetroactiveConformances
extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Triage's release.
let triageVersion = "0.1.0"

private func exitWithParentIfAsked() {
    guard let value = ProcessInfo.processInfo.environment[TriageProcessEnvironment.exitWithParent], let parent = Int32(value), parent > 1
    else { return }
    let watchdog = Thread {
        while getppid() == parent { Thread.sleep(forTimeInterval: 1) }
        FileHandle.standardError.write(Data("parent process \(parent) is gone: stopping\n".utf8))
        kill(getpid(), SIGTERM)
        Thread.sleep(forTimeInterval: 30)
        exit(1)
    }
    watchdog.name = "triage-parent-watch"
    watchdog.start()
}

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

    @Option(
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

/// Standard input to its end, read on a GCD thread rather than the cooperative pool.
func readStandardInput() async -> Data {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: FileHandle.standardInput.readDataToEndOfFile()) }
    }
}

/// Parses repeated `KEY=VALUE` option values; later keys win. A value without `=` is never
/// quoted back (`--kafka-property 'sasl.password:…'` holds a secret): the error counts it and
/// names the key it seems to start with.
func keyValuePairs(_ values: [String], option: String) throws -> [String: String] {
    var result: [String: String] = [:]
    for (index, value) in values.enumerated() {
        guard let equals = value.firstIndex(of: "=") else {
            let ordinal = values.count > 1 ? " (number \(index + 1))" : ""
            let fix = propertyKey(startingWith: value).map { "write \($0)=VALUE" } ?? "write it as KEY=VALUE, e.g. sasl.username=NAME"
            throw ValidationError(
                "\(option)\(ordinal) is not KEY=VALUE: found \(value.count) characters without '=' (not shown: a value may be a secret); \(fix)"
            )
        }
        guard equals != value.startIndex else {
            throw ValidationError(
                "\(option)\(values.count > 1 ? " (number \(index + 1))" : "") has an empty KEY: write KEY=VALUE, e.g. sasl.username=NAME")
        }
        result[String(value[..<equals])] = String(value[value.index(after: equals)...])
    }
    return result
}

/// The property name `text` starts with, when one (lower-case words joined by dots, such as
/// `sasl.password`) is followed by a separator other than `=` (`sasl.password:…`, `sasl.password …`).
private func propertyKey(startingWith text: String) -> String? {
    guard let separator = text.firstIndex(where: { $0 == ":" || $0.isWhitespace }) else { return nil }
    let key = text[..<separator]
    let isName =
        key.contains(".") && key.first?.isLetter == true
        && key.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "_" || $0 == "-" }
    return isName ? String(key) : nil
}

/// `NAME[:PARTITIONS[:REPLICATION]]`, as accepted by `--topic`.
struct TopicArgument: ExpressibleByArgument, Sendable {
    var name: String
    var partitions: Int
    var replicationFactor: Int

    init(name: String, partitions: Int, replicationFactor: Int) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
    }

    init?(argument: String) {
        let parts = argument.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count), !parts[0].isEmpty else { return nil }
        name = parts[0]
        guard let partitions = parts.count > 1 ? Int(parts[1]) : 1, partitions > 0 else { return nil }
        guard let replicationFactor = parts.count > 2 ? Int(parts[2]) : 1, replicationFactor > 0 else { return nil }
        self.partitions = partitions
        self.replicationFactor = replicationFactor
    }
}
