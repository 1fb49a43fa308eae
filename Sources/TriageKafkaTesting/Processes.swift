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
