import Foundation
import SwiftProtobuf
public import TriageSchema

/// Lifecycle events written as text, in every shape people and Triage's own tools hand them
/// over (`triage sla explain --events`, `triage publish`):
///
/// - JSON Lines: one event per line (the protobuf JSON mapping of `triage.v1.IncidentEvent`);
/// - a single pretty-printed event, or several of them one after the other
///   (`cat schemas/examples/*.json`);
/// - a JSON array of events;
/// - `triage tail` output: each line is a record as ``TopicRecordJSON`` prints it; the event is
///   taken out of it and tail's metadata (topic, partition, offset, key...) ignored.
///
/// Blank lines and lines starting with `#` between values are skipped. The shape is decided by
/// the first value: when it ends on the line it starts on, the input is read as JSON Lines (a
/// value never spans lines, so one broken line is reported and the next line is read again);
/// otherwise values may span lines. Every entry and every problem carries the line its value
/// starts on.
public enum IncidentEventText {
    /// One value of the input: the event, or why it is not one.
    public struct Entry: Sendable {
        /// 1-based line the value starts on.
        public let line: Int
        public let event: Result<IncidentEvent, Problem>
    }

    /// A value that is not an event: where it starts and why.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public let line: Int
        public let message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// Reads every value of `text`, in order.
    public static func read(_ text: String) -> [Entry] {
        let bytes = Array(text.utf8)
        var scanner = ValueScanner(bytes: bytes)
        var entries: [Entry] = []
        var spansLines: Bool?
        while let item = scanner.nextValue(spanningLines: spansLines ?? true) {
            switch item {
            case .value(let line, let range):
                if spansLines == nil { spansLines = !scanner.lastValueEndedOnItsLine }
                entries += events(in: bytes[range], line: line)
            case .problem(let problem):
                if spansLines == nil { spansLines = false }
                entries.append(Entry(line: problem.line, event: .failure(problem)))
            }
        }
        return entries
    }

    /// Reads `text` and returns its events, or throws the first problem.
    public static func events(_ text: String) throws(Problem) -> [IncidentEvent] {
        var result: [IncidentEvent] = []
        for entry in read(text) {
            switch entry.event {
            case .success(let event): result.append(event)
            case .failure(let problem): throw problem
            }
        }
        return result
    }

