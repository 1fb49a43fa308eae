import ArgumentParser
import Foundation
import Logging
import SwiftProtobuf
import Synchronization
import TriageCore
import TriageEscalator
import TriageKafka
import TriageSLA
import TriageSLAEvents
import TriageSchema
import TriageStreams

/// `--time-scale` and `--time-origin` for the one-shot commands that must agree with an escalator
/// on sped-up SLA time (`triage publish`, `triage sla explain`): the escalator's options, with its
/// defaults and meaning, mapped to SLA time by the escalator's own ``ScaledClock``.
struct SlaTimeOptions: ParsableArguments {
    // `.unconditional`: a negative number is the value, not an option (refused in validate()).
    @Option(
        parsing: .unconditional,
        help: "SLA time runs this many times as fast as real time: give the escalator's --time-scale (triage dev: 360).")
    var timeScale: Double = 1

    @Option(
        help:
            "With --time-scale: the real instant (RFC 3339) from which SLA time is sped up; give the escalator's --time-origin (triage dev prints it). Default: now."
    )
    var timeOrigin: String?

    func validate() throws {
        guard timeScale > 0, timeScale <= 1_000_000 else {
            throw ValidationError("--time-scale must be a positive number up to 1000000, not \(timeScale.formatted())")
        }
        if let timeOrigin, parseInstant(timeOrigin) == nil {
            throw ValidationError("--time-origin '\(timeOrigin)' is not an RFC 3339 instant (e.g. 2026-03-06T16:00:00Z)")
        }
    }

    /// SLA time: the escalator's clock with these options.
    var clock: ScaledClock { ScaledClock(scale: timeScale, origin: timeOrigin.flatMap(parseInstant) ?? Date()) }
}

