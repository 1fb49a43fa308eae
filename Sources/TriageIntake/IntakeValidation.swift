import Foundation
import SwiftProtobuf
import TriageAnalytics
import TriageCore
import TriageEntitlements
package import TriageSchema

/// The intake's size limits, in bytes of UTF-8 (a client counting characters, grapheme
/// clusters or UTF-16 units gets the same answer: bytes are what is stored and sent).
public enum IntakeLimits {
    /// Ids and names: request, incident, account, entitlement, agent, author, product, team,
    /// `closed_by`. 128 bytes.
    public static let identifierBytes = 128
    /// A title. 1 KiB.
    public static let titleBytes = 1024
    /// Free text: a description, a note, a solution summary, a reason. 32 KiB.
    public static let textBytes = 32 * 1024
    /// Subordinate problems in one split. 20.
    public static let splitChildren = 20
    /// A whole request (as protobuf); larger ones get RESOURCE_EXHAUSTED before any field is
    /// looked at. 4 MiB, the customary gRPC limit (smaller requests with an oversize field get
    /// INVALID_ARGUMENT naming the field).
    public static let requestBytes = 4 * 1024 * 1024
    /// The events of one split together (they travel to the ledger in one Kafka record, below
    /// Kafka's default 1 MB message limit). 768 KiB.
    public static let splitEventBytes = 768 * 1024
    /// What the HTTP/2 transport accepts at all, so that requests between ``requestBytes`` and
    /// this get a RESOURCE_EXHAUSTED status rather than a reset stream. 16 MiB.
    public static let transportBytes = 16 * 1024 * 1024
}

/// Request checks; each failure names the field (`field: what is wrong`).
package enum IntakeValidation {
    /// Every problem of the request at once (a client fixes them in one round).
    static func open(_ request: Triage_V1_OpenIncidentRequest) throws(IntakeFailure) {
        var check = FieldCheck()
        request.checkFields(&check)
        try check.finish()
    }

    /// What ``open(_:)`` refuses `request` for, or `nil` when it passes (for the fuzzers and their
    /// corpus test in TriageFuzzTargets, which see no `IntakeFailure`).
    package static func problem(openIncident request: Triage_V1_OpenIncidentRequest) -> String? {
        do {
            try open(request)
            return nil
        } catch {
            return error.message
        }
    }

    static func describe(_ status: EntitlementStatus) -> String {
        let format = ISO8601DateFormatter()
        switch status {
        case .valid: return "valid"
        case .exhausted: return "no credits left"
        case .expired(let at): return "expired at \(format.string(from: at))"
        case .notYetValid(let startsAt): return "valid from \(format.string(from: startsAt))"
        }
    }

    /// A client's value as it may appear in a status message: quoted when it is short printable
    /// ASCII, otherwise only its size (a status message travels in a header; never a client's
    /// megabyte, never its control characters).
    static func quoted(_ value: String) -> String {
        let bytes = value.utf8.count
        guard bytes <= 64, value.utf8.allSatisfy({ (0x20...0x7E).contains($0) && $0 != 0x27 }) else {
            return "the value given (\(bytes) bytes)"
        }
        return "'\(value)'"
    }
}

/// The problems found in one request, collected so that they are all reported together (as the
/// status message and as `google.rpc.BadRequest` field violations in the status details).
struct FieldCheck {
    private(set) var violations: [IntakeFailure.Violation] = []

    mutating func require(_ condition: Bool, _ field: String, _ problem: @autoclosure () -> String) {
        if !condition { violations.append(.init(field: field, description: problem())) }
    }

    /// Records a problem when `value` is blank; returns whether it is present.
    @discardableResult
    mutating func required(_ value: String, _ field: String) -> Bool {
        let present = !Self.isBlank(value)
        require(present, field, "required")
        return present
    }

    /// An id or name: at most ``IntakeLimits/identifierBytes``, no control or invisible
    /// formatting characters. Returns whether it is present and well-formed.
    @discardableResult
    mutating func identifier(_ value: String, _ field: String, required: Bool = true, limit: Int = IntakeLimits.identifierBytes) -> Bool {
        if value.isEmpty || (required && Self.isBlank(value)) {
            if required { self.required(value, field) }
            return false
        }
        return text(value, field, limit: limit, allowing: [])
    }

