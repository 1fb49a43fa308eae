import ArgumentParser
import Foundation
import Logging
import Synchronization
import TriageChildProcess
import TriageKafka
import TriageRouter
import TriageRouting
import TriageSLA
import TriageSchema

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

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

    /// `--kafka-property` pairs as the `TRIAGE_KAFKA_*` variables every `triage` command reads,
    /// so that secrets stay out of the children's command lines (`ps` shows those). Keys that the
    /// variable form cannot spell (anything but lower-case letters, digits and dots) stay options.
    static func childEnvironment(_ properties: [String: String]) -> [String: String] {
        var environment: [String: String] = [:]
        for (key, value) in properties where variableSpells(key) {
            environment["TRIAGE_KAFKA_" + key.replacingOccurrences(of: ".", with: "_").uppercased()] = value
        }
        return environment
    }

    /// The pairs ``childEnvironment(_:)`` cannot carry, as options.
    static func childArguments(_ properties: [String: String]) -> [String] {
        properties.filter { !variableSpells($0.key) }.sorted { $0.key < $1.key }.flatMap { ["--kafka-property", "\($0.key)=\($0.value)"] }
    }

    /// Whether `TRIAGE_KAFKA_<KEY>` reads back as `key` (``ConnectionOptions/environmentProperties(_:)``).
    private static func variableSpells(_ key: String) -> Bool { key.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "." } }

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
            cluster = try DevProcessCluster(external: bootstrap, environment: Self.childEnvironment(pairs))
        } else {
            cluster = try await DevProcessCluster(brokers: 1, partitions: partitions)
        }
        var client = KafkaClientConfiguration(bootstrap: cluster.bootstrap)
        client.librdkafkaOverrides = ConnectionOptions.environmentProperties(ProcessInfo.processInfo.environment)
            .merging(pairs) { $1 }
        if cluster.isEmbedded { client.fetchWait = EmbeddedKafka.mockFetchWait }
        let run = Interop(cluster: cluster, client: client, command: self, propertyArguments: Self.childArguments(pairs), logger: logger)
        InteropSignals.install(cluster: cluster)
        do {
            try await run.run()
        } catch {
            // Workers whose cluster is gone take long to leave their groups: 20 s, then SIGKILL.
            _ = await cluster.stop(timeout: .seconds(20))
            throw error
        }
    }
}

/// One `triage interop` run.
private struct Interop {
    let cluster: DevProcessCluster
    let client: KafkaClientConfiguration
    let command: InteropCommand
    /// The `--kafka-property` pairs the environment cannot carry, for every child (``InteropCommand/childArguments(_:)``).
    let propertyArguments: [String]
    let logger: Logger
    /// Names this run's accounts, entitlements and incidents: other runs' data on the cluster is ignored.
    let runID = String(UUID().uuidString.prefix(8)).lowercased()

    init(cluster: DevProcessCluster, client: KafkaClientConfiguration, command: InteropCommand, propertyArguments: [String], logger: Logger)
    {
        self.cluster = cluster
        self.client = client
        self.command = command
        self.propertyArguments = propertyArguments
        self.logger = logger
    }

    /// Tools' connection options; their `--kafka-property` pairs travel in the environment (``InteropCommand/childEnvironment(_:)``).
    private var connection: [String] { ["--bootstrap", cluster.bootstrap] + propertyArguments }

