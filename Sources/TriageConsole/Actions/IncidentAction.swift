import Foundation
public import TriageCore

/// What a person does to an incident from its page; one intake call each.
public enum IncidentAction: Sendable, Hashable {
    case acknowledge
    case addNote(text: String, isPublic: Bool)
    case changeSeverity(SupportSeverity, reason: String)
    /// Pause the SLA clocks: `pauseReason` names a reason of the SLA policy (which clocks it
    /// pauses is the policy's); `resumeAfterHours` ends the pause by itself (a scheduled follow-up).
    case waitOnCustomer(reason: String, pauseReason: String = "", resumeAfterHours: Double? = nil)
    case customerResponded
    /// To a named agent, back to the queue, or (neither) to any other eligible agent.
    case reassign(toAgent: String?, toQueue: Bool, note: String)
    case deliverSolution(summary: String)
    case closeResolved
    case closeUnresolved(reason: String)

    /// The names used in URLs (`POST /incidents/ID/actions/NAME`), in the order the page offers them.
    public static let names = [
        "acknowledge", "note", "severity", "wait", "responded", "reassign", "solution", "close-resolved", "close-unresolved",
    ]

    /// The URL name.
    public var name: String {
        switch self {
        case .acknowledge: "acknowledge"
        case .addNote: "note"
        case .changeSeverity: "severity"
        case .waitOnCustomer: "wait"
        case .customerResponded: "responded"
        case .reassign: "reassign"
        case .deliverSolution: "solution"
        case .closeResolved: "close-resolved"
        case .closeUnresolved: "close-unresolved"
        }
    }

    /// Reads the action `name` from a submitted form; the problem is a sentence for the person.
    public static func parse(name: String, form: [String: String]) -> Result<IncidentAction, FormProblem> {
        func text(_ key: String) -> String { (form[key] ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
        switch name {
        case "acknowledge": return .success(.acknowledge)
        case "note":
            let body = text("text")
            guard !body.isEmpty else { return .failure(FormProblem("write the note's text")) }
            guard body.count <= 10_000 else { return .failure(FormProblem("a note has at most 10,000 characters")) }
            return .success(.addNote(text: body, isPublic: text("visibility") == "public"))
        case "severity":
            guard let severity = SupportSeverity(rawValue: text("severity").uppercased()) else {
                return .failure(FormProblem("choose severity A, B or C"))
            }
            return .success(.changeSeverity(severity, reason: text("reason")))
        case "wait":
            let pause = text("pause")
            guard pause.isEmpty || (pause.count <= 64 && pause.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") })
            else {
                return .failure(FormProblem("choose a pause reason from the list"))
            }
            var hours: Double?
            if !text("resume_hours").isEmpty {
                guard let value = Double(text("resume_hours")), value > 0, value <= 366 * 24 else {
                    return .failure(FormProblem("resume after a number of hours, more than 0 and at most 8784 (a year)"))
                }
                hours = value
            }
            return .success(.waitOnCustomer(reason: text("reason"), pauseReason: pause, resumeAfterHours: hours))
        case "responded": return .success(.customerResponded)
        case "reassign":
            let target = text("to")
            if target == "queue" { return .success(.reassign(toAgent: nil, toQueue: true, note: text("note"))) }
            if target.isEmpty || target == "any" { return .success(.reassign(toAgent: nil, toQueue: false, note: text("note"))) }
            guard target.hasPrefix("agent:"), target.count > 6 else { return .failure(FormProblem("choose an agent or the queue")) }
            return .success(.reassign(toAgent: String(target.dropFirst(6)), toQueue: false, note: text("note")))
        case "solution":
            let summary = text("summary")
            guard !summary.isEmpty else { return .failure(FormProblem("summarise the solution")) }
            return .success(.deliverSolution(summary: summary))
        case "close-resolved": return .success(.closeResolved)
        case "close-unresolved":
            let reason = text("reason")
            return .success(.closeUnresolved(reason: reason.isEmpty ? "no_response" : reason))
        default: return .failure(FormProblem("unknown action '\(name)'"))
        }
    }
}
