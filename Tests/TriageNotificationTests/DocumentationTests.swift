import Foundation
import Testing
import TriageChildProcess
import TriageNotification

/// docs/notifier.md promises things code can check: the retry table follows from the defaults,
/// and the signature recipes (Python, openssl) accept what ``WebhookSignature`` signs.
@Suite("docs/notifier.md")
struct DocumentationTests {
    let document = (try? String(contentsOfFile: repositoryPath("docs/notifier.md"), encoding: .utf8)) ?? ""

    @Test("the retry schedule table is computed from the defaults")
    func retryTable() {
        let policy = RetryPolicy()
        var earliest = 0.0
        var latest = 0.0
        for attempt in 1..<policy.maxAttempts {
            let ceiling = policy.ceiling(afterAttempt: attempt)
            earliest += ceiling / 2
            latest += ceiling
            let row =
                "| \(attempt) | \(Self.format(ceiling)) s | \(Self.format(ceiling / 2))–\(Self.format(ceiling)) s | attempt \(attempt + 1) at \(Self.format(earliest))–\(Self.format(latest)) s |"
            #expect(document.contains(row), "missing row: \(row)")
        }
        #expect(document.contains("| \(policy.maxAttempts) | — | — | dead-lettered |"))
    }

    @Test("the Python recipe accepts a fresh signature and refuses a tampered body", .enabled(if: executable("python3") != nil))
    func pythonRecipe() async throws {
        let python = try #require(executable("python3"))
        let snippet = try #require(Self.block("python", in: document))
        let body = #"{"incident_id":"INC-1","summary":"naïve ✓"}"#
        let header = WebhookSignature.sign(body: Array(body.utf8), key: Array("whsec_test".utf8), at: Date())
        let driver =
            snippet + """

                import sys
                body = open(sys.argv[2], "rb").read()
                print(verify(sys.argv[1], body, b"whsec_test"), verify(sys.argv[1], body + b" ", b"whsec_test"), verify("t=1,v1=00", body, b"whsec_test"))
                """
        let output = try await Self.run(python, script: driver, body: body, arguments: [header, "body.json"])
        #expect(output == "True False False")
    }

    @Test("the openssl recipe computes the v1 that sign puts in the header", .enabled(if: executable("openssl") != nil))
    func opensslRecipe() async throws {
        let shell = try #require(executable("sh"))
        let line = try #require(document.split(separator: "\n").first { $0.contains("openssl dgst") })
        let body = #"{"incident_id":"INC-1"}"#
        let at = Date(timeIntervalSince1970: 1_767_225_600)
        let header = WebhookSignature.sign(body: Array(body.utf8), key: Array("whsec_test".utf8), at: at)
        let output = try await Self.run(shell, script: "T=1767225600\nSECRET=whsec_test\n" + line, body: body, arguments: [])
        #expect(header == "t=1767225600,v1=\(output)")
    }

    // MARK: Helpers

    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }

    /// The first fenced block of `language`.
    static func block(_ language: String, in text: String) -> String? {
        guard let start = text.range(of: "```\(language)\n"), let end = text.range(of: "\n```", range: start.upperBound..<text.endIndex)
        else { return nil }
        return String(text[start.upperBound..<end.lowerBound])
    }

    /// Runs `script` with `interpreter` in a fresh directory holding `body.json`; its trimmed output.
    static func run(_ interpreter: String, script: String, body: String, arguments: [String]) async throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("triage-docs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(body.utf8).write(to: directory.appendingPathComponent("body.json"))
        try script.write(to: directory.appendingPathComponent("script"), atomically: true, encoding: .utf8)
        let process = try ChildProcess(
            executable: interpreter, arguments: ["script"] + arguments, directory: directory.path, standardOutput: .pipe
        )
        // Never block the cooperative pool (two threads on a two-core machine) on a child.
        let output = await ChildProcess.readToEnd(process.standardOutput!)
        _ = await process.terminated()
        return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// The full path of `name` on `PATH`, if it is there.
func executable(_ name: String) -> String? {
    let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
    return paths.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}
