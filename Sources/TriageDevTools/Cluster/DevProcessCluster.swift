import Foundation
import Synchronization
public import TriageChildProcess
import TriageKafka
import TriageSchema

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `triage dev --processes`: the broker and every worker as separate processes on this machine
/// (two escalators and two routers, to show the partitions being split), the same way they run
/// in production. The dev process itself keeps the simulator, the demo portal, the webhook
/// receiver and the dashboard. The children die with it: workers get SIGTERM (they stop
/// gracefully) and the broker SIGKILL the moment the dev process ends, however it ends
/// (PR_SET_PDEATHSIG, see `ChildProcess`; `TRIAGE_EXIT_WITH_PARENT` is the fallback).
public final class DevProcessCluster: Sendable {
    /// One worker process of the cluster.
    public struct Child: Sendable {
        public let name: String
        public let process: ChildProcess
        public let opsPort: Int
        public let log: String
        /// What it was started with, to start it again (`triage chaos`).
        public let arguments: [String]
        public let environment: [String: String]
    }

    public let folder: String
    public let bootstrap: String
    /// `nil`: an external cluster (``init(external:environment:)``).
    private let broker: ChildProcess?
    private let children: Mutex<[Child]>
    /// The broker's standard input with `faultCommands`.
    private let faults: FileHandle?
    /// Added to every child's environment (an external cluster's `TRIAGE_KAFKA_*` properties:
    /// kept off command lines, which `ps` shows).
    public let childEnvironment: [String: String]

    /// Workers on an external cluster (`triage interop`): no broker process; the workers keep
    /// Kafka's fetch defaults and get `environment` (e.g. `TRIAGE_KAFKA_SASL_PASSWORD`).
    public init(external bootstrap: String, environment: [String: String]) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("triage-interop-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        self.bootstrap = bootstrap
        broker = nil
        faults = nil
        children = Mutex([])
        childEnvironment = environment
    }

    /// Whether the cluster is the embedded broker this object started.
    public var isEmbedded: Bool { broker != nil }

