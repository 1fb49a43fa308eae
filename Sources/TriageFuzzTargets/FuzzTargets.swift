import Foundation
import SwiftProtobuf
import TriageCore
import TriageEntitlements
import TriageIntake
import TriageKafka
import TriageNotification
import TriageRouting
import TriageSLA
import TriageSchema
import TriageStreams

/// What one fuzz input did: accepted (decoded, loaded, valid) or rejected with the error's text.
/// Either is fine; only a crash is a bug.
public enum FuzzVerdict: Sendable, Hashable, CustomStringConvertible {
    case accepted
    case rejected(String)

    public var isAccepted: Bool { self == .accepted }
    public var description: String {
        switch self {
        case .accepted: "accepted"
        case .rejected(let why): "rejected: \(why)"
        }
    }
}

/// The entry points the fuzzers in `Fuzz/` call with libFuzzer's inputs (docs/fuzzing.md), and
/// that the corpus replay test feeds the committed corpus `Fuzz/Corpus/<name>/` through.
///
/// Each takes raw bytes and must return for every input: throwing inside is fine, trapping is a
/// bug. Inputs are read the way the workers read them: Kafka records with headers for the
/// lifecycle topic, protobuf or JSON for the contract messages, text for the YAML files.
public enum FuzzTargets {
    /// Every entry point by name (the fuzzer is `fuzz-<name>`, its corpus `Fuzz/Corpus/<name>/`).
    public static let entryPoints: [(name: String, run: @Sendable ([UInt8]) -> FuzzVerdict)] = [
        ("incident-event", { incidentEvent($0) }),
        ("contract-messages", { contractMessages($0) }),
        ("intake-request", { intakeRequest($0) }),
        ("sla-state", { slaState($0) }),
        ("delivery-attempts", { deliveryAttempts($0) }),
        ("ledger-json", { ledgerJSON($0) }),
        ("sla-policy", { slaPolicy($0) }),
        ("roster", { roster($0) }),
        ("notification-rules", { notificationRules($0) }),
        ("tenants", { tenants($0) }),
        ("billing-policy", { billingPolicy($0) }),
    ]

    /// Every fuzz entry point by name.
    public static let names: [String] = entryPoints.map(\.name)

    /// The instant the fuzzers treat as "now", so a verdict depends on the input alone.
    static let now = Date(timeIntervalSince1970: 1_780_272_000)  // 2026-06-01T00:00:00Z

    // MARK: - Kafka records and the contract

    /// Headers of the lifecycle records `incidentEvent` builds, chosen by the input's first byte.
    public enum RecordHeaders {
        /// Bits 0–1: `content-type` absent, protobuf, JSON, or something else.
        static let contentTypes: [String?] = [nil, TriageHeader.protobufContentType, TriageHeader.jsonContentType, "text/plain"]
        /// Bits 2–3: `triage-schema` absent, versioned, bare, or another message's.
        static let schemas: [String?] = [
            nil, "\(IncidentEvent.protoMessageName); v=\(TriageHeader.schemaVersion)", IncidentEvent.protoMessageName,
            "\(AgentEvent.protoMessageName); v=1",
        ]
        /// Bits 4–7: `triage-event-type` absent or one of the case names.
        static let eventTypes: [String?] = [
            nil, "Opened", "Acknowledged", "Assigned", "Reassigned", "SeverityChanged", "WaitingOnCustomer", "CustomerResponded",
            "Escalated", "SlaWarning", "Split", "SolutionDelivered", "ClosedResolved", "ClosedUnresolved", "Reopened", "NoteAdded",
        ]

        /// The selector byte for a record with these headers (what the corpus seeds start with).
        public static func selector(contentType: String?, schema: String?, eventType: String?) -> UInt8 {
            let c = contentTypes.firstIndex(of: contentType) ?? 3
            let s = schemas.firstIndex(of: schema) ?? 3
            let e = eventTypes.firstIndex(of: eventType) ?? 0
            return UInt8(c | s << 2 | e << 4)
        }