    static func events(in json: ArraySlice<UInt8>, line: Int) -> [Entry] {
        let bytes = Array(json)
        // The common case, one event per value, read in one pass. Anything else (an array, a
        // `triage tail` record, which has fields an event has not, or a mistake) is read below
        // exactly as before, so its problem is reported the same way.
        if bytes.first == UInt8(ascii: "{"), let event = try? IncidentEvent(jsonUTF8Bytes: bytes) {
            return [Entry(line: line, event: .success(event))]
        }
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(bytes)) else {
            // Not JSON at all: SwiftProtobuf's parser says where and why.
            return [Entry(line: line, event: Result { try IncidentEvent(jsonUTF8Bytes: bytes) }.mapError { problem(line, $0) })]
        }
        if let array = parsed as? [Any] {
            return array.enumerated().map { index, element in
                Entry(line: line, event: event(element, line: line, what: "element \(index) of the array"))
            }
        }
        if let object = parsed as? [String: Any], !isTailRecord(object) {
            // Decoded from the text itself, so errors and numbers are exactly the input's.
            return [Entry(line: line, event: Result { try IncidentEvent(jsonUTF8Bytes: bytes) }.mapError { problem(line, $0) })]
        }
        return [Entry(line: line, event: event(parsed, line: line, what: "the value"))]
    }

    static func event(_ value: Any, line: Int, what: String) -> Result<IncidentEvent, Problem> {
        guard var object = value as? [String: Any] else {
            return .failure(Problem(line: line, message: "\(what) is not a JSON object, so not an IncidentEvent"))
        }
        if isTailRecord(object) {
            let origin = "\(object["topic"] ?? "?")[\(object["partition"] ?? "?")]@\(object["offset"] ?? "?")"
            if let error = object["error"] {
                return .failure(Problem(line: line, message: "triage tail could not decode the record at \(origin): \(error)"))
            }
            if object["value"] != nil || object[TopicRecordJSON.base64Key] != nil {
                let schema = object["schema"].map { "\($0)" } ?? "record without a triage-schema header"
                return .failure(Problem(line: line, message: "not an IncidentEvent: triage tail printed a \(schema) at \(origin)"))
            }
            for key in TopicRecordJSON.metadataKeys { object[key] = nil }
        }
        do {
            let data = try JSONSerialization.data(withJSONObject: object)
            return .success(try IncidentEvent(jsonUTF8Bytes: Array(data)))
        } catch {
            return .failure(problem(line, error))
        }
    }

    /// A line `triage tail` printed: it has the record's position.
    static func isTailRecord(_ object: [String: Any]) -> Bool {
        object["topic"] != nil && object["partition"] != nil && object["offset"] != nil
    }

    static func problem(_ line: Int, _ error: any Error) -> Problem {
        Problem(line: line, message: "not an IncidentEvent in JSON (the protobuf JSON mapping, see schemas/examples/): \(reason(error))")
    }

    /// What is wrong, as a sentence: SwiftProtobuf's errors print as enum cases
    /// (`unknownField("x")`), which name neither the problem nor the field in words.
    static func reason(_ error: any Error) -> String {
        guard let error = error as? JSONDecodingError else { return error.localizedDescription }
        switch error {
        case .unknownField(let name):
            // Quoted and escaped: a field name may hold anything a JSON string can.
            return "unknown field \(name.debugDescription) (not a field of triage.v1.IncidentEvent or of the message it is in)"
        case .unrecognizedEnumValue: return "a value is not one its enum field knows (severity: SEVERITY_A, B or C; coverage: ...)"
        case .malformedTimestamp: return "a timestamp is not an RFC 3339 instant (such as \"2026-03-06T16:00:00Z\")"
        case .malformedDuration: return "a duration is not written as seconds with an 's' (such as \"90s\")"
        case .malformedNumber, .leadingZero: return "a number is malformed"
        case .numberRange: return "a number is out of range, or not a whole number where one is needed"
        case .malformedBool: return "a boolean is neither true nor false"
        case .malformedString: return "a string is malformed (unquoted, or with a bad backslash escape)"
        case .invalidUTF8: return "the text is not valid UTF-8"
        case .illegalNull: return "null where a value is needed (such as inside a list)"
        case .conflictingOneOf: return "more than one kind of event (opened, assigned, ...) in one event; give one"
        case .truncated: return "the JSON value ends too early"
        case .trailingGarbage: return "there is more text after the JSON value"
        case .messageDepthLimit: return "the value is nested too deeply"
        default: return "a value does not have the type its field needs (a string, a number, an object, a list)"
        }
    }

    /// Splits the input into top-level JSON values (objects and arrays), string-aware.
    struct ValueScanner {
        enum Item {
            case value(line: Int, range: Range<Int>)
            case problem(Problem)
        }

        let bytes: [UInt8]
        var index = 0
        var line = 1
        var lastValueEndedOnItsLine = true

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func nextValue(spanningLines: Bool) -> Item? {
            // Whitespace, blank lines and `#` comment lines.
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\n"):
                    line += 1
                    index += 1
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: ","):
                    index += 1
                case UInt8(ascii: "#"):
                    skipRestOfLine()
                default:
                    return scanValue(spanningLines: spanningLines)
                }
            }
            return nil
        }

        mutating func skipRestOfLine() {
            while index < bytes.count && bytes[index] != UInt8(ascii: "\n") { index += 1 }
        }

        mutating func scanValue(spanningLines: Bool) -> Item {
            let start = index
            let startLine = line
            guard bytes[start] == UInt8(ascii: "{") || bytes[start] == UInt8(ascii: "[") else {
                var end = start
                while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
                let snippet = String(decoding: bytes[start..<min(end, start + 40)], as: UTF8.self)
                index = end
                return .problem(Problem(line: startLine, message: "expected a JSON object (an IncidentEvent), found '\(snippet)'"))
            }
            var depth = 0
            var inString = false
            var escaped = false
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\n") {
                    line += 1
                    if !spanningLines {
                        return .problem(
                            Problem(line: startLine, message: "incomplete JSON value: it does not end on this line (JSON Lines input)"))
                    }
                }
                if inString {
                    if escaped {
                        escaped = false
                    } else if byte == UInt8(ascii: "\\") {
                        escaped = true
                    } else if byte == UInt8(ascii: "\"") {
                        inString = false
                    }
                    continue
                }
                switch byte {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 {
                        lastValueEndedOnItsLine = line == startLine
                        return .value(line: startLine, range: start..<index)
                    }
                default: break
                }
            }
            lastValueEndedOnItsLine = false
            return .problem(Problem(line: startLine, message: "incomplete JSON value: a '{' or '[' here is never closed"))
        }
    }
}