    /// Starts `triage broker` with every Triage topic and waits for its address. With
    /// `faultCommands` the broker takes fault commands (``injectFault(_:)``).
    public init(brokers: Int, partitions: Int, faultCommands: Bool = false) async throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("triage-dev-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let portFile = folder + "/broker.address"
        let log = folder + "/broker.log"
        let process = try ChildProcess(
            executable: Self.executable,
            arguments: ["broker", "--brokers", "\(brokers)", "--port-file", portFile, "--log-level", "warning"]
                + TriageTopic.all.flatMap { ["--topic", "\($0):\(partitions):\(min(3, brokers))"] }
                + (faultCommands ? ["--fault-commands", "--log-level", "info"] : []),
            environment: ProcessInfo.processInfo.environment.merging([TriageProcessEnvironment.exitWithParent: "\(getpid())"]) { $1 },
            standardInput: faultCommands ? .pipe : .nullDevice, standardOutput: .nullDevice, standardError: .file(log, append: false)
        )
        faults = process.standardInput
        broker = process
        children = Mutex([])
        childEnvironment = [:]
        let deadline = ContinuousClock.now + .seconds(30)
        while !FileManager.default.fileExists(atPath: portFile) {
            guard ContinuousClock.now < deadline, process.isRunning else {
                throw DevProcessError("triage broker did not start; see \(folder)/broker.log")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        bootstrap = try String(contentsOfFile: portFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Starts one worker process (`triage ARGUMENTS --bootstrap … --ops-port N`).
    public func start(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let child = try launch(
            name, arguments, environment: environment, opsPort: try Self.freePort(), log: "\(folder)/\(name).log", append: false)
        children.withLock { $0.append(child) }
    }

    private func launch(_ name: String, _ arguments: [String], environment: [String: String], opsPort: Int, log: String, append: Bool)
        throws -> Child
    {
        if !append || !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        // Children of the embedded broker get its fetch tuning (EmbeddedKafka.mockFetchWait);
        // on a real cluster they keep Kafka's defaults.
        var fixed = [TriageProcessEnvironment.exitWithParent: "\(getpid())"]
        if isEmbedded { fixed[TriageProcessEnvironment.fetchWait] = "\(Int(EmbeddedKafka.mockFetchWait / .milliseconds(1)))" }
        let process = try ChildProcess(
            executable: Self.executable,
            arguments: arguments + [
                "--bootstrap", bootstrap, "--ops-port", "\(opsPort)", "--ops-host", "127.0.0.1", "--log-level", "warning",
            ],
            environment: ProcessInfo.processInfo.environment.merging(childEnvironment) { $1 }.merging(environment) { $1 }.merging(fixed) {
                $1
            },
            standardOutput: .file(log, append: true), standardError: .standardOutput,
            deathSignal: SIGTERM
        )
        return Child(name: name, process: process, opsPort: opsPort, log: log, arguments: arguments, environment: environment)
    }

    /// This very executable (the children are `triage` commands too).
    public static var executable: String { URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path }

    /// SIGKILLs worker `name` (no chance to commit or leave its group) and waits for it to die.
    public func kill(_ name: String) {
        guard let child = workers.first(where: { $0.name == name }), child.process.isRunning else { return }
        child.process.send(SIGKILL)
        child.process.waitUntilExit()  // SIGKILL cannot be caught: milliseconds
    }

    /// Starts worker `name` again with its arguments and log (appended to), on a fresh ops port:
    /// while it was down, its old one may have been taken (a chaos run saw that).
    public func restart(_ name: String) throws {
        guard let old = workers.first(where: { $0.name == name }), !old.process.isRunning else { return }
        let child = try launch(name, old.arguments, environment: old.environment, opsPort: try Self.freePort(), log: old.log, append: true)
        children.withLock { children in
            if let index = children.firstIndex(where: { $0.name == name }) { children[index] = child }
        }
    }

    /// SIGTERM to worker `name` alone; waits (up to `timeout`, then SIGKILL) and returns its exit status.
    public func stopWorker(_ name: String, timeout: Duration = .seconds(45)) async -> Int32? {
        guard let child = workers.first(where: { $0.name == name }) else { return nil }
        return await Self.terminate([child], timeout: timeout)[name]
    }

    /// Sends one fault command to the broker (see `triage broker --help`).
    public func injectFault(_ command: String) {
        // A broker that exited closed its end: the run notices through ``brokerExit``.
        try? faults?.write(contentsOf: Data((command + "\n").utf8))
    }

    /// The broker's exit status once it has exited (it should run until ``stop()``).
    public var brokerExit: Int32? { broker?.termination?.status }

    public var workers: [Child] { children.withLock { $0 } }

    /// One line per worker: alive or its exit status, and what its `/metrics` says it processed.
    public func statusLine() async -> String {
        var parts: [String] = []
        for child in workers {
            let state: String
            if let termination = child.process.termination {
                state = "exited \(termination.status) (see \(child.log))"
            } else {
                let processed = await Self.processed(port: child.opsPort).map { " \($0)" } ?? ""
                state = "up\(processed)"
            }
            parts.append("\(child.name) \(state)")
        }
        return parts.joined(separator: "  ")
    }

    /// SIGTERM to every worker (they finish in-flight work, commit and leave their groups), then
    /// the broker. Returns the workers' exit statuses.
    public func stop(timeout: Duration = .seconds(45)) async -> [String: Int32] {
        let statuses = await Self.terminate(workers, timeout: timeout)
        // The embedded broker's threads ignore SIGTERM once clients are gone; it holds no state
        // worth flushing, so it is killed.
        if let broker {
            broker.send(SIGKILL)
            _ = await broker.terminated()
        }
        return statuses
    }

    /// SIGTERM to `children`, SIGKILL to those still running after `timeout`; their exit
    /// statuses by name (-9: had to be killed).
    private static func terminate(_ children: [Child], timeout: Duration) async -> [String: Int32] {
        for child in children { child.process.send(SIGTERM) }
        let deadline = ContinuousClock.now + timeout
        while children.contains(where: { $0.process.isRunning }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(100))
        }
        var statuses: [String: Int32] = [:]
        for child in children {
            if child.process.isRunning {
                child.process.send(SIGKILL)
                _ = await child.process.terminated()
                statuses[child.name] = -9
            } else {
                statuses[child.name] = child.process.termination?.status
            }
        }
        return statuses
    }

    /// `triage_events_processed_total` summed over a worker's `/metrics`.
    public static func processed(port: Int) async -> Int? {
        guard let url = URL(string: "http://127.0.0.1:\(port)/metrics"), let (data, _) = try? await URLSession.shared.data(from: url) else {
            return nil
        }
        var total = 0.0
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix("triage_events_processed_total{") {
            total += line.split(separator: " ").last.flatMap { Double($0) } ?? 0
        }
        return Int(total)
    }

    /// A loopback port nobody listens on now, below Linux's ephemeral range (32768–60999): a
    /// port the kernel hands out for `bind(0)` is also what it picks as the local port of
    /// outgoing connections (every worker's broker connections), which can take it before the
    /// child binds it ("already in use (--ops-port)" in a chaos run). Never the same port twice in
    /// one process: two workers started together would otherwise both find a port free that
    /// neither has bound yet (an interop run's router lost its ops port that way).
    public static func freePort() throws -> Int {
        for _ in 0..<64 {
            let candidate = Int.random(in: 20_000..<32_768)
            guard handedOut.withLock({ $0.insert(candidate).inserted }) else { continue }
            if (try? bound(candidate)) != nil { return candidate }
        }
        let port = try bound(0)
        handedOut.withLock { _ = $0.insert(port) }
        return port
    }
    private static let handedOut = Mutex<Set<Int>>([])

    private static func bound(_ port: Int) throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw DevProcessError("no socket for a free port") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw DevProcessError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
