internal import CChildProcess
public import Foundation
import Synchronization

/// A program started as a child process that dies with this process.
///
/// Every child gets `PR_SET_PDEATHSIG` before it execs (SIGKILL unless ``init(executable:arguments:environment:directory:standardInput:standardOutput:standardError:deathSignal:)``
/// says otherwise), so a parent that crashes or is SIGKILLed leaves no brokers or workers behind
/// holding its output pipes open. Linux sends that signal when the *thread* that forked the child
/// ends, not the process; so every child is forked by one thread that lives as long as the process
/// (``Spawner``), never by a thread of the cooperative pool or of GCD, which come and go.
///
/// Replaces Foundation's `Process`, whose concurrent launches crashed once inside `Process.run()`
/// (swift-corelibs-foundation) and which has no way to set a death signal. (swift-subprocess 1.0.2
/// has none either, and scopes a child's life to a closure; tests keep brokers across calls.)
public final class ChildProcess: Sendable {
    /// Where the child's standard input comes from.
    public enum Input: Sendable {
        /// `/dev/null` (the default).
        case nullDevice
        /// A pipe; write to ``standardInput`` and close it for end-of-file.
        case pipe
        /// This process's standard input.
        case inherit
    }

    /// Where the child's standard output or error goes.
    public enum Output: Sendable {
        case nullDevice
        /// A pipe; read ``standardOutput`` / ``standardError``.
        case pipe
        /// A file, created if missing; truncated unless `append`.
        case file(String, append: Bool)
        /// This process's own descriptor (the default).
        case inherit
        /// (Standard error only.) Wherever standard output goes, through the same descriptor:
        /// one file with both in the order written.
        case standardOutput
    }

    /// How the child ended.
    public enum Termination: Sendable, Hashable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        /// The exit code, or the signal's number for a child a signal ended (like Foundation's
        /// `Process.terminationStatus`).
        public var status: Int32 {
            switch self {
            case .exited(let code): code
            case .signalled(let signal): signal
            }
        }

        public var description: String {
            switch self {
            case .exited(let code): "exit \(code)"
            case .signalled(let signal): "signal \(signal)"
            }
        }
    }

    public let executable: String
    public let arguments: [String]
    public let processIdentifier: Int32
    /// The write end of the child's standard input with ``Input/pipe``.
    public let standardInput: FileHandle?
    /// The read end of the child's standard output with ``Output/pipe``.
    public let standardOutput: FileHandle?
    /// The read end of the child's standard error with ``Output/pipe``.
    public let standardError: FileHandle?

    private struct State {
        var termination: ChildProcess.Termination?
        var waiters: [CheckedContinuation<ChildProcess.Termination, Never>] = []
    }
    private let state = Mutex(State())
    private let exited = DispatchSemaphore(value: 0)

    /// Starts `executable` (a path, or a name looked up in `PATH`) with `arguments`.
    ///
    /// - Parameters:
    ///   - environment: the child's whole environment; `nil` (the default): this process's.
    ///   - directory: the working directory; `nil` (the default): this process's.
    ///   - deathSignal: what the child gets when this process ends (default SIGKILL; SIGTERM
    ///     lets a worker shut down gracefully; 0: nothing, the child outlives its parent).
    ///
    /// Returns once the program runs (a fork and an exec, milliseconds, on the spawner thread);
    /// throws ``ChildProcessError`` when it cannot be started.
    public init(
        executable: String,
        arguments: [String] = [],
        environment: [String: String]? = nil,
        directory: String? = nil,
        standardInput: Input = .nullDevice,
        standardOutput: Output = .inherit,
        standardError: Output = .inherit,
        deathSignal: Int32 = SIGKILL
    ) throws(ChildProcessError) {
        let path = try Self.resolve(executable)
        self.executable = path
        self.arguments = arguments
        var opened: [Int32] = []  // descriptors of ours the child gets; closed here once it has them
        var kept: [Int32] = []  // our ends of pipes
        func closeAll(_ fds: [Int32]) { for fd in fds { close(fd) } }

        do throws(ChildProcessError) {
            let input = try Self.descriptors(for: standardInput)
            let output = try Self.descriptors(for: standardOutput)
            let error =
                if case .standardOutput = standardError {
                    Descriptors(child: output.child ?? 1, closeChildEnd: false, ours: nil)
                } else {
                    try Self.descriptors(for: standardError)
                }
            for pair in [input, output, error] {
                if let child = pair.child, pair.closeChildEnd { opened.append(child) }
                if let ours = pair.ours { kept.append(ours) }
            }
            let environment = environment ?? ProcessInfo.processInfo.environment
            let pid = try Spawner.shared.spawn(
                path: path, arguments: [executable] + arguments,
                environment: environment.map { "\($0.key)=\($0.value)" },
                descriptors: (input.child ?? -1, output.child ?? -1, error.child ?? -1),
                directory: directory, deathSignal: deathSignal
            )
            closeAll(opened)
            processIdentifier = pid
            self.standardInput = input.ours.map { FileHandle(fileDescriptor: $0, closeOnDealloc: true) }
            self.standardOutput = output.ours.map { FileHandle(fileDescriptor: $0, closeOnDealloc: true) }
            self.standardError = error.ours.map { FileHandle(fileDescriptor: $0, closeOnDealloc: true) }
        } catch let failure {
            closeAll(opened + kept)
            throw failure
        }
        startReaper()
    }

    /// How the child ended, or `nil` while it runs.
    public var termination: Termination? { state.withLock { $0.termination } }

    public var isRunning: Bool { termination == nil }

    /// Sends `signal` while the child runs; nothing once it has ended (its pid may be reused).
    public func send(_ signal: Int32) {
        state.withLock { state in
            if state.termination == nil { _ = kill(processIdentifier, signal) }
        }
    }

    /// Waits for the child to end, without blocking a thread.
    public func terminated() async -> Termination {
        await withCheckedContinuation { continuation in
            let ended = state.withLock { state -> Termination? in
                if let termination = state.termination { return termination }
                state.waiters.append(continuation)
                return nil
            }
            if let ended { continuation.resume(returning: ended) }
        }
    }

    /// Blocks the calling thread until the child ends (synchronous callers off the cooperative
    /// pool only; async code awaits ``terminated()``).
    @discardableResult
    public func waitUntilExit() -> Termination {
        if let termination { return termination }
        exited.wait()
        exited.signal()  // for the next caller
        return termination!
    }

    /// One thread per child waits for it; once it has ended (seen without reaping it), the
    /// termination is recorded and the child reaped under the lock ``send(_:)`` takes, so a
    /// signal never reaches a reused pid.
    private func startReaper() {
        let pid = processIdentifier
        let thread = Thread { [self] in
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
            var status: Int32 = 0
            let waiters = state.withLock { state -> [CheckedContinuation<Termination, Never>] in
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                let termination: Termination = (status & 0x7f) == 0 ? .exited((status >> 8) & 0xff) : .signalled(status & 0x7f)
                state.termination = termination
                let waiters = state.waiters
                state.waiters = []
                return waiters
            }
            exited.signal()
            let termination = self.termination!
            for waiter in waiters { waiter.resume(returning: termination) }
        }
        thread.name = "triage-child-\(pid)"
        thread.start()
    }

    private struct Descriptors {
        var child: Int32?
        var closeChildEnd: Bool
        var ours: Int32?
    }

    private static func descriptors(for input: Input) throws(ChildProcessError) -> Descriptors {
        switch input {
        case .nullDevice: return Descriptors(child: try openFile("/dev/null", O_RDONLY), closeChildEnd: true, ours: nil)
        case .inherit: return Descriptors(child: 0, closeChildEnd: false, ours: nil)
        case .pipe:
            let (read, write) = try makePipe()
            return Descriptors(child: read, closeChildEnd: true, ours: write)
        }
    }

    private static func descriptors(for output: Output) throws(ChildProcessError) -> Descriptors {
        switch output {
        case .nullDevice: return Descriptors(child: try openFile("/dev/null", O_WRONLY), closeChildEnd: true, ours: nil)
        case .inherit: return Descriptors(child: nil, closeChildEnd: false, ours: nil)
        case .file(let path, let append):
            return Descriptors(
                child: try openFile(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC)), closeChildEnd: true, ours: nil)
        case .pipe:
            let (read, write) = try makePipe()
            return Descriptors(child: write, closeChildEnd: true, ours: read)
        case .standardOutput:
            preconditionFailure("standard output cannot go to itself")
        }
    }

    private static func openFile(_ path: String, _ flags: Int32) throws(ChildProcessError) -> Int32 {
        let fd = open(path, flags | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ChildProcessError("cannot open \(path): \(String(cString: strerror(errno)))") }
        return fd
    }

    private static func makePipe() throws(ChildProcessError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard triage_pipe(&fds) == 0 else { throw ChildProcessError("cannot create a pipe: \(String(cString: strerror(errno)))") }
        return (fds[0], fds[1])
    }

    private static func resolve(_ executable: String) throws(ChildProcessError) -> String {
        if executable.contains("/") { return executable }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":") where access("\(folder)/\(executable)", X_OK) == 0 {
            return "\(folder)/\(executable)"
        }
        throw ChildProcessError("cannot start \(executable): not found in PATH")
    }
}