    func run() async throws {
        let started = ContinuousClock.now
        let origin = Date()
        let time = ["--time-scale", "\(command.timeScale)", "--time-origin", ISO8601DateFormatter().string(from: origin)]
        let account = "acct-interop-\(runID)"
        let token = "interop-\(runID)"
        say(
            "triage interop — \(cluster.isEmbedded ? "embedded broker" : "cluster") \(cluster.bootstrap), run \(runID); logs in \(cluster.folder)"
        )

        // 1. The cluster answers (an error here names the address and what to check), then topics.
        if !cluster.isEmbedded {
            _ = try await ConnectionOptions.admin(reaching: client, logger: logger)
            let output = try await tool(
                "topics-create",
                ["topics", "create", "--all", "--partitions", "\(command.partitions)"]
                    + (command.replicationFactor.map { ["--replication-factor", "\($0)"] } ?? []) + connection,
                timeout: .seconds(120)
            )
            say("topics: " + (output.split(separator: "\n").last.map(String.init) ?? ""))
        }

        // 2. Workers: only if none run on the cluster already (they would share this run's work).
        if !cluster.isEmbedded { try await refuseIfWorkersRun() }  // a fresh embedded broker has no one else
        var sinkLogger = logger
        sinkLogger.logLevel = .critical  // its server's cancellation at the end is not news
        let sink = DevWebhookSink(key: UUID().uuidString, logger: sinkLogger)
        let sinkRunning = Task { try await sink.run() }
        defer { sinkRunning.cancel() }
        let sinkPort = await sink.boundPort()
        // The run's own team and agents: earlier runs' incidents hold theirs (they stay open), and
        // the run must not route to a deployment's agents either.
        let team = "interop-\(runID)"
        let agents = (1...12).map { Agent(id: "\(team)-agent-\($0)", team: team, skills: ["billing"], languages: ["en"], capacity: 6) }
        let roster = Roster(
            agents: agents, policy: RoutingPolicy(),
            initialPresence: Dictionary(uniqueKeysWithValues: agents.map { ($0.id, Presence.online) }))
        let rosterPath = try write("roster.yaml", DevProcessFiles.roster(roster))
        let rulesPath = try write("notification-rules.yaml", DevProcessFiles.notificationRules(policy: SlaPolicy(), port: sinkPort))
        let tenantsPath = try write(
            "tenants.yaml", "tenants:\n  - name: interop\n    token_env: TRIAGE_INTEROP_TOKEN\n    accounts: [\(account)]\n")
        let intakePort = try DevProcessCluster.freePort()
        let session = ["--session-timeout", "6"] + propertyArguments
        try cluster.start("escalator", ["escalator"] + session + time)
        try cluster.start("router", ["router"] + session)
        try cluster.start("notifier", ["notifier"] + session + ["--rules", rulesPath], environment: ["TRIAGE_DEV_WEBHOOK_KEY": sink.key])
        try cluster.start("analytics", ["analytics"] + session)
        try cluster.start(
            "intake", ["intake"] + session + ["--tenants", tenantsPath, "--host", "127.0.0.1", "--port", "\(intakePort)"] + time,
            environment: ["TRIAGE_INTEROP_TOKEN": token]
        )
        for worker in cluster.workers { try await waitUntilReady(worker.name) }
        say("every worker is ready after \(seconds(since: started)) s")
        var versions: [(String, String)] = [("triage interop (this process: topics, audit)", KafkaLibrary.version)]
        for worker in cluster.workers { versions.append((worker.name, await Self.librdkafka(port: worker.opsPort) ?? "unknown")) }
        let toolVersion = try await tool("version", ["--version"]).trimmingCharacters(in: .whitespacesAndNewlines)
        versions.append(
            (
                "triage tools (agents, entitlements, call, publish)",
                toolVersion.components(separatedBy: "librdkafka ").last?.dropLast().description ?? toolVersion
            ))
        for (process, version) in versions { say("  librdkafka \(version) — \(process)") }

        // 3. Roster, entitlement, incidents.
        _ = try await tool("agents-apply", ["agents", "apply", rosterPath] + connection)
        let entitlement = "contract-interop-\(runID)"
        _ = try await tool(
            "entitlements-grant", ["entitlements", "grant", "--id", entitlement, "--kind", "24x7", "--account", account] + connection,
            timeout: .seconds(90)
        )
        say("roster of \(roster.agents.count) agents in team \(team) applied; 24x7 contract \(entitlement) granted to \(account)")
        var opened: [String] = []
        let severities = ["SEVERITY_A", "SEVERITY_B", "SEVERITY_C"]
        var sequence = 0
        func openThroughGRPC() async throws {
            sequence += 1
            let request = """
                {"requestId":"interop-\(runID)-\(sequence)","customerAccount":"\(account)","product":"billing","language":"en",\
                "severity":"\(severities[sequence % 3])","customerTimeZone":"Europe/Zurich","team":"\(team)","title":"interop \(runID) #\(sequence) (gRPC)"}
                """
            let output = try await tool(
                "call-\(sequence)", ["call", "OpenIncident", request, "--intake", "127.0.0.1:\(intakePort)", "--token", token],
                timeout: .seconds(60)
            )
            guard let object = try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
                let id = object["incidentId"] as? String
            else {
                throw CommandFailure("triage call OpenIncident answered without an incidentId: \(output)")
            }
            opened.append(id)
        }
        func openThroughPublish(_ count: Int) async throws {
            var lines = ""
            var ids: [String] = []
            for _ in 0..<count {
                sequence += 1
                let id = "INC-interop-\(runID)-\(sequence)"
                ids.append(id)
                lines += """
                    {"incidentId":"\(id)","producer":"interop","sequence":"1","opened":{"customerAccount":"\(account)","entitlementId":"\(entitlement)",\
                    "product":"billing","language":"en","severity":"\(severities[sequence % 3])","coverage":"COVERAGE_24X7","customerTimeZone":"Europe/Zurich",\
                    "team":"\(team)","title":"interop \(runID) #\(sequence) (publish)"}}

                    """
            }
            let file = try write("incidents-\(sequence).jsonl", lines)
            _ = try await tool("publish-\(sequence)", ["publish", "--file", file] + time + connection)
            opened += ids
        }
        let kills = ["escalator", "router", "notifier", "analytics", "intake"]
        let perPhase = max(1, command.incidents / (2 * (kills.count + 1)))
        for _ in 0..<perPhase { try await openThroughGRPC() }
        try await openThroughPublish(perPhase)
        say("\(opened.count) incidents opened; now each worker is SIGKILLed once and started again")

        // 4. kill -9 each worker once, with incidents opened while it is down and after it is back.
        for victim in kills {
            cluster.kill(victim)
            try await openThroughPublish(perPhase)
            try await Task.sleep(for: .seconds(2))
            try cluster.restart(victim)
            try await waitUntilReady(victim)
            for _ in 0..<perPhase { try await openThroughGRPC() }
            say("  \(victim): killed, restarted, ready; \(opened.count) incidents opened so far")
        }
        while opened.count < command.incidents {
            if opened.count % 2 == 0 { try await openThroughGRPC() } else { try await openThroughPublish(1) }
        }
        let lastOpened = ContinuousClock.now
        say(
            "\(opened.count) incidents opened (\(seconds(since: started)) s); waiting for breaches and the output (up to \(Int(command.settle)) s)"
        )

        // 5. Audit until complete: severity A's first-response target is 2 h of SLA time.
        let breachWait = Duration.seconds(2 * 3600 / command.timeScale + 5)
        let capacities = Dictionary(uniqueKeysWithValues: roster.agents.map { ($0.id, $0.capacity) })
        let audit = InteropAudit(client: client, incidents: Set(opened), capacities: capacities, logger: logger)
        var result = try await audit.run(sink: sink.snapshot)
        while !(result.isComplete && ContinuousClock.now - lastOpened >= breachWait),
            ContinuousClock.now - lastOpened < .seconds(command.settle)
        {
            try await Task.sleep(for: .seconds(3))
            result = try await audit.run(sink: sink.snapshot)
            say("  settling: \(result.progress)")
        }
        // The escalator's clock keeps producing alerts (later levels, resolution targets): stop it
        // first, let the notifier and the analytics feed consume everything, then the last look.
        let escalatorExit = await cluster.stopWorker("escalator")
        try await waitForWorkersToCatchUp(client: client, logger: logger, within: .seconds(command.settle))
        try await Task.sleep(for: .seconds(2))  // the last webhooks of what was consumed
        result = try await audit.run(sink: sink.snapshot)
        // The run's agents go offline (before an embedded broker stops with the workers): its
        // incidents stay open on its own team, and nothing new reaches them.
        var offline = roster
        offline.initialPresence = Dictionary(uniqueKeysWithValues: roster.agents.map { ($0.id, Presence.offline) })
        _ = try? await tool(
            "agents-offline", ["agents", "apply", try write("roster-offline.yaml", DevProcessFiles.roster(offline))] + connection)
        result.workerExits = await cluster.stop()
        if let escalatorExit { result.workerExits["escalator"] = escalatorExit }
        result.versions = versions
        let table = result.table(runID: runID, bootstrap: cluster.bootstrap, embedded: cluster.isEmbedded, seconds: seconds(since: started))
        print(table)
        if let report = command.report { try appendReport(table, to: report) }
        if result.failures.isEmpty {
            say("interop: every check passed")
        } else {
            say("interop: FAILED — \(result.failures.joined(separator: "; ")) (logs: \(cluster.folder))")
            throw ExitCode(1)
        }
    }

