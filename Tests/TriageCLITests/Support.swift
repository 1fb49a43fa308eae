import Foundation
import TriageKafkaTesting

/// Runs the built `triage` with `arguments` from the repository root (so the relative paths of
/// --help examples resolve); returns (status, stdout, stderr).
func triage(_ arguments: [String], input: String? = nil, timeout: Duration = .seconds(60)) async throws -> (Int32, String, String) {
    try await runProcess("/usr/bin/env", ["-C", repositoryRoot, triageExecutable] + arguments, input: input, timeout: timeout)
}

/// A file in the temporary folder holding `text`.
func temporaryFile(_ text: String, suffix: String = ".json") throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("cli") + suffix).path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// RFC 3339 in whole seconds, UTC.
func rfc3339(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

/// The JSON objects of `output`, one per line.
func jsonLines(_ output: String) -> [[String: Any]] {
    output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
}
