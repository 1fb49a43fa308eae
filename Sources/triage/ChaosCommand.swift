import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TriageEscalator
import TriageKafka
import TriageRouter
import TriageRouting
import TriageSLA
import TriageSchema

struct ChaosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chaos",
        abstract:
            "Run every worker several times over on `triage broker`, kill them at random and inject broker faults under load; then audit every topic.",
        discussion: """
            Starts `triage broker` (three brokers by default) and --instances processes of each worker \
            (escalator, router, notifier, analytics, intake), the incident simulator at --incident-rate \
            incidents per second of scaled SLA time, agents changing presence, and a webhook receiver. \
            While the load runs, a worker process is SIGKILLed every ~--kill-interval seconds and \
            started again 1–3 s later, and (unless --no-faults) the broker takes faults: a broker down \
            and up, failed requests (produce, fetch, commit, heartbeat), round-trip spikes.

            When the load stops, every worker is brought back, the faults are cleared, and the run \
            waits (up to --settle seconds) for the output to complete. An auditor then reads every \
            topic and prints a table: events published vs accounted for in the analytics feed, \
            assignments above an agent's capacity, incidents held by two agents, escalation levels \
            fired other than exactly once per breach, notifications neither delivered nor \
            dead-lettered, and repeated deliveries (each must repeat its Idempotency-Key). Finally \
            every worker gets SIGTERM and must exit 0. Exit status 1 if any check fails.

            `make chaos` runs the full run (10 minutes of load); the test suite runs a short one.
            """
    )

    @Option(help: "Seconds of load (simulator, kills, faults).")
    var duration: Double = 120

    @Option(help: "Simulated incidents opened per second.")
    var incidentRate: Double = 40

    @Option(help: "Processes of each worker kind.")
    var instances: Int = 3

    @Option(help: "Mean seconds between worker kills (0: no kills).")
    var killInterval: Double = 4

    @Flag(help: "No broker faults (kills only).")
    var noFaults = false

    @Option(help: "Brokers in the embedded cluster.")
    var brokers: Int = 3

    @Option(
        help: """
            Partitions of every topic. The embedded broker keeps only ~5 MB per partition and drops \
            older records silently, which the auditor would count as lost: a long run needs more partitions.
            """
    )
    var partitions: Int = 6

    @Option(help: "SLA time runs this many times as fast as real time (720: an hour per five seconds).")
    var timeScale: Double = 720

    @Option(help: "Longest wait, in seconds, for the output to complete after the load stops.")
    var settle: Double = 120

    @Option(help: "Seed of the kill and fault schedule (default: random; printed).")
    var seed: UInt64?

    @Option(help: "Append the result table (markdown) to this file.")
    var report: String?

    @Option(help: "Write the audit's figures as JSON to this file (what a test or a script checks; the table is for people).")
    var resultJson: String?

    @OptionGroup var sla: SlaOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard duration > 0 else { throw ValidationError("--duration must be positive") }
        guard incidentRate > 0 else { throw ValidationError("--incident-rate must be positive") }
        guard (1...8).contains(instances) else { throw ValidationError("--instances must be between 1 and 8") }
        guard killInterval >= 0 else { throw ValidationError("--kill-interval must not be negative") }
        guard (1...5).contains(brokers) else { throw ValidationError("--brokers must be between 1 and 5") }
        guard (1...64).contains(partitions) else { throw ValidationError("--partitions must be between 1 and 64") }
        guard timeScale > 0 else { throw ValidationError("--time-scale must be positive") }
        guard settle > 0 else { throw ValidationError("--settle must be positive") }
    }

    func run() async throws {
        let logger = common.bootstrapLogging(label: "triage.chaos")
        let seed = self.seed ?? UInt64.random(in: 1...999_999)
        let policy = try sla.loadPolicy()
        let origin = Date()
        let clock = ScaledClock(scale: timeScale, origin: origin)
        let time = ["--time-scale", "\(timeScale)", "--time-origin", ISO8601DateFormatter().string(from: origin)]
        let cluster = try await DevProcessCluster(brokers: brokers, partitions: partitions, faultCommands: !noFaults)
        var client = KafkaClientConfiguration(bootstrap: cluster.bootstrap)
        client.fetchWait = EmbeddedKafka.mockFetchWait  // the cluster is the embedded broker
        let sink = DevWebhookSink(key: UUID().uuidString, logger: logger)
        let sinkRunning = Task { try await sink.run() }
        defer { sinkRunning.cancel() }
        let sinkPort = await sink.boundPort()
        let roster = DevCommand.demoRoster
        func write(_ name: String, _ text: String) throws -> String {
            let path = "\(cluster.folder)/\(name)"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let rosterPath = try write("roster.yaml", DevProcessFiles.roster(roster))
        let rulesPath = try write("notification-rules.yaml", DevProcessFiles.notificationRules(policy: policy, port: sinkPort))
        let tenantsPath = try write("tenants.yaml", DevProcessFiles.tenants(token: "chaos"))
        let policyArguments = sla.policy.map { ["--policy", $0] } ?? []
        let session = ["--session-timeout", "6"]
        for index in 1...instances {
            try cluster.start("escalator-\(index)", ["escalator"] + session + time + policyArguments)
            try cluster.start("router-\(index)", ["router"] + session + ["--roster", rosterPath])
            try cluster.start(
                "notifier-\(index)", ["notifier"] + session + ["--rules", rulesPath], environment: ["TRIAGE_DEV_WEBHOOK_KEY": sink.key])
            try cluster.start("analytics-\(index)", ["analytics"] + session + policyArguments)
            try cluster.start(
                "intake-\(index)",
                ["intake"] + session + ["--tenants", tenantsPath, "--host", "127.0.0.1", "--port", "\(try DevProcessCluster.freePort())"]
                    + time,
                environment: ["TRIAGE_DEV_TOKEN": "chaos"]
            )
        }
        print(
            """
            triage chaos — \(brokers) broker(s), \(cluster.workers.count) worker processes (\(instances) of each kind), seed \(seed)
              load:   \(incidentRate) incidents/s for \(Int(duration)) s at ×\(Int(timeScale)) SLA time; a kill every ~\(killInterval) s\(noFaults ? "" : "; broker faults")
              logs:   \(cluster.folder)/*.log
            """)
        fflush(nil)

        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(2)), logger: logger)
        let simulator = IncidentSimulator(producer: producer, clock: clock, rate: incidentRate, tracksDeliveries: true)
        let monkey = ChaosMonkey(cluster: cluster, brokers: brokers, killInterval: killInterval, faults: !noFaults, seed: seed)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: producer), .init(service: RosterPublisher(roster: roster, producer: producer, clock: clock)),
                    .init(service: simulator),
                    .init(
                        service: PresenceSimulator(producer: producer, clock: clock, agents: roster.agents.map(\.id), interval: .seconds(3))
                    ),
                    .init(service: monkey),
                    .init(service: ChaosReporter(cluster: cluster, simulator: simulator, monkey: monkey, sink: sink)),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        let stopLoad = Task {
            try await Task.sleep(for: .seconds(duration))
            await group.triggerGracefulShutdown()
        }
        defer { stopLoad.cancel() }
        do {
            try await group.run()
        } catch {
            _ = await cluster.stop()  // never leave worker processes behind
            throw error
        }

        // The embedded cluster keeps everything in memory: if it died, there is nothing to audit.
        if let status = cluster.brokerExit {
            _ = await cluster.stop()
            throw DevProcessError(
                "triage broker exited (status \(status)) during the run; see \(cluster.folder)/broker.log. The embedded broker holds every topic in memory, so nothing can be audited."
            )
        }
        // Everyone back, faults cleared; then wait for the output to complete.
        monkey.heal()
        print(
            "load stopped after \(Int(duration)) s: \(monkey.figures.kills) kills, \(monkey.figures.faults) broker faults; settling (up to \(Int(settle)) s)"
        )
        fflush(nil)
        let capacities = Dictionary(uniqueKeysWithValues: roster.agents.map { ($0.id, $0.capacity) })
        let auditor = ChaosAudit(client: client, capacities: capacities, logger: logger)
        let published = simulator.deliveredEvents
        var result: ChaosAudit.Result
        do {
            // First the workers catch up: their groups consume their inputs to the end (cheap
            // to ask), then the whole audit (minutes of reading on a long run), repeated while
            // output is still arriving.
            try await waitForWorkersToCatchUp(client: client, logger: logger, within: .seconds(settle))
            let deadline = ContinuousClock.now + .seconds(settle)
            result = try await auditor.run(published: published, sink: sink.snapshot, acknowledgement: simulator.acknowledgement(of:))
            while !result.isSettled, ContinuousClock.now < deadline {
                try await Task.sleep(for: .seconds(5))
                result = try await auditor.run(published: published, sink: sink.snapshot, acknowledgement: simulator.acknowledgement(of:))
                print("settling: lost \(result.lost), notifications outstanding \(result.notificationsOutstanding)")
                fflush(nil)
            }
        } catch {
            _ = await cluster.stop()
            throw error
        }
        let statuses = await cluster.stop()
        result.workerExits = statuses
        result.kills = monkey.figures.kills
        result.faults = monkey.figures.faults
        result.undelivered = simulator.failedEvents
        let table = result.table(
            seed: seed, duration: duration, rate: incidentRate, instances: instances, brokers: brokers, partitions: partitions)
        print(table)
        if let report {
            let handle =
                FileHandle(forWritingAtPath: report)
                ?? {
                    _ = FileManager.default.createFile(atPath: report, contents: nil)
                    return FileHandle(forWritingAtPath: report)
                }()
            handle?.seekToEndOfFile()
            handle?.write(Data((table + "\n").utf8))
            try? handle?.close()
        }
        if let resultJson {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let file = ChaosResultFile(seed: seed, passed: result.passed, failures: result.failures, figures: result)
            try encoder.encode(file).write(to: URL(fileURLWithPath: resultJson), options: .atomic)
        }
        print(
            result.passed
                ? "chaos: every check passed" : "chaos: FAILED — \(result.failures.joined(separator: "; ")) (logs: \(cluster.folder))")
        if !result.passed { throw ExitCode(1) }
    }
}

