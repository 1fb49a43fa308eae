import ArgumentParser
import Foundation
import Logging
import TriageCore
import TriageOnCall
import TriageSLA

struct OnCallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oncall",
        abstract: "Who is on call: the rotations of an on-call file (docs/roster.md).",
        subcommands: [Show.self]
    )

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print who of a team is on call at an instant, since when, until when, and the next changes.",
            discussion: """
                Examples:
                  triage oncall show --rotations config/oncall.example.yaml --team tier-2
                  triage oncall show --rotations config/oncall.example.yaml --team tier-2 --at 2026-12-25T12:00:00Z --next 5
                  triage oncall show --rotations config/oncall.example.yaml --format json

                An SLA escalation level with `notify: [oncall:tier-2]` notifies the person this command names for \
                the instant the level fires. Times are printed in UTC and in the rotation's time zone. Exit status \
                1 when nobody is on call for the team at that instant (the rotation has not started, or the team has \
                none).
                """
        )

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case text, json
        }

        @Option(help: "The on-call file (rotations per team).")
        var rotations: String

        @Option(help: "The team; default: every team in the file.")
        var team: String?

        @Option(help: "The instant (RFC 3339, e.g. 2026-12-25T12:00:00Z). Default: now.")
        var at: String?

        @Option(help: "How many upcoming changes of who is on call to list (0 to 50).")
        var next: Int = 3

        @Option(help: "text or json.")
        var format: Format = .text

        func validate() throws {
            if let at, parseInstant(at) == nil {
                throw ValidationError("--at '\(at)' is not an RFC 3339 instant (e.g. 2026-12-25T12:00:00Z)")
            }
            guard (0...50).contains(next) else { throw ValidationError("--next must be between 0 and 50") }
        }

        func run() throws {
            let schedule: OnCallSchedule
            do { schedule = try OnCallSchedule.load(path: rotations) } catch { throw CommandFailure(error.description) }
            let instant = at.flatMap(parseInstant) ?? Date()
            let teams: [String]
            if let team {
                guard schedule.rotations[team] != nil else {
                    let known = schedule.rotations.keys.sorted()
                    throw CommandFailure(
                        "team '\(team)' has no rotation in \(rotations)"
                            + (known.isEmpty ? " (the file has none)" : " (it has: \(known.joined(separator: ", ")))"))
                }
                teams = [team]
            } else {
                teams = schedule.rotations.keys.sorted()
            }
            var nobody: [String] = []
            var objects: [[String: Any]] = []
            for name in teams {
                let rotation = schedule.rotations[name]!
                let shift = rotation.shift(at: instant)
                if shift == nil { nobody.append(name) }
                let changes = rotation.changes(after: instant, count: next)
                switch format {
                case .text:
                    print(Self.text(rotation, shift: shift, at: instant, changes: changes))
                case .json:
                    var object: [String: Any] = ["team": name, "at": Self.utc(instant), "time_zone": rotation.timeZone.identifier]
                    object["on_call"] = shift.map(Self.json) ?? NSNull()
                    object["next"] = changes.map { change -> [String: Any] in
                        ["at": Self.utc(change.at), "person": change.shift.person, "source": Self.source(change.shift.source)]
                    }
                    objects.append(object)
                }
            }
            if format == .json {
                let value: Any = team == nil ? objects : objects[0]
                let data = try JSONSerialization.data(
                    withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            }
            if !nobody.isEmpty { throw ExitCode(1) }
        }

        static func text(_ rotation: OnCallRotation, shift: OnCallShift?, at instant: Date, changes: [(at: Date, shift: OnCallShift)])
            -> String
        {
            var lines: [String] = []
            if let shift {
                lines.append("\(rotation.team) at \(utc(instant)): \(shift.person) (\(source(shift.source)))")
                lines.append("  since \(local(shift.from, rotation.timeZone)) (\(utc(shift.from)))")
                lines.append("  until \(local(shift.until, rotation.timeZone)) (\(utc(shift.until)))")
            } else {
                let first = rotation.handOff(week: 0)
                lines.append(
                    "\(rotation.team) at \(utc(instant)): nobody is on call (the rotation starts \(local(first, rotation.timeZone)), \(utc(first)))"
                )
            }
            if !changes.isEmpty {
                lines.append("  next:")
                for change in changes {
                    lines.append(
                        "    \(local(change.at, rotation.timeZone)) (\(utc(change.at))) → \(change.shift.person) (\(source(change.shift.source)))"
                    )
                }
            }
            return lines.joined(separator: "\n")
        }

        static func source(_ source: OnCallShift.Source) -> String {
            switch source {
            case .rotation(let week): "rotation, week \(week + 1)"
            case .override(let reason): reason.isEmpty ? "override" : "override: \(reason)"
            }
        }

        static func json(_ shift: OnCallShift) -> [String: Any] {
            ["person": shift.person, "from": utc(shift.from), "until": utc(shift.until), "source": source(shift.source)]
        }

        static func utc(_ date: Date) -> String { date.formatted(.iso8601) }

        static func local(_ date: Date, _ zone: TimeZone) -> String {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = zone
            formatter.dateFormat = "EEE yyyy-MM-dd HH:mm zzz"
            return formatter.string(from: date) + " \(zone.identifier)"
        }
    }
}

/// `--oncall` of the escalator: the rotations that `oncall:<team>` in the SLA policy's `notify`
/// lists stand for.
enum OnCallRecipients {
    /// The teams the policy pages through `oncall:<team>`, sorted.
    static func teams(in policy: SlaPolicy) -> [String] {
        Set((policy.warningNotify + policy.escalation.flatMap(\.notify)).compactMap(OnCallSchedule.team(of:))).sorted()
    }

    /// The resolver the escalator applies when a level falls due; `nil` without a file. Refuses a
    /// policy that pages a team's on-call without a rotation for it.
    static func resolver(file: String?, policy: SlaPolicy, logger: Logger) throws -> (@Sendable (String, Date) -> String)? {
        let paged = teams(in: policy)
        let names = policy.warningNotify + policy.escalation.flatMap(\.notify)
        if let empty = names.first(where: { $0.hasPrefix(OnCallSchedule.recipientPrefix) && OnCallSchedule.team(of: $0) == nil }) {
            throw CommandFailure("the SLA policy notifies '\(empty)', which names no team: write oncall:<team>, e.g. oncall:tier-2")
        }
        guard let file else {
            if !paged.isEmpty {
                throw CommandFailure(
                    "the SLA policy notifies \(paged.map { "oncall:\($0)" }.joined(separator: ", ")): give the rotations with --oncall (docs/roster.md)"
                )
            }
            return nil
        }
        let schedule: OnCallSchedule
        do { schedule = try OnCallSchedule.load(path: file) } catch { throw CommandFailure(error.description) }
        let missing = paged.filter { schedule.rotations[$0] == nil }
        guard missing.isEmpty else {
            let known = schedule.rotations.keys.sorted()
            throw CommandFailure(
                "the SLA policy notifies oncall:\(missing[0]), but \(file) has no rotation for team '\(missing[0])'"
                    + (known.isEmpty ? "" : " (it has: \(known.joined(separator: ", ")))"))
        }
        return { name, instant in
            guard let team = OnCallSchedule.team(of: name) else { return name }
            if let person = schedule.recipient(for: name, at: instant) { return person }
            logger.warning(
                "nobody is on call for this team when the level fell due; the request names the team's on-call itself",
                metadata: ["team": "\(team)", "due": "\(instant.formatted(.iso8601))"])
            return name
        }
    }
}
