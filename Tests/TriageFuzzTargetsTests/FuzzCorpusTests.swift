import Foundation
import SwiftProtobuf
import Testing
import TriageSchema

@testable import TriageFuzzTargets

/// `Fuzz/` of this repository (this file is `Tests/TriageFuzzTargetsTests/FuzzCorpusTests.swift`).
private let fuzzDirectory = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appending(path: "Fuzz")

/// Every file of `Fuzz/Corpus/<target>/`, by name.
private func corpus(_ target: String) throws -> [(name: String, bytes: [UInt8])] {
    let folder = fuzzDirectory.appending(path: "Corpus/\(target)")
    return try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().map { name in
        (name, Array(try Data(contentsOf: folder.appending(path: name))))
    }
}

/// Hand-written seeds have descriptive names and must be accepted, unless named `invalid-...`.
/// Crash reproducers (`crash-...`) and what libFuzzer merged in (40 hex digits) only have to return.
private func mustBeAccepted(_ name: String) -> Bool {
    let generated = name.count == 40 && name.allSatisfy(\.isHexDigit)
    return !generated && !["invalid-", "crash-", "timeout-", "oom-", "leak-"].contains(where: name.hasPrefix)
}

private func entryPoint(_ name: String) throws -> @Sendable ([UInt8]) -> FuzzVerdict {
    try #require(FuzzTargets.entryPoints.first { $0.name == name }).run
}

@Suite("Fuzz corpus replay") struct FuzzCorpusTests {
    @Test func entryPointNamesAreUnique() {
        #expect(Set(FuzzTargets.names).count == FuzzTargets.names.count)
        #expect(FuzzTargets.names.count >= 8)
    }

    @Test(arguments: FuzzTargets.names)
    func everyEntryPointHasAFuzzerAndASeedCorpus(_ target: String) throws {
        let fuzzer = fuzzDirectory.appending(path: "Sources/fuzz-\(target)/main.swift")
        #expect(FileManager.default.fileExists(atPath: fuzzer.path), "no fuzzer for \(target)")
        #expect(try corpus(target).contains { mustBeAccepted($0.name) }, "no valid seed for \(target)")
    }

    /// What CI runs instead of libFuzzer: every committed input through the same entry point.
    @Test(arguments: FuzzTargets.names)
    func theCommittedCorpusReplays(_ target: String) throws {
        let run = try entryPoint(target)
        for (name, bytes) in try corpus(target) {
            let verdict = run(bytes)
            if mustBeAccepted(name) {
                #expect(verdict == .accepted, "\(target)/\(name): \(verdict)")
            }
            if name.hasPrefix("invalid-") {
                #expect(verdict != .accepted, "\(target)/\(name) was accepted")
            }
        }
    }
}

// MARK: - Hostile inputs

/// A valid Opened event as the lifecycle topic carries it.
private func openedEvent() -> IncidentEvent {
    var event = IncidentEvent()
    event.eventID = "evt-1"
    event.incidentID = "inc-1"
    event.occurredAt = Google_Protobuf_Timestamp(date: FuzzTargets.now.addingTimeInterval(-60))
    var opened = Triage_V1_Opened()
    opened.customerAccount = "ACME"
    opened.entitlementID = "pack-1"
    opened.product = "billing"
    opened.severity = .b
    opened.coverage = .businessHours
    opened.customerTimeZone = "Europe/Zurich"
    event.opened = opened
    return event
}

/// `incidentEvent`'s input: the selector byte for these headers, then the value.
private func record(
    _ value: [UInt8], contentType: String? = TriageHeader.protobufContentType, schema: String? = "triage.v1.IncidentEvent; v=1",
    eventType: String? = nil
)
    -> [UInt8]
{
    [FuzzTargets.RecordHeaders.selector(contentType: contentType, schema: schema, eventType: eventType)] + value
}

@Suite("Hostile records") struct HostileRecordTests {
    let valid: [UInt8] = try! openedEvent().serializedBytes()

    @Test func aValidEventIsAcceptedWithEveryMatchingHeaderSet() throws {
        #expect(FuzzTargets.incidentEvent(record(valid)) == .accepted)
        #expect(FuzzTargets.incidentEvent(record(valid, contentType: nil, schema: nil)) == .accepted)
        #expect(FuzzTargets.incidentEvent(record(valid, schema: "triage.v1.IncidentEvent", eventType: "Opened")) == .accepted)
        let json: [UInt8] = try openedEvent().jsonUTF8Bytes()
        #expect(FuzzTargets.incidentEvent(record(json, contentType: TriageHeader.jsonContentType)) == .accepted)
    }

    @Test func everyTruncationIsRefusedNotTrapped() {
        for length in 0..<valid.count {
            // Some prefixes are complete messages that only miss fields: then validation refuses.
            #expect(FuzzTargets.incidentEvent(record(Array(valid.prefix(length)))) != .accepted, "prefix of \(length) bytes")
        }
    }

