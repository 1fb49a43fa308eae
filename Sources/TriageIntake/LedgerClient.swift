public import Foundation
public import Logging
public import ServiceLifecycle
import SwiftProtobuf
import Synchronization
public import TriageEntitlements
public import TriageKafka
public import TriageSchema
import TriageStreams

/// Why a ledger call did not get an answer.
public struct LedgerUnavailable: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Sends commands to the entitlement ledger and waits for its answers (request/reply over Kafka).
///
/// Replies are read by a ``KafkaTopicFollower`` that starts at the reply topic's end; ``start()``
/// returns once it is positioned there, so no answer to a later request can be missed. Every
/// client reads every reply and keeps the ones it waits for.
public final class LedgerClient: Service, Sendable {
    private let producer: KafkaProducer
    private let follower: KafkaTopicFollower
    private let topics: LedgerTopics
    private let waiters: Waiters
    /// Hands stored requests to the ledger of this process (``handRequests(to:)``).
    private let localLedger: OfferRelay
    public let timeout: Duration

    public init(
        producer: KafkaProducer, client: KafkaClientConfiguration, replyPartitions: [Int32], topics: LedgerTopics = .init(),
        timeout: Duration = .seconds(15), logger: Logger
    ) {
        let waiters = Waiters()
        self.producer = producer
        self.topics = topics
        self.waiters = waiters
        self.timeout = timeout
        self.localLedger = OfferRelay(topic: topics.requests)
        self.follower = KafkaTopicFollower(topic: topics.replies, partitions: replyPartitions, start: .end, client: client, logger: logger)
        { record in
            guard let value = record.value, let reply = try? EntitlementReply(serializedBytes: Array(value)) else { return }
            waiters.resume(reply)
        }
    }

    /// Reads replies until cancelled, ``stop()`` or the service group's graceful shutdown.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await follower.run()
        } onGracefulShutdown: {
            self.follower.stop()
        }
    }
    public func stop() { follower.stop() }

    /// Answers stored by the ledger of this process (``EntitlementLedgerWorker``'s `answered`),
    /// handed over before the reply topic is read back.
    public func answered(_ replies: [EntitlementReply]) {
        for reply in replies { waiters.resume(reply) }
    }
    /// Hands every request, once stored, to `ledger` too (with the partition and offset it was
    /// stored at): the ledger of this process, which decides it at once if it owns the partition
    /// and has decided everything before it (``StreamWorker/offer(_:)``), instead of waiting for
    /// its consumer to fetch it. Set once, before the first call.
    public func handRequests(to ledger: @escaping @Sendable ([KafkaMessage]) -> Void) {
        localLedger.connect(ledger)
    }

    /// Returns once replies are being followed.
    public func ready() async throws { try await follower.waitUntilCaughtUp() }

    /// Sends `command` for `entitlementID` and waits for the ledger's answer.
    public func submit(
        _ command: LedgerCommand, entitlementID: String, requestID: String, events: [IncidentEvent] = [], requestedBy: String,
        at: Date = Date(),
        traceparent: String? = nil
    ) async throws -> LedgerAnswer {
        var request = EntitlementRequest()
        request.requestID = requestID
        request.entitlementID = entitlementID
        request.setLedgerCommand(command)
        request.events = events
        request.requestedBy = requestedBy
        request.requestedAt = Google_Protobuf_Timestamp(date: at)
        try await ready()
        // Registered before sending: the answer may arrive before this task looks for it.
        let slot = waiters.register(requestID)
        defer { waiters.remove(requestID, slot) }
        // Handed over without waiting for the broker's acknowledgement: the answer can only
        // come after the request was stored, and a failed delivery ends the wait with its error.
        // Requests of concurrent calls leave in librdkafka's batches. Once stored, the request
        // goes to this process's ledger as well: if it owns the partition it need not wait for
        // its consumer's next Fetch (which a broker may hold) to decide it.
        let message = KafkaProducerMessage(
            topic: topics.requests, key: Array(entitlementID.utf8), value: try request.serializedBytes(),
            headers: [
                KafkaHeader(name: TriageHeader.schema, string: "\(EntitlementRequest.protoMessageName); v=\(TriageHeader.schemaVersion)")
            ]
                + (traceparent.map { [KafkaHeader(name: TriageHeader.traceparent, string: $0)] } ?? [])
        )
        let localLedger = self.localLedger
        await producer.submit([message]) { (stored: Result<[KafkaDeliveryReport], KafkaError>) in
            switch stored {
            case .failure(let error): slot.fill(.failure(error))
            case .success(let reports): localLedger.stored([message], reports)
            }
        }
        guard let outcome = await slot.wait(timeout: timeout) else {
            throw LedgerUnavailable(
                "the entitlement ledger did not answer within \(timeout) (does an intake own the partition of \(entitlementID) on \(topics.requests)?)"
            )
        }
        return try LedgerAnswer(try outcome.get())
    }
}

/// A ledger reply, decoded.
public struct LedgerAnswer: Sendable {
    public var outcome: Result<LedgerOutcome, LedgerRejection>
    public var events: [EventPosition]

    init(_ reply: EntitlementReply) throws(LedgerContractError) {
        outcome = try reply.ledgerAnswer()
        events = reply.events
    }
}

public typealias EventPosition = Triage_V1_EventPosition

/// Requests waiting for replies, by request id (a retry may wait beside the first try).
private final class Waiters: Sendable {
    private let slots = Mutex<[String: [ReplySlot]]>([:])

    func register(_ id: String) -> ReplySlot {
        let slot = ReplySlot()
        slots.withLock { $0[id, default: []].append(slot) }
        return slot
    }

    func remove(_ id: String, _ slot: ReplySlot) {
        slots.withLock { slots in
            slots[id]?.removeAll { $0 === slot }
            if slots[id]?.isEmpty == true { slots[id] = nil }
        }
    }

    func resume(_ reply: EntitlementReply) {
        for slot in slots.withLock({ $0[reply.requestID] ?? [] }) { slot.fill(.success(reply)) }
    }
}

/// One awaited reply (or the failure to send its request): filled by the reply reader or the
/// producer, awaited by the caller, whichever comes first.
private final class ReplySlot: Sendable {
    typealias Outcome = Result<EntitlementReply, KafkaError>
    private struct State {
        var reply: Outcome?
        var waiter: CheckedContinuation<Outcome?, Never>?
        var done = false
    }
    private let state = Mutex(State())

    func fill(_ reply: Outcome) {
        let waiter: CheckedContinuation<Outcome?, Never>? = state.withLock { state in
            guard !state.done, state.reply == nil else { return nil }
            state.reply = reply
            guard let waiter = state.waiter else { return nil }
            state.waiter = nil
            state.done = true
            return waiter
        }
        waiter?.resume(returning: reply)
    }

    private func expire() {
        let waiter: CheckedContinuation<Outcome?, Never>? = state.withLock { state in
            guard !state.done else { return nil }
            state.done = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// The reply, or `nil` after `timeout` (or on cancellation).
    func wait(timeout: Duration) async -> Outcome? {
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.expire()
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Outcome?, Never>) in
                let ready: Outcome?? = state.withLock { state in
                    if let reply = state.reply {
                        state.done = true
                        return .some(reply)
                    }
                    // Timed out (or cancelled) before waiting began.
                    if state.done { return .some(nil) }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            self.expire()
        }
    }
}
