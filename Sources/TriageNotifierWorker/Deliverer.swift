import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import TriageCore
public import TriageNotification

/// Sends one rendered notification to one target over its channel and says how it went.
///
/// Webhook: a JSON envelope (the request's fields plus the rendered `summary`), signed with
/// `Triage-Signature` when the endpoint has a key. Chat: Slack-compatible `{"text": ...}`.
/// E-mail: through the endpoint's SMTP server. Every delivery carries `Idempotency-Key`.
/// Never throws: failures are ``DeliveryOutcome``s.
public struct Deliverer: Sendable {
    public let templates: NotificationTemplates
    /// Where secrets and URLs named by the rules (`secret_env`, `url_env`, `password_env`) are read.
    public let environment: [String: String]
    let http: HTTPClient
    /// Signers by the variable naming their key (the environment does not change).
    private let signers = SignerCache()

    /// `rules`: the endpoints this deliverer posts to. Each host gets as many connections as
    /// its endpoints' `max_concurrency` add up to (at least 8), so a delivery never waits for a
    /// connection that another delivery to the same host holds: its `timeout` is the
    /// delivery's own, and a slow endpoint does not hold up another endpoint on its host.
    public init(templates: NotificationTemplates, environment: [String: String], rules: NotificationRules) {
        self.templates = templates
        self.environment = environment
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(
            configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit,
            Self.connectionsPerHost(for: rules.endpoints.values, environment: environment))
        self.http = HTTPClient(eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton), configuration: configuration)
    }

    /// The most deliveries `endpoints` can have in flight to one host at once: per host
    /// (scheme, name, port), the sum of its HTTP endpoints' `max_concurrency`.
    static func connectionsPerHost(for endpoints: some Sequence<NotificationRules.Endpoint>, environment: [String: String]) -> Int {
        var perHost: [String: Int] = [:]
        for endpoint in endpoints {
            let destination: NotificationRules.HTTPDestination
            switch endpoint.kind {
            case .webhook(let http), .chat(let http): destination = http
            case .email: continue
            }
            guard let url = destination.resolvedURL(in: environment) else { continue }
            let scheme = url.scheme?.lowercased() ?? "https"
            let port = url.port ?? (scheme == "http" ? 80 : 443)
            perHost["\(scheme)://\(url.host?.lowercased() ?? ""):\(port)", default: 0] += endpoint.maxConcurrency
        }
        return perHost.values.max() ?? 0
    }

    /// The signer for the key in `variable`; `nil` when it is unset or empty (deliveries go unsigned).
    private func signer(_ variable: String) -> WebhookSignature.Signer? {
        signers.cache.withLock { signers in
            if let signer = signers[variable] { return signer }
            guard let key = environment[variable], !key.isEmpty else { return nil }
            let signer = WebhookSignature.Signer(key: Array(key.utf8))
            signers[variable] = signer
            return signer
        }
    }

    public func shutdown() async {
        try? await http.shutdown()
    }

    /// `traceparent`: the W3C trace context to send along (HTTP header / mail header), continuing
    /// the trace of the request that caused the notification.
    public func deliver(
        _ notification: OutboundNotification, to target: DeliveryTarget, now: Date = Date(), traceparent: String? = nil
    ) async -> DeliveryOutcome {
        let rendered = templates.render(notification, for: target.channel, language: target.language)
        switch target.endpoint.kind {
        case .webhook(let destination):
            let envelope = WebhookEnvelope(notification: notification, target: target, summary: rendered.text)
            return await post(envelope.json(), to: destination, target: target, now: now, traceparent: traceparent)
        case .chat(let destination):
            let body = (try? JSONSerialization.data(withJSONObject: ["text": rendered.text], options: [.sortedKeys])) ?? Data()
            return await post(body, to: destination, target: target, now: now, traceparent: traceparent)
        case .email(let server):
            guard let address = target.emailAddress else { return .permanent("recipient '\(target.recipient)' has no e-mail address") }
            let client = SMTPClient(
                configuration: .init(
                    host: server.host, port: server.port, startTLS: server.startTLS, username: server.username,
                    password: server.passwordVariable.flatMap { environment[$0] },
                    timeout: .milliseconds(Int64(target.endpoint.timeout * 1000))
                )
            )
            let mail = MailMessage(
                from: server.from, to: [address], subject: rendered.subject ?? notification.template, body: rendered.text,
                headers: [("Idempotency-Key", target.idempotencyKey), ("X-Triage-Incident", notification.incidentID)]
                    + (traceparent.map { [("Traceparent", $0)] } ?? [])
            )
            do {
                try await client.send(mail)
                return .delivered
            } catch let error as SMTPError {
                if let code = error.replyCode { return .smtp(replyCode: code, message: error.message) }
                return .transport(error.isTimeout ? .timeout : .other(error.message))
            } catch {
                return .transport(.other("\(error)"))
            }
        }
    }

    private func post(
        _ body: Data, to destination: NotificationRules.HTTPDestination, target: DeliveryTarget, now: Date, traceparent: String?
    ) async -> DeliveryOutcome {
        guard let url = destination.resolvedURL(in: environment) else {
            return .permanent("endpoint '\(target.endpoint.name)' has no usable URL")
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "triage-notifier")
        request.headers.add(name: "Idempotency-Key", value: target.idempotencyKey)
        if let traceparent { request.headers.add(name: "traceparent", value: traceparent) }
        if let signer = destination.secretVariable.flatMap(signer) {
            request.headers.add(name: WebhookSignature.headerName, value: signer.sign(body: body, at: now))
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await http.execute(request, timeout: .milliseconds(Int64(target.endpoint.timeout * 1000)))
            // Read (and drop) a bounded answer so the connection can be reused.
            _ = try? await response.body.collect(upTo: 64 * 1024)
            return .http(status: Int(response.status.code), retryAfter: response.headers.first(name: "Retry-After"))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            return .transport(.timeout)
        } catch let error as HTTPClientError where error == .remoteConnectionClosed {
            return .transport(.connectionReset)
        } catch let error as HTTPClientError where "\(error)".contains("invalidHeaderField") {
            // The request cannot be built (a header value with a line break, say): no retry can
            // succeed, and it says nothing about the endpoint, so its breaker does not count it.
            return .permanent("the request cannot be sent: a header name or value holds characters HTTP forbids")
        } catch {
            let text = "\(error)"
            if text.contains("connectionRefused") || text.contains("Connection refused") { return .transport(.connectionRefused) }
            return .transport(.other(String(text.prefix(200))))
        }
    }
}