struct SlaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sla",
        abstract: "SLA clock math from the command line: deadlines, an incident's timeline, policy back-tests, staffing what-ifs.",
        subcommands: [Deadline.self, Explain.self, Backtest.self, SlaStaffingCommand.self]
    )

    enum CoverageArgument: String, ExpressibleByArgument, CaseIterable {
        case business
        case businessHours = "business_hours"
        case twentyFourSeven = "24x7"
        var coverage: SlaCoverage { self == .twentyFourSeven ? .twentyFourSeven : .businessHours }
    }

    struct Deadline: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the first-response deadline (and warnings) of an incident opened at an instant.",
            discussion: """
                Example: triage sla deadline --policy config/sla-policy.example.yaml --severity B --coverage business \
                --opened 2026-03-06T16:00:00-05:00

                Business hours are counted in the policy's default calendar (--policy; without it the \
                built-in one, Monday to Friday 09:00-17:00 UTC), or in --calendar, a file with the shape of \
                one entry under `calendars:` in the policy (docs/sla.md). The calendar used is printed with \
                its time zone, and a warning goes to standard error when --opened is written with a UTC \
                offset other than the calendar zone's at that instant (an incident opened in New York \
                counted against UTC business hours, say). Times are printed in UTC and in the calendar's zone.
                """
        )

        @Option(help: "Business calendar YAML (time_zone, hours, holidays); replaces the default calendar of --policy.")
        var calendar: String?

        @Option(help: "Severity: A, B or C.")
        var severity: String

        @Option(help: "Coverage: business (business hours) or 24x7.")
        var coverage: CoverageArgument = .business

        @Option(help: "When the incident was opened (RFC 3339, e.g. 2026-03-06T16:00:00-05:00).")
        var opened: String

        @OptionGroup var sla: SlaOptions

        func validate() throws {
            guard SupportSeverity(rawValue: severity.uppercased()) != nil else {
                throw ValidationError("--severity must be A, B or C, not '\(severity)'")
            }
            guard parseInstant(opened) != nil else {
                throw ValidationError("--opened '\(opened)' is not an RFC 3339 instant (e.g. 2026-03-06T16:00:00-05:00)")
            }
        }

        func run() throws {
            guard let severity = SupportSeverity(rawValue: severity.uppercased()), let openedAt = parseInstant(opened) else {
                throw ValidationError("--severity or --opened is invalid")
            }
            var policy = try sla.loadPolicy()
            if let calendar {
                let text: String
                do { text = try String(contentsOfFile: calendar, encoding: .utf8) } catch {
                    throw CommandFailure("cannot read --calendar \(calendar): \(error.localizedDescription)")
                }
                do { policy.defaultCalendar = try BusinessCalendar.load(yaml: text, file: calendar) } catch {
                    throw CommandFailure("invalid calendar: \(error)")
                }
            }
            let rules = SlaRules(policy)
            let state = IncidentSla(openedAt: openedAt, severity: severity, coverage: coverage.coverage, team: nil, rules: rules)
            let zone = rules.calendars[Int(state.calendarIndex)].timeZone
            let target = policy.targets(for: severity, coverage: coverage.coverage).firstResponseMinutes
            let unit = coverage.coverage == .twentyFourSeven ? "minutes" : "business minutes"
            let calendarName = calendarDescription(rules.calendarNames[Int(state.calendarIndex)], zone: zone)
            print("severity \(severity.rawValue), \(coverage.coverage.rawValue), first response within \(format(target)) \(unit)")
            print("calendar   \(calendarName)")
            if coverage.coverage == .businessHours, let written = Self.utcOffset(of: opened), written != zone.secondsFromGMT(for: openedAt)
            {
                FileHandle.standardError.write(
                    Data(
                        """
                        warning: --opened \(opened) is at UTC\(Self.offsetText(written)), but business hours are counted in calendar \
                        \(calendarName), at UTC\(Self.offsetText(zone.secondsFromGMT(for: openedAt))) at that instant; \
                        give --policy or --calendar with the calendar the incident is served in.

                        """.utf8
                    )
                )
            }
            print("opened     \(Self.show(openedAt, zone))")
            // Step from one due instant to the next, as the escalator's timer would.
            var probe = state
            var actions: [SlaAction] = []
            while let next = probe.nextDue, actions.count < 64 { actions += probe.fire(upTo: next, rules: rules) }
            for action in actions where action.target == .firstResponse {
                switch action.kind {
                case .warning(let percent, _):
                    print("warning    \(Self.show(action.due, zone))  (\(percent)% used)")
                case .escalation(let level):
                    if level.level == 1 { print("deadline   \(Self.show(action.deadline, zone))") }
                    print(
                        "level \(level.level)    \(Self.show(action.due, zone))  → \(level.notify.joined(separator: ", "))\(level.reassign ? " (reassign)" : "")"
                    )
                }
            }
            if policy.escalation.isEmpty,
                let deadline = try? rules.calendars[Int(state.calendarIndex)].adding(businessMinutes: target, to: openedAt)
            {
                print("deadline   \(Self.show(deadline, zone))")
            }
        }

        /// `default (America/New_York) from FILE`, `built-in default (UTC, ...)`, `24x7 (always open)`.
        func calendarDescription(_ name: String, zone: TimeZone) -> String {
            if name == "24x7" { return "24x7 (always open, \(zone.identifier))" }
            if let calendar { return "\(calendar) (\(zone.identifier))" }
            if let policy = sla.policy { return "\(name) (\(zone.identifier)) from \(policy)" }
            return "built-in default (\(zone.identifier), Monday to Friday 09:00-17:00)"
        }

        /// The UTC offset an RFC 3339 text is written with, in seconds (`Z` is 0).
        static func utcOffset(of text: String) -> Int? {
            if text.hasSuffix("Z") || text.hasSuffix("z") { return 0 }
            let tail = Array(text.suffix(6))
            guard tail.count == 6, tail[0] == "+" || tail[0] == "-", tail[3] == ":",
                let hours = Int(String(tail[1...2])), let minutes = Int(String(tail[4...5]))
            else { return nil }
            return (tail[0] == "-" ? -1 : 1) * (hours * 3600 + minutes * 60)
        }

        /// `+00:00`, `-05:00`.
        static func offsetText(_ seconds: Int) -> String {
            let magnitude = abs(seconds) / 60
            return (seconds < 0 ? "-" : "+") + String(format: "%02d:%02d", magnitude / 60, magnitude % 60)
        }

        static func show(_ date: Date, _ zone: TimeZone) -> String {
            let utc = date.formatted(.iso8601)
            var style = Date.ISO8601FormatStyle(timeZone: zone)
            style = style.year().month().day().time(includingFractionalSeconds: false).timeZone(separator: .colon)
            return "\(utc)  (\(date.formatted(style)) \(zone.identifier))"
        }

        func format(_ minutes: Double) -> String { minutes == minutes.rounded() ? String(Int(minutes)) : String(minutes) }
    }

    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an incident's SLA clock timeline from its lifecycle events.",
            discussion: """
                Reads the events from --events or from the lifecycle topic (--incident with --bootstrap), \
                applies them in order exactly as the escalator does, and prints each step: the clocks' \
                state, time used, the deadline, and every warning and escalation with its due time and \
                event id. Then the state "as of" --until (default: now), the next instant something is due, \
                and, for a closed incident, its reopen window instead (a closed incident has nothing due).

                --events takes a file or '-' (standard input) holding IncidentEvents in the protobuf JSON \
                mapping: JSON Lines, one pretty-printed event (schemas/examples/opened.json), several one \
                after the other, a JSON array, or the output of `triage tail` (its metadata is ignored). A \
                value that is not an event is an error naming its line.

                "Now" is SLA time: when the escalator runs on sped-up time (triage escalator --time-scale, \
                triage dev), give the same --time-scale and --time-origin (triage dev prints both), so \
                that "as of" is the instant the escalator's timeline is at.

                Examples:
                  triage sla explain --events schemas/examples/opened.json --until 2026-03-09T15:00:00Z
                  triage tail --from-beginning --incident inc-1001 | triage sla explain --events -
                """
        )

        @Option(help: "The incident id (required when reading from Kafka, or when --events holds several incidents; filters them).")
        var incident: String?

        @Option(help: "File of IncidentEvents (JSON Lines, pretty-printed, an array, or triage tail output), or '-' for standard input.")
        var events: String?

        @Option(help: "Show what is due up to this instant (RFC 3339). Default: now, in SLA time (--time-scale).")
        var until: String?

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var sla: SlaOptions
        @OptionGroup var time: SlaTimeOptions
        @OptionGroup var common: CommonOptions

        func validate() throws {
            guard events != nil || incident != nil else { throw ValidationError("give --events FILE, or --incident ID to read the topic") }
            if let until, parseInstant(until) == nil { throw ValidationError("--until '\(until)' is not an RFC 3339 instant") }
        }

        func run() async throws {
            let policy = try sla.loadPolicy()
            let rules = SlaRules(policy)
            var history = try await loadEvents()
            if let incident { history = history.filter { $0.incidentID == incident } }
            guard let first = history.first else { throw CommandFailure("no events found\(incident.map { " for incident \($0)" } ?? "")") }
            let incidents = Set(history.map(\.incidentID))
            guard incidents.count == 1 else {
                let some = incidents.sorted().prefix(5).joined(separator: ", ")
                throw CommandFailure(
                    "the events are about \(incidents.count) incidents (\(some)\(incidents.count > 5 ? ", ..." : "")); choose one with --incident ID"
                )
            }
            let id = first.incidentID
            print("incident \(id): \(history.count) event(s)")
            let end = until.flatMap(parseInstant) ?? time.clock.now()
            let explanation = SlaExplanation(incident: id, events: history, rules: rules, until: end)
            for line in explanation.lines(timeScale: time.timeScale) { print(line) }
        }

        func loadEvents() async throws -> [IncidentEvent] {
            if let events {
                let text: String
                if events == "-" {
                    text = String(decoding: await readStandardInput(), as: UTF8.self)
                } else {
                    do { text = try String(contentsOfFile: events, encoding: .utf8) } catch {
                        throw CommandFailure("cannot read --events \(events): \(error.localizedDescription)")
                    }
                }
                var result: [IncidentEvent] = []
                for entry in IncidentEventText.read(text) {
                    switch entry.event {
                    case .success(let event): result.append(event)
                    case .failure(let problem):
                        throw CommandFailure("\(events == "-" ? "standard input" : events):\(problem.line): \(problem.message)")
                    }
                }
                return result
            }
            // From Kafka: every partition of the lifecycle topic, keyed records of this incident.
            let logger = common.bootstrapLogging(label: "triage.sla")
            let client = try connection.clientConfiguration()
            let admin = try await connection.reachableAdmin(client, logger: logger)
            guard let description = try await connection.describe(TriageTopic.incidentEvents, admin: admin, client: client) else {
                throw CommandFailure("topic \(TriageTopic.incidentEvents) does not exist on this cluster: no incident was ever published")
            }
            let wanted = Array(incident!.utf8)
            let collected = EventCollector()
            _ = try await KafkaPartitionReader.readToEnd(
                topic: TriageTopic.incidentEvents, partitions: description.partitions.map(\.id), client: client, logger: logger
            ) { record in
                guard let key = record.key, key.elementsEqual(wanted), let value = record.value,
                    let event = try? IncidentEvent(serializedBytes: Array(value))
                else { return }
                collected.add(event)
            }
            return collected.events.withLock { $0 }
        }
    }
}

final class EventCollector: Sendable {
    let events = Mutex<[IncidentEvent]>([])
    func add(_ event: IncidentEvent) { events.withLock { $0.append(event) } }
}