    /// The consumer groups of the workers a run starts.
    static let groups = TriageGroup.all

    /// Fails when a worker group of the run already has members: Triage workers (or another
    /// interop run) on this cluster would take part of the run's partitions, and the audit of
    /// this run's incidents would measure them too.
    private func refuseIfWorkersRun() async throws {
        let admin = try KafkaAdmin(configuration: client, logger: logger)
        var busy: [String] = []
        for group in Self.groups {
            do {
                let members = try await admin.groupMembers(group)
                let named = Set(members.filter { !$0.isEmpty && $0 != "?" }).sorted()
                if !members.isEmpty {
                    busy.append("\(group) (\(members.count) member(s)\(named.isEmpty ? "" : ": " + named.joined(separator: ", ")))")
                }
            } catch {
                say("note: could not list the members of consumer group \(group) (\(error)); going on without that check")
            }
        }
        guard busy.isEmpty else {
            throw CommandFailure(
                "Triage's consumer groups already have members on \(cluster.bootstrap): \(busy.joined(separator: "; ")). "
                    + "Workers of a deployment or another `triage interop` run would share this run's partitions and its audit would be wrong: "
                    + "stop them, or wait until their session timeout expired (a killed member stays listed until then)."
            )
        }
    }

    private func say(_ line: String) {
        print(line)
        fflush(nil)
    }

