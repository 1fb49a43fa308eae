import Foundation
import Hummingbird
public import Logging
public import ServiceLifecycle
import Synchronization
import TriageNotification
import TriageSchema

/// `triage dev`'s local webhook receiver: the notifier delivers every notification here. It
/// checks each `Triage-Signature` with the documented recipe and counts deliveries by template.
public final class DevWebhookSink: Service, Sendable {
    public struct Figures: Sendable {
        public var received = 0
        public var verified = 0
        public var byTemplate: [String: Int] = [:]
        /// W3C trace ids of the deliveries that carried a `traceparent`.
        public var traceIDs: Set<String> = []
        /// Deliveries per `Idempotency-Key` (more than one: a repeat the receiver can recognise).
        public var keys: [String: Int] = [:]

        /// `assigned 12, customer-update 30, ...` by template name; empty before the first.
        public var templateLine: String {
            byTemplate.isEmpty ? "" : "; " + byTemplate.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
    }

    public let key: String
    private let logger: Logger
    private let figures = Mutex(Figures())
    /// The bound port once listening, and who waits for it until then.
    private let listening = Mutex<(port: Int?, waiters: [CheckedContinuation<Int, Never>])>((nil, []))

    public init(key: String, logger: Logger) {
        self.key = key
        self.logger = logger
    }

    public var snapshot: Figures { figures.withLock { $0 } }

    /// The bound port, once listening.
    public func boundPort() async -> Int {
        await withCheckedContinuation { continuation in
            let known = listening.withLock { state -> Int? in
                if state.port == nil { state.waiters.append(continuation) }
                return state.port
            }
            if let known { continuation.resume(returning: known) }
        }
    }

    public func run() async throws {
        let router = Router()
        let key = Data(self.key.utf8)
        router.post("/hooks/:recipient") { [self] request, _ -> HTTPResponse.Status in
            let body = Data(buffer: try await request.body.collect(upTo: 1 << 20))
            var verified = false
            if let signature = request.headers.first(where: { $0.name.canonicalName == WebhookSignature.headerName.lowercased() })?.value {
                verified = (try? WebhookSignature.verify(header: signature, body: body, key: key, now: Date())) != nil
            }
            let template = ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any])?["template"] as? String ?? "?"
            let trace = request.headers.first(where: { $0.name.canonicalName == "traceparent" }).flatMap {
                TraceContext(traceparent: $0.value)
            }
            let idempotencyKey = request.headers.first(where: { $0.name.canonicalName == "idempotency-key" })?.value
            figures.withLock {
                if let trace { $0.traceIDs.insert(trace.traceID) }
                if let idempotencyKey { $0.keys[idempotencyKey, default: 0] += 1 }
                $0.received += 1
                if verified { $0.verified += 1 }
                $0.byTemplate[template, default: 0] += 1
            }
            return verified ? .ok : .unauthorized
        }
        let application = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "triage-dev-webhooks"),
            onServerRunning: { [self] channel in
                let bound = channel.localAddress?.port ?? 0
                let pending = listening.withLock { state in
                    state.port = bound
                    defer { state.waiters = [] }
                    return state.waiters
                }
                for waiter in pending { waiter.resume(returning: bound) }
            },
            logger: logger
        )
        try await application.run()
    }
}
