import Foundation
import SwiftProtobuf
import Synchronization
import Testing
import TriageKafka
import TriageKafkaTesting
import TriageSchema

/// Secrets — a SASL password, a webhook signing key, intake bearer tokens (configured and
/// presented) — never appear in a log line or an error message, even at debug level and on the
/// paths that fail: a refused token, failed webhook deliveries, a SASL handshake the broker
/// cannot do.
@Suite("Secrets stay out of logs and error messages")
struct SecretsTests {
    @Test func noSecretAppearsInAnyOutput() async throws { try await HeavyTests.run { try await self.body() } }

    func body() async throws {
        let suffix = UUID().uuidString.prefix(8)
        let token = "tok-S3CRET-\(suffix)"
        let presented = "presented-S3CRET-\(suffix)"
        let webhookKey = "whk-S3CRET-\(suffix)"
        let password = "pw-S3CRET-\(suffix)"
        let secrets = [token, presented, webhookKey, password]

        let broker = try await BrokerProcess(arguments: TriageTopic.all.flatMap { ["--topic", "\($0):2"] })
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("secrets")).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let tenants = folder + "/tenants.yaml"
        try "tenants:\n  - name: acme\n    token_env: SECRET_TOKEN\n    accounts: [acct-1]\n".write(
            toFile: tenants, atomically: true, encoding: .utf8)
        let rules = folder + "/rules.yaml"
        try """
        endpoints:
          hook:
            channel: webhook
            url: http://127.0.0.1:1/refused
            secret_env: SECRET_WEBHOOK
        recipients:
          team-lead:
            endpoints: [hook]
        retry:
          max_attempts: 2
          initial_delay: 200ms
        """.write(toFile: rules, atomically: true, encoding: .utf8)

        let common = ["--bootstrap", broker.bootstrap, "--session-timeout", "3", "--ops-port", "0", "--log-level", "debug"]
        let port = try freeLoopbackPort()
        let intake = try TriageProcess(
            ["intake", "--tenants", tenants, "--port", "\(port)", "--host", "127.0.0.1"] + common, environment: ["SECRET_TOKEN": token])
        let notifier = try TriageProcess(["notifier", "--rules", rules] + common, environment: ["SECRET_WEBHOOK": webhookKey])
        // The embedded broker speaks no SASL: this client fails its handshake over and over.
        let sasl = try TriageProcess(
            ["analytics"] + common,
            environment: [
                "TRIAGE_KAFKA_SECURITY_PROTOCOL": "sasl_plaintext", "TRIAGE_KAFKA_SASL_MECHANISM": "PLAIN",
                "TRIAGE_KAFKA_SASL_USERNAME": "triage",
                "TRIAGE_KAFKA_SASL_PASSWORD": password,
            ]
        )

        // A notification whose deliveries fail (connection refused), then dead-letters.
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(
                client: KafkaClientConfiguration(bootstrap: broker.bootstrap, fetchWait: EmbeddedKafka.mockFetchWait)),
            logger: KafkaTestCluster.makeLogger("test.secrets"))
        let producing = Task { try await producer.run() }
        defer { producing.cancel() }
        let request = NotificationRequest.with {
            $0.idempotencyKey = "secrets-\(suffix)"; $0.incidentID = "INC-SECRET"; $0.recipient = "team-lead"; $0.template = "escalated";
            $0.urgent = true
            $0.requestedAt = Google_Protobuf_Timestamp(date: Date())
        }
        _ = try await producer.send(
            KafkaProducerMessage(
                topic: TriageTopic.notificationRequests, key: Array("INC-SECRET".utf8), value: try request.serializedBytes(),
                headers: [KafkaHeader(name: TriageHeader.idempotencyKey, string: request.idempotencyKey)]
            )
        )

        // Calls: a wrong token (itself a secret of the caller's), then the right one.
        let calls = Mutex<[String]>([])
        try await eventually("the intake answers", timeout: .seconds(60)) {
            let (_, output, errors) = try await runProcess(
                triageExecutable,
                [
                    "call", "GetIncident", #"{"incident_id": "INC-1"}"#, "--intake", "127.0.0.1:\(port)", "--token", presented, "--timeout",
                    "5",
                ]
            )
            calls.withLock { $0.append(output + errors) }
            return (output + errors).contains("UNAUTHENTICATED: ")
        }
        let (_, rightOutput, rightErrors) = try await runProcess(
            triageExecutable,
            ["call", "GetIncident", #"{"incident_id": "INC-1"}"#, "--intake", "127.0.0.1:\(port)", "--token", token, "--timeout", "5"]
        )
        calls.withLock { $0.append(rightOutput + rightErrors) }
        #expect(!(rightOutput + rightErrors).contains("UNAUTHENTICATED"), "the right token is accepted: \(rightOutput) \(rightErrors)")

        try await eventually("the notifier gave up on the refused endpoint", timeout: .seconds(60)) {
            notifier.output.contains("dead-lettered") && notifier.output.contains("INC-SECRET")
        }
        try await eventually("the SASL client reported its failure", timeout: .seconds(30)) {
            sasl.output.lowercased().contains("sasl") || sasl.output.contains("authentication")
        }
        _ = try await intake.stop()
        _ = try await notifier.stop()
        sasl.kill9()
        _ = try await broker.stop()

        let outputs = [
            "intake": intake.output, "notifier": notifier.output, "analytics (SASL)": sasl.output,
            "triage call": calls.withLock { $0 }.joined(separator: "\n"),
        ]
        for (name, output) in outputs {
            #expect(!output.isEmpty, "\(name) said something")
            for secret in secrets {
                #expect(
                    !output.contains(secret),
                    "\(name) printed a secret: …\(output.components(separatedBy: secret).first?.suffix(300) ?? "")")
            }
        }
    }
}