    @Test func aTombstoneAndOtherContentTypesAreRefused() {
        #expect(FuzzTargets.incidentEvent(record([])) == .rejected("empty record value"))
        #expect(FuzzTargets.incidentEvent(record(valid, contentType: "text/plain")).description.contains("unsupported content-type"))
    }

    @Test func anotherMessageTypeIsRefused() throws {
        #expect(FuzzTargets.incidentEvent(record(valid, schema: "triage.v1.AgentEvent; v=1")).description.contains("wrong message type"))
        // Without a schema header an AgentEvent decodes as an IncidentEvent (the field numbers
        // overlap): validation is what refuses it.
        var agent = AgentEvent()
        agent.eventID = "a-1"
        agent.agentID = "agent-7"
        agent.profile.displayName = "Ada"
        #expect(FuzzTargets.incidentEvent(record(try agent.serializedBytes(), schema: nil)) != .accepted)
        #expect(FuzzTargets.incidentEvent(record(valid, eventType: "Escalated")).description.contains("triage-event-type header says"))
    }

    @Test func hugeLengthsAreRefused() {
        // event_id (field 1, length-delimited) claiming 2^35 bytes; then a nested Opened claiming 2 GiB.
        #expect(FuzzTargets.incidentEvent(record([0x0A, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x41])) != .accepted)
        #expect(FuzzTargets.incidentEvent(record(valid + [0x52, 0xFF, 0xFF, 0xFF, 0xFF, 0x07])) != .accepted)
        // An 11-byte varint is malformed.
        #expect(FuzzTargets.incidentEvent(record([0x28] + Array(repeating: 0xFF, count: 10) + [0x01])) != .accepted)
    }

    @Test func unknownFieldsOfAFutureVersionPassThroughAndSurviveARoundTrip() throws {
        // Top-level field 99 (varint) and field 12 inside Opened (string): a newer producer's additions.
        var opened: [UInt8] = try openedEvent().opened.serializedBytes()
        opened += [0x62, 0x03] + Array("new".utf8)
        var future: [UInt8] = try {
            var e = openedEvent(); e.event = nil; return try e.serializedBytes()
        }()
        future += [0x52, UInt8(opened.count)] + opened + [0x98, 0x06, 0x2A]
        #expect(FuzzTargets.incidentEvent(record(future)) == .accepted)
        let decoded = try IncidentEvent(serializedBytes: future)
        let again: [UInt8] = try decoded.serializedBytes()
        #expect(try IncidentEvent(serializedBytes: again) == decoded)
        #expect(again.count == future.count)
        #expect(FuzzTargets.contractMessages([0] + future) == .accepted)

        // A lifecycle case this build does not know (field 40) decodes as "no case" plus unknown
        // fields, and survives re-encoding. (The decoder refuses it as invalid: no case set.)
        var unknownCase: [UInt8] = try {
            var e = openedEvent(); e.event = nil; return try e.serializedBytes()
        }()
        unknownCase += [0xC2, 0x02, 0x02, 0x08, 0x01]
        let withUnknownCase = try IncidentEvent(serializedBytes: unknownCase)
        #expect(withUnknownCase.event == nil)
        #expect(try withUnknownCase.serializedBytes() as [UInt8] == unknownCase)
        _ = FuzzTargets.incidentEvent(record(unknownCase))
    }

    @Test func otherContractMessagesRefuseGarbage() {
        for type: UInt8 in 0..<8 {
            #expect(FuzzTargets.contractMessages([type, 0x0A, 0x05, 0x61]) != .accepted)
            #expect(FuzzTargets.contractMessages([type | 4] + Array("{\"eventId\":".utf8)) != .accepted)
        }
        // An entitlement request whose command is not a ledger command.
        var request = EntitlementRequest()
        request.requestID = "r-1"
        request.commandJson = #"{"type":"launch"}"#
        #expect(FuzzTargets.contractMessages([3] + (try! request.serializedBytes())) != .accepted)
    }

    @Test func intakeRequestsAreValidated() throws {
        var request = Triage_V1_OpenIncidentRequest()
        request.customerAccount = "ACME"
        request.product = "billing"
        request.title = "Checkout is down"
        request.severity = .a
        request.language = "de-CH"
        request.customerTimeZone = "Europe/Zurich"
        #expect(FuzzTargets.intakeRequest([0] + (try request.serializedBytes())) == .accepted)
        request.customerTimeZone = "Mars/Olympus_Mons"
        #expect(FuzzTargets.intakeRequest([0] + (try request.serializedBytes())).description.contains("customer_time_zone"))
        request.customerTimeZone = "UTC"
        request.language = "english please"
        #expect(FuzzTargets.intakeRequest([1] + (try request.jsonUTF8Bytes())).description.contains("language"))
        #expect(FuzzTargets.intakeRequest([0, 0x12, 0x7F]) != .accepted)
    }
}

