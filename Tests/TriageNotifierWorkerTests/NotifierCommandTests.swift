import Foundation
import Testing
import TriageKafkaTesting

@Suite("triage notifier: bad set-up fails fast, naming what to fix")
struct NotifierCommandTests {
    func rulesFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("rules") + ".yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func badRulesMissingSecretsAndMissingTopicsAreNamed() async throws {
        let broker = try await BrokerProcess(arguments: ["--topic", "triage.notification-requests:3"])
        // 1. A typo in the rules: file, line and the key path.
        let typo = try rulesFile("endpoints:\n  ops: { channel: webhook, url: \"http://127.0.0.1:1/x\", secret_env: K, timout: 2s }\n")
        let (status1, _, errors1) = try await runProcess(triageExecutable, ["notifier", "--bootstrap", broker.bootstrap, "--rules", typo])
        #expect(status1 != 0)
        #expect(errors1.contains("\(typo):2:") && errors1.contains("timout") && errors1.contains("timeout"), "\(errors1)")

        // 2. A secret the rules name but the environment lacks.
        let rules = try rulesFile(
            "endpoints:\n  ops: { channel: webhook, url: \"http://127.0.0.1:1/x\", secret_env: TRIAGE_TEST_UNSET_KEY }\n")
        let (status2, _, errors2) = try await runProcess(triageExecutable, ["notifier", "--bootstrap", broker.bootstrap, "--rules", rules])
        #expect(status2 != 0)
        #expect(errors2.contains("TRIAGE_TEST_UNSET_KEY"), "\(errors2)")

        // 3. The retry topic (and others) missing: one error naming them, with the command that creates them.
        let (status3, _, errors3) = try await runProcess(
            "/usr/bin/env",
            ["TRIAGE_TEST_UNSET_KEY=k", triageExecutable, "notifier", "--bootstrap", broker.bootstrap, "--rules", rules, "--ops-port", "0"]
        )
        #expect(status3 != 0)
        #expect(errors3.contains("topic(s) missing: ") && errors3.contains("triage.notification-retry"), "\(errors3)")
        #expect(errors3.contains("triage topics create --all --partitions N --bootstrap \(broker.bootstrap)"), "\(errors3)")

        // 4. A read-ahead of nothing: refused before anything starts.
        let (status4, _, errors4) = try await runProcess(
            triageExecutable, ["notifier", "--bootstrap", broker.bootstrap, "--rules", rules, "--read-ahead", "0"])
        #expect(status4 != 0)
        #expect(errors4.contains("--read-ahead must be at least 1, got 0"), "\(errors4)")
        #expect(try await broker.stop() == 0)
    }
}