    /// Whether `value` is empty once whitespace and line breaks are trimmed (without trimming:
    /// Foundation's trimming bridges the string, on every field of every call).
    static func isBlank(_ value: String) -> Bool {
        value.unicodeScalars.allSatisfy { CharacterSet.whitespacesAndNewlines.contains($0) }
    }

    /// Whether `tag` has the shape of a BCP 47 language tag, `^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$`
    /// (checked by hand: a regular expression is compiled again on every call).
    static func isLanguageTag(_ tag: String) -> Bool {
        let parts = tag.utf8.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        guard let first = parts.first, (2...3).contains(first.count), first.allSatisfy(isASCIILetter) else { return false }
        return parts.dropFirst().allSatisfy { part in
            (2...8).contains(part.count) && part.allSatisfy { isASCIILetter($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        }
    }

    private static func isASCIILetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    /// Free text: at most `limit` bytes; control characters only where `allowing` says (tab and
    /// line breaks in multi-line text). Returns whether it passed.
    @discardableResult
    mutating func text(_ value: String, _ field: String, limit: Int, allowing: Set<Unicode.Scalar> = FieldCheck.multiLine) -> Bool {
        let bytes = value.utf8.count
        guard bytes <= limit else {
            violations.append(.init(field: field, description: "\(bytes) bytes; at most \(limit) bytes (UTF-8) are accepted"))
            return false
        }
        if let scalar = Self.firstForbidden(in: value, allowing: allowing) {
            let code = scalar.codePoint
            let what =
                allowing.contains("\n") ? "control characters other than tab and line breaks" : "control or invisible formatting characters"
            violations.append(.init(field: field, description: "contains \(code); \(what) are not accepted here"))
            return false
        }
        return true
    }

    /// Multi-line text: tab, line breaks and the joiners of emoji and scripts.
    static let multiLine: Set<Unicode.Scalar> = ["\t", "\n", "\r", "\u{200C}", "\u{200D}"]
    /// One line of text (a title): the joiners only.
    static let singleLine: Set<Unicode.Scalar> = ["\u{200C}", "\u{200D}"]

    /// The first control character (C0, DEL, C1), line/paragraph separator or bidirectional or
    /// invisible formatting character, other than `allowing`.
    static func firstForbidden(in value: String, allowing: Set<Unicode.Scalar>) -> Unicode.Scalar? {
        value.unicodeScalars.first { $0.isControlOrInvisible && !allowing.contains($0) }
    }

    /// The two ids of every call on an existing incident: its (optional) request id and the incident.
    mutating func incidentCall(requestID: String, incidentID: String) {
        identifier(requestID, "request_id", required: false)
        identifier(incidentID, "incident_id")
    }

    mutating func severity(_ severity: Severity, _ field: String) {
        switch severity {
        case .a, .b, .c: return
        default: require(false, field, "must be SEVERITY_A, SEVERITY_B or SEVERITY_C")
        }
    }

    /// Throws INVALID_ARGUMENT naming every problem, if there is one.
    func finish() throws(IntakeFailure) {
        guard !violations.isEmpty else { return }
        throw IntakeFailure.invalid(violations)
    }
}

/// A request whose every field the intake checks before acting: required fields, sizes in
/// bytes, characters, enumerations (all problems at once, as INVALID_ARGUMENT).
protocol IntakeFields: Sendable {
    func checkFields(_ check: inout FieldCheck)
    /// The checks that depend on the instant the call is received (default: none beyond
    /// ``checkFields(_:)``). `now` is read only by a check that needs it: the service reads its
    /// clock once per call for the events, and a second read would move that instant.
    func checkFields(_ check: inout FieldCheck, now: () -> Date)
}

extension IntakeFields {
    func checkFields(_ check: inout FieldCheck, now: () -> Date) { checkFields(&check) }
}

extension Triage_V1_OpenIncidentRequest: IntakeFields {
    func checkFields(_ check: inout FieldCheck) {
        check.identifier(requestID, "request_id", required: false)
        check.identifier(customerAccount, "customer_account")
        check.identifier(entitlementID, "entitlement_id", required: false)
        check.identifier(product, "product")
        if check.required(title, "title") { check.text(title, "title", limit: IntakeLimits.titleBytes, allowing: FieldCheck.singleLine) }
        check.text(description_p, "description", limit: IntakeLimits.textBytes)
        check.identifier(team, "team", required: false)
        check.severity(severity, "severity")
        if check.identifier(language, "language", limit: 35) {
            check.require(
                FieldCheck.isLanguageTag(language),
                "language", "\(IntakeValidation.quoted(language)) is not a BCP 47 tag such as en or de-CH"
            )
        }
        if check.identifier(customerTimeZone, "customer_time_zone", limit: 64) {
            check.require(
                TimeZone(identifier: customerTimeZone) != nil,
                "customer_time_zone", "\(IntakeValidation.quoted(customerTimeZone)) is not an IANA time zone such as Europe/Zurich"
            )
        }
    }
}

extension Triage_V1_AcknowledgeRequest: IntakeFields {
    func checkFields(_ check: inout FieldCheck) {
        check.incidentCall(requestID: requestID, incidentID: incidentID)
        check.identifier(agentID, "agent_id")
    }
}

extension Triage_V1_ReassignRequest: IntakeFields {
    func checkFields(_ check: inout FieldCheck) {
        check.incidentCall(requestID: requestID, incidentID: incidentID)
        check.identifier(toAgentID, "to_agent_id", required: false)
        check.require(!(toQueue && !toAgentID.isEmpty), "to_queue", "give either to_agent_id or to_queue, not both")
        check.text(note, "note", limit: IntakeLimits.textBytes)
    }
}

extension Triage_V1_TakeNextRequest: IntakeFields {
    func checkFields(_ check: inout FieldCheck) {
        check.incidentCall(requestID: requestID, incidentID: incidentID)
        check.identifier(agentID, "agent_id")
    }
}

extension Triage_V1_SetPresenceRequest: IntakeFields {
    func checkFields(_ check: inout FieldCheck) {
        check.identifier(requestID, "request_id", required: false)
        check.identifier(agentID, "agent_id")
        check.require(
            [.online, .away, .offline].contains(presence), "presence", "must be PRESENCE_ONLINE, PRESENCE_AWAY or PRESENCE_OFFLINE")
    }
}

extension Triage_V1_AddNoteRequest: IntakeFields {
    func checkFields(_ check: inout FieldCheck) {
        check.incidentCall(requestID: requestID, incidentID: incidentID)
        check.identifier(author, "author")
        if check.required(text, "text") { check.text(text, "text", limit: IntakeLimits.textBytes) }
    }
}

extension Triage_V1_ChangeSeverityRequest: IntakeFields {
    func checkFields(_ check: inout FieldCheck) {
        check.incidentCall(requestID: requestID, incidentID: incidentID)
        check.severity(severity, "severity")
        check.text(reason, "reason", limit: IntakeLimits.textBytes)
    }
}

extension Triage_V1_WaitOnCustomerRequest: IntakeFields {
    /// How far ahead `resume_at` may be: a year (366 days).
    static let longestPause: TimeInterval = 366 * 24 * 3600

    func checkFields(_ check: inout FieldCheck) {
        check.incidentCall(requestID: requestID, incidentID: incidentID)
        check.text(reason, "reason", limit: IntakeLimits.textBytes)
        // The syntax only: which reasons exist is the SLA policy's business (the escalator
        // pauses an unknown one as waiting_on_customer and logs it).
        check.require(
            pauseReason.isEmpty || Self.isPauseReasonName(pauseReason), "pause_reason",
            "\(IntakeValidation.quoted(pauseReason)) is not a pause-reason name: lowercase letters, digits and '_', at most 64 bytes (e.g. waiting_on_vendor)"
        )
    }

    func checkFields(_ check: inout FieldCheck, now clock: () -> Date) {
        checkFields(&check)
        guard hasResumeAt else { return }
        let now = clock()
        guard (0..<1_000_000_000).contains(resumeAt.nanos), (0...4_102_444_800).contains(resumeAt.seconds) else {
            check.require(false, "resume_at", "not a valid timestamp")
            return
        }
        let at = resumeAt.date
        check.require(at > now, "resume_at", "must be in the future (the pause would end before it starts)")
        check.require(at <= now.addingTimeInterval(Self.longestPause), "resume_at", "must be at most a year (366 days) ahead")
    }

    /// `[a-z0-9_]+`, at most 64 bytes (the SLA policy's rule for pause-reason names).
    static func isPauseReasonName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F }
    }
}

