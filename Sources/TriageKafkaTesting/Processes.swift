public import Foundation
public import TriageChildProcess
import TriageKafka

// Every process a test starts is a `ChildProcess`: it dies with the test process (SIGKILL through
// PR_SET_PDEATHSIG), so a test run that crashes or is killed leaves no broker or worker behind
// holding `swift test`'s output pipes open.

/// Runs `executable` with `arguments`, feeding `input`; returns (status, stdout, stderr). The
/// status is the exit code, or the signal's number if a signal ended it. Killed after `timeout`.
public func runProcess(_ executable: String, _ arguments: [String], input: String? = nil, timeout: Duration = .seconds(30)) async throws
    -> (Int32, String, String)
{
    let process = try ChildProcess(
        executable: executable, arguments: arguments,
        environment: ProcessInfo.processInfo.environment.merging(mockBrokerEnvironment) { $1 },
        standardInput: .pipe, standardOutput: .pipe, standardError: .pipe
    )
    defer { process.send(SIGKILL) }
    // Written on a thread of its own: a large input fills the pipe until the child reads.
    let stdin = process.standardInput!
    let written = Thread {
        if let input { try? stdin.write(contentsOf: Data(input.utf8)) }
        try? stdin.close()
    }
    written.start()
    async let outputData = ChildProcess.readToEnd(process.standardOutput!)
    async let errorData = ChildProcess.readToEnd(process.standardError!)
    do {
        try await eventually("\(executable) exits", timeout: timeout) { !process.isRunning }
    } catch {
        // Kill it now: the `async let` reads above are awaited before `defer` runs, and they end
        // only when the process closes its pipes, so a hung process would hang the test too.
        process.send(SIGKILL)
        throw error
    }
    let termination = await process.terminated()
    return (termination.status, String(decoding: await outputData, as: UTF8.self), String(decoding: await errorData, as: UTF8.self))
}

/// Reads a pipe to its end on a thread of its own, not on the cooperative pool.
public func readToEnd(_ handle: FileHandle) async -> Data {
    await ChildProcess.readToEnd(handle)
}

/// The `triage` executable built next to this test bundle.
public var triageExecutable: String {
    let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("triage").path
    if FileManager.default.isExecutableFile(atPath: besideTests) { return besideTests }
    return FileManager.default.currentDirectoryPath + "/.build/debug/triage"
}

/// A `triage broker` child process, stopped with SIGTERM.
public final class BrokerProcess: Sendable {
    public let process: ChildProcess
    public let bootstrap: String

    public init(arguments: [String]) async throws {
        let portFile = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("broker-port")).path
        process = try ChildProcess(
            executable: triageExecutable, arguments: ["broker", "--port-file", portFile, "--log-level", "warning"] + arguments,
            standardOutput: .nullDevice
        )
        let process = self.process
        try await eventually("the broker writes its port file") {
            guard process.isRunning else {
                throw ChildProcessError("triage broker ended (\(process.termination!)) before it wrote its port file")
            }
            return FileManager.default.fileExists(atPath: portFile)
        }
        bootstrap = try String(contentsOfFile: portFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try? FileManager.default.removeItem(atPath: portFile)
    }

    deinit {
        // A failed test must not leave a broker running.
        process.send(SIGKILL)
    }

    public func stop() async throws -> Int32 {
        process.send(SIGTERM)
        let process = self.process
        try await eventually("the broker exits on SIGTERM") { !process.isRunning }
        return await process.terminated().status
    }
}

/// What every `triage` process a test starts gets: the tests' brokers are embedded (mock) brokers,
/// so the workers use the mock's fetch tuning, as under `triage dev` (`TRIAGE_FETCH_WAIT_MS`).
public let mockBrokerEnvironment = ["TRIAGE_FETCH_WAIT_MS": "\(Int(EmbeddedKafka.mockFetchWait / .milliseconds(1)))"]

