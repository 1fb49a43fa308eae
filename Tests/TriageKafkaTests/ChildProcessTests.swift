import Foundation
import Synchronization
import Testing
import TriageChildProcess
import TriageKafkaTesting

@Suite("Child processes die with their parent")
struct ChildProcessTests {
    /// The crash this guards against: a test process that died left its brokers and workers
    /// running; they held `swift test`'s output pipe open and the run hung. A stand-in parent
    /// (`triage child-process-probe`) starts children the way the test helpers do, and is SIGKILLed.
    @Test func childrenDieWhenTheirParentIsKilled() async throws {
        let parent = try ChildProcess(
            executable: triageExecutable, arguments: ["child-process-probe", "--children", "3"], standardOutput: .pipe)
        defer { parent.send(SIGKILL) }
        let output = parent.standardOutput!
        // The probe's children write to the same pipe (inherited): its end-of-file comes only
        // once every one of them is gone, as `swift test`'s did.
        let received = Mutex<(text: String, ended: Bool)>(("", false))
        Thread {
            while true {
                let chunk = output.availableData
                if chunk.isEmpty { break }
                received.withLock { $0.text += String(decoding: chunk, as: UTF8.self) }
            }
            received.withLock { $0.ended = true }
        }.start()
        try await eventually("the probe started its children", timeout: .seconds(30)) {
            received.withLock { $0.text.contains("ready\n") || $0.ended }
        }
        let pids = received.withLock { $0.text }.split(separator: "\n").filter { $0.hasPrefix("child ") }.compactMap {
            Int32($0.dropFirst(6))
        }
        #expect(pids.count == 3, "the probe printed: \(received.withLock { $0.text })")
        for pid in pids { #expect(Self.isAlive(pid), "child \(pid) runs while its parent does") }

        parent.send(SIGKILL)
        #expect(await parent.terminated() == .signalled(SIGKILL))
        try await eventually("every child of the killed parent is gone", timeout: .seconds(5)) { pids.allSatisfy { !Self.isAlive($0) } }
        try await eventually("nobody holds the parent's output pipe any more", timeout: .seconds(5)) { received.withLock { $0.ended } }
    }

    /// Linux sends the death signal when the *thread* that forked the child ends. Children are
    /// forked by one long-lived thread, so one started from a thread that ends at once lives on.
    @Test func aChildOutlivesTheThreadThatStartedIt() async throws {
        let started = Mutex<ChildProcess?>(nil)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            // Long enough to outlive a starved test: the check below may run tens of seconds late.
            started.withLock { $0 = try? ChildProcess(executable: "/bin/sleep", arguments: ["600"]) }
            done.signal()
        }
        thread.start()
        await withCheckedContinuation { continuation in
            Thread {
                done.wait()
                continuation.resume()
            }.start()
        }
        let child = try #require(started.withLock { $0 })
        defer { child.send(SIGKILL) }
        // The thread returns right after `done`; a second later it is long gone (and a death
        // signal tied to it would have been delivered).
        try await Task.sleep(for: .seconds(1))
        #expect(
            child.isRunning && Self.isAlive(child.processIdentifier),
            "the child died with the thread that started it: \(String(describing: child.termination))")
        child.send(SIGKILL)
        #expect(await child.terminated() == .signalled(SIGKILL))
    }

    @Test func outputErrorsAndExitStatus() async throws {
        let (status, output, errors) = try await runProcess("/bin/sh", ["-c", "cat; echo err >&2; exit 3"], input: "in\n")
        #expect(status == 3)
        #expect(output == "in\n")
        #expect(errors == "err\n")
        let error = #expect(throws: ChildProcessError.self) { try ChildProcess(executable: "/nonexistent/program") }
        #expect(error?.description.contains("No such file") == true, "\(String(describing: error))")
    }

    /// Alive and not a zombie (a zombie whose parent is gone waits for init to reap it).
    static func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        guard let close = stat.lastIndex(of: ")") else { return false }
        return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }
}