/// Waits until the notifier and analytics groups have consumed their inputs to the end (what
/// the audit's notification and event rows depend on), printing their lag every 10 s.
func waitForWorkersToCatchUp(client: KafkaClientConfiguration, logger: Logger, within limit: Duration) async throws {
    let admin = try KafkaAdmin(configuration: client, logger: logger)
    let lags = try KafkaGroupLagReader(client: client, logger: logger)
    let deadline = ContinuousClock.now + limit
    var lastReport = ContinuousClock.now
    for (group, topic) in [(TriageGroup.notifier, TriageTopic.notificationRequests), (TriageGroup.analytics, TriageTopic.incidentEvents)] {
        let partitions = try await admin.describeTopic(topic).partitions.map(\.id)
        while ContinuousClock.now < deadline {
            let lag = try? await lags.lag(group: group, topic: topic, partitions: partitions)
            if let lag, lag.hasStarted, lag.lag == 0 { break }
            if ContinuousClock.now - lastReport >= .seconds(10) {
                lastReport = .now
                print("settling: \(group) has \(lag.map { "\($0.lag)" } ?? "?") records of \(topic) to go")
                fflush(nil)
            }
            try await Task.sleep(for: .seconds(1))
        }
    }
    await lags.close()
}

/// Kills worker processes at random and starts them again; injects broker faults.
final class ChaosMonkey: Service, Sendable {
    struct Figures: Sendable {
        var kills = 0
        var faults = 0
    }

