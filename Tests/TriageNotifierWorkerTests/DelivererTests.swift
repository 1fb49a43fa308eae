import Foundation
import Testing
import TriageNotification
import TriageNotifierWorker

struct DelivererTests {
    /// An endpoint's `max_concurrency` is how many deliveries are in flight to it, and its
    /// `timeout` is one delivery's own. The HTTP client kept at most 8 connections per host, so
    /// with two endpoints of 12 on one host, 24 deliveries went out in waves of 8 (and with a
    /// timeout shorter than two waves, those of the later waves timed out waiting for a
    /// connection). Counted at the receiver, which holds each request 2 s.
    @Test func everyEndpointOnAHostGetsItsMaxConcurrencyInConnections() async throws {
        let receiver = WebhookReceiver()
        let port = try await receiver.start()
        // `/hold` answers after 2 s; the timeout leaves room for a loaded machine.
        let rules = try NotificationRules.load(
            yaml: """
                endpoints:
                  first: { channel: webhook, url: "http://127.0.0.1:\(port)/hold", secret_env: KEY, max_concurrency: 12, timeout: 20s }
                  second: { channel: chat, url: "http://127.0.0.1:\(port)/hold", max_concurrency: 12, timeout: 20s }
                recipients:
                  ops: { endpoints: [first] }
                  lead: { endpoints: [second] }
                """, file: "rules.yaml")
        var targets: [(OutboundNotification, DeliveryTarget)] = []
        for index in 0..<24 {
            let notification = OutboundNotification(
                idempotencyKey: "key-\(index)", incidentID: "INC-\(index)", requestedAt: Date(), recipient: index % 2 == 0 ? "ops" : "lead",
                template: "escalated")
            targets += try rules.deliveries(for: notification).map { (notification, $0) }
        }
        #expect(targets.count == 24)
        let deliverer = Deliverer(templates: .defaults, environment: ["KEY": "a-key"], rules: rules)
        // A warm-up delivery, so the 24 below are timed from open connections' start.
        _ = await deliverer.deliver(targets[0].0, to: targets[0].1)
        let outcomes = await withTaskGroup(of: DeliveryOutcome.self) { group in
            for (notification, target) in targets { group.addTask { await deliverer.deliver(notification, to: target) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let delivered = outcomes.filter(\.isDelivered).count
        #expect(delivered == 24, "\(24 - delivered) of 24 deliveries failed: \(outcomes.filter { !$0.isDelivered })")
        // Before: never more than 8 at once. All 24 are sent within the first 2 s unless the
        // machine stalls that long.
        #expect(receiver.mostHeld > 8, "at most \(receiver.mostHeld) requests in flight at once")
        await deliverer.shutdown()
    }
}
