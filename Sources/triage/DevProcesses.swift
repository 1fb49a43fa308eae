import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import Logging
import ServiceLifecycle
import Synchronization
import TriageRouting
import TriageSLA
import TriageSchema

/// `triage dev --processes`: the broker and every worker as separate processes on this machine
/// (two escalators and two routers, to show the partitions being split), the same way they run
/// in production. The dev process itself keeps the simulator, the demo portal, the webhook
/// receiver and the dashboard.
final class DevProcessCluster: Sendable {
    struct Child: Sendable {
        let name: String
        let process: ProcessBox
        let opsPort: Int
        let log: String
        /// What it was started with, to start it again (`triage chaos`).
        let arguments: [String]
        let environment: [String: String]
    }

    /// `Process` is not Sendable; it is only touched through its thread-safe members here.
    final class ProcessBox: @unchecked Sendable {
        let process: Process
        init(_ process: Process) { self.process = process }
    }

    let folder: String
    let bootstrap: String
    private let broker: ProcessBox
    private let children: Mutex<[Child]>
    /// The broker's standard input with `faultCommands`.
    private let faults: FileHandle?

    /// Starts `triage broker` with every Triage topic and waits for its address. With
    /// `faultCommands` the broker takes fault commands (``injectFault(_:)``).
    init(brokers: Int, partitions: Int, faultCommands: Bool = false) async throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("triage-dev-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let portFile = folder + "/broker.address"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        process.arguments = ["broker", "--brokers", "\(brokers)", "--port-file", portFile, "--log-level", "warning"]
            + TriageTopic.all.flatMap { ["--topic", "\($0):\(partitions):\(min(3, brokers))"] } + (faultCommands ? ["--fault-commands", "--log-level", "info"] : [])
        let input = Pipe()
        if faultCommands { process.standardInput = input }
        faults = faultCommands ? input.fileHandleForWriting : nil
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = try Self.logHandle(folder + "/broker.log")
        process.environment = ProcessInfo.processInfo.environment.merging([exitWithParentVariable: "\(getpid())"]) { $1 }
        try process.run()
        broker = ProcessBox(process)
        children = Mutex([])
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
    func start(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let child = try launch(name, arguments, environment: environment, opsPort: try Self.freePort(), log: "\(folder)/\(name).log", append: false)
        children.withLock { $0.append(child) }
    }

    private func launch(_ name: String, _ arguments: [String], environment: [String: String], opsPort: Int, log: String, append: Bool) throws -> Child {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        process.arguments = arguments + ["--bootstrap", bootstrap, "--ops-port", "\(opsPort)", "--log-level", "warning"]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }.merging([exitWithParentVariable: "\(getpid())"]) { $1 }
        let handle = try Self.logHandle(log, append: append)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return Child(name: name, process: ProcessBox(process), opsPort: opsPort, log: log, arguments: arguments, environment: environment)
    }

    /// SIGKILLs worker `name` (no chance to commit or leave its group) and waits for it to die.
    func kill(_ name: String) {
        guard let child = workers.first(where: { $0.name == name }), child.process.process.isRunning else { return }
        Foundation.kill(child.process.process.processIdentifier, SIGKILL)
        child.process.process.waitUntilExit()
    }

    /// Starts worker `name` again with its arguments, ops port and log (appended to).
    func restart(_ name: String) throws {
        guard let old = workers.first(where: { $0.name == name }), !old.process.process.isRunning else { return }
        let child = try launch(name, old.arguments, environment: old.environment, opsPort: old.opsPort, log: old.log, append: true)
        children.withLock { children in
            if let index = children.firstIndex(where: { $0.name == name }) { children[index] = child }
        }
    }

    /// Sends one fault command to the broker (see `triage broker --help`).
    func injectFault(_ command: String) {
        // A broker that exited closed its end: the run notices through ``brokerExit``.
        try? faults?.write(contentsOf: Data((command + "\n").utf8))
    }

    /// The broker's exit status once it has exited (it should run until ``stop()``).
    var brokerExit: Int32? { broker.process.isRunning ? nil : broker.process.terminationStatus }