        static func headers(_ selector: UInt8) -> [KafkaHeader] {
            let chosen = [
                (TriageHeader.contentType, contentTypes[Int(selector & 3)]),
                (TriageHeader.schema, schemas[Int(selector >> 2 & 3)]),
                (TriageHeader.eventType, eventTypes[Int(selector >> 4)]),
            ]
            return chosen.compactMap { name, value in value.map { KafkaHeader(name: name, string: $0) } }
        }
    }

    /// The lifecycle topic's consumer path: byte 0 chooses the record's headers
    /// (``RecordHeaders``), the rest is the record value, decoded and validated by
    /// ``IncidentEventDecoder`` as every lifecycle worker does, and a valid event then drives SLA
    /// clocks as in the escalator (``escalate(_:)``). An input of one byte is a tombstone (null value).
    public static func incidentEvent(_ bytes: [UInt8]) -> FuzzVerdict {
        guard let selector = bytes.first else { return .rejected("no selector byte") }
        let value = bytes.count > 1 ? Array(bytes.dropFirst()) : nil
        let message = KafkaMessage(
            topic: TriageTopic.incidentEvents, partition: 0, offset: 0, key: Array("inc-1".utf8), value: value,
            headers: RecordHeaders.headers(selector), timestamp: now
        )
        let decoder = IncidentEventDecoder(validator: IncidentEventValidator(now: { now }))
        switch decoder.decode(message) {
        case .success(let event):
            // A valid event is republished and read back by later stages: it must survive both forms.
            _ = try? event.canonicalJSON()
            _ = try? IncidentEvent(serializedBytes: event.serializedBytes() as [UInt8])
            escalate(event)
            return .accepted
        case .failure(let reason):
            return .rejected(reason.text)
        }
    }

    /// What the escalator does with a valid event: its `occurred_at` drives the SLA clocks of an
    /// incident opened a day before ``now`` (business-calendar math), then the book fires up to now.
    static func escalate(_ event: IncidentEvent) {
        let input: SlaInput
        switch event.event {
        case .opened(let opened):
            let severity: SupportSeverity = opened.severity == .a ? .a : opened.severity == .b ? .b : .c
            input = .opened(
                severity: severity, coverage: opened.coverage == .coverage24X7 ? .twentyFourSeven : .businessHours, team: opened.team)
        case .waitingOnCustomer: input = .waitingOnCustomer
        case .customerResponded: input = .customerResponded
        case .severityChanged(let change): input = .severityChanged(change.to == .a ? .a : change.to == .b ? .b : .c)
        case .solutionDelivered: input = .solutionDelivered
        case .closedResolved, .closedUnresolved, .closeRequestedByCustomer: input = .closed
        case .reopened: input = .reopened
        default: input = .acknowledged
        }
        var book = SlaBook()
        _ = book.apply(
            .opened(severity: .b, coverage: .businessHours, team: nil), to: "inc-0", at: now.addingTimeInterval(-86_400), position: 0,
            rules: slaRules)
        _ = book.apply(input, to: event.incidentID, at: event.occurredAt.date, position: 1, rules: slaRules)
        _ = book.apply(input, to: "inc-0", at: event.occurredAt.date, position: 2, rules: slaRules)
        _ = book.fire(upTo: now, rules: slaRules)
    }

