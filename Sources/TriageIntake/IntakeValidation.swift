import Foundation
import SwiftProtobuf
import TriageAnalytics
import TriageEntitlements
package import TriageSchema

/// Request checks; each failure names the field (`field: what is wrong`).
package enum IntakeValidation {
    static func required(_ value: String, _ field: String) throws(IntakeFailure) {
        guard !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw .invalidArgument("\(field): required") }
    }

    static func severity(_ severity: Severity, _ field: String) throws(IntakeFailure) {
        switch severity {
        case .a, .b, .c: return
        default: throw .invalidArgument("\(field): must be SEVERITY_A, SEVERITY_B or SEVERITY_C")
        }
    }

    static func open(_ request: Triage_V1_OpenIncidentRequest) throws(IntakeFailure) {
        try required(request.customerAccount, "customer_account")
        try required(request.product, "product")
        try required(request.title, "title")
        try severity(request.severity, "severity")
        try required(request.language, "language")
        guard request.language.range(of: #"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"#, options: .regularExpression) != nil else {
            throw .invalidArgument("language: '\(request.language)' is not a BCP 47 tag such as en or de-CH")
        }
        try required(request.customerTimeZone, "customer_time_zone")
        if TimeZone(identifier: request.customerTimeZone) == nil {
            throw .invalidArgument("customer_time_zone: '\(request.customerTimeZone)' is not an IANA time zone such as Europe/Zurich")
        }
        guard request.title.count <= 500 else { throw .invalidArgument("title: longer than 500 characters") }
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

/// `IncidentView` answers from what the intake can see.
enum IncidentViews {
    static func view(_ snapshot: IncidentSnapshot) throws -> Triage_V1_IncidentView {
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
        if let at = snapshot.openedAt { view.openedAt = Google_Protobuf_Timestamp(date: at) }
        if let at = snapshot.acknowledgedAt { view.acknowledgedAt = Google_Protobuf_Timestamp(date: at) }
        if let at = snapshot.closedAt { view.closedAt = Google_Protobuf_Timestamp(date: at) }
        view.creditRefunded = snapshot.creditRefunded
        view.reopenCount = UInt32(snapshot.reopenCount)
        view.parentIncidentID = snapshot.parentIncidentID
        view.splitChildren = snapshot.splitChildren
        view.firstResponseBreached = snapshot.firstResponse.breached
        view.snapshotJson = String(decoding: try snapshot.jsonData(), as: UTF8.self)
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
        view.openedAt = Google_Protobuf_Timestamp(date: entry.openedAt)
        view.parentIncidentID = entry.opened.parentIncidentID
        return view
    }
}