extension Triage_V1_CustomerRespondedRequest: IntakeFields {
    func checkFields(_ check: inout FieldCheck) {
        check.incidentCall(requestID: requestID, incidentID: incidentID)
    }
}

extension Triage_V1_SplitIncidentRequest: IntakeFields {
    func checkFields(_ check: inout FieldCheck) {
        check.incidentCall(requestID: requestID, incidentID: incidentID)
        check.require(!children.isEmpty, "children", "at least one subordinate problem is required")
        check.require(
            children.count <= IntakeLimits.splitChildren, "children",
            "\(children.count) subordinate problems; at most \(IntakeLimits.splitChildren) in one split"
        )
        for (index, child) in children.prefix(IntakeLimits.splitChildren).enumerated() {
            if check.required(child.title, "children[\(index)].title") {
                check.text(child.title, "children[\(index)].title", limit: IntakeLimits.titleBytes, allowing: FieldCheck.singleLine)
            }
            check.text(child.description_p, "children[\(index)].description", limit: IntakeLimits.textBytes)
            check.identifier(child.product, "children[\(index)].product", required: false)
            if child.severity != .unspecified { check.severity(child.severity, "children[\(index)].severity") }
        }
    }
}

extension Triage_V1_DeliverSolutionRequest: IntakeFields {
    func checkFields(_ check: inout FieldCheck) {
        check.incidentCall(requestID: requestID, incidentID: incidentID)
        check.identifier(agentID, "agent_id")
        check.text(summary, "summary", limit: IntakeLimits.textBytes)
    }
}