    /// The other contract messages as workers read them from Kafka. Byte 0: bits 0–1 choose the
    /// message (IncidentEvent, AgentEvent, NotificationRequest, EntitlementRequest), bit 2 JSON
    /// instead of protobuf; the rest is the value. Decoded messages are re-encoded in both forms
    /// and decoded again (unknown fields must survive a round trip), events are validated, and an
    /// entitlement request's command goes through the ledger's JSON decoding.
    public static func contractMessages(_ bytes: [UInt8]) -> FuzzVerdict {
        guard let selector = bytes.first else { return .rejected("no selector byte") }
        let value = Array(bytes.dropFirst())
        let json = selector & 4 != 0
        do {
            switch selector & 3 {
            case 0:
                let event: IncidentEvent = try decodeAndRoundTrip(value, json: json)
                if let violation = IncidentEventValidator(now: { now }).violations(of: event).first {
                    return .rejected("invalid event: \(violation)")
                }
            case 1:
                let _: AgentEvent = try decodeAndRoundTrip(value, json: json)
            case 2:
                let _: NotificationRequest = try decodeAndRoundTrip(value, json: json)
            default:
                let request: EntitlementRequest = try decodeAndRoundTrip(value, json: json)
                _ = try request.ledgerCommand()
            }
            return .accepted
        } catch {
            return .rejected("\(error)")
        }
    }

    static func decodeAndRoundTrip<M: SwiftProtobuf.Message>(_ value: [UInt8], json: Bool) throws -> M {
        let message = json ? try M(jsonUTF8Bytes: value) : try M(serializedBytes: value)
        let binary: [UInt8] = try message.serializedBytes()
        _ = try M(serializedBytes: binary)
        // Unknown fields have no JSON form: JSON encoding refuses nothing because of them.
        if let text = try? message.jsonUTF8Bytes() as [UInt8] { _ = try? M(jsonUTF8Bytes: text) }
        return message
    }

    /// The intake's `OpenIncident` request: byte 0 bit 0 chooses JSON (gRPC-JSON transcoding) or
    /// protobuf, the rest is the request, checked by the intake's request validation.
    public static func intakeRequest(_ bytes: [UInt8]) -> FuzzVerdict {
        guard let selector = bytes.first else { return .rejected("no selector byte") }
        let value = Array(bytes.dropFirst())
        let request: Triage_V1_OpenIncidentRequest
        do {
            request = selector & 1 != 0 ? try .init(jsonUTF8Bytes: value) : try .init(serializedBytes: value)
        } catch {
            return .rejected("not a decodable request: \(error)")
        }
        if let problem = IntakeValidation.problem(openIncident: request) { return .rejected(problem) }
        return .accepted
    }

    // MARK: - State records and retry headers

    /// The rules SLA state records are decoded against: the default policy plus one named calendar,
    /// so a record's calendar name is both found and not found.
    static let slaRules: SlaRules = {
        var policy = SlaPolicy()
        policy.calendars["emea"] = policy.defaultCalendar
        return SlaRules(policy)
    }()

    /// The escalator's changelog record (``IncidentSlaCodec``), restored and then used the way the
    /// escalator uses a restored state: what is due, firing up to now, applying the next event,
    /// writing it back.
    public static func slaState(_ bytes: [UInt8]) -> FuzzVerdict {
        var state: IncidentSla
        do {
            state = try IncidentSlaCodec.decode(bytes, rules: slaRules)
        } catch {
            return .rejected(error.description)
        }
        _ = state.nextDue
        _ = state.isForgettable(at: now, rules: slaRules)
        _ = state.fire(upTo: now, rules: slaRules)
        _ = state.apply(.severityChanged(.a), at: now, rules: slaRules)
        _ = state.apply(.customerResponded, at: now, rules: slaRules)
        _ = try? IncidentSlaCodec.decode(IncidentSlaCodec.encode(state, rules: slaRules), rules: slaRules)
        return .accepted
    }

