import Foundation
import TriageEscalator
import TriageSLABacktest
import TriageSLABacktestLog
import TriageSchema
import TriageStreams

/// `triage sla backtest --file`: lifecycle events as JSON lines (`triage tail` output, whose
/// `partition`, `offset` and `timestamp` are kept; or bare events), streamed a block at a time
/// so memory does not grow with the file.
enum BacktestEventFile {
    /// A line that is not a lifecycle event.
    struct Problem: Error {
        let line: Int
        let message: String
    }

    static func read(_ path: String, clock: ScaledClock?, into backtest: SharedBacktest) async throws {
        let name = path == "-" ? "standard input" : path
        let handle: FileHandle
        if path == "-" {
            handle = .standardInput
        } else {
            handle = try InputFile.open(path, option: "--file")
        }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            // Blocking reads: on a thread of their own, never on the cooperative pool.
            Thread.detachNewThread {
                continuation.resume(with: Result { try readLines(handle, name: name, clock: clock, into: backtest) })
            }
        }
    }

    private static func readLines(_ handle: FileHandle, name: String, clock: ScaledClock?, into backtest: SharedBacktest) throws {
        let progress = BacktestProgress(what: "reading \(name)", total: nil)
        var pending: [UInt8] = []
        var lineNumber = 0
        var problems: [String] = []
        var problemCount = 0
        func line(_ bytes: ArraySlice<UInt8>) {
            lineNumber += 1
            guard bytes.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") && $0 != UInt8(ascii: "\r") }) else { return }
            switch record(bytes, line: lineNumber, clock: clock) {
            case .success(let record):
                let tracked = backtest.replay(record)
                progress.step(tracked: tracked)
            case .failure(let problem):
                problemCount += 1
                if problems.count < 5 { problems.append("\(name):\(problem.line): \(problem.message)") }
            }
        }
        while true {
            let block = try handle.read(upToCount: 1 << 20) ?? Data()
            if block.isEmpty { break }
            pending += block
            var start = pending.startIndex
            while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                line(pending[start..<newline])
                start = newline + 1
            }
            pending.removeSubrange(..<start)
        }
        if !pending.isEmpty { line(pending[...]) }
        progress.finish()
        if problemCount > 0 {
            BacktestProgress.warn(
                "skipped \(problemCount) line(s) that are not lifecycle events:\n  " + problems.joined(separator: "\n  ")
                    + (problemCount > problems.count ? "\n  ..." : ""))
        }
    }

    /// One line: the event, and from a `triage tail` line its partition, offset and timestamp.
    static func record(_ bytes: ArraySlice<UInt8>, line: Int, clock: ScaledClock?) -> Result<BacktestRecord, Problem> {
        if let invalid = UTF8Position.firstInvalidByte(in: bytes) {
            return .failure(.init(line: line, message: "column \(invalid + 1): \(UTF8Position.problem(bytes[bytes.startIndex + invalid]))"))
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let entries = IncidentEventText.read(text)
        guard entries.count == 1, let entry = entries.first else {
            return .failure(.init(line: line, message: "expected one IncidentEvent per line (JSON lines), found \(entries.count)"))
        }
        let event: IncidentEvent
        switch entry.event {
        case .success(let value): event = value
        case .failure(let problem): return .failure(.init(line: line, message: problem.message))
        }
        var record = BacktestRecord(event: event, partition: BacktestRecord.linesWithoutPartition, position: Int64(line))
        if let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any], object["offset"] != nil {
            record.partition = (object["partition"] as? NSNumber)?.int32Value ?? 0
            if let offset = (object["offset"] as? NSNumber)?.int64Value { record.position = offset }
            if let clock, let text = object["timestamp"] as? String,
                let timestamp = (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
                    ?? (try? Date(text, strategy: .iso8601))
            {
                record.seenAt = clock.slaInstant(of: timestamp)
            }
        }
        return .success(record)
    }
}