extension Triage_V1_CloseResolvedRequest: IntakeFields {
    func checkFields(_ check: inout FieldCheck) {
        check.incidentCall(requestID: requestID, incidentID: incidentID)
        check.identifier(closedBy, "closed_by")
    }
}

extension Triage_V1_CloseUnresolvedRequest: IntakeFields {
    func checkFields(_ check: inout FieldCheck) {
        check.incidentCall(requestID: requestID, incidentID: incidentID)
        check.identifier(closedBy, "closed_by")
        check.require(
            closerRole.isEmpty || ["agent", "customer", "system"].contains(closerRole), "closer_role",
            "must be one of agent, customer, system"
        )
        check.text(reason, "reason", limit: IntakeLimits.textBytes)
    }
}

extension Triage_V1_RequestCloseRequest: IntakeFields {
    func checkFields(_ check: inout FieldCheck) {
        check.incidentCall(requestID: requestID, incidentID: incidentID)
        check.text(reason, "reason", limit: IntakeLimits.textBytes)
    }
}

extension Triage_V1_ReopenIncidentRequest: IntakeFields {
    func checkFields(_ check: inout FieldCheck) {
        check.incidentCall(requestID: requestID, incidentID: incidentID)
        check.text(reason, "reason", limit: IntakeLimits.textBytes)
    }
}

extension Triage_V1_OverrideBillingRequest: IntakeFields {
    func checkFields(_ check: inout FieldCheck) {
        check.incidentCall(requestID: requestID, incidentID: incidentID)
        check.text(note, "note", limit: IntakeLimits.textBytes)
    }
}