    let cluster: DevProcessCluster
    let brokers: Int
    let killInterval: Double
    let faults: Bool
    private let random: Mutex<SplitMix64>
    private let state = Mutex(Figures())

    init(cluster: DevProcessCluster, brokers: Int, killInterval: Double, faults: Bool, seed: UInt64) {
        self.cluster = cluster
        self.brokers = brokers
        self.killInterval = killInterval
        self.faults = faults
        random = Mutex(SplitMix64(seed: seed))
    }

    var figures: Figures { state.withLock { $0 } }

    private func roll(_ range: ClosedRange<Double>) -> Double { random.withLock { Double.random(in: range, using: &$0) } }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                if self.killInterval > 0 { group.addTask { await self.killLoop() } }
                if self.faults { group.addTask { await self.faultLoop() } }
                group.addTask { while !Task.isCancelled { try? await Task.sleep(for: .seconds(60)) } }  // until shutdown
            }
        }
    }

    private func killLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(roll(killInterval * 0.5...killInterval * 1.5)))
            if Task.isCancelled { return }
            let workers = cluster.workers.filter(\.process.isRunning)
            guard !workers.isEmpty else { continue }
            let victim = workers[random.withLock { Int.random(in: 0..<workers.count, using: &$0) }].name
            cluster.kill(victim)
            state.withLock { $0.kills += 1 }
            let pause = roll(1...3)
            Task {
                try? await Task.sleep(for: .seconds(pause))
                try? self.cluster.restart(victim)
            }
        }
    }

    private func faultLoop() async {
        var step = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(roll(6...12)))
            if Task.isCancelled { return }
            let broker = Int(roll(1...Double(brokers)).rounded(.down))
            switch step % 4 {
            case 0 where brokers > 1:
                // A broker off the network for a few seconds (leaders on it move, clients reconnect).
                cluster.injectFault("down \(broker)")
                try? await Task.sleep(for: .seconds(roll(2...5)))
                cluster.injectFault("up \(broker)")
            case 1:
                // Round-trip spike.
                cluster.injectFault("rtt \(broker) \(Int(roll(200...800)))")
                try? await Task.sleep(for: .seconds(roll(2...4)))
                cluster.injectFault("rtt \(broker) 0")
            case 2:
                // Retriable request errors: NOT_LEADER_FOR_PARTITION (6) on produce, REQUEST_TIMED_OUT (7) on fetch.
                cluster.injectFault("fail produce 6 3")
                cluster.injectFault("fail fetch 7 3")
            default:
                // Group coordination trouble: COORDINATOR_NOT_AVAILABLE (15) on heartbeats and commits.
                // (Not REBALANCE_IN_PROGRESS on heartbeats: the member then joins again while the
                // mock coordinator still holds its pending Join/SyncGroup response, and librdkafka
                // 2.0.2's mock aborts on `!member->resp` in rd_kafka_mock_cgrp_member_add — it took
                // the whole embedded cluster down in one full run. Real rebalances come from the kills.)
                cluster.injectFault("fail heartbeat 15 2")
                cluster.injectFault("fail offset-commit 15 2")
            }
            step += 1
            state.withLock { $0.faults += 1 }
        }
    }

    /// Every broker up without delay, every worker running.
    func heal() {
        if faults {
            for broker in 1...brokers {
                cluster.injectFault("up \(broker)")
                cluster.injectFault("rtt \(broker) 0")
            }
        }
        for child in cluster.workers where !child.process.isRunning { try? cluster.restart(child.name) }
    }
}