@Suite("Hostile state records, headers and configuration") struct HostileStateTests {
    @Test func slaStateRecordsRefuseTruncationAndUnknownCodes() throws {
        let seed = try #require(try corpus("sla-state").first { $0.name == "open-business-hours" }).bytes
        #expect(FuzzTargets.slaState(seed) == .accepted)
        for length in 0..<(seed.count - "default".utf8.count) {
            #expect(FuzzTargets.slaState(Array(seed.prefix(length))) != .accepted, "prefix of \(length) bytes")
        }
        var future = seed
        future[0] = 2
        #expect(FuzzTargets.slaState(future).description.contains("unknown SLA state version 2"))
        var severity = seed
        severity[1] = 9
        #expect(FuzzTargets.slaState(severity) != .accepted)
    }

    /// Found by fuzz-sla-state: a clock that started in 1970 (or at NaN, or used -inf minutes) made
    /// restoring the record walk every day since then (20 s and more), or trap in calendar math.
    @Test func slaStateRecordsWithImplausibleInstantsAreRefused() throws {
        for name in ["timeout-resolution-clock-since-1970", "timeout-first-response-clock-since-1970"] {
            let bytes = try #require(try corpus("sla-state").first { $0.name == name }).bytes
            #expect(FuzzTargets.slaState(bytes).description.contains("out of range"), "\(name)")
        }
        let seed = try #require(try corpus("sla-state").first { $0.name == "open-business-hours" }).bytes
        // closedAt at offset 4, then the first clock: phase, warnings, levels, since at 15, used at 23, breachedAt at 31.
        func with(_ value: Double, at offset: Int) -> [UInt8] {
            var bytes = seed
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.replaceSubrange(offset..<(offset + 8), with: $0) }
            return bytes
        }
        for (value, offset) in [
            (Double.nan, 15), (.infinity, 15), (-1e300, 15), (0, 15), (.nan, 23), (-1, 23), (.infinity, 31), (.infinity, 4), (1e12, 4),
        ] {
            #expect(FuzzTargets.slaState(with(value, at: offset)).description.contains("out of range"), "\(value) at \(offset)")
        }
        #expect(FuzzTargets.slaState(with(1_772_830_900, at: 4)) == .accepted)
    }

    @Test func deliveryAttemptsRefuseInconsistentHeaders() {
        #expect(FuzzTargets.deliveryAttempts(Array("~\n~\n~\n~\n~".utf8)) == .accepted)
        #expect(FuzzTargets.deliveryAttempts(Array("0\n2026-03-06T16:00:02.000Z\nann\nmail\n[]".utf8)) != .accepted)
        #expect(FuzzTargets.deliveryAttempts(Array("2\nsoon\nann\nmail\n[]".utf8)) != .accepted)
        #expect(FuzzTargets.deliveryAttempts(Array("2\n2026-03-06T16:00:02.000Z\nann\nmail\n{".utf8)) != .accepted)
        let tooMany = #"[{"n":1,"at":"2026-03-06T16:00:00.000Z","outcome":"x"},{"n":2,"at":"2026-03-06T16:00:00.000Z","outcome":"x"}]"#
        #expect(FuzzTargets.deliveryAttempts(Array("2\n2026-03-06T16:00:02.000Z\nann\nmail\n\(tooMany)".utf8)) != .accepted)
    }

    @Test func ledgerJSONRefusesOtherVersionsAndShapes() {
        #expect(FuzzTargets.ledgerJSON(Array(#"{"type":"open"}"#.utf8)) != .accepted)
        #expect(FuzzTargets.ledgerJSON(Array(#"{"version":2,"id":"pack-1"}"#.utf8)) != .accepted)
        #expect(FuzzTargets.ledgerJSON(Array("[".utf8)) != .accepted)
        #expect(FuzzTargets.ledgerJSON([0xFF, 0xFE, 0x00]) != .accepted)
    }

    @Test func yamlParsersRefuseBrokenDocuments() {
        let broken = ["key: [unclosed", "\t- tab", "&a [*a]", "!!binary ===", "? [a]: b", String(repeating: "[", count: 10_000)]
        for text in broken {
            for target in ["sla-policy", "roster", "notification-rules", "tenants", "billing-policy"] {
                let verdict = (try? entryPoint(target))?(Array(text.utf8))
                #expect(verdict != .accepted, "\(target) accepted \(text.prefix(20))")
            }
        }
        // Empty documents: the defaults, except where the file must say something.
        #expect(FuzzTargets.roster([]) == .accepted)
        #expect(FuzzTargets.billingPolicy([]) == .accepted)
        #expect(FuzzTargets.tenants([]) != .accepted)
    }
}
