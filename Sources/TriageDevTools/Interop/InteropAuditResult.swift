import Foundation

/// What an interop audit found about one run's incidents, and the verdict.
public struct InteropAuditResult: Sendable {
    public var incidents = 0
    public var lifecycleEvents = 0
    public var duplicateLifecycleRecords = 0
    public var unassigned: [String] = []
    public var assignmentViolations: [String] = []
    /// With violations: the load trail of each agent above capacity and the history of each
    /// incident named, for whoever reads the report.
    public var violationDetails: [String] = []
    public var warnings = 0
    public var escalations = 0
    public var repeatedAlerts: [String] = []
    public var severityA = 0
    public var severityAEscalated = 0
    public var analyticsRecords = 0
    public var withoutAnalytics: [String] = []
    public var notificationRequests = 0
    public var delivered = 0
    public var webhooksReceived = 0
    public var webhooksVerified = 0
    public var undelivered = 0
    public var deadLettered: [String] = []
    public var workerExits: [String: Int32] = [:]
    public var versions: [(String, String)] = []

    public init() {}

    /// Everything the run should produce is there (checked again before the verdict).
    public var isComplete: Bool {
        unassigned.isEmpty && withoutAnalytics.isEmpty && undelivered == 0 && severityAEscalated == severityA
            && notificationRequests > 0
    }

    public var progress: String {
        "\(incidents - unassigned.count)/\(incidents) assigned, \(severityAEscalated)/\(severityA) severity A escalated, "
            + "\(lifecycleEvents - withoutAnalytics.count)/\(lifecycleEvents) events in analytics, \(delivered)/\(notificationRequests) notifications delivered"
    }

    public var failures: [String] {
        var failures: [String] = []
        if !unassigned.isEmpty {
            failures.append("\(unassigned.count) incidents never assigned (e.g. \(unassigned.prefix(3).joined(separator: ", ")))")
        }
        if !assignmentViolations.isEmpty { failures.append("assignments: \(assignmentViolations.prefix(3).joined(separator: "; "))") }
        if !repeatedAlerts.isEmpty { failures.append("alerts not exactly once: \(repeatedAlerts.prefix(3).joined(separator: "; "))") }
        if severityAEscalated < severityA { failures.append("\(severityA - severityAEscalated) severity A incidents never escalated") }
        if !withoutAnalytics.isEmpty {
            failures.append(
                "\(withoutAnalytics.count) lifecycle events without an analytics record (e.g. \(withoutAnalytics.prefix(3).joined(separator: ", ")))"
            )
        }
        if notificationRequests == 0 { failures.append("no notification requests at all") }
        if undelivered > 0 { failures.append("\(undelivered) notifications never delivered") }
        if webhooksVerified < webhooksReceived {
            failures.append("\(webhooksReceived - webhooksVerified) webhooks with an invalid signature")
        }
        if !deadLettered.isEmpty { failures.append("dead-lettered: \(deadLettered.prefix(3).joined(separator: "; "))") }
        let unclean = workerExits.filter { $0.value != 0 }
        if !unclean.isEmpty {
            failures.append(
                "unclean exits: \(unclean.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
        }
        return failures
    }

    public func table(runID: String, bootstrap: String, embedded: Bool, seconds: Int) -> String {
        let rows: [(String, String, String)] = [
            ("incidents opened (gRPC and triage publish)", "\(incidents)", ""),
            ("  never assigned", "\(unassigned.count)", "0"),
            ("  assignment inconsistencies (held twice, above capacity, moved by a non-holder)", "\(assignmentViolations.count)", "0"),
            ("lifecycle events (distinct event ids)", "\(lifecycleEvents)", ""),
            ("  repeated records of one event id (at-least-once; consumers dedupe)", "\(duplicateLifecycleRecords)", "any"),
            ("  without an analytics record", "\(withoutAnalytics.count)", "0"),
            (
                "analytics records (of which repeats of one event id)",
                "\(analyticsRecords) (\(max(0, analyticsRecords - (lifecycleEvents - withoutAnalytics.count))))", ""
            ),
            ("SLA warnings / escalations (distinct, after dedupe by event id)", "\(warnings) / \(escalations)", ""),
            ("  warnings or escalation levels fired other than exactly once", "\(repeatedAlerts.count)", "0"),
            ("severity A incidents escalated", "\(severityAEscalated) of \(severityA)", "all"),
            ("notification requests / delivered", "\(notificationRequests) / \(delivered)", "all"),
            ("webhooks received / signature valid", "\(webhooksReceived) / \(webhooksVerified)", "all"),
            ("records dead-lettered", "\(deadLettered.count)", "0"),
            (
                "workers exiting 0 on SIGTERM at the end", "\(workerExits.values.filter { $0 == 0 }.count) of \(workerExits.count)",
                "all"
            ),
        ]
        var text = """
            ### Interop run \(runID) — \(ISO8601DateFormatter().string(from: Date()))

            \(embedded ? "embedded broker" : "cluster") \(bootstrap); \(seconds) s; each worker SIGKILLed once and restarted

            | process | librdkafka |
            |---|---|

            """
        for (process, version) in versions { text += "| \(process) | \(version) |\n" }
        text += "\n| check | measured | must be |\n|---|---:|---:|\n"
        for (name, value, expected) in rows { text += "| \(name) | \(value) | \(expected) |\n" }
        text += "\n" + (failures.isEmpty ? "Result: every check passed.\n" : "Result: FAILED — \(failures.joined(separator: "; "))\n")
        if !violationDetails.isEmpty {
            text +=
                "\nWhat the audit replayed behind the assignment inconsistencies (causal order; lifecycle partition@offset, record time, producer):\n\n"
            text += violationDetails.map { "```\n\($0)\n```\n" }.joined(separator: "\n")
        }
        return text
    }
}
