import Foundation
import SwiftProtobuf
import TriageAnalytics
import TriageEntitlements
package import TriageSchema

/// Request checks; each failure names the field (`field: what is wrong`).
package enum IntakeValidation {
    static func required(_ value: String, _ field: String) throws(IntakeFailure) {
        var check = FieldCheck()
        check.required(value, field)
        try check.finish()
    }

    static func severity(_ severity: Severity, _ field: String) throws(IntakeFailure) {
        var check = FieldCheck()
        check.severity(severity, field)
        try check.finish()
    }

    /// Every problem of the request at once (a client fixes them in one round).
    static func open(_ request: Triage_V1_OpenIncidentRequest) throws(IntakeFailure) {
        var check = FieldCheck()
        check.required(request.customerAccount, "customer_account")
        check.required(request.product, "product")
        if check.required(request.title, "title") {
            check.require(request.title.count <= 500, "title", "longer than 500 characters")
        }
        check.severity(request.severity, "severity")
        if check.required(request.language, "language") {
            check.require(
                request.language.range(of: #"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"#, options: .regularExpression) != nil,
                "language", "'\(request.language)' is not a BCP 47 tag such as en or de-CH"
            )
        }
        if check.required(request.customerTimeZone, "customer_time_zone") {
            check.require(
                TimeZone(identifier: request.customerTimeZone) != nil,
                "customer_time_zone", "'\(request.customerTimeZone)' is not an IANA time zone such as Europe/Zurich"
            )
        }
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
        let present = !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        require(present, field, "required")
        return present
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
