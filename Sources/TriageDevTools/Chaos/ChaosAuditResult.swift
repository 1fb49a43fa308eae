import Foundation

/// What a chaos audit found: every figure of the table and the verdict.
public struct ChaosAuditResult: Codable, Sendable {
    public var published = 0
    public var accounted = 0
    public var deadLetteredEvents = 0
    public var lost = 0
    /// A few of the lost event ids, for the failure message.
    public var lostSample: [String] = []
    /// Acknowledged to the simulator's producer, yet never in the lifecycle topic: lost
    /// before any worker could see them (producer client or embedded broker under faults).
    public var neverStored = 0
    public var neverStoredSample: [String] = []
    public var undelivered = 0
    public var assignments = 0
    public var reassignments = 0
    public var capacityViolations: [String] = []
    public var heldTwice: [String] = []
    public var otherAssignmentViolations: [String] = []
    public var escalations = 0
    /// Of ``escalations``, those of the update clock (each also checked to be exactly once per
    /// deadline and level).
    public var updateEscalations = 0
    /// Update-clock escalation levels (incident and level) a replay of the lifecycle topic says
    /// were due by the audit; each missing one is an ``escalationProblems`` entry.
    public var updateEscalationsExpected = 0
    public var escalationProblems: [String] = []
    public var notificationRequests = 0
    public var delivered = 0
    public var deadLettered = 0
    public var notificationsOutstanding = 0
    public var repeatedDeliveries = 0
    public var kills = 0
    public var faults = 0
    public var workerExits: [String: Int32] = [:]
    /// The lifecycle history of a few incidents behind assignment violations.
    public var histories: [String] = []

    public init() {}

    public var isSettled: Bool { lost == 0 && notificationsOutstanding == 0 }

    public var failures: [String] {
        var failures: [String] = []
        if lost > 0 { failures.append("\(lost) events lost (e.g. \(lostSample.joined(separator: ", ")))") }
        if !capacityViolations.isEmpty { failures.append("capacity: \(capacityViolations.prefix(3).joined(separator: ", "))") }
        if !heldTwice.isEmpty { failures.append("held twice: \(heldTwice.prefix(3).joined(separator: ", "))") }
        if !otherAssignmentViolations.isEmpty {
            failures.append("assignments: \(otherAssignmentViolations.prefix(3).joined(separator: ", "))")
        }
        if !escalationProblems.isEmpty { failures.append("escalations: \(escalationProblems.prefix(3).joined(separator: ", "))") }
        if notificationsOutstanding > 0 {
            failures.append("\(notificationsOutstanding) notifications neither delivered nor dead-lettered")
        }
        let unclean = workerExits.filter { $0.value != 0 }
        if !unclean.isEmpty {
            failures.append(
                "unclean exits: \(unclean.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
        }
        return failures
    }

    public var passed: Bool { failures.isEmpty }

    public func table(seed: UInt64, duration: Double, rate: Double, instances: Int, brokers: Int, partitions: Int) -> String {
        let exits = workerExits.values.filter { $0 == 0 }.count
        let rows: [(String, String, String)] = [
            ("lifecycle events published (acknowledged by the broker)", "\(published)", ""),
            (
                "  acknowledged but never in the lifecycle topic (producer client / embedded broker; no worker saw them)",
                "\(neverStored)", ""
            ),
            ("  accounted for (analytics feed, or dead-lettered with a reason)", "\(accounted)", "= published − never stored"),
            ("  of which dead-lettered", "\(deadLetteredEvents)", ""),
            ("  lost by the workers (in the lifecycle topic, not accounted for)", "\(lost)", "0"),
            ("  not accepted by the broker (the simulator saw the error)", "\(undelivered)", ""),
            ("assignments / reassignments audited", "\(assignments) / \(reassignments)", ""),
            ("assignments violating capacity", "\(capacityViolations.count)", "0"),
            ("incidents assigned twice", "\(heldTwice.count)", "0"),
            ("other assignment inconsistencies (a move from an agent not holding it)", "\(otherAssignmentViolations.count)", "0"),
            ("escalations (distinct, after dedupe by event id)", "\(escalations)", ""),
            ("  of which update-clock escalations", "\(updateEscalations)", ""),
            ("  update-clock levels due by a replay of the lifecycle topic (each must be published)", "\(updateEscalationsExpected)", ""),
            ("breaches without exactly one escalation per level", "\(escalationProblems.count)", "0"),
            ("notification requests", "\(notificationRequests)", ""),
            ("  delivered / dead-lettered", "\(delivered) / \(deadLettered)", ""),
            ("  neither delivered nor dead-lettered", "\(notificationsOutstanding)", "0"),
            ("repeated deliveries (same Idempotency-Key as the first)", "\(repeatedDeliveries)", "any"),
            ("worker kills (SIGKILL) / broker faults", "\(kills) / \(faults)", ""),
            ("workers exiting 0 on SIGTERM at the end", "\(exits) of \(workerExits.count)", "all"),
        ]
        var text = """
            ### Chaos run — \(ISO8601DateFormatter().string(from: Date()))

            seed \(seed), \(Int(duration)) s of load at \(rate) incidents/s, \(instances) processes per worker kind, \(brokers) broker(s), \(partitions) partitions per topic

            | check | measured | must be |
            |---|---:|---:|

            """
        for (name, value, expected) in rows { text += "| \(name) | \(value) | \(expected) |\n" }
        text += "\n" + (passed ? "Result: every check passed.\n" : "Result: FAILED — \(failures.joined(separator: "; "))\n")
        if neverStored > 0 {
            text +=
                "\nNote: \(neverStored) event(s) acknowledged to the simulator's producer were never stored: \(neverStoredSample.joined(separator: "; ")). "
                + "See docs/reliability.md (librdkafka 2.0.2's idempotent producer under broker faults, or the mock broker).\n"
        }
        if !histories.isEmpty {
            text += "\nLifecycle of incidents behind assignment violations (partition order; offset, record time, producer, event):\n\n"
            text += histories.map { "```\n\($0)\n```\n" }.joined(separator: "\n")
        }
        return text
    }
}
