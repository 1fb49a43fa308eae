import Foundation
import NIOSSL
import Testing
import TriageKafkaTesting
import TriageNotifierWorker

private let smtpRequired = ProcessInfo.processInfo.environment["CI"] == "true"

@Suite("SMTP client against a real SMTP server on loopback (aiosmtpd)")
struct SMTPClientTests {
    @Test(.enabled(if: smtpRequired || SMTPSinkProcess.isAvailable, "aiosmtpd is not installed (pip install aiosmtpd)"))
    func aMailArrivesWithItsSubjectBodyAndIdempotencyKey() async throws {
        let server = try await SMTPSinkProcess()
        defer { server.stop() }
        let client = SMTPClient(configuration: .init(host: "127.0.0.1", port: server.port, timeout: .seconds(30)))
        let body = "Incident INC-7 breached its first-response target.\n.a line that starts with a dot\nGrüße"
        let reply = try await client.send(
            MailMessage(
                from: "Triage <triage@example.com>", to: ["lead@example.com", "Manager <manager@example.com>"],
                subject: "[Sev A] INC-7 escalated — level 1", body: body, headers: [("Idempotency-Key", "sla-abc/lead")]
            )
        )
        #expect(reply.contains("queued as 1"))
        let raw = try #require(server.messages.first)
        #expect(raw.contains("X-Envelope-From: triage@example.com"))
        #expect(raw.contains("X-Envelope-To: lead@example.com,manager@example.com"))
        #expect(raw.contains("Idempotency-Key: sla-abc/lead"))
        let parsed = ParsedMail(raw)
        #expect(parsed.subject == "[Sev A] INC-7 escalated — level 1")
        #expect(parsed.body == body.replacingOccurrences(of: "\n", with: "\r\n"), "body round trip (dot-stuffing undone by the server)")
    }

    @Test(.enabled(if: smtpRequired || SMTPSinkProcess.isAvailable, "aiosmtpd is not installed (pip install aiosmtpd)"))
    func aTransientRefusalIsReportedAsTransientAndTheNextTryArrives() async throws {
        let server = try await SMTPSinkProcess(rejectFirst: 1)
        defer { server.stop() }
        let client = SMTPClient(configuration: .init(host: "127.0.0.1", port: server.port, timeout: .seconds(30)))
        let mail = MailMessage(from: "triage@example.com", to: ["lead@example.com"], subject: "retry me", body: "plain")
        do {
            try await client.send(mail)
            Issue.record("the first DATA should have been refused")
        } catch let error as SMTPError {
            #expect(error.replyCode == 451)
            #expect(error.isTransient)
        }
        try await client.send(mail)
        #expect(server.messages.count == 1)
        #expect(ParsedMail(server.messages[0]).subject == "retry me")
    }

    @Test(.enabled(if: smtpRequired || SMTPSinkProcess.isAvailable, "aiosmtpd is not installed (pip install aiosmtpd)"))
    func startTLSUpgradesTheConnectionBeforeTheMailIsSent() async throws {
        // A self-signed certificate for 127.0.0.1; the server requires STARTTLS before MAIL.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("smtp-tls")).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let (made, _, opensslErrors) = try await runProcess(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout", folder + "/key.pem", "-out", folder + "/cert.pem",
            ]
        )
        #expect(made == 0, "\(opensslErrors)")
        let server = try await SMTPSinkProcess(extraArguments: ["--tls-cert", folder + "/cert.pem", "--tls-key", folder + "/key.pem"])
        defer { server.stop() }
        let mail = MailMessage(from: "triage@example.com", to: ["lead@example.com"], subject: "over TLS", body: "secret body")
        // Without STARTTLS the server refuses the mail (it requires TLS first).
        let plain = SMTPClient(configuration: .init(host: "127.0.0.1", port: server.port, timeout: .seconds(30)))
        await #expect(throws: SMTPError.self) { try await plain.send(mail) }
        // With the system's trust store the self-signed certificate is refused: the chain is checked.
        let untrusting = SMTPClient(configuration: .init(host: "127.0.0.1", port: server.port, startTLS: true, timeout: .seconds(30)))
        await #expect(throws: (any Error).self) { try await untrusting.send(mail) }
        let certificate = try NIOSSLCertificate.fromPEMFile(folder + "/cert.pem")
        let client = SMTPClient(
            configuration: .init(
                host: "127.0.0.1", port: server.port, startTLS: true, trustRoots: .certificates(certificate), timeout: .seconds(30))
        )
        try await client.send(mail)
        #expect(server.messages.count == 1)
        #expect(ParsedMail(try #require(server.messages.first)).subject == "over TLS")
    }

    @Test func nobodyListeningIsATransientTransportError() async throws {
        // A port that was just free: connection refused.
        let client = SMTPClient(configuration: .init(host: "127.0.0.1", port: 9, timeout: .seconds(5)))
        do {
            try await client.send(MailMessage(from: "a@example.com", to: ["b@example.com"], subject: "s", body: "b"))
            Issue.record("sending to a closed port succeeded")
        } catch let error as SMTPError {
            #expect(error.replyCode == nil)
            #expect(error.isTransient)
        }
    }
}

/// Just enough RFC 5322/MIME reading for the tests: the subject (RFC 2047 B-encoding) and the
/// text body (7bit or base64).
struct ParsedMail {
    var headers: [String: String] = [:]
    var body = ""

    init(_ raw: String) {
        let parts = raw.components(separatedBy: "\r\n\r\n")
        for line in parts[0].components(separatedBy: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[String(line[..<colon]).lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let rest = parts.dropFirst().joined(separator: "\r\n\r\n")
        if headers["content-transfer-encoding"] == "base64" {
            body = Data(base64Encoded: rest.replacingOccurrences(of: "\r\n", with: "")).map { String(decoding: $0, as: UTF8.self) } ?? ""
        } else {
            // "\r\n" is one Character in Swift: drop one, not two (two took the body's last character).
            body = rest.hasSuffix("\r\n") ? String(rest.dropLast()) : rest
        }
    }

    var subject: String {
        let value = headers["subject"] ?? ""
        guard value.hasPrefix("=?UTF-8?B?"), value.hasSuffix("?=") else { return value }
        return Data(base64Encoded: String(value.dropFirst(10).dropLast(2))).map { String(decoding: $0, as: UTF8.self) } ?? value
    }
}
