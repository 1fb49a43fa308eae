import Foundation
import SwiftProtobuf
import Synchronization
import Testing
import TriageChildProcess
import TriageSchema

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func timestamp(_ seconds: TimeInterval) -> Google_Protobuf_Timestamp {
    Google_Protobuf_Timestamp(date: Date(timeIntervalSince1970: seconds))
}

/// One valid event of every lifecycle case.
func sampleEvents() -> [IncidentEvent] {
    let cases: [IncidentEvent.OneOf_Event] = [
        .opened(
            .with {
                $0.customerAccount = "acct-acme"; $0.entitlementID = "pack-1"; $0.product = "billing"; $0.language = "de-CH"
                $0.severity = .a; $0.coverage = .coverage24X7; $0.customerTimeZone = "Europe/Zurich"; $0.title = "Down"
            }),
        .acknowledged(.with { $0.agentID = "agent-1" }),
        .assigned(
            .with {
                $0.agentID = "agent-1";
                $0.reason = .with {
                    $0.cause = "initial"; $0.matchedSkills = ["billing"]; $0.loadAfter = 3
                }
            }),
        .reassigned(
            .with {
                $0.fromAgentID = "agent-1"; $0.toAgentID = "agent-2"; $0.reason = .with { $0.cause = "agent_offline" }
            }),
        .severityChanged(
            .with {
                $0.from = .b; $0.to = .a; $0.reason = "outage widened"
            }),
        .waitingOnCustomer(.with { $0.reason = "need logs" }),
        .customerResponded(.init()),
        .escalated(
            .with {
                $0.level = 1; $0.breachedDeadline = timestamp(1_772_000_000); $0.target = "first_response"; $0.notify = ["lead"]
            }),
        .slaWarning(
            .with {
                $0.thresholdPercent = 75; $0.deadline = timestamp(1_772_000_000); $0.target = "first_response"
            }),
        .split(.with { $0.childIncidentIds = ["inc-2", "inc-3"] }),
        .solutionDelivered(
            .with {
                $0.agentID = "agent-1"; $0.summary = "patched"
            }),
        .closedResolved(.with { $0.closedBy = "agent-1" }),
        .closedUnresolved(
            .with {
                $0.closedBy = "agent-1"; $0.reason = "no answer"; $0.creditRefunded = true
            }),
        .closeRequestedByCustomer(.with { $0.reason = "fixed itself" }),
        .reopened(.with { $0.reason = "came back" }),
        .noteAdded(
            .with {
                $0.author = "agent-1"; $0.text = "called the customer"; $0.public = true
            }),
        .returnedToQueue(
            .with {
                $0.fromAgentID = "agent-2"; $0.reason = .with { $0.cause = "agent_offline" }
            }),
        .reassignRequested(
            .with {
                $0.requestedBy = "supervisor:lee"; $0.note = "customer asked for someone else"
            }),
    ]
    return cases.enumerated().map { index, event in
        IncidentEvent.with {
            $0.eventID = "evt-\(index)"
            $0.incidentID = "inc-1"
            $0.occurredAt = timestamp(1_771_000_000 + Double(index))
            $0.producer = "test"
            $0.sequence = UInt64(index + 1)
            $0.event = event
        }
    }
}

@Suite("The incident lifecycle contract")
struct SchemaTests {
    @Test func everyLifecycleCaseIsCovered() {
        #expect(Set(sampleEvents().compactMap(\.eventTypeName)).count == 18)
    }

    @Test(arguments: sampleEvents())
    func binaryAndJSONRoundTrip(_ event: IncidentEvent) throws {
        #expect(try IncidentEvent(serializedBytes: event.serializedBytes() as [UInt8]) == event)
        let json = try event.canonicalJSON()
        #expect(try IncidentEvent(jsonString: json) == event)
        #expect(IncidentEventValidator(now: { Date(timeIntervalSince1970: 1_771_000_100) }).violations(of: event).isEmpty)
    }