    var workers: [Child] { children.withLock { $0 } }

    /// One line per worker: alive or its exit status, and what its `/metrics` says it processed.
    func statusLine() async -> String {
        var parts: [String] = []
        for child in workers {
            let state: String
            if child.process.process.isRunning {
                let processed = await Self.processed(port: child.opsPort).map { " \($0)" } ?? ""
                state = "up\(processed)"
            } else {
                state = "exited \(child.process.process.terminationStatus) (see \(child.log))"
            }
            parts.append("\(child.name) \(state)")
        }
        return parts.joined(separator: "  ")
    }

    /// SIGTERM to every worker (they finish in-flight work, commit and leave their groups), then
    /// the broker. Returns the workers' exit statuses.
    func stop(timeout: Duration = .seconds(45)) async -> [String: Int32] {
        let all = workers
        for child in all where child.process.process.isRunning { child.process.process.terminate() }
        let deadline = ContinuousClock.now + timeout
        while all.contains(where: { $0.process.process.isRunning }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(100))
        }
        var statuses: [String: Int32] = [:]
        for child in all {
            if child.process.process.isRunning {
                Foundation.kill(child.process.process.processIdentifier, SIGKILL)
                child.process.process.waitUntilExit()
                statuses[child.name] = -9
            } else {
                statuses[child.name] = child.process.process.terminationStatus
            }
        }
        // The embedded broker's threads ignore SIGTERM once clients are gone; it holds no state
        // worth flushing, so it is killed.
        Foundation.kill(broker.process.processIdentifier, SIGKILL)
        broker.process.waitUntilExit()
        return statuses
    }

    /// `triage_events_processed_total` summed over a worker's `/metrics`.
    static func processed(port: Int) async -> Int? {
        guard let url = URL(string: "http://127.0.0.1:\(port)/metrics"), let (data, _) = try? await URLSession.shared.data(from: url) else { return nil }
        var total = 0.0
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix("triage_events_processed_total{") {
            total += line.split(separator: " ").last.flatMap { Double($0) } ?? 0
        }
        return Int(total)
    }

    private static func logHandle(_ path: String, append: Bool = false) throws -> FileHandle {
        if !append || !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw DevProcessError("cannot write \(path)") }
        if append { handle.seekToEndOfFile() }
        return handle
    }

    /// A port nobody listens on right now (bound and released; fine for a local demo).
    static func freePort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw DevProcessError("no socket for a free port") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw DevProcessError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

struct DevProcessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The YAML files the worker processes of `triage dev --processes` read.
enum DevProcessFiles {
    static func roster(_ roster: Roster) -> String {
        var text = "agents:\n"
        for agent in roster.agents {
            let presence = roster.initialPresence[agent.id].map { ", presence: \($0 == .online ? "online" : $0 == .away ? "away" : "offline")" } ?? ""
            text += "  - { id: \(agent.id), team: \(agent.team), products: [\(agent.skills.sorted().joined(separator: ", "))], "
                + "languages: [\(agent.languages.sorted().joined(separator: ", "))], capacity: \(agent.capacity)\(presence) }\n"
        }
        return text
    }

    /// Every recipient the SLA policy names → one signed webhook endpoint (the dev receiver).
    static func notificationRules(policy: SlaPolicy, port: Int) -> String {
        let names = Set(policy.warningNotify + policy.escalation.flatMap(\.notify) + ["assigned-agent"]).sorted()
        var text = """
            endpoints:
              dev-webhooks:
                channel: webhook
                url: http://127.0.0.1:\(port)/hooks/all
                secret_env: TRIAGE_DEV_WEBHOOK_KEY
            recipients:

            """
        for name in names { text += "  \(name):\n    endpoints: [dev-webhooks]\n" }
        return text
    }

    static func tenants(token: String) -> String {
        "tenants:\n  - name: dev-portal\n    token_env: TRIAGE_DEV_TOKEN\n    accounts: [acct-contract, acct-pack]\n"
    }
}