final class SignerCache: Sendable {
    let cache = Mutex<[String: WebhookSignature.Signer]>([:])
}

/// The webhook body: the request's fields, the target and the rendered summary.
struct WebhookEnvelope {
    var notification: OutboundNotification
    var target: DeliveryTarget
    var summary: String

    /// The envelope as JSON, keys sorted, written directly: `JSONSerialization` with sorted keys
    /// compared keys with locale-aware collation, which cost more than sending the request.
    func json() -> Data {
        var json = JSONBuffer()
        json.raw("{")
        json.key("escalation_level", first: true)
        if let level = target.escalationLevel { json.int(level) } else { json.null() }
        json.key("idempotency_key")
        json.string(target.idempotencyKey, style: .jsonEncoder)
        json.key("incident_id")
        json.string(notification.incidentID, style: .jsonEncoder)
        json.key("payload")
        json.raw("{")
        for (index, key) in notification.payload.keys.sorted().enumerated() {
            if index > 0 { json.raw(",") }
            json.string(key, style: .jsonEncoder)
            json.raw(":")
            json.string(notification.payload[key]!, style: .jsonEncoder)
        }
        json.raw("}")
        json.key("recipient")
        json.string(target.recipient, style: .jsonEncoder)
        json.key("requested_at")
        json.string(notification.requestedAt.formatted(.iso8601), style: .jsonEncoder)
        json.key("summary")
        json.string(summary, style: .jsonEncoder)
        json.key("template")
        json.string(notification.template, style: .jsonEncoder)
        json.key("urgent")
        json.bool(notification.urgent)
        json.raw("}")
        return Data(json.bytes)
    }
}