    @Test func unknownFieldsSurviveARoundTrip() throws {
        var bytes: [UInt8] = try sampleEvents()[0].serializedBytes()
        // Field 999, varint 42: what a newer producer might add.
        bytes += [0xB8, 0x3E, 42]
        let decoded = try IncidentEvent(serializedBytes: bytes)
        #expect(!decoded.unknownFields.data.isEmpty)
        let reencoded: [UInt8] = try decoded.serializedBytes()
        #expect(reencoded.count == bytes.count)
        #expect(try IncidentEvent(serializedBytes: reencoded).unknownFields == decoded.unknownFields)
    }

    @Test func headersFollowTheConventions() {
        let event = sampleEvents()[7]
        let headers = Dictionary(uniqueKeysWithValues: event.kafkaHeaders(traceparent: "00-abc-def-01").map { ($0.name, $0.value) })
        #expect(headers[TriageHeader.eventType] == "Escalated")
        #expect(headers[TriageHeader.contentType] == "application/x-protobuf")
        #expect(headers[TriageHeader.schema] == "triage.v1.IncidentEvent; v=1")
        #expect(headers[TriageHeader.idempotencyKey] == event.eventID)
        #expect(headers[TriageHeader.traceparent] == "00-abc-def-01")
    }

    @Test func generatedCodeIsNotOlderThanTheProtoFiles() throws {
        let folder = repositoryRoot.appendingPathComponent("schemas/triage/v1")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".proto") }
        #expect(
            Set(files.map { "triage/v1/\($0)" }) == Set(SchemaFingerprint.sources.keys), "a .proto was added or removed: run `make schemas`"
        )
        for file in files {
            let bytes = try [UInt8](Data(contentsOf: folder.appendingPathComponent(file)))
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in bytes {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01b3
            }
            #expect(SchemaFingerprint.sources["triage/v1/\(file)"] == hash, "\(file) changed since generation: run `make schemas`")
        }
    }
}

@Suite("Validation names the field")
struct ValidationTests {
    let validator = IncidentEventValidator(allowedClockSkew: 300, now: { Date(timeIntervalSince1970: 1_771_000_100) })

    func fields(_ change: (inout IncidentEvent) -> Void, base: Int = 0) -> [String] {
        var event = sampleEvents()[base]
        change(&event)
        return validator.violations(of: event).map(\.field)
    }

    @Test func missingIdentifiers() {
        #expect(fields { $0.eventID = "" } == ["event_id"])
        #expect(fields { $0.incidentID = " " } == ["incident_id"])
        #expect(fields { $0.clearOccurredAt() } == ["occurred_at"])
        #expect(fields { $0.event = nil } == ["event"])
    }

    /// The blank check (no `trimmingCharacters`) refuses exactly what trimming
    /// `CharacterSet.whitespaces` would leave empty (tabs and spaces, not newlines; on Linux also
    /// U+200B).
    @Test func blankIdentifiersAreWhatTrimmingWhitespaceEmpties() {
        for id in ["", " ", "\t \t", "\u{00A0}", "\u{3000} \u{2009}", "\n", " \r ", "x", " x ", "\u{00A0}é", "\u{200B}"] {
            let blank = id.trimmingCharacters(in: .whitespaces).isEmpty
            #expect(fields { $0.incidentID = id }.contains("incident_id") == blank, "incident id \(Array(id.unicodeScalars))")
            #expect(fields { $0.eventID = id }.contains("event_id") == blank, "event id \(Array(id.unicodeScalars))")
        }
    }

    @Test func anUnboundedSkewAcceptsAnyTimestamp() {
        let lenient = IncidentEventValidator(allowedClockSkew: .infinity, now: { Date(timeIntervalSince1970: 0) })
        #expect(lenient.violations(of: sampleEvents()[0]).isEmpty)
    }

    @Test func futureTimestampsBeyondTheSkew() {
        #expect(fields { $0.occurredAt = timestamp(1_771_000_100 + 299) }.isEmpty)
        #expect(fields { $0.occurredAt = timestamp(1_771_000_100 + 301) } == ["occurred_at"])
    }

