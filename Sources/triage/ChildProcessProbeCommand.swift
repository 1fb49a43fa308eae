import ArgumentParser
import Foundation
import TriageChildProcess

/// Hidden: a stand-in for a test process, for the test that proves children die with their
/// parent. Starts `--children` copies of `sleep 600` the way the test helpers start brokers and
/// workers (`ChildProcess`, their standard output this process's), prints `child PID` for each,
/// then waits to be killed.
struct ChildProcessProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "child-process-probe",
        abstract: "Start children that must die with this process, then wait (for the test suite).",
        shouldDisplay: false
    )

    @Option(help: "How many children.") var children: Int = 2

    func run() async throws {
        var started: [ChildProcess] = []
        for _ in 0..<children {
            started.append(try ChildProcess(executable: "/bin/sleep", arguments: ["600"]))
        }
        // Unbuffered: the test reads these lines while this process runs.
        let lines = started.map { "child \($0.processIdentifier)\n" }.joined() + "ready\n"
        FileHandle.standardOutput.write(Data(lines.utf8))
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}
