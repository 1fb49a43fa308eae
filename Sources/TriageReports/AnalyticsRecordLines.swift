import Foundation
import SwiftProtobuf
public import TriageSchema

/// Analytics records as JSON lines: what a sink of `triage.analytics` writes (one record's JSON
/// per line, `AnalyticsRecord.publishedJSON()`), or what `triage tail triage.analytics` prints
/// (the record as the `value` of a line that also names `topic`, `partition`, `offset`, `key`).
///
/// Unknown fields are ignored (records of a newer feed read fine); blank lines are skipped; a
/// line that is not a record is counted, with its number, not fatal.
public enum AnalyticsRecordLines {
    /// What a read of JSON lines found.
    public struct Contents: Sendable, Hashable {
        public var records: [AnalyticsRecord] = []
        /// 1-based numbers of the lines that are not analytics records.
        public var unreadableLines: [Int] = []
    }

    /// The record of one line, or `nil` when the line is not one.
    public static func record(fromLine line: some StringProtocol) -> AnalyticsRecord? {
        guard let data = line.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = true
        if let value = object["value"] {
            // A `triage tail` line: the record is its value.
            guard value is [String: Any], let valueData = try? JSONSerialization.data(withJSONObject: value) else { return nil }
            return try? AnalyticsRecord(jsonUTF8Data: valueData, options: options)
        }
        guard object["incident_id"] != nil || object["incidentId"] != nil else { return nil }
        return try? AnalyticsRecord(jsonUTF8Data: data, options: options)
    }

    /// Every record of `text` (lines separated by `\n`, `\r\n` accepted).
    public static func read(_ text: String) -> Contents {
        var contents = Contents()
        var number = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { continue }
            if let record = record(fromLine: trimmed) {
                contents.records.append(record)
            } else {
                contents.unreadableLines.append(number)
            }
        }
        return contents
    }
}