/// A `triage` child process (a worker) with its output captured to a file, stopped with
/// SIGTERM or killed with SIGKILL.
public final class TriageProcess: Sendable {
    public let process: ChildProcess
    public let logFile: String

    public init(_ arguments: [String], environment: [String: String] = [:]) throws {
        logFile = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("triage-log")).path
        process = try ChildProcess(
            executable: triageExecutable, arguments: arguments,
            environment: ProcessInfo.processInfo.environment.merging(mockBrokerEnvironment) { $1 }.merging(environment) { $1 },
            standardOutput: .file(logFile, append: false), standardError: .standardOutput
        )
    }

    deinit {
        process.send(SIGKILL)
    }

    /// Everything the process wrote so far.
    public var output: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    /// SIGKILL: no shutdown, no commit, no flush.
    public func kill9() {
        process.send(SIGKILL)
        process.waitUntilExit()  // SIGKILL cannot be caught: milliseconds
    }

    /// SIGTERM, then waits for the exit status.
    public func stop(timeout: Duration = .seconds(30)) async throws -> Int32 {
        process.send(SIGTERM)
        let process = self.process
        try await eventually("triage \(process.arguments.first ?? "") exits on SIGTERM", timeout: timeout) { !process.isRunning }
        return await process.terminated().status
    }
}

/// The repository's root (for scripts and example files), from this source file's location.
public let repositoryRoot: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// A real SMTP server on loopback (`scripts/smtp-sink.py`, aiosmtpd from PyPI) that writes every
/// accepted message to a directory. Stopped by closing its stdin (or SIGKILL on deinit).
public final class SMTPSinkProcess: Sendable {
    public let process: ChildProcess
    public let directory: String
    public let port: Int

    /// Whether python3 can import aiosmtpd (`pip install aiosmtpd`; `make test` installs it).
    public static var isAvailable: Bool {
        guard
            let check = try? ChildProcess(
                executable: "/usr/bin/env", arguments: ["python3", "-c", "import aiosmtpd"], standardOutput: .nullDevice,
                standardError: .nullDevice
            )
        else { return false }
        return check.waitUntilExit() == .exited(0)
    }

    public init(rejectFirst: Int = 0, extraArguments: [String] = []) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("smtp-sink")).path
        process = try ChildProcess(
            executable: "/usr/bin/env",
            arguments: ["python3", repositoryRoot + "/scripts/smtp-sink.py", directory, "--reject-first", String(rejectFirst)]
                + extraArguments,
            standardInput: .pipe, standardOutput: .pipe
        )
        let reading = process.standardOutput!
        let line: String = await withCheckedContinuation { continuation in
            Thread {
                var data = Data()
                while !data.contains(UInt8(ascii: "\n")) {
                    let chunk = reading.availableData
                    if chunk.isEmpty { break }
                    data.append(chunk)
                }
                continuation.resume(returning: String(decoding: data, as: UTF8.self))
            }.start()
        }
        guard let port = line.split(separator: " ").last.flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "smtp-sink did not start: '\(line)'"])
        }
        self.port = port
    }

    /// The raw messages received so far, in order of arrival.
    public var messages: [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".eml") }
        return names.sorted { Int($0.dropLast(4)) ?? 0 < Int($1.dropLast(4)) ?? 0 }
            .compactMap { try? String(contentsOfFile: directory + "/" + $0, encoding: .utf8) }
    }

    /// Closes its stdin and waits for it to exit (it does at once; synchronous for `defer`).
    public func stop() {
        try? process.standardInput?.close()
        process.waitUntilExit()
    }

    deinit {
        process.send(SIGKILL)
    }
}

/// A TCP port on 127.0.0.1 nobody listens on right now (for a server a test starts as a process).
public func freeLoopbackPort() throws -> Int {
    let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
    }
    guard bound else { throw POSIXError(.EADDRNOTAVAIL) }
    return Int(UInt16(bigEndian: address.sin_port))
}
