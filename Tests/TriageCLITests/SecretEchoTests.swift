import Foundation
import Testing
import TriageKafkaTesting

/// Issue 18, item 7: a secret given where it does not belong (a webhook key in `secret_env`, a
/// bearer token in `token_env`, a SASL password in a malformed or rejected `--kafka-property` or
/// `TRIAGE_KAFKA_*` variable) is never printed; the error still names the file, key or option.
@Suite("Secrets are never echoed by the CLI")
struct SecretEchoTests {
    let secret = "S3cretValue9x" + UUID().uuidString.prefix(6).filter(\.isLetter)

    @Test func aPropertyWithoutEqualsSignIsNotEchoed() async throws {
        let (status, output, errors) = try await triage([
            "topics", "list", "--bootstrap", "127.0.0.1:1", "--kafka-property", "sasl.password:\(secret)",
        ])
        #expect(status == 1, "\(errors)")
        #expect(!(output + errors).contains(secret), "\(errors)")
        #expect(errors.contains("--kafka-property is not KEY=VALUE") && errors.contains("write sasl.password=VALUE"), "\(errors)")
    }

    @Test func aRejectedSecretValueIsNotEchoed() async throws {
        // librdkafka quotes a value it refuses ("Unsupported SASL mechanism: …").
        let (status, output, errors) = try await triage([
            "topics", "list", "--bootstrap", "127.0.0.1:1", "--kafka-property", "security.protocol=sasl_plaintext",
            "--kafka-property", "sasl.mechanisms=\(secret)", "--log-level", "debug",
        ])
        #expect(status == 1, "\(errors)")
        #expect(!(output + errors).contains(secret), "\(errors)")
        #expect(
            errors.contains("error: Kafka error") && errors.contains("Unsupported SASL mechanism")
                && errors.contains("sasl.mechanisms is not shown"), "\(errors)")
    }

    @Test func aSecretValueLibrdkafkaWarnsAboutIsNotLogged() async throws {
        // librdkafka's configuration warnings quote values ("`sasl.mechanism` set to `…` but
        // `security.protocol` is not configured for SASL"), from the environment as from options.
        let (_, output, errors) = try await runProcess(
            "/usr/bin/env", ["TRIAGE_KAFKA_SASL_MECHANISMS=\(secret)", triageExecutable, "topics", "list", "--bootstrap", "127.0.0.1:1"],
            timeout: .seconds(60)
        )
        #expect(errors.contains("sasl.mechanism"), "librdkafka warned: \(errors)")
        #expect(!(output + errors).contains(secret), "\(errors)")
    }

    @Test func aPasswordIsNotLoggedEvenWithLibrdkafkaConfigurationDebugging() async throws {
        // debug=conf makes librdkafka log its whole configuration; its sensitive properties are redacted.
        let (_, output, errors) = try await triage(
            [
                "topics", "list", "--bootstrap", "127.0.0.1:1", "--kafka-property", "debug=conf", "--kafka-property",
                "sasl.password=\(secret)",
                "--kafka-property", "sasl.username=\(secret)-user", "--log-level", "debug",
            ],
            timeout: .seconds(60)
        )
        #expect(errors.contains("sasl.password") || errors.contains("cannot reach"), "\(errors.suffix(2000))")
        #expect(!(output + errors).contains(secret), "\(errors.components(separatedBy: secret).first?.suffix(400) ?? "")")
    }

    @Test func aWebhookKeyPastedIntoSecretEnvIsNotEchoed() async throws {
        let rules = try temporaryFile(
            """
            endpoints:
              hook: { channel: webhook, url: "http://127.0.0.1:1/", secret_env: \(secret) }
            recipients:
              ops: { endpoints: [hook] }
            """, suffix: ".yaml")
        let (status, output, errors) = try await triage(["notifier", "--rules", rules, "--bootstrap", "127.0.0.1:1"])
        #expect(status == 1, "\(errors)")
        #expect(!(output + errors).contains(secret), "\(errors)")
        #expect(
            errors.contains("\(rules):2:69: endpoints.hook.secret_env: expected an environment variable name such as WEBHOOK_KEY"),
            "\(errors)")
    }

    @Test func aTokenPastedIntoTokenEnvIsNotEchoed() async throws {
        let tenants = try temporaryFile("tenants:\n  - name: acme\n    token_env: \(secret)\n    accounts: [A]\n", suffix: ".yaml")
        let (status, output, errors) = try await triage(["intake", "--tenants", tenants, "--bootstrap", "127.0.0.1:1"])
        #expect(status == 1, "\(errors)")
        #expect(!(output + errors).contains(secret), "\(errors)")
        #expect(
            errors.contains("\(tenants):3:16: tenants[0].token_env: expected an environment variable name such as BETA_TOKEN"), "\(errors)")
    }
}
