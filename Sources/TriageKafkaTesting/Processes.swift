public import Foundation

/// Runs `executable` with `arguments`, feeding `input`; returns (status, stdout, stderr).
public func runProcess(_ executable: String, _ arguments: [String], input: String? = nil, timeout: Duration = .seconds(30)) async throws -> (Int32, String, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe()
    let errors = Pipe()
    let stdin = Pipe()
    process.standardOutput = output
    process.standardError = errors
    process.standardInput = stdin
    try process.run()
    defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try stdin.fileHandleForWriting.close()
    // Blocking reads run on GCD threads: blocking the cooperative pool (two threads on a
    // two-core CI machine) would stall every other test while the process runs.
    async let outputData = readToEnd(output.fileHandleForReading)
    async let errorData = readToEnd(errors.fileHandleForReading)
    try await eventually("\(executable) exits", timeout: timeout) { !process.isRunning }
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: await outputData, as: UTF8.self), String(decoding: await errorData, as: UTF8.self))
}

/// Reads a pipe to its end on a GCD thread, not on the cooperative pool.
public func readToEnd(_ handle: FileHandle) async -> Data {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: handle.readDataToEndOfFile()) }
    }
}

/// The `triage` executable built next to this test bundle.
public var triageExecutable: String {
    let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("triage").path
    if FileManager.default.isExecutableFile(atPath: besideTests) { return besideTests }
    return FileManager.default.currentDirectoryPath + "/.build/debug/triage"
}

/// A `triage broker` child process, stopped with SIGTERM.
public final class BrokerProcess: @unchecked Sendable {
    public let process = Process()
    public let bootstrap: String

    public init(arguments: [String]) async throws {
        let portFile = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("broker-port")).path
        process.executableURL = URL(fileURLWithPath: triageExecutable)
        process.arguments = ["broker", "--port-file", portFile, "--log-level", "warning"] + arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        try await eventually("the broker writes its port file") { FileManager.default.fileExists(atPath: portFile) }
        bootstrap = try String(contentsOfFile: portFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try? FileManager.default.removeItem(atPath: portFile)
    }

    deinit {
        // A failed test must not leave a broker running.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    public func stop() async throws -> Int32 {
        process.terminate()  // SIGTERM
        try await eventually("the broker exits on SIGTERM") { !self.process.isRunning }
        process.waitUntilExit()
        return process.terminationStatus
    }
}


/// A `triage` child process (a worker) with its output captured to a file, stopped with
/// SIGTERM or killed with SIGKILL.
public final class TriageProcess: @unchecked Sendable {
    public let process = Process()
    public let logFile: String

    public init(_ arguments: [String], environment: [String: String] = [:]) throws {
        logFile = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("triage-log")).path
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        process.executableURL = URL(fileURLWithPath: triageExecutable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Everything the process wrote so far.
    public var output: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    /// SIGKILL: no shutdown, no commit, no flush.
    public func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then waits for the exit status.
    public func stop(timeout: Duration = .seconds(30)) async throws -> Int32 {
        process.terminate()
        try await eventually("triage \(process.arguments?.first ?? "") exits on SIGTERM", timeout: timeout) { !self.process.isRunning }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// The repository's root (for scripts and example files), from this source file's location.
public let repositoryRoot: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// A real SMTP server on loopback (`scripts/smtp-sink.py`, aiosmtpd from PyPI) that writes every
/// accepted message to a directory. Stopped by closing its stdin (or SIGKILL on deinit).
public final class SMTPSinkProcess: @unchecked Sendable {
    public let process = Process()
    public let directory: String
    public let port: Int
    private let stdin = Pipe()

    /// Whether python3 can import aiosmtpd (`pip install aiosmtpd`; `make test` installs it).
    public static var isAvailable: Bool {
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = ["python3", "-c", "import aiosmtpd"]
        check.standardOutput = FileHandle.nullDevice
        check.standardError = FileHandle.nullDevice
        guard (try? check.run()) != nil else { return false }
        check.waitUntilExit()
        return check.terminationStatus == 0
    }

    public init(rejectFirst: Int = 0, extraArguments: [String] = []) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("smtp-sink")).path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", repositoryRoot + "/scripts/smtp-sink.py", directory, "--reject-first", String(rejectFirst)] + extraArguments
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = stdin
        try process.run()
        let reading = output.fileHandleForReading
        let line: String = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var data = Data()
                while !data.contains(UInt8(ascii: "\n")) {
                    let chunk = reading.availableData
                    if chunk.isEmpty { break }
                    data.append(chunk)
                }
                continuation.resume(returning: String(decoding: data, as: UTF8.self))
            }
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

    public func stop() {
        try? stdin.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
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