    private func seconds(since start: ContinuousClock.Instant) -> Int { Int((ContinuousClock.now - start).components.seconds) }

    private func write(_ name: String, _ text: String) throws -> String {
        let path = "\(cluster.folder)/\(name)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func appendReport(_ table: String, to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw CommandFailure("cannot write --report \(path)") }
        handle.seekToEndOfFile()
        handle.write(Data((table + "\n").utf8))
        try handle.close()
    }

    /// Runs `triage ARGUMENTS` to completion, as an operator would, its output in the run's
    /// folder; returns the output, or throws with it when the tool fails or overruns `timeout`.
    private func tool(_ name: String, _ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60))
        async throws -> String
    {
        let log = "\(cluster.folder)/tool-\(name).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let process = try ChildProcess(
            executable: DevProcessCluster.executable, arguments: arguments,
            environment: ProcessInfo.processInfo.environment.merging(cluster.childEnvironment) { $1 }.merging(environment) { $1 }
                .merging([exitWithParentVariable: "\(getpid())"]) { $1 },
            standardInput: .nullDevice, standardOutput: .file(log, append: false), standardError: .standardOutput
        )
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        let overran = process.isRunning
        if overran { process.send(SIGKILL) }
        let termination = await process.terminated()
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        guard !overran, termination == .exited(0) else {
            let command = "`triage \(arguments.prefix(3).joined(separator: " "))…`"
            let why = overran ? "did not finish within \(timeout)" : "failed (\(termination))"
            // A tool fails most often because the cluster went away: say that first, whatever the
            // tool's output ends with (librdkafka's connection lines can follow its own error).
            if (try? await ConnectionOptions.admin(reaching: client, logger: logger)) == nil {
                throw CommandFailure("the cluster at \(cluster.bootstrap) stopped answering: \(command) \(why); its output is in \(log)")
            }
            let errors = output.split(separator: "\n").filter { $0.hasPrefix("error:") }.joined(separator: "\n")
            throw CommandFailure("\(command) \(why); its output (\(log)):\n\(errors.isEmpty ? String(output.suffix(2000)) : errors)")
        }
        return output
    }

    /// Waits until worker `name` answers `/readyz` with 200 (its partitions restored).
    /// Every 15 s without it, says so and asks the cluster for its topics: a cluster that stopped
    /// answering ends the run at once, naming the cluster rather than the worker.
    private func waitUntilReady(_ name: String) async throws {
        let start = ContinuousClock.now
        let deadline = start + .seconds(command.readyTimeout)
        var nextProbe = start + .seconds(15)
        while ContinuousClock.now < deadline {
            guard let worker = cluster.workers.first(where: { $0.name == name }) else { throw CommandFailure("no worker \(name)") }
            if let termination = worker.process.termination {
                throw CommandFailure("\(name) exited (\(termination)) before it was ready; see \(worker.log)")
            }
            if await Self.isReady(port: worker.opsPort) { return }
            if ContinuousClock.now >= nextProbe {
                nextProbe = .now + .seconds(15)
                say("  waiting for \(name) to be ready (\(seconds(since: start)) s)")
                do {
                    _ = try await KafkaAdmin(configuration: client, logger: logger).listTopics(timeout: ConnectionOptions.reachTimeout)
                } catch {
                    throw CommandFailure(
                        "the cluster at \(cluster.bootstrap) stopped answering (\(error)) while \(name) was starting; the workers' logs are in \(cluster.folder)"
                    )
                }
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw CommandFailure(
            "\(name) was not ready within \(Int(command.readyTimeout)) s (--ready-timeout); see \(cluster.folder)/\(name).log")
    }

    private static func isReady(port: Int) async -> Bool {
        guard let url = URL(string: "http://127.0.0.1:\(port)/readyz"), let (_, response) = try? await URLSession.shared.data(from: url)
        else { return false }
        return (response as? HTTPURLResponse)?.statusCode == 200
    }

    /// The librdkafka version a worker reports in its `triage_build_info` metric.
    static func librdkafka(port: Int) async -> String? {
        guard let url = URL(string: "http://127.0.0.1:\(port)/metrics"), let (data, _) = try? await URLSession.shared.data(from: url) else {
            return nil
        }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix("triage_build_info{") {
            guard let range = line.range(of: "librdkafka=\"") else { continue }
            return String(line[range.upperBound...].prefix { $0 != "\"" })
        }
        return nil
    }
}

/// Reads the topics and checks this run's incidents.
struct InteropAudit {
    let client: KafkaClientConfiguration
    let incidents: Set<String>
    let capacities: [String: Int]
    let logger: Logger

    struct Result {
        var incidents = 0
        var lifecycleEvents = 0
        var duplicateLifecycleRecords = 0
        var unassigned: [String] = []
        var assignmentViolations: [String] = []
        var warnings = 0
        var escalations = 0
        var repeatedAlerts: [String] = []
        var severityA = 0
        var severityAEscalated = 0
        var analyticsRecords = 0
        var withoutAnalytics: [String] = []
        var notificationRequests = 0
        var delivered = 0
        var webhooksReceived = 0
        var webhooksVerified = 0
        var undelivered = 0
        var deadLettered: [String] = []
        var workerExits: [String: Int32] = [:]
        var versions: [(String, String)] = []

        /// Everything the run should produce is there (checked again before the verdict).
        var isComplete: Bool {
            unassigned.isEmpty && withoutAnalytics.isEmpty && undelivered == 0 && severityAEscalated == severityA
                && notificationRequests > 0
        }

        var progress: String {
            "\(incidents - unassigned.count)/\(incidents) assigned, \(severityAEscalated)/\(severityA) severity A escalated, "
                + "\(lifecycleEvents - withoutAnalytics.count)/\(lifecycleEvents) events in analytics, \(delivered)/\(notificationRequests) notifications delivered"
        }

        var failures: [String] {
            var failures: [String] = []
            if !unassigned.isEmpty {
                failures.append("\(unassigned.count) incidents never assigned (e.g. \(unassigned.prefix(3).joined(separator: ", ")))")
            }
            if !assignmentViolations.isEmpty { failures.append("assignments: \(assignmentViolations.prefix(3).joined(separator: "; "))") }
            if !repeatedAlerts.isEmpty { failures.append("alerts not exactly once: \(repeatedAlerts.prefix(3).joined(separator: "; "))") }
            if severityAEscalated < severityA { failures.append("\(severityA - severityAEscalated) severity A incidents never escalated") }
            if !withoutAnalytics.isEmpty {
                failures.append(
                    "\(withoutAnalytics.count) lifecycle events without an analytics record (e.g. \(withoutAnalytics.prefix(3).joined(separator: ", ")))"
                )
            }
            if notificationRequests == 0 { failures.append("no notification requests at all") }
            if undelivered > 0 { failures.append("\(undelivered) notifications never delivered") }
            if webhooksVerified < webhooksReceived {
                failures.append("\(webhooksReceived - webhooksVerified) webhooks with an invalid signature")
            }
            if !deadLettered.isEmpty { failures.append("dead-lettered: \(deadLettered.prefix(3).joined(separator: "; "))") }
            let unclean = workerExits.filter { $0.value != 0 }
            if !unclean.isEmpty {
                failures.append(
                    "unclean exits: \(unclean.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
            }
            return failures
        }

        func table(runID: String, bootstrap: String, embedded: Bool, seconds: Int) -> String {
            let rows: [(String, String, String)] = [
                ("incidents opened (gRPC and triage publish)", "\(incidents)", ""),
                ("  never assigned", "\(unassigned.count)", "0"),
                ("  assignment inconsistencies (held twice, above capacity, moved by a non-holder)", "\(assignmentViolations.count)", "0"),
                ("lifecycle events (distinct event ids)", "\(lifecycleEvents)", ""),
                ("  repeated records of one event id (at-least-once; consumers dedupe)", "\(duplicateLifecycleRecords)", "any"),
                ("  without an analytics record", "\(withoutAnalytics.count)", "0"),
                (
                    "analytics records (of which repeats of one event id)",
                    "\(analyticsRecords) (\(max(0, analyticsRecords - (lifecycleEvents - withoutAnalytics.count))))", ""
                ),
                ("SLA warnings / escalations (distinct, after dedupe by event id)", "\(warnings) / \(escalations)", ""),
                ("  warnings or escalation levels fired other than exactly once", "\(repeatedAlerts.count)", "0"),
                ("severity A incidents escalated", "\(severityAEscalated) of \(severityA)", "all"),
                ("notification requests / delivered", "\(notificationRequests) / \(delivered)", "all"),
                ("webhooks received / signature valid", "\(webhooksReceived) / \(webhooksVerified)", "all"),
                ("records dead-lettered", "\(deadLettered.count)", "0"),
                (
                    "workers exiting 0 on SIGTERM at the end", "\(workerExits.values.filter { $0 == 0 }.count) of \(workerExits.count)",
                    "all"
                ),
            ]
            var text = """
                ### Interop run \(runID) — \(ISO8601DateFormatter().string(from: Date()))

                \(embedded ? "embedded broker" : "cluster") \(bootstrap); \(seconds) s; each worker SIGKILLed once and restarted

                | process | librdkafka |
                |---|---|

                """
            for (process, version) in versions { text += "| \(process) | \(version) |\n" }
            text += "\n| check | measured | must be |\n|---|---:|---:|\n"
            for (name, value, expected) in rows { text += "| \(name) | \(value) | \(expected) |\n" }
            text += "\n" + (failures.isEmpty ? "Result: every check passed.\n" : "Result: FAILED — \(failures.joined(separator: "; "))\n")
            return text
        }
    }

    func run(sink: DevWebhookSink.Figures) async throws -> Result {
        var result = Result()
        result.incidents = incidents.count
        let admin = try KafkaAdmin(configuration: client, logger: logger)
        let mine = incidents

        // The lifecycle: assignments, warnings, escalations.
        let records = try await read(TriageTopic.incidentEvents, admin: admin) { record -> AuditedEvent? in
            guard let value = record.value, let event = try? IncidentEvent(serializedBytes: Array(value)), mine.contains(event.incidentID)
            else { return nil }
            return AuditedEvent(
                timestamp: record.timestamp ?? .distantFuture, partition: record.partition, offset: record.offset, event: event)
        }
        var seen: Set<String> = []
        let distinct = records.filter { seen.insert($0.event.eventID).inserted }
        result.lifecycleEvents = distinct.count
        result.duplicateLifecycleRecords = records.count - distinct.count
        var audit = AssignmentAuditor(capacities: capacities)
        var assigned: Set<String> = []
        var alerts: [String: Set<String>] = [:]  // incident|kind|target|deadline|level → event ids
        var severityA: Set<String> = []
        var escalatedA: Set<String> = []
        for audited in AssignmentAuditor.causalOrder(distinct) {
            let event = audited.event
            audit.apply(event)
            switch event.event {
            case .opened(let opened) where opened.severity == Triage_V1_Severity.a: severityA.insert(event.incidentID)
            case .assigned: assigned.insert(event.incidentID)
            case .escalated(let escalated):
                alerts[
                    "\(event.incidentID)|escalation|\(escalated.target)|\(escalated.breachedDeadline.seconds)|\(escalated.level)",
                    default: []
                ].insert(event.eventID)
                escalatedA.insert(event.incidentID)
            case .slaWarning(let warning):
                alerts["\(event.incidentID)|warning|\(warning.target)|\(warning.deadline.seconds)|\(warning.thresholdPercent)", default: []]
                    .insert(event.eventID)
            default: break
            }
        }
        result.unassigned = incidents.subtracting(assigned).sorted()
        result.assignmentViolations = audit.violations
        result.warnings = alerts.filter { $0.key.contains("|warning|") }.count
        result.escalations = alerts.filter { $0.key.contains("|escalation|") }.count
        result.repeatedAlerts = alerts.filter { $0.value.count != 1 }.map { "\($0.key) fired \($0.value.count) times" }.sorted()
        result.severityA = severityA.count
        result.severityAEscalated = severityA.intersection(escalatedA).count

        // Analytics: a record for every lifecycle event.
        let analytics = try await read(TriageTopic.analytics, admin: admin) { record -> String? in
            guard let value = record.value, let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any],
                let incident = object["incident_id"] as? String, mine.contains(incident)
            else { return nil }
            return object["event_id"] as? String
        }
        result.analyticsRecords = analytics.count
        let analyticsIDs = Set(analytics)
        result.withoutAnalytics = distinct.map { $0.event.eventID }.filter { !analyticsIDs.contains($0) }.sorted()

        // Notifications: each request's Idempotency-Key reached the webhook receiver.
        let requests = Set(
            try await read(TriageTopic.notificationRequests, admin: admin) { record -> String? in
                guard let value = record.value, let request = try? NotificationRequest(serializedBytes: Array(value)),
                    mine.contains(request.incidentID)
                else { return nil }
                return request.idempotencyKey
            })
        result.notificationRequests = requests.count
        result.delivered = requests.intersection(sink.keys.keys).count
        result.undelivered = requests.count - result.delivered
        result.webhooksReceived = sink.received
        result.webhooksVerified = sink.verified

        // Nothing of this run dead-lettered.
        result.deadLettered = try await read(TriageTopic.deadLetter, admin: admin) { record -> String? in
            guard let value = record.value.map({ Array($0) }) else { return nil }
            let reason = record.header(TriageHeader.deadLetterReason).map { String(decoding: $0, as: UTF8.self) } ?? "no reason given"
            if let event = try? IncidentEvent(serializedBytes: value), mine.contains(event.incidentID) {
                return "event \(event.eventID): \(reason)"
            }
            if let request = try? NotificationRequest(serializedBytes: value), mine.contains(request.incidentID) {
                return "notification \(request.idempotencyKey): \(reason)"
            }
            return nil
        }
        return result
    }

    private func read<T: Sendable>(_ topic: String, admin: KafkaAdmin, _ transform: @escaping @Sendable (borrowing KafkaRecordView) -> T?)
        async throws -> [T]
    {
        try await readWholeTopic(topic, admin: admin, client: client, logger: logger, transform)
    }
}

/// SIGTERM, and SIGINT unless it was ignored when the run started (a background job of a
/// non-interactive shell), stop the run's processes before the run exits (128 + the signal).
enum InteropSignals {
    private struct State: @unchecked Sendable {  // dispatch sources are thread-safe
        var sources: [any DispatchSourceSignal] = []
    }
    private static let state = Mutex(State())
    private static let stopping = Atomic<Bool>(false)

    static func install(cluster: DevProcessCluster) {
        state.withLock { state in
            guard state.sources.isEmpty else { return }
            for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
                let previous = signal(number, SIG_IGN)  // delivered to the dispatch source instead
                if number == SIGINT, let previous, unsafeBitCast(previous, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) {
                    continue
                }
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler {
                    guard !stopping.exchange(true, ordering: .relaxed) else { return }
                    print("\ninterop: \(name): stopping the run's processes (logs: \(cluster.folder))")
                    fflush(nil)
                    Task {
                        _ = await cluster.stop(timeout: .seconds(20))
                        exit(128 + number)
                    }
                }
                source.resume()
                state.sources.append(source)
            }
        }
    }
}
