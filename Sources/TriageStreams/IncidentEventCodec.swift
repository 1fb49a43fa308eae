import Foundation
import SwiftProtobuf
public import TriageKafka
public import TriageSchema

/// Why a record on a Triage topic cannot be processed. It goes to the dead-letter topic with
/// this text in `triage-dlq-reason`.
public struct PoisonReason: Error, Sendable, Hashable, CustomStringConvertible {
    public let text: String
    public init(_ text: String) { self.text = text }
    public var description: String { text }
}

extension KafkaMessage {
    /// Why this record is not a `expected` (its `triage-schema` header names another message
    /// type); `nil` when the header is absent or names `expected`, with or without `; v=N`.
    /// A newer version of the same message passes: unknown fields are skipped when decoding.
    public func schemaMismatch(expected: String) -> PoisonReason? {
        guard let schema = header(TriageHeader.schema)?.stringValue, !schema.hasPrefix(expected + ";") && schema != expected else {
            return nil
        }
        return PoisonReason("wrong message type: triage-schema is '\(schema)', expected \(expected)")
    }
}

/// Turns Kafka records of the lifecycle topic into validated `IncidentEvent`s.
///
/// Records are read by their headers: `content-type` selects protobuf (default) or JSON, and a
/// `triage-schema` header naming another message type is refused before decoding. Decoding and
/// validation are separate steps; a failure in either is a ``PoisonReason``.
public struct IncidentEventDecoder: Sendable {
    public var validator: IncidentEventValidator

    public init(validator: IncidentEventValidator = IncidentEventValidator()) {
        self.validator = validator
    }

    public func decode(_ message: KafkaMessage) -> Result<IncidentEvent, PoisonReason> {
        guard let value = message.valueBytes, !value.isEmpty else { return .failure(PoisonReason("empty record value")) }
        if let mismatch = message.schemaMismatch(expected: IncidentEvent.protoMessageName) { return .failure(mismatch) }
        let event: IncidentEvent
        do {
            switch message.header(TriageHeader.contentType)?.stringValue {
            case TriageHeader.jsonContentType:
                event = try IncidentEvent(jsonUTF8Bytes: Array(value))
            case nil, TriageHeader.protobufContentType:
                event = try IncidentEvent(serializedBytes: value)
            case let other?:
                return .failure(PoisonReason("unsupported content-type '\(other)'"))
            }
        } catch {
            return .failure(PoisonReason("not a decodable \(IncidentEvent.protoMessageName): \(error)"))
        }
        if let expected = message.header(TriageHeader.eventType)?.stringValue, let actual = event.eventTypeName, expected != actual {
            return .failure(PoisonReason("triage-event-type header says '\(expected)' but the record holds '\(actual)'"))
        }
        if let violation = validator.violations(of: event).first {
            return .failure(PoisonReason("invalid event: \(violation)"))
        }
        return .success(event)
    }
}

/// Publishes lifecycle events: validates, keys by incident id, sets the header conventions.
public struct IncidentEventPublisher: Sendable {
    public let producer: KafkaProducer
    public var topic: String
    public var validator: IncidentEventValidator

    public init(producer: KafkaProducer, topic: String = TriageTopic.incidentEvents, validator: IncidentEventValidator = .init()) {
        self.producer = producer
        self.topic = topic
        self.validator = validator
    }

    /// Validates and publishes `event`; returns where it was stored.
    public func publish(_ event: IncidentEvent, traceparent: String? = nil) async throws -> KafkaDeliveryReport {
        try validator.validate(event)
        return try await producer.send(record(for: event, traceparent: traceparent))
    }

    public func record(for event: IncidentEvent, traceparent: String? = nil) throws -> KafkaProducerMessage {
        try event.kafkaRecord(topic: topic, traceparent: traceparent)
    }
}

extension IncidentEvent {
    /// The record of this event on `topic`: keyed by incident id, with the header conventions.
    public func kafkaRecord(topic: String = TriageTopic.incidentEvents, traceparent: String? = nil) throws -> KafkaProducerMessage {
        kafkaRecord(topic: topic, serialized: try serializedBytes(), traceparent: traceparent)
    }

    /// ``kafkaRecord(topic:traceparent:)`` with the event's bytes serialized already (by the
    /// caller, who keeps them too), so it is not serialized twice.
    public func kafkaRecord(topic: String = TriageTopic.incidentEvents, serialized: [UInt8], traceparent: String? = nil)
        -> KafkaProducerMessage
    {
        KafkaProducerMessage(
            topic: topic,
            key: Array(incidentID.utf8),
            value: serialized,
            headers: kafkaHeaders(traceparent: traceparent).map { KafkaHeader(name: $0.name, string: $0.value) }
        )
    }
}

/// The dead-letter topic: the original record (key, value, headers) plus why and where from.
public struct DeadLetterQueue: Sendable {
    public let producer: KafkaProducer
    public var topic: String
    /// Named in each record's `triage-dlq-worker` header.
    public var worker: String?

    public init(producer: KafkaProducer, topic: String = TriageTopic.deadLetter, worker: String? = nil) {
        self.producer = producer
        self.topic = topic
        self.worker = worker
    }

    @discardableResult
    public func send(_ message: KafkaMessage, reason: PoisonReason) async throws -> KafkaDeliveryReport {
        try await producer.send(Self.record(for: message, reason: reason, topic: topic, worker: worker))
    }

    /// The dead-letter record of `message`: its key, value and headers, plus headers naming the
    /// reason and where it came from.
    public static func record(
        for message: KafkaMessage, reason: PoisonReason, topic: String = TriageTopic.deadLetter, worker: String? = nil
    ) -> KafkaProducerMessage {
        var headers =
            message.headers + [
                KafkaHeader(name: TriageHeader.deadLetterReason, string: reason.text),
                KafkaHeader(name: TriageHeader.deadLetterTopic, string: message.topic),
                KafkaHeader(name: TriageHeader.deadLetterPartition, string: String(message.partition)),
                KafkaHeader(name: TriageHeader.deadLetterOffset, string: String(message.offset)),
            ]
        if let worker { headers.append(KafkaHeader(name: TriageHeader.deadLetterWorker, string: worker)) }
        return KafkaProducerMessage(topic: topic, key: message.key, value: message.value, headers: headers)
    }
}
