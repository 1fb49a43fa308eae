public import Foundation
import TriageKafka

/// Prints a line at once (benchmarks report while they run).
public func emit(_ text: String) {
    print(text)
    fflush(nil)
}

/// `--name value` from the command line, or `fallback`.
public func option(_ name: String, _ fallback: Int) -> Int {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name) else { return fallback }
    // Every count and rate of the benches is at least 1: a 0 divided a rate or emptied a range
    // (`--slow-rate 0` crashed router-bench), and a typo silently ran the default.
    guard index + 1 < arguments.count, let value = Int(arguments[index + 1].replacingOccurrences(of: "_", with: "")), value >= 1 else {
        let given = index + 1 < arguments.count ? "'\(arguments[index + 1])'" : "nothing"
        FileHandle.standardError.write(Data("error: \(name) takes a whole number of at least 1 (default \(fallback)); got \(given)\n".utf8))
        exit(2)
    }
    return value
}

/// `--name value` from the command line, or `nil`.
public func option(_ name: String) -> String? {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

/// The middle of `values` ordered by `key` (of an even count, the upper middle).
public func median<Value>(_ values: [Value], by key: (Value) -> Double) -> Value {
    values.sorted { key($0) < key($1) }[values.count / 2]
}

/// The middle of `values` (of an even count, the upper middle).
public func median(_ values: [Double]) -> Double { median(values, by: { $0 }) }

extension Duration {
    public var secondsDouble: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// Resident set size of this process, from /proc/self/statm.
public func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

/// CPU seconds (user + system) used so far by this process.
public func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// CPU seconds used so far by this process and by `child` (the broker child of ``ChildBroker``):
/// what the machine spent on the benchmark, harness and broker included.
public func cpuSeconds(withChild child: Process) -> Double { cpuSeconds() + cpuSeconds(of: child.processIdentifier) }

/// CPU seconds (user + system) used so far by process `pid`, from /proc/<pid>/stat (clock ticks).
public func cpuSeconds(of pid: Int32) -> Double {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let end = text.lastIndex(of: ")") else { return 0 }
    // After the command name in parentheses: state is field 3; utime and stime are fields 14 and 15.
    let fields = text[text.index(after: end)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// The embedded broker in a child process (this executable with `--serve-broker`), so its CPU
/// is measured apart from the benchmarked process. The child prints its bootstrap address.
public enum ChildBroker {
    /// In the child: serves the broker with `topics` (name, partitions) until killed or orphaned. Never returns.
    public static func serveIfChild(topics: [(String, Int)]) throws {
        guard CommandLine.arguments.contains("--serve-broker") else { return }
        let kafka = try EmbeddedKafka(brokers: 1)
        for (topic, partitions) in topics { try kafka.createTopic(topic, partitions: partitions, replicationFactor: 1) }
        emit(kafka.bootstrapServers)
        // Ends with the parent, even when the parent crashes before it could kill this child.
        let parent = getppid()
        while getppid() == parent { sleep(1) }
        exit(0)
    }

    /// In the parent: starts the child (with `arguments` after `--serve-broker`) and returns its
    /// bootstrap address and the process. Stop it with SIGKILL: it ignores SIGTERM (librdkafka's
    /// threads block it).
    public static func start(arguments: [String] = []) throws -> (bootstrap: String, process: Process) {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["--serve-broker"] + arguments
        let pipe = Pipe()
        child.standardOutput = pipe
        try child.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = pipe.fileHandleForReading.availableData
            precondition(!chunk.isEmpty, "the broker child exited")
            line.append(chunk)
        }
        return (String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), child)
    }
}