    /// The notifier's retry headers (``DeliveryAttempts``): line *i* of the input is the value of
    /// `DeliveryAttempts.Header.all[i]` (the last one may span lines), a line `~` leaves that header
    /// out. Decoded attempts then meet a failed delivery the way the notifier handles one.
    public static func deliveryAttempts(_ bytes: [UInt8]) -> FuzzVerdict {
        let lines = String(decoding: bytes, as: UTF8.self)
            .split(separator: "\n", maxSplits: DeliveryAttempts.Header.all.count - 1, omittingEmptySubsequences: false)
        var headers: [String: String] = [:]
        for (name, line) in zip(DeliveryAttempts.Header.all, lines) where line != "~" { headers[name] = String(line) }
        let attempts: DeliveryAttempts?
        do {
            attempts = try DeliveryAttempts.decode(headers: headers)
        } catch {
            return .rejected(error.description)
        }
        guard let attempts else { return .accepted }
        _ = attempts.headers
        var generator = SplitMix(seed: UInt64(bytes.count))
        for outcome in [DeliveryOutcome.retriable("HTTP 503", retryAfter: 30), .retriable("timed out"), .permanent("HTTP 404")] {
            _ = attempts.after(outcome, at: now, policy: RetryPolicy(), using: &generator)
        }
        return .accepted
    }

    /// The entitlement ledger's JSON (``LedgerJSON``): the input is tried as an entitlement state
    /// record, a command, an outcome and a rejection. A decoded state takes a few commands and a
    /// decoded command is applied to a fresh 5-pack, as the ledger applies them.
    public static func ledgerJSON(_ bytes: [UInt8]) -> FuzzVerdict {
        var decoded = false
        if let entitlement = try? LedgerJSON.decode(Entitlement.self, from: bytes) {
            decoded = true
            if let again = try? LedgerJSON.encode(entitlement) { _ = try? LedgerJSON.decode(Entitlement.self, from: again) }
            for command in sampleCommands {
                _ = EntitlementLedger.apply(command, to: entitlement, entitlementID: entitlement.id, policy: .standard)
            }
        }
        if let command = try? LedgerJSON.decode(LedgerCommand.self, from: bytes) {
            decoded = true
            _ = try? LedgerJSON.encode(command)
            _ = EntitlementLedger.apply(command, to: nil, entitlementID: "pack-1", policy: .standard)
            _ = EntitlementLedger.apply(command, to: samplePack, entitlementID: "pack-1", policy: .standard)
        }
        if (try? LedgerJSON.decode(LedgerOutcome.self, from: bytes)) != nil { decoded = true }
        if (try? LedgerJSON.decode(LedgerRejection.self, from: bytes)) != nil { decoded = true }
        return decoded ? .accepted : .rejected("neither an entitlement, a ledger command, an outcome nor a rejection")
    }

    static let sampleCommands: [LedgerCommand] = [
        .open(incidentID: "INC-9", account: "ACME", at: now, parentIncidentID: nil),
        .reopen(incidentID: "INC-1", at: now),
        .closeUnresolved(
            incidentID: "INC-1", at: now, closedBy: .customer, reason: "duplicate", severity: "A", openedAt: now.addingTimeInterval(-600)),
        .transfer(toAccount: "ACME-EU", by: "admin", at: now, requestID: "r-1"),
    ]

    /// A 5-pack bought a month before ``now`` with one incident charged.
    static let samplePack: Entitlement? = {
        let grant = LedgerCommand.grant(
            GrantSpec(id: "pack-1", kind: .fivePack, account: "ACME", purchasedAt: now.addingTimeInterval(-30 * 86_400)))
        let granted = EntitlementLedger.apply(grant, to: nil, entitlementID: "pack-1", policy: .standard).state
        return EntitlementLedger.apply(sampleCommands[0], to: granted, entitlementID: "pack-1", policy: .standard).state
    }()

    // MARK: - YAML configuration

