public import ArgumentParser
import Foundation
public import Logging
import Metrics
import TriageDevTools
import TriageKafka
import TriageOps

/// Options every command shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    /// Installs the process-wide log and metrics backends (executables only; libraries just take
    /// a Logger and use the swift-metrics API). `/metrics` on a worker's ops port serves them.
    func bootstrapLogging(label: String) -> Logger {
        exitWithParentIfAsked()
        TriageMetrics.bootstrap()
        // Which librdkafka this process loaded (LD_LIBRARY_PATH can swap it): /metrics says so,
        // and `triage interop` prints it per worker.
        Gauge(label: "triage_build_info", dimensions: [("version", triageVersion), ("librdkafka", KafkaLibrary.version)]).record(1)
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }
}

// swift-format-ignore: AvoidRetroactiveConformances
extension Logger.Level: @retroactive ExpressibleByArgument {}

private func exitWithParentIfAsked() {
    guard let value = ProcessInfo.processInfo.environment[TriageProcessEnvironment.exitWithParent], let parent = Int32(value), parent > 1
    else { return }
    let watchdog = Thread {
        while getppid() == parent { Thread.sleep(forTimeInterval: 1) }
        FileHandle.standardError.write(Data("parent process \(parent) is gone: stopping\n".utf8))
        kill(getpid(), SIGTERM)
        Thread.sleep(forTimeInterval: 30)
        exit(1)
    }
    watchdog.name = "triage-parent-watch"
    watchdog.start()
}