/// A child process that could not be started, in words that say why.
public struct ChildProcessError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension ChildProcess {
    /// Reads `handle` to its end on a thread of its own (never on the cooperative pool, where a
    /// blocking read stalls every other task of a two-core machine).
    public static func readToEnd(_ handle: FileHandle) async -> Data {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: handle.readDataToEndOfFile()) }
            thread.name = "triage-child-output"
            thread.start()
        }
    }
}

/// The one thread that forks every child (see ``ChildProcess``): it lives as long as the process,
/// so a child's death signal fires when the process ends, and only then.
final class Spawner: Sendable {
    static let shared = Spawner()

    private struct Request {
        let work: @Sendable () -> Void
    }
    private let queue = Mutex<[Request]>([])
    private let pending = DispatchSemaphore(value: 0)

    private init() {
        let thread = Thread { [self] in
            while true {
                pending.wait()
                let request = queue.withLock { $0.removeFirst() }
                request.work()
            }
        }
        thread.name = "triage-spawner"
        thread.start()
    }

    /// Forks and execs on the spawner thread; the caller waits for the exec (milliseconds).
    func spawn(
        path: String, arguments: [String], environment: [String], descriptors: (Int32, Int32, Int32), directory: String?, deathSignal: Int32
    ) throws(ChildProcessError) -> Int32 {
        let result = Mutex<(pid: Int32, error: Int32)>((-1, 0))
        let done = DispatchSemaphore(value: 0)
        let work: @Sendable () -> Void = {
            let outcome = Self.withCStrings(arguments) { argv in
                Self.withCStrings(environment) { envp in
                    var error: Int32 = 0
                    let pid = triage_spawn(path, argv, envp, descriptors.0, descriptors.1, descriptors.2, directory, deathSignal, &error)
                    return (pid, error)
                }
            }
            result.withLock { $0 = outcome }
            done.signal()
        }
        queue.withLock { $0.append(Request(work: work)) }
        pending.signal()
        done.wait()
        let (pid, error) = result.withLock { $0 }
        guard pid > 0 else { throw ChildProcessError("cannot start \(path): \(String(cString: strerror(error)))") }
        return pid
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