    /// Regression (outside attack): an occurred_at of INT64_MIN seconds overflowed converting to
    /// a Date inside the validator (a crash, again on every restart); a negative nanos or a year
    /// before 1 passed and then stopped the analytics feed, which cannot write it as JSON.
    @Test func instantsOutsideTheTimestampRangeAreRefusedWithoutOverflow() {
        for (seconds, nanos) in [
            (Int64.min, Int32(0)), (Int64.max, 0), (-62_135_596_801, 0), (253_402_300_800, 0), (0, -1), (0, 1_000_000_000),
        ] {
            let problems = fields {
                $0.occurredAt.seconds = seconds
                $0.occurredAt.nanos = nanos
            }
            #expect(problems == ["occurred_at"], "\(seconds) s \(nanos) ns: \(problems)")
        }
        // The ends of the range are instants like any other (the far past is not in the future).
        #expect(fields { $0.occurredAt = .with { $0.seconds = -62_135_596_800 } }.isEmpty)
        #expect(
            fields {
                $0.occurredAt = .with {
                    $0.seconds = 1_771_000_100; $0.nanos = 999_999_999
                }
            }.isEmpty)
        let lenient = IncidentEventValidator(allowedClockSkew: 1e12)
        var event = sampleEvents()[0]
        event.occurredAt.seconds = .min
        #expect(lenient.violations(of: event).map(\.field) == ["occurred_at"], "the ledger's lenient validator too")
    }

    @Test func openedRules() {
        func opened(_ change: @escaping (inout Triage_V1_Opened) -> Void) -> [String] {
            fields { event in
                guard case .opened(var opened) = event.event else { return }
                change(&opened)
                event.event = .opened(opened)
            }
        }
        #expect(opened { $0.severity = .unspecified } == ["opened.severity"])
        #expect(opened { $0.severity = .UNRECOGNIZED(9) } == ["opened.severity"])
        #expect(opened { $0.coverage = .unspecified } == ["opened.coverage"])
        #expect(opened { $0.customerTimeZone = "Mars/Olympus" } == ["opened.customer_time_zone"])
        #expect(opened { $0.customerAccount = "" } == ["opened.customer_account"])
        #expect(opened { $0.entitlementID = "" } == ["opened.entitlement_id"])
        #expect(opened { $0.product = "" } == ["opened.product"])
        #expect(opened { $0.parentIncidentID = "inc-1" } == ["opened.parent_incident_id"])
    }

    @Test func otherCases() {
        #expect(
            fields({
                $0.event = .escalated(
                    .with {
                        $0.level = 0; $0.breachedDeadline = timestamp(1)
                    })
            }) == ["escalated.level"])
        #expect(fields({ $0.event = .escalated(.with { $0.level = 1 }) }) == ["escalated.breached_deadline"])
        #expect(fields({ $0.event = .split(.with { $0.childIncidentIds = [] }) }) == ["split.child_incident_ids"])
        #expect(fields({ $0.event = .split(.with { $0.childIncidentIds = ["inc-1"] }) }) == ["split.child_incident_ids"])
        #expect(
            fields({
                $0.event = .severityChanged(
                    .with {
                        $0.from = .a; $0.to = .a
                    })
            }) == ["severity_changed.to"])
        #expect(fields({ $0.event = .slaWarning(.with { $0.thresholdPercent = 100 }) }) == ["sla_warning.threshold_percent"])
        #expect(fields({ $0.event = .acknowledged(.init()) }) == ["acknowledged.agent_id"])
        #expect(fields({ $0.event = .noteAdded(.with { $0.author = "a" }) }) == ["note_added.text"])
        // A queue return is its own event; a Reassigned names where the incident went.
        #expect(fields({ $0.event = .reassigned(.with { $0.fromAgentID = "a" }) }) == ["reassigned.to_agent_id"])
        // A stored queue return of an older router stays readable.
        #expect(
            fields({
                $0.producer = "router"; $0.event = .reassigned(.with { $0.fromAgentID = "a" })
            }).isEmpty)
        #expect(
            fields({ $0.event = .returnedToQueue(.with { $0.reason = .with { $0.cause = "agent_offline" } }) }) == [
                "returned_to_queue.from_agent_id"
            ])
        #expect(fields({ $0.event = .returnedToQueue(.with { $0.fromAgentID = "a" }) }).isEmpty)
        #expect(fields({ $0.event = .reassignRequested(.init()) }).isEmpty)
        let error = #expect(throws: SchemaViolation.self) { try validator.validate(IncidentEvent()) }
        #expect(error?.description.contains("event_id") == true)
    }
}