/// A small seeded generator (the schedule is reproducible from the printed seed).
struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A line every 10 s while the load runs.
struct ChaosReporter: Service {
    let cluster: DevProcessCluster
    let simulator: IncidentSimulator
    let monkey: ChaosMonkey
    let sink: DevWebhookSink

    func run() async throws {
        await reportPeriodically(every: 10) { elapsed in
            let up = cluster.workers.filter(\.process.isRunning).count
            let figures = monkey.figures
            print(
                "[\(elapsed)s] incidents opened \(simulator.opened), events delivered \(simulator.deliveredEvents.count) "
                    + "(failed \(simulator.failedEvents)), workers up \(up)/\(cluster.workers.count), kills \(figures.kills), faults \(figures.faults), "
                    + "webhooks \(sink.snapshot.received)"
            )
            fflush(nil)
        }
    }
}

/// Reads every topic after a chaos run and checks the invariants.
/// What `--result-json` writes: the verdict and every figure of the audit.
struct ChaosResultFile: Codable {
    var seed: UInt64
    var passed: Bool
    var failures: [String]
    var figures: ChaosAudit.Result
}

struct ChaosAudit {
    let client: KafkaClientConfiguration
    let capacities: [String: Int]
    let logger: Logger

    struct Result: Codable, Sendable {
        var published = 0
        var accounted = 0
        var deadLetteredEvents = 0
        var lost = 0
        /// A few of the lost event ids, for the failure message.
        var lostSample: [String] = []
        /// Acknowledged to the simulator's producer, yet never in the lifecycle topic: lost
        /// before any worker could see them (producer client or embedded broker under faults).
        var neverStored = 0
        var neverStoredSample: [String] = []
        var undelivered = 0
        var assignments = 0
        var reassignments = 0
        var capacityViolations: [String] = []
        var heldTwice: [String] = []
        var otherAssignmentViolations: [String] = []
        var escalations = 0
        var escalationProblems: [String] = []
        var notificationRequests = 0
        var delivered = 0
        var deadLettered = 0
        var notificationsOutstanding = 0
        var repeatedDeliveries = 0
        var kills = 0
        var faults = 0
        var workerExits: [String: Int32] = [:]
        /// The lifecycle history of a few incidents behind assignment violations.
        var histories: [String] = []

