import Foundation
import Testing
import TriageNotification

@testable import TriageNotifierWorker

/// The webhook body, now written directly (issue 24), reads back as the document
/// `JSONSerialization` wrote before, whatever the texts hold.
@Suite("Webhook envelope JSON")
struct WebhookEnvelopeTests {
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Texts with what JSON must escape and what it must not touch.
    static func text(_ generator: inout Seeded) -> String {
        let pieces = ["a", "Z", "\"", "\\", "/", "\n", "\r", "\t", "\u{0}", "\u{1F}", "\u{7F}", "é", "漢", "😀", "\u{2028}", " ", "{", "}"]
        return (0..<Int.random(in: 0...12, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
    }

    @Test func theBodyReadsBackAsTheRequestsFields() throws {
        let endpoint = NotificationRules.Endpoint(
            name: "hook", kind: .webhook(.init(url: .url(URL(string: "http://127.0.0.1:1/hook")!))), maxConcurrency: 1)
        var generator = Seeded(state: 24)
        for round in 0..<500 {
            let recipient = "ops-\(round)"
            let rules = NotificationRules(
                endpoints: ["hook": endpoint], recipients: [recipient: NotificationRules.Recipient(name: recipient, endpoints: ["hook"])])
            var payload: [String: String] = [:]
            for _ in 0..<Int.random(in: 0...5, using: &generator) { payload[Self.text(&generator)] = Self.text(&generator) }
            let notification = OutboundNotification(
                idempotencyKey: "key-\(round)-" + Self.text(&generator), incidentID: Self.text(&generator),
                requestedAt: Date(timeIntervalSince1970: 1_780_000_000 + Double(round)), recipient: recipient, channel: nil,
                template: Self.text(&generator), payload: payload, urgent: round % 2 == 0)
            let target = try #require(try rules.deliveries(for: notification).first)
            let summary = Self.text(&generator)
            let body = WebhookEnvelope(notification: notification, target: target, summary: summary).json()
            let parsed = try #require(
                try JSONSerialization.jsonObject(with: body) as? NSDictionary, "\(String(decoding: body, as: UTF8.self))")
            let expected: NSDictionary = [
                "idempotency_key": target.idempotencyKey, "incident_id": notification.incidentID, "recipient": recipient,
                "template": notification.template, "requested_at": notification.requestedAt.formatted(.iso8601),
                "urgent": notification.urgent, "escalation_level": target.escalationLevel.map { $0 as Any } ?? NSNull(),
                "payload": payload, "summary": summary,
            ]
            #expect(parsed == expected, "\(String(decoding: body, as: UTF8.self))")
            // Keys in order, as before.
            let text = String(decoding: body, as: UTF8.self)
            let order = ["escalation_level", "idempotency_key", "incident_id", "payload", "recipient", "requested_at", "summary"]
                .compactMap { text.range(of: "\"\($0)\":")?.lowerBound }
            #expect(order == order.sorted() && order.count == 7)
        }
    }
}
