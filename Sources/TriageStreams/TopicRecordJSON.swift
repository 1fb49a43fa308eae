import Foundation
import SwiftProtobuf
public import TriageKafka
import TriageSchema

/// One Kafka record as a JSON line (what `triage tail` prints), decoded by the record's
/// `triage-schema` header whatever the topic it is on:
///
/// - a lifecycle event (`triage.v1.IncidentEvent`, or no header on the lifecycle topic) prints as
///   its canonical JSON with `topic`, `partition`, `offset` and `key` beside its fields, so the
///   line is itself an event that ``IncidentEventText`` reads back (`triage tail | triage sla
///   explain --events -`);
/// - another Triage protobuf message prints the metadata, `schema` (the header) and `value`,
///   the message in its JSON mapping;
/// - a JSON value (`content-type: application/json`, e.g. analytics records, or a value that is
///   a JSON object or array) prints it as `value`;
/// - anything else (an unknown schema, binary state records) prints `valueBase64`, with `schema`
///   naming the header when there is one; that is not an error;
/// - a record whose header names a message it does not decode as prints `error` (the reason),
///   its `headers` and the raw value;
/// - a dead letter (a `triage-dlq-…` header) also prints its `headers`, the reason among them.
public enum TopicRecordJSON {
    /// The keys this adds beside a lifecycle event's own fields.
    public static let metadataKeys = ["topic", "partition", "offset", "key", "timestamp", "schema"]
    /// The key of a value printed as base64.
    public static let base64Key = "valueBase64"

    /// Triage's protobuf messages other than `IncidentEvent`, by full name.
    static let messages: [String: any SwiftProtobuf.Message.Type] = [
        AgentEvent.protoMessageName: AgentEvent.self,
        NotificationRequest.protoMessageName: NotificationRequest.self,
        AnalyticsRecord.protoMessageName: AnalyticsRecord.self,
        EntitlementRequest.protoMessageName: EntitlementRequest.self,
        EntitlementReply.protoMessageName: EntitlementReply.self,
    ]

    /// The record as one line of JSON (sorted keys), and the incident it is about: the event's
    /// incident id, or the record's key for anything else.
    public static func line(for message: KafkaMessage, decoder: IncidentEventDecoder) -> (line: String, incident: String?) {
        var object: [String: Any] = ["topic": message.topic, "partition": Int(message.partition), "offset": Int(message.offset)]
        if let key = message.keyString { object["key"] = key }
        // When the record reached the topic (what `triage sla backtest --file` replays it at).
        if let timestamp = message.timestamp { object["timestamp"] = timestampText(timestamp) }
        let header = message.header(TriageHeader.schema)?.stringValue
        let schema = header.map { String($0.split(separator: ";", maxSplits: 1).first ?? "").trimmingCharacters(in: .whitespaces) }
        let contentType = message.header(TriageHeader.contentType)?.stringValue
        let value = message.valueBytes.map { Array($0) }
        var incident = message.keyString

        if schema == IncidentEvent.protoMessageName || (schema == nil && message.topic == TriageTopic.incidentEvents) {
            switch decoder.decode(message) {
            case .success(let event):
                incident = event.incidentID
                if let json = try? event.jsonUTF8Data(), let decoded = try? JSONSerialization.jsonObject(with: json) as? [String: Any] {
                    object.merge(decoded) { metadata, _ in metadata }
                }
            case .failure(let reason):
                object["error"] = reason.text
                object["headers"] = headers(of: message)
                object["value"] = message.valueString
            }
        } else if contentType == TriageHeader.jsonContentType || (contentType == nil && looksLikeJSON(value)) {
            object["schema"] = header
            if let value, let parsed = try? JSONSerialization.jsonObject(with: Data(value), options: [.fragmentsAllowed]) {
                object["value"] = parsed
            } else {
                object["error"] = "content-type \(TriageHeader.jsonContentType) but the value is not JSON"
                object["headers"] = headers(of: message)
                object[base64Key] = value.map { Data($0).base64EncodedString() }
            }
        } else if let schema, let type = messages[schema], let value {
            object["schema"] = header
            do {
                object["value"] = try JSONSerialization.jsonObject(with: Data(try json(of: type, from: value)))
            } catch {
                object["error"] = "not a decodable \(schema): \(error)"
                object["headers"] = headers(of: message)
                object[base64Key] = Data(value).base64EncodedString()
            }
        } else {
            object["schema"] = header
            object[base64Key] = value.map { Data($0).base64EncodedString() }
        }
        // A dead letter says why it is one (and where it came from) in its headers.
        if message.headers.contains(where: { $0.name.hasPrefix("triage-dlq-") }) { object["headers"] = headers(of: message) }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return ("{}", incident) }
        return (String(decoding: data, as: UTF8.self), incident)
    }

    /// RFC 3339 UTC with milliseconds, the precision of Kafka timestamps.
    static func timestampText(_ date: Date) -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date)
    }

    static func json<Message: SwiftProtobuf.Message>(of type: Message.Type, from value: [UInt8]) throws -> [UInt8] {
        Array(try Message(serializedBytes: value).jsonUTF8Data())
    }

    static func headers(of message: KafkaMessage) -> [String: String] {
        Dictionary(message.headers.map { ($0.name, $0.stringValue ?? "") }) { first, _ in first }
    }

    /// A value without a content type that is a JSON object or array (state records, desk
    /// snapshots). Binary values that happen to start with `{` or `[` do not parse as JSON.
    static func looksLikeJSON(_ value: [UInt8]?) -> Bool {
        guard let value, let first = value.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }),
            first == UInt8(ascii: "{") || first == UInt8(ascii: "[")
        else { return false }
        return (try? JSONSerialization.jsonObject(with: Data(value))) != nil
    }
}