        var isSettled: Bool { lost == 0 && notificationsOutstanding == 0 }

        var failures: [String] {
            var failures: [String] = []
            if lost > 0 { failures.append("\(lost) events lost (e.g. \(lostSample.joined(separator: ", ")))") }
            if !capacityViolations.isEmpty { failures.append("capacity: \(capacityViolations.prefix(3).joined(separator: ", "))") }
            if !heldTwice.isEmpty { failures.append("held twice: \(heldTwice.prefix(3).joined(separator: ", "))") }
            if !otherAssignmentViolations.isEmpty {
                failures.append("assignments: \(otherAssignmentViolations.prefix(3).joined(separator: ", "))")
            }
            if !escalationProblems.isEmpty { failures.append("escalations: \(escalationProblems.prefix(3).joined(separator: ", "))") }
            if notificationsOutstanding > 0 {
                failures.append("\(notificationsOutstanding) notifications neither delivered nor dead-lettered")
            }
            let unclean = workerExits.filter { $0.value != 0 }
            if !unclean.isEmpty {
                failures.append(
                    "unclean exits: \(unclean.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
            }
            return failures
        }

        var passed: Bool { failures.isEmpty }

        func table(seed: UInt64, duration: Double, rate: Double, instances: Int, brokers: Int, partitions: Int) -> String {
            let exits = workerExits.values.filter { $0 == 0 }.count
            let rows: [(String, String, String)] = [
                ("lifecycle events published (acknowledged by the broker)", "\(published)", ""),
                (
                    "  acknowledged but never in the lifecycle topic (producer client / embedded broker; no worker saw them)",
                    "\(neverStored)", ""
                ),
                ("  accounted for (analytics feed, or dead-lettered with a reason)", "\(accounted)", "= published − never stored"),
                ("  of which dead-lettered", "\(deadLetteredEvents)", ""),
                ("  lost by the workers (in the lifecycle topic, not accounted for)", "\(lost)", "0"),
                ("  not accepted by the broker (the simulator saw the error)", "\(undelivered)", ""),
                ("assignments / reassignments audited", "\(assignments) / \(reassignments)", ""),
                ("assignments violating capacity", "\(capacityViolations.count)", "0"),
                ("incidents assigned twice", "\(heldTwice.count)", "0"),
                ("other assignment inconsistencies (a move from an agent not holding it)", "\(otherAssignmentViolations.count)", "0"),
                ("escalations (distinct, after dedupe by event id)", "\(escalations)", ""),
                ("breaches without exactly one escalation per level", "\(escalationProblems.count)", "0"),
                ("notification requests", "\(notificationRequests)", ""),
                ("  delivered / dead-lettered", "\(delivered) / \(deadLettered)", ""),
                ("  neither delivered nor dead-lettered", "\(notificationsOutstanding)", "0"),
                ("repeated deliveries (same Idempotency-Key as the first)", "\(repeatedDeliveries)", "any"),
                ("worker kills (SIGKILL) / broker faults", "\(kills) / \(faults)", ""),
                ("workers exiting 0 on SIGTERM at the end", "\(exits) of \(workerExits.count)", "all"),
            ]
            var text = """
                ### Chaos run — \(ISO8601DateFormatter().string(from: Date()))

                seed \(seed), \(Int(duration)) s of load at \(rate) incidents/s, \(instances) processes per worker kind, \(brokers) broker(s), \(partitions) partitions per topic

                | check | measured | must be |
                |---|---:|---:|

                """
            for (name, value, expected) in rows { text += "| \(name) | \(value) | \(expected) |\n" }
            text += "\n" + (passed ? "Result: every check passed.\n" : "Result: FAILED — \(failures.joined(separator: "; "))\n")
            if neverStored > 0 {
                text +=
                    "\nNote: \(neverStored) event(s) acknowledged to the simulator's producer were never stored: \(neverStoredSample.joined(separator: "; ")). "
                    + "See docs/reliability.md (librdkafka 2.0.2's idempotent producer under broker faults, or the mock broker).\n"
            }
            if !histories.isEmpty {
                text += "\nLifecycle of incidents behind assignment violations (partition order; offset, record time, producer, event):\n\n"
                text += histories.map { "```\n\($0)\n```\n" }.joined(separator: "\n")
            }
            return text
        }
    }

