import Foundation
public import Logging
import TriageChildProcess
public import TriageKafka
import TriageRouting
import TriageSLA
import TriageSchema

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One `triage interop` run on `cluster`: creates the topics (a cluster of its own), starts one
/// process of each worker, applies a roster, grants an entitlement, opens incidents through gRPC
/// and `triage publish`, SIGKILLs each worker once, then audits the run's incidents
/// (``InteropAudit``) and prints the table. ``run()`` answers whether every check passed.
public struct InteropRun: Sendable {
    /// What to run, with the defaults of `triage interop`.
    public struct Configuration: Sendable {
        /// Incidents opened in all (half through gRPC, half with triage publish). Default 24.
        public var incidents = 24
        /// Partitions of the topics it creates. Default 6.
        public var partitions = 6
        /// Replication factor of the topics it creates. Default `nil`: what `triage topics create` chooses.
        public var replicationFactor: Int?
        /// SLA time runs this many times as fast as real time. Default 720.
        public var timeScale: Double = 720
        /// Longest wait, in seconds, for a worker to become ready. Default 180.
        public var readyTimeout: Double = 180
        /// Longest wait, in seconds, for the output after the last incident was opened. Default 240.
        public var settle: Double = 240
        /// Append the audit table (markdown) to this file. Default `nil`.
        public var report: String?
        /// How long the cluster may take to answer a metadata request before it counts as gone. Default 4 s.
        public var reachTimeout: Duration = .seconds(4)

        public init() {}
    }

    let cluster: DevProcessCluster
    let client: KafkaClientConfiguration
    let settings: Configuration
    /// The `--kafka-property` pairs the environment cannot carry, for every child (``childArguments(_:)``).
    let propertyArguments: [String]
    /// An admin client that has had an answer from the cluster; throws an error naming the cluster otherwise.
    let reachCluster: @Sendable (KafkaClientConfiguration, Logger) async throws -> KafkaAdmin
    let logger: Logger
    /// Names this run's accounts, entitlements and incidents: other runs' data on the cluster is ignored.
    let runID = String(UUID().uuidString.prefix(8)).lowercased()

    public init(
        cluster: DevProcessCluster, client: KafkaClientConfiguration, configuration: Configuration, propertyArguments: [String],
        reachCluster: @escaping @Sendable (KafkaClientConfiguration, Logger) async throws -> KafkaAdmin, logger: Logger
    ) {
        self.cluster = cluster
        self.client = client
        self.settings = configuration
        self.propertyArguments = propertyArguments
        self.reachCluster = reachCluster
        self.logger = logger
    }

    /// `--kafka-property` pairs as the `TRIAGE_KAFKA_*` variables every `triage` command reads,
    /// so that secrets stay out of the children's command lines (`ps` shows those). Keys that the
    /// variable form cannot spell (anything but lower-case letters, digits and dots) stay options.
    public static func childEnvironment(_ properties: [String: String]) -> [String: String] {
        var environment: [String: String] = [:]
        for (key, value) in properties where variableSpells(key) {
            environment["TRIAGE_KAFKA_" + key.replacingOccurrences(of: ".", with: "_").uppercased()] = value
        }
        return environment
    }

    /// The pairs ``childEnvironment(_:)`` cannot carry, as options.
    public static func childArguments(_ properties: [String: String]) -> [String] {
        properties.filter { !variableSpells($0.key) }.sorted { $0.key < $1.key }.flatMap { ["--kafka-property", "\($0.key)=\($0.value)"] }
    }