extension Triage_V1_GetIncidentRequest: IntakeFields {
    func checkFields(_ check: inout FieldCheck) {
        check.identifier(incidentID, "incident_id")
    }
}

/// `IncidentView` answers from what the intake can see.
enum IncidentViews {
    /// An instant of the snapshot (kept to the millisecond) as a timestamp of exactly that
    /// millisecond: `Google_Protobuf_Timestamp(date:)` would carry the binary fraction's noise
    /// (`.380000114Z` for `.380Z`).
    static func timestamp(_ date: Date) -> Google_Protobuf_Timestamp {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let (seconds, remainder) = milliseconds.quotientAndRemainder(dividingBy: 1000)
        return remainder >= 0
            ? Google_Protobuf_Timestamp(seconds: seconds, nanos: Int32(remainder) * 1_000_000)
            : Google_Protobuf_Timestamp(seconds: seconds - 1, nanos: Int32(remainder + 1000) * 1_000_000)
    }

    static func view(_ snapshot: IncidentSnapshot) -> Triage_V1_IncidentView {
        var view = Triage_V1_IncidentView()
        view.incidentID = snapshot.incidentID
        view.customerAccount = snapshot.customerAccount
        view.entitlementID = snapshot.entitlementID
        view.severity = snapshot.severity
        view.coverage = snapshot.coverage
        view.status = snapshot.status.rawValue
        view.team = snapshot.team
        view.assignedAgentID = snapshot.assignedAgentID
        view.title = snapshot.title
        if let at = snapshot.openedAt { view.openedAt = timestamp(at) }
        if let at = snapshot.acknowledgedAt { view.acknowledgedAt = timestamp(at) }
        if let at = snapshot.closedAt { view.closedAt = timestamp(at) }
        view.creditRefunded = snapshot.creditRefunded
        view.reopenCount = UInt32(snapshot.reopenCount)
        view.parentIncidentID = snapshot.parentIncidentID
        view.splitChildren = snapshot.splitChildren
        view.firstResponseBreached = snapshot.firstResponse.breached
        view.product = snapshot.product
        view.language = snapshot.language
        view.statusBeforeWaiting = snapshot.statusBeforeWaiting?.rawValue ?? ""
        view.lastAgentID = snapshot.lastAgentID
        view.reassignmentCount = UInt32(clamping: snapshot.reassignmentCount)
        view.closedBy = snapshot.closedBy
        view.outcome = snapshot.outcome.rawValue
        if let minutes = snapshot.firstResponseBusinessMinutes { view.firstResponseBusinessMinutes = minutes }
        view.firstResponse = measure(snapshot.firstResponse)
        view.resolution = measure(snapshot.resolution)
        view.waitingOnCustomerMinutes = snapshot.waitingOnCustomerMinutes
        if let at = snapshot.waitingSince { view.waitingSince = timestamp(at) }
        view.eventCount = UInt32(clamping: snapshot.eventCount)
        if let at = snapshot.lastEventAt { view.lastEventAt = timestamp(at) }
        return view
    }

    static func measure(_ measure: SlaMeasure) -> Triage_V1_SlaMeasureView {
        var view = Triage_V1_SlaMeasureView()
        if let minutes = measure.targetBusinessMinutes { view.targetBusinessMinutes = minutes }
        if let minutes = measure.usedBusinessMinutes { view.usedBusinessMinutes = minutes }
        view.breached = measure.breached
        if let minutes = measure.breachedByBusinessMinutes { view.breachedByBusinessMinutes = minutes }
        view.final = measure.isFinal
        return view
    }

    static func view(_ entry: DirectoryEntry) -> Triage_V1_IncidentView {
        var view = Triage_V1_IncidentView()
        view.incidentID = entry.incidentID
        view.customerAccount = entry.account
        view.entitlementID = entry.entitlementID
        view.severity = entry.severity
        view.coverage = entry.opened.coverage
        view.status = "opening"
        view.team = entry.opened.team
        view.title = entry.opened.title
        view.openedAt = timestamp(entry.openedAt)
        view.parentIncidentID = entry.opened.parentIncidentID
        return view
    }
}