    func run(
        published: Set<String>, sink: DevWebhookSink.Figures, acknowledgement: (String) -> (partition: Int32, offset: Int64)? = { _ in nil }
    ) async throws -> Result {
        var result = Result()
        result.published = published.count
        let admin = try KafkaAdmin(configuration: client, logger: logger)

        // Lifecycle: analytics accounting, assignments, escalations.
        let lifecycle = try await read(TriageTopic.incidentEvents, admin: admin) { record -> (Date, Int32, Int64, IncidentEvent)? in
            guard let value = record.value, let event = try? IncidentEvent(serializedBytes: Array(value)) else { return nil }
            return (record.timestamp ?? .distantFuture, record.partition, record.offset, event)
        }
        let analyticsRecords = try await read(TriageTopic.analytics, admin: admin) { record -> (event: String, incident: String)? in
            guard let value = record.value, let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any],
                let event = object["event_id"] as? String
            else { return nil }
            return (event, object["incident_id"] as? String ?? "?")
        }
        let analyticsIDs = Set(analyticsRecords.map(\.event))
        // The dead-letter topic holds poison lifecycle events and notification requests: read
        // once, each record's value kept for both.
        let deadLetterValues = try await read(TriageTopic.deadLetter, admin: admin) { record -> [UInt8]? in record.value.map { Array($0) } }
        // A poison event goes to the dead-letter topic with its reason: accounted for, not lost.
        let deadLetteredEvents = Set(deadLetterValues.compactMap { try? IncidentEvent(serializedBytes: $0).eventID }).intersection(
            published)
        result.deadLetteredEvents = deadLetteredEvents.subtracting(analyticsIDs).count
        result.accounted = published.intersection(analyticsIDs.union(deadLetteredEvents)).count
        let inLifecycle = Set(lifecycle.map(\.3.eventID))
        let stored = published.intersection(inLifecycle)
        result.neverStored = published.count - stored.count
        result.lost = stored.count - result.accounted
        func describeMissing(_ id: String) -> String {
            let incident =
                lifecycle.first { $0.3.eventID == id }?.3.incidentID ?? id.split(separator: "-").dropLast().joined(separator: "-")
            let others = analyticsRecords.filter { $0.incident == incident }.map(\.event)
            // Where the broker said it stored the event, and what is there now: tells a broker
            // that dropped an acknowledged record from a wrong acknowledgement.
            var position = "acknowledged at an unknown position"
            if let (partition, offset) = acknowledgement(id) {
                let there =
                    lifecycle.first { $0.1 == partition && $0.2 == offset }.map { "\($0.3.eventID) (\($0.3.incidentID))" } ?? "nothing"
                let end = (lifecycle.filter { $0.1 == partition }.map(\.2).max() ?? -1) + 1
                position =
                    "acknowledged at partition \(partition) offset \(offset); that offset holds \(there); the partition ends at \(end)"
            }
            return "\(id) (in the lifecycle topic: \(inLifecycle.contains(id)); \(position); analytics records of its incident: \(others))"
        }
        result.lostSample = stored.subtracting(analyticsIDs).subtracting(deadLetteredEvents).sorted().prefix(5).map(describeMissing)
        result.neverStoredSample = published.subtracting(inLifecycle).sorted().prefix(5).map(describeMissing)