    /// `sla-policy.yaml` (``SlaPolicy/load(yaml:file:)``) and, on the same text, a standalone
    /// calendar (``BusinessCalendar/load(yaml:file:)``). What loads is compiled and its calendars
    /// asked for a deadline and a duration, as the escalator does.
    public static func slaPolicy(_ bytes: [UInt8]) -> FuzzVerdict {
        let text = String(decoding: bytes, as: UTF8.self)
        var verdict = FuzzVerdict.accepted
        do {
            let policy = try SlaPolicy.load(yaml: text, file: "fuzz.yaml")
            for calendar in SlaRules(policy).calendars { exercise(calendar) }
        } catch {
            verdict = .rejected(error.description)
        }
        // Accepted when the text is a policy or a calendar.
        if let calendar = try? BusinessCalendar.load(yaml: text, file: "fuzz.yaml") {
            exercise(calendar)
            verdict = .accepted
        }
        return verdict
    }

    static func exercise(_ calendar: BusinessCalendar) {
        _ = calendar.isOpen(at: now)
        _ = try? calendar.adding(businessMinutes: 240, to: now)
        _ = calendar.businessMinutes(from: now, to: now.addingTimeInterval(7 * 86_400))
    }

    /// `roster.yaml` (``Roster/load(yaml:file:)``), then the routing inputs of every team.
    public static func roster(_ bytes: [UInt8]) -> FuzzVerdict {
        do {
            let roster = try Roster.load(yaml: String(decoding: bytes, as: UTF8.self), file: "fuzz.yaml")
            for team in roster.teams { _ = roster.inputs(team: team) }
            return .accepted
        } catch {
            return .rejected(error.description)
        }
    }

    /// `notification-rules.yaml` (``NotificationRules/load(yaml:file:calendars:)``), then the
    /// deliveries of an escalation notice and the quiet-hours release time of every recipient.
    public static func notificationRules(_ bytes: [UInt8]) -> FuzzVerdict {
        do {
            let rules = try NotificationRules.load(yaml: String(decoding: bytes, as: UTF8.self), file: "fuzz.yaml")
            _ = rules.missingEnvironmentVariables(in: [:])
            for recipient in rules.recipients.keys.sorted() {
                _ = rules.releaseTime(recipient: recipient, urgent: false, at: now)
                let notice = OutboundNotification(
                    idempotencyKey: "k-1", incidentID: "INC-1", requestedAt: now, recipient: recipient, channel: nil,
                    template: "sla-escalated", payload: ["level": "1"], urgent: true
                )
                _ = try? rules.deliveries(for: notice)
            }
            return .accepted
        } catch {
            return .rejected(error.description)
        }
    }

    /// The environment `tenants` loads with: the example file's token variables are set.
    static let tenantEnvironment = ["TRIAGE_BETA_TOKEN": "beta-secret", "TRIAGE_OPS_TOKEN": "ops-secret"]

    /// `tenants.yaml` (``TenantDirectory/load(yaml:file:environment:)``), then a bearer token check.
    public static func tenants(_ bytes: [UInt8]) -> FuzzVerdict {
        do {
            let directory = try TenantDirectory.load(
                yaml: String(decoding: bytes, as: UTF8.self), file: "fuzz.yaml", environment: tenantEnvironment)
            _ = directory.authenticate(bearer: "foo")
            return .accepted
        } catch {
            return .rejected(error.description)
        }
    }

    /// `billing-policy.yaml` (``BillingPolicy/load(yaml:file:)``), then a few decisions.
    public static func billingPolicy(_ bytes: [UInt8]) -> FuzzVerdict {
        do {
            let policy = try BillingPolicy.load(yaml: String(decoding: bytes, as: UTF8.self), file: "fuzz.yaml")
            for role in CloserRole.allCases {
                _ = policy.decide(closedBy: role, reason: "duplicate", severity: "A", openedAt: now.addingTimeInterval(-600), closedAt: now)
                _ = policy.decide(closedBy: role, reason: "no_response", severity: nil, openedAt: nil, closedAt: now)
            }
            return .accepted
        } catch {
            return .rejected(error.description)
        }
    }
}

/// A tiny deterministic generator, so the retry jitter of a fuzz input is reproducible.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
