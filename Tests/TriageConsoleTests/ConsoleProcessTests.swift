import Foundation
import HummingbirdBcrypt
import Testing
import TriageKafkaTesting
import TriageSchema

@Suite("triage console as a process", .serialized)
struct ConsoleProcessTests {
    @Test func hashPasswordReadsStandardInput() async throws {
        let (status, output, errors) = try await runProcess(triageExecutable, ["console", "hash-password"], input: "correct horse\n")
        #expect(status == 0, "\(errors)")
        let hash = output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(hash.hasPrefix("$2b$12$") && hash.count == 60)
        #expect(Bcrypt.verify("correct horse", hash: hash))
        #expect(try await runProcess(triageExecutable, ["console", "hash-password"], input: "").0 != 0)
    }

    @Test func servesStopsOnSigtermAndNamesTheOptionOfATakenPort() async throws {
        try await HeavyTests.run {
            let harness = try await ConsoleHarness()
            defer { Task { try? await harness.stop() } }
            for topic in [TriageTopic.incidentState, TriageTopic.incidentEvents, TriageTopic.routerState] {
                try harness.cluster.embedded.createTopic(topic, partitions: 1, replicationFactor: 1)
            }
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("console"))
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let accounts = folder.appendingPathComponent("accounts.yaml").path
            try ConsoleHarness.accountsYAML.write(toFile: accounts, atomically: true, encoding: .utf8)
            let arguments = [
                "console", "--bootstrap", harness.cluster.bootstrapServers, "--intake", "127.0.0.1:\(harness.intakePort)", "--accounts",
                accounts,
            ]
            let environment = ["TRIAGE_CONSOLE_INTAKE_TOKEN": ConsoleHarness.consoleToken]

            let first = try TriageProcess(arguments + ["--port", "0"], environment: environment)
            try await eventually("the console listens", timeout: .seconds(60)) { first.output.contains("console: http://127.0.0.1:") }
            let port = try #require(WebSession.capture(#"console: http://127\.0\.0\.1:(\d+)/"#, in: first.output))
            let browser = WebSession(http: harness.http, base: "http://127.0.0.1:\(port)")
            #expect(try await browser.get("/healthz").body == "ok\n")
            try await eventually("ready", timeout: .seconds(30)) { (try? await browser.get("/readyz").status) == 200 }
            #expect(try await browser.signIn("lee").status == 303)

            // The same port again: a clear message naming the option, non-zero exit.
            let second = try TriageProcess(arguments + ["--port", port], environment: environment)
            try await eventually("the second console gives up", timeout: .seconds(60)) { !second.process.isRunning }
            #expect(await second.process.terminated().status != 0)
            #expect(second.output.contains("already in use") && second.output.contains("--port"), "\(second.output)")

            #expect(try await first.stop() == 0)
            #expect(!first.output.contains(ConsoleHarness.consoleToken))

            // A bad accounts file fails fast, naming file:line:column: key.
            let bad = folder.appendingPathComponent("bad.yaml").path
            try "accounts:\n  - username: ana\n    role: chief\n    password_bcrypt: x\n".write(
                toFile: bad, atomically: true, encoding: .utf8)
            let (status, _, errors) = try await runProcess(
                triageExecutable, ["console", "--accounts", bad, "--bootstrap", harness.cluster.bootstrapServers])
            #expect(status == 1 && errors.contains("\(bad):3:11: accounts[0].role: unknown role 'chief'"), "\(errors)")
            try await harness.stop()
        }
    }
}