        var seen: Set<String> = []
        let ordered = AssignmentAuditor.causalOrder(
            lifecycle.filter { seen.insert($0.3.eventID).inserted }.map {
                AuditedEvent(timestamp: $0.0, partition: $0.1, offset: $0.2, event: $0.3)
            }
        )
        var audit = AssignmentAuditor(capacities: capacities)
        var levels: [String: Set<String>] = [:]  // incident|target|deadline|level → event ids
        for event in ordered.map(\.event) {
            audit.apply(event)
            if case .escalated(let escalated) = event.event {
                let breach = "\(event.incidentID)|\(escalated.target)|\(escalated.breachedDeadline.seconds)"
                levels["\(breach)|\(escalated.level)", default: []].insert(event.eventID)
            }
        }
        result.assignments = audit.assignedCount
        result.reassignments = audit.reassignedCount
        for violation in audit.violations {
            if violation.contains("above capacity") {
                result.capacityViolations.append(violation)
            } else if violation.contains("while held by") {
                result.heldTwice.append(violation)
            } else {
                result.otherAssignmentViolations.append(violation)
            }
        }
        // The history of a few incidents behind the violations, for whoever reads the report.
        result.histories = AssignmentAuditor.histories(
            of: audit.violations, in: lifecycle.map { AuditedEvent(timestamp: $0.0, partition: $0.1, offset: $0.2, event: $0.3) }
        )
        result.escalations = levels.values.reduce(0) { $0 + $1.count }
        for (key, ids) in levels.sorted(by: { $0.key < $1.key }) {
            if ids.count > 1 { result.escalationProblems.append("\(key) fired \(ids.count) times") }
            let parts = key.split(separator: "|", omittingEmptySubsequences: false)
            if let level = Int(parts.last ?? ""), level > 1 {
                let previous = parts.dropLast().joined(separator: "|") + "|\(level - 1)"
                if levels[previous] == nil { result.escalationProblems.append("\(key) without level \(level - 1)") }
            }
        }

        // Notifications: every request delivered (its own Idempotency-Key reached the receiver) or dead-lettered.
        let requests = Set(
            try await read(TriageTopic.notificationRequests, admin: admin) { record -> String? in
                guard let value = record.value, let request = try? NotificationRequest(serializedBytes: Array(value)) else { return nil }
                return request.idempotencyKey.isEmpty ? nil : request.idempotencyKey
            })
        let deadLetters = Set(deadLetterValues.compactMap { try? NotificationRequest(serializedBytes: $0).idempotencyKey }).intersection(
            requests)
        let delivered = Set(sink.keys.keys).intersection(requests)
        result.notificationRequests = requests.count
        result.delivered = delivered.count
        result.deadLettered = deadLetters.subtracting(delivered).count
        result.notificationsOutstanding = requests.subtracting(delivered).subtracting(deadLetters).count
        result.repeatedDeliveries = sink.keys.values.reduce(0) { $0 + max(0, $1 - 1) }
        return result
    }

    private func read<T: Sendable>(_ topic: String, admin: KafkaAdmin, _ transform: @escaping @Sendable (borrowing KafkaRecordView) -> T?)
        async throws -> [T]
    {
        try await readWholeTopic(topic, admin: admin, client: client, logger: logger, transform)
    }
}

/// Every record of `topic` now, mapped by `transform` (outside any group): what the chaos and
/// interop audits read.
func readWholeTopic<T: Sendable>(
    _ topic: String, admin: KafkaAdmin, client: KafkaClientConfiguration, logger: Logger,
    _ transform: @escaping @Sendable (borrowing KafkaRecordView) -> T?
) async throws -> [T] {
    let partitions = try await admin.describeTopic(topic).partitions.map(\.id)
    let sink = Mutex<[T]>([])
    _ = try await KafkaPartitionReader.readToEnd(topic: topic, partitions: partitions, client: client, logger: logger) { record in
        if let value = transform(record) { sink.withLock { $0.append(value) } }
    }
    return sink.withLock { $0 }
}
