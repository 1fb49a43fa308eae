import Foundation
import Testing
import TriageKafkaTesting
import TriageSchema
import TriageStreams

@Suite("Lifecycle events as text: every shape the tools hand over")
struct EventTextTests {
    static let opened =
        #"{"eventId": "e1", "incidentId": "inc-1", "occurredAt": "2026-03-06T21:00:00Z", "opened": {"severity": "SEVERITY_A"}}"#
    static let acknowledged =
        #"{"eventId": "e2", "incidentId": "inc-1", "occurredAt": "2026-03-06T21:05:00Z", "acknowledged": {"agentId": "ada"}}"#

    func ids(_ text: String) throws -> [String] { try IncidentEventText.events(text).map(\.eventID) }

    @Test func jsonLinesWithBlankAndCommentLines() throws {
        #expect(try ids("# two events\n\(Self.opened)\n\n\(Self.acknowledged)\n") == ["e1", "e2"])
    }

    @Test func prettyPrintedEventsOneAfterTheOther() throws {
        let pretty = try [Self.opened, Self.acknowledged].map { text in
            String(
                decoding: try JSONSerialization.data(
                    withJSONObject: JSONSerialization.jsonObject(with: Data(text.utf8)), options: [.prettyPrinted]), as: UTF8.self)
        }
        #expect(try ids(pretty[0]) == ["e1"])
        #expect(try ids(pretty.joined(separator: "\n")) == ["e1", "e2"])
        // Braces inside strings do not end a value.
        let tricky = pretty[0].replacingOccurrences(of: "\"e1\"", with: "\"e1 {\\\"}[\"")
        #expect(try ids(tricky + "\n" + pretty[1]) == ["e1 {\"}[", "e2"])
    }

    @Test func aJSONArray() throws {
        #expect(try ids("[\(Self.opened), \(Self.acknowledged)]") == ["e1", "e2"])
        #expect(try ids("[\n  \(Self.opened),\n  \(Self.acknowledged)\n]\n") == ["e1", "e2"])
    }

    @Test func triageTailLinesLoseTheirMetadata() throws {
        let tailLine = Self.opened.dropLast() + #", "topic": "triage.incident-events", "partition": 2, "offset": 17, "key": "inc-1"}"#
        #expect(try ids(String(tailLine)) == ["e1"])
        let analytics =
            #"{"topic": "triage.analytics", "partition": 0, "offset": 3, "key": "inc-1", "schema": "triage.v1.AnalyticsRecord", "value": {"x": 1}}"#
        // A tail line that holds another message is not an event, and says which.
        guard case .failure(let problem)? = IncidentEventText.read(Self.opened + "\n" + analytics).last?.event else {
            Issue.record("an analytics record must not pass as an event")
            return
        }
        #expect(problem.line == 2 && problem.message.contains("triage.v1.AnalyticsRecord"), "\(problem)")
    }

    @Test func aBadValueIsNamedByItsLineAndTheRestIsStillRead() {
        let entries = IncidentEventText.read(
            "\(Self.opened)\n{not json\n\(Self.acknowledged)\n{\"incidentId\": \"x\", \"unknownField\": 1}\n")
        #expect(entries.map(\.line) == [1, 2, 3, 4])
        #expect(entries.map { (try? $0.event.get()) != nil } == [true, false, true, false])
        // Pretty-printed input: the line a broken value starts on.
        let pretty = "{\n  \"eventId\": \"e1\",\n  \"incidentId\": \"inc-1\"\n}\n\n{\n  \"eventId\": \"e2\",\n  \"nope\": true\n}\n"
        let read = IncidentEventText.read(pretty)
        #expect(read.map(\.line) == [1, 6])
        guard case .failure(let problem)? = read.last?.event else {
            Issue.record("an unknown field must be refused")
            return
        }
        #expect(problem.line == 6 && problem.description.hasPrefix("line 6: "))
        // A sentence naming the field, not SwiftProtobuf's `unknownField("nope")`.
        #expect(
            problem.message.hasSuffix(#"unknown field "nope" (not a field of triage.v1.IncidentEvent or of the message it is in)"#),
            "\(problem)")
        #expect(!problem.message.contains("unknownField"), "\(problem)")
    }
}