    /// Whether `TRIAGE_KAFKA_<KEY>` reads back as `key` (what the executable's environment properties do).
    private static func variableSpells(_ key: String) -> Bool { key.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "." } }

    /// Tools' connection options; their `--kafka-property` pairs travel in the environment (``childEnvironment(_:)``).
    private var connection: [String] { ["--bootstrap", cluster.bootstrap] + propertyArguments }

    /// Runs the whole qualification; answers whether every check passed (the cluster is stopped
    /// either way when it returns; when it throws, the caller stops it).
    public func run() async throws -> Bool {
        let started = ContinuousClock.now
        let origin = Date()
        let time = ["--time-scale", "\(settings.timeScale)", "--time-origin", ISO8601DateFormatter().string(from: origin)]
        let account = "acct-interop-\(runID)"
        let token = "interop-\(runID)"
        say(
            "triage interop — \(cluster.isEmbedded ? "embedded broker" : "cluster") \(cluster.bootstrap), run \(runID); logs in \(cluster.folder)"
        )

        // 1. The cluster answers (an error here names the address and what to check), then topics.
        if !cluster.isEmbedded {
            _ = try await reachCluster(client, logger)
            let output = try await tool(
                "topics-create",
                ["topics", "create", "--all", "--partitions", "\(settings.partitions)"]
                    + (settings.replicationFactor.map { ["--replication-factor", "\($0)"] } ?? []) + connection,
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
                throw DevProcessError("triage call OpenIncident answered without an incidentId: \(output)")
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
        let perPhase = max(1, settings.incidents / (2 * (kills.count + 1)))
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
        while opened.count < settings.incidents {
            if opened.count % 2 == 0 { try await openThroughGRPC() } else { try await openThroughPublish(1) }
        }
        let lastOpened = ContinuousClock.now
        say(
            "\(opened.count) incidents opened (\(seconds(since: started)) s); waiting for breaches and the output (up to \(Int(settings.settle)) s)"
        )

        // 5. Audit until complete: severity A's first-response target is 2 h of SLA time.
        let breachWait = Duration.seconds(2 * 3600 / settings.timeScale + 5)
        let capacities = Dictionary(uniqueKeysWithValues: roster.agents.map { ($0.id, $0.capacity) })
        let audit = InteropAudit(client: client, incidents: Set(opened), capacities: capacities, logger: logger)
        var result = try await audit.run(sink: sink.snapshot)
        while !(result.isComplete && ContinuousClock.now - lastOpened >= breachWait),
            ContinuousClock.now - lastOpened < .seconds(settings.settle)
        {
            try await Task.sleep(for: .seconds(3))
            result = try await audit.run(sink: sink.snapshot)
            say("  settling: \(result.progress)")
        }
        // The escalator's clock keeps producing alerts (later levels, resolution targets): stop it
        // first, let the notifier and the analytics feed consume everything, then the last look.
        let escalatorExit = await cluster.stopWorker("escalator")
        try await waitForWorkersToCatchUp(client: client, logger: logger, within: .seconds(settings.settle))
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
        if let report = settings.report { try appendReport(table, to: report) }
        if result.failures.isEmpty {
            say("interop: every check passed")
            return true
        }
        say("interop: FAILED — \(result.failures.joined(separator: "; ")) (logs: \(cluster.folder))")
        return false
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
            throw DevProcessError(
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
        guard let handle = FileHandle(forWritingAtPath: path) else { throw DevProcessError("cannot write --report \(path)") }
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
                .merging([TriageProcessEnvironment.exitWithParent: "\(getpid())"]) { $1 },
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
            if (try? await reachCluster(client, logger)) == nil {
                throw DevProcessError("the cluster at \(cluster.bootstrap) stopped answering: \(command) \(why); its output is in \(log)")
            }
            let errors = output.split(separator: "\n").filter { $0.hasPrefix("error:") }.joined(separator: "\n")
            throw DevProcessError("\(command) \(why); its output (\(log)):\n\(errors.isEmpty ? String(output.suffix(2000)) : errors)")
        }
        return output
    }

    /// Waits until worker `name` answers `/readyz` with 200 (its partitions restored).
    /// Every 15 s without it, says so and asks the cluster for its topics: a cluster that stopped
    /// answering ends the run at once, naming the cluster rather than the worker.
    private func waitUntilReady(_ name: String) async throws {
        let start = ContinuousClock.now
        let deadline = start + .seconds(settings.readyTimeout)
        var nextProbe = start + .seconds(15)
        var retriedPort = false
        while ContinuousClock.now < deadline {
            guard let worker = cluster.workers.first(where: { $0.name == name }) else { throw DevProcessError("no worker \(name)") }
            if let termination = worker.process.termination {
                // Its ops port was taken between the check and its bind (by a process outside
                // this run): once more, on another port.
                if !retriedPort, let log = try? String(contentsOfFile: worker.log, encoding: .utf8),
                    log.contains("already in use (--ops-port)")
                {
                    retriedPort = true
                    say("  \(name) found its ops port taken; starting it again on another")
                    try cluster.restart(name)
                    continue
                }
                throw DevProcessError("\(name) exited (\(termination)) before it was ready; see \(worker.log)")
            }
            if await Self.isReady(port: worker.opsPort) { return }
            if ContinuousClock.now >= nextProbe {
                nextProbe = .now + .seconds(15)
                say("  waiting for \(name) to be ready (\(seconds(since: start)) s)")
                do {
                    _ = try await KafkaAdmin(configuration: client, logger: logger).listTopics(timeout: settings.reachTimeout)
                } catch {
                    throw DevProcessError(
                        "the cluster at \(cluster.bootstrap) stopped answering (\(error)) while \(name) was starting; the workers' logs are in \(cluster.folder)"
                    )
                }
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw DevProcessError(
            "\(name) was not ready within \(Int(settings.readyTimeout)) s (--ready-timeout); see \(cluster.folder)/\(name).log")
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