/// Debian's protoc, an independent protobuf implementation. On CI (CI=true) it must be there.
let protocPath: String? = ["/usr/bin/protoc", "/usr/local/bin/protoc"].first { FileManager.default.isExecutableFile(atPath: $0) }
let protocRequired = ProcessInfo.processInfo.environment["CI"] == "true"

/// Runs protoc without blocking a thread of the cooperative pool (on two cores, two synchronous
/// protoc runs stall every other test of the process for as long as they take).
func protoc(_ arguments: [String], input: Data) async throws -> Data {
    let process = try ChildProcess(
        executable: protocPath!,
        arguments: ["-I", repositoryRoot.appendingPathComponent("schemas").path, "-I", "/usr/include"] + arguments + [
            "triage/v1/incident.proto"
        ],
        standardInput: .pipe, standardOutput: .pipe, standardError: .pipe
    )
    defer { process.send(SIGKILL) }
    // Input on a thread of its own: a pipe that fills up would block protoc and us.
    let stdin = process.standardInput!
    Thread {
        try? stdin.write(contentsOf: input)
        try? stdin.close()
    }.start()
    async let errors = ChildProcess.readToEnd(process.standardError!)
    let output = await ChildProcess.readToEnd(process.standardOutput!)
    let termination = await process.terminated()
    let errorText = await errors
    guard termination == .exited(0) else {
        throw SchemaViolation(field: "protoc", message: String(decoding: errorText, as: UTF8.self))
    }
    return output
}

func goldenExamples() -> [String] {
    let folder = repositoryRoot.appendingPathComponent("schemas/examples")
    return ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
}

@Suite("Interoperability with protoc")
struct ProtocInteropTests {
    @Test func goldenExamplesExist() {
        #expect(goldenExamples().count >= 5)
    }

    @Test(
        .enabled(if: protocPath != nil || protocRequired, "protoc is not installed (apt-get install protobuf-compiler)"),
        arguments: goldenExamples())
    func protocAndSwiftAgree(_ file: String) async throws {
        try #require(protocPath != nil, "protoc must be installed on CI")
        let json = try String(contentsOf: repositoryRoot.appendingPathComponent("schemas/examples/\(file)"), encoding: .utf8)
        let event = try IncidentEvent(jsonString: json)
        #expect(
            IncidentEventValidator(now: { Date(timeIntervalSince1970: 1_900_000_000) }).violations(of: event).isEmpty,
            "\(file) is not valid")
        // protoc encodes (from text format), Swift decodes.
        let encodedByProtoc = try await protoc(["--encode=triage.v1.IncidentEvent"], input: Data(event.textFormatString().utf8))
        #expect(try IncidentEvent(serializedBytes: [UInt8](encodedByProtoc)) == event, "\(file): Swift read protoc's bytes differently")
        // Swift encodes, protoc decodes (to text format), Swift reads the text back.
        let decodedByProtoc = try await protoc(["--decode=triage.v1.IncidentEvent"], input: Data(try event.serializedBytes() as [UInt8]))
        #expect(
            try IncidentEvent(textFormatString: String(decoding: decodedByProtoc, as: UTF8.self)) == event,
            "\(file): protoc read Swift's bytes differently")
    }
}

