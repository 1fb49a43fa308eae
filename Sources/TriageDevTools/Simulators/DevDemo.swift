public import Foundation
public import TriageNotification
public import TriageOnCall
public import TriageRouting
public import TriageSLA

/// What `triage dev` runs on when it is given no `--policy` or `--roster`: configuration that
/// exercises every feature, so the dashboard and console show each of them within minutes of SLA
/// time (360× by default: an SLA hour every ten seconds).
///
/// - SLA policy: update targets for severities A and B (a public note starts the clock over),
///   the default pause reasons, severity A resolution targets, and a third escalation level
///   paging the on-call of tier-2.
/// - Roster (capacity 18 each: the simulator's two incidents a second keep about 250 load units
///   open): tier-1 (twelve agents; four on a day shift that hands acknowledged work to tier-2
///   at its end; English with German or Spanish) with a queue alert and overflow to tier-2;
///   tier-2 (four agents speaking every simulated language) routed round robin. French incidents
///   wait in tier-1's queue until they overflow.
/// - On-call: tier-2's four agents, a week each, handing off on Mondays at 09:00 UTC.
/// - Notifications: a maintenance window delaying `acct-1`'s notifications for the first two
///   minutes, and one suppressing everything about `acct-2`.
public enum DevDemo {
    public static let slaPolicyYAML = """
        # triage dev's demo SLA policy (docs/sla.md): the defaults plus update targets and a level
        # that pages the on-call of tier-2.
        targets:
          business_hours:
            A: { first_response: 2h, update: 2h }
            B: { first_response: 4h, update: 8h }
          24x7:
            A: { first_response: 2h, update: 1h }
            B: { first_response: 4h, update: 4h }
        escalation:
          - { level: 1, after: 0m, notify: [team-lead] }
          - { level: 2, after: 1h, notify: [support-manager], reassign: true }
          - { level: 3, after: 2h, notify: ["oncall:tier-2"] }

        """

    public static let rosterYAML: String = {
        var text = """
            # triage dev's demo roster (docs/roster.md).
            calendars:
              dev-day:
                time_zone: UTC
                hours:

            """
        for day in ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] {
            text += "      \(day): [\"06:00-18:00\"]\n"
        }
        text += "agents:\n"
        for index in 1...12 {
            let languages = index <= 6 ? "[en, de]" : "[en, es]"
            let shift = index <= 4 ? ", shift: dev-day" : ""
            text +=
                "  - { id: agent-\(index), team: tier-1, products: [billing], languages: \(languages), capacity: 18\(shift), presence: online }\n"
        }
        for index in 13...16 {
            text +=
                "  - { id: agent-\(index), team: tier-2, products: [billing], languages: [en, de, fr, es], capacity: 18, presence: online }\n"
        }
        text += """
            teams:
              tier-1:
                queue_alert: { after: 20m, notify: [team-lead] }
                overflow: { to: tier-2, after: { A: 10m, B: 30m, C: 1h } }
                follow_the_sun: { to: tier-2 }
              tier-2:
                routing: round_robin

            """
        return text
    }()

    public static let onCallYAML = """
        # triage dev's demo on-call rotation (docs/roster.md, "On-call rotations").
        rotations:
          tier-2:
            time_zone: UTC
            start: 2026-01-05
            hand_off: "09:00"
            people: [agent-13, agent-14, agent-15, agent-16]

        """

    // The texts are tested (DevDemoTests); a failure to load them is a programming error.
    public static var slaPolicy: SlaPolicy { try! SlaPolicy.load(yaml: slaPolicyYAML, file: "triage-dev-policy.yaml") }
    public static var roster: Roster { try! Roster.load(yaml: rosterYAML, file: "triage-dev-roster.yaml") }
    public static var onCall: OnCallSchedule { try! OnCallSchedule.load(yaml: onCallYAML, file: "triage-dev-oncall.yaml") }

    /// The demo maintenance windows, from `start` (real time: the notifier delivers in real time).
    public static func maintenanceWindows(from start: Date) -> [MaintenanceWindow] {
        [
            MaintenanceWindow(
                name: "dev-acct-1-upgrade", start: start, end: start.addingTimeInterval(120), customers: ["acct-1"],
                reason: "acct-1's upgrade: their notifications wait for its end"),
            MaintenanceWindow(
                name: "dev-acct-2-freeze", start: start, end: start.addingTimeInterval(365 * 86_400), customers: ["acct-2"],
                reason: "acct-2 asked for no notifications", action: .suppress),
        ]
    }

    /// The same windows as notification-rules YAML (for `triage dev --processes`).
    public static func maintenanceWindowsYAML(from start: Date) -> String {
        var text = "maintenance_windows:\n"
        for window in maintenanceWindows(from: start) {
            text += "  - name: \(window.name)\n    start: \(window.start.formatted(.iso8601))\n    end: \(window.end.formatted(.iso8601))\n"
            text += "    customers: [\(window.customers.sorted().joined(separator: ", "))]\n    action: \(window.action.rawValue)\n"
        }
        return text
    }
}