@Suite("Agent, notification and analytics messages")
struct OtherMessageTests {
    @Test func agentEventsRoundTrip() throws {
        let events = [
            AgentEvent.with {
                $0.eventID = "a1"; $0.agentID = "agent-1"; $0.occurredAt = timestamp(1_771_000_000); $0.producer = "roster"
                $0.profile = .with {
                    $0.displayName = "Ana"; $0.team = "billing"; $0.products = ["billing"]; $0.languages = ["en", "pt"]
                    $0.capacity = 6; $0.shiftCalendarID = "emea-day"
                }
            },
            AgentEvent.with {
                $0.eventID = "a2"; $0.agentID = "agent-1"; $0.presenceChanged = .with { $0.presence = .away }
            },
        ]
        for event in events {
            #expect(try AgentEvent(serializedBytes: event.serializedBytes() as [UInt8]) == event)
            #expect(try AgentEvent(jsonString: event.jsonString()) == event)
        }
    }

    @Test func notificationRequestsRoundTrip() throws {
        let request = NotificationRequest.with {
            $0.idempotencyKey = "inc-1/escalated/2/lead"; $0.incidentID = "inc-1"; $0.requestedAt = timestamp(1_771_000_000)
            $0.recipient = "team-lead-billing"; $0.channel = .webhook; $0.template = "escalated"
            $0.payload = ["level": "2", "deadline": "2026-03-09T13:00:00Z"]; $0.urgent = true
        }
        #expect(try NotificationRequest(serializedBytes: request.serializedBytes() as [UInt8]) == request)
        #expect(try NotificationRequest(jsonString: request.jsonString()) == request)
    }

    @Test func analyticsRecordsRoundTripWithOptionalMeasures() throws {
        var record = AnalyticsRecord.with {
            $0.eventID = "evt-1"; $0.incidentID = "inc-1"; $0.eventType = "acknowledged"; $0.occurredAt = timestamp(1_771_000_000)
            $0.severity = .b; $0.coverage = .businessHours; $0.product = "billing"; $0.customerAccount = "acct"
            $0.firstResponseBusinessMinutes = 95.5; $0.breached = false; $0.outcome = ""
        }
        #expect(try AnalyticsRecord(jsonString: record.jsonString()) == record)
        #expect(record.hasFirstResponseBusinessMinutes && !record.hasBreachedByBusinessMinutes)
        record.breachedByBusinessMinutes = 0  // "breached by zero" is distinct from "not known"
        let decoded = try AnalyticsRecord(serializedBytes: record.serializedBytes() as [UInt8])
        #expect(decoded.hasBreachedByBusinessMinutes && decoded.breachedByBusinessMinutes == 0)
    }
}

@Suite("Blank ids")
struct BlankIDTests {
    /// The validator's blank check agrees with `trimmingCharacters(in: .whitespaces)` (what it
    /// used before), over strings of spaces of every kind and other characters (fixed seed).
    @Test func anIDIsBlankExactlyWhenTrimmingWhitespaceLeavesNothing() {
        let pieces = [
            " ", "\t", "\n", "\r", "\u{0B}", "\u{0C}", "\u{85}", "\u{A0}", "\u{1680}", "\u{2000}", "\u{2007}", "\u{200A}", "\u{200B}",
            "\u{2028}", "\u{202F}", "\u{205F}", "\u{3000}", "\u{FEFF}", "a", "é", "😀", "-",
        ]
        var state: UInt64 = 42
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        let validator = IncidentEventValidator()
        for _ in 0..<2_000 {
            let id = (0..<(next() % 5)).map { _ in pieces[next() % pieces.count] }.joined()
            var event = IncidentEvent()
            event.eventID = id
            event.incidentID = id
            let blank = id.trimmingCharacters(in: .whitespaces).isEmpty
            let fields = Set(validator.violations(of: event).map(\.field))
            #expect(fields.contains("event_id") == blank, "\(Array(id.unicodeScalars))")
            #expect(fields.contains("incident_id") == blank, "\(Array(id.unicodeScalars))")
        }
    }
}
