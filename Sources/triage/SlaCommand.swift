import ArgumentParser
import Foundation
import Logging
import SwiftProtobuf
import TriageEscalator
import TriageKafka
import TriageSLA
import TriageSLAEvents
import TriageSchema

struct SlaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sla",
        abstract: "SLA clock math from the command line: deadlines and an incident's timeline.",
        subcommands: [Deadline.self, Explain.self]
    )

    enum CoverageArgument: String, ExpressibleByArgument, CaseIterable {
        case business, businessHours = "business_hours", twentyFourSeven = "24x7"
        var coverage: SlaCoverage { self == .twentyFourSeven ? .twentyFourSeven : .businessHours }
    }

    struct Deadline: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the first-response deadline (and warnings) of an incident opened at an instant.",
            discussion: """
                Example: triage sla deadline --calendar config/new-york.yaml --severity B --coverage business \
                --opened 2026-03-06T16:00:00-05:00

                The calendar file has the shape of one entry under `calendars:` in the policy (docs/sla.md). \
                Without --calendar, the policy's default calendar is used. Times are printed in UTC and in \
                the calendar's zone.
                """
        )

        @Option(help: "Business calendar YAML (time_zone, hours, holidays).")
        var calendar: String?

        @Option(help: "Severity: A, B or C.")
        var severity: String

        @Option(help: "Coverage: business (business hours) or 24x7.")
        var coverage: CoverageArgument = .business

        @Option(help: "When the incident was opened (RFC 3339, e.g. 2026-03-06T16:00:00-05:00).")
        var opened: String

        @OptionGroup var sla: SlaOptions

        func run() throws {
            guard let severity = SupportSeverity(rawValue: severity.uppercased()) else {
                throw ValidationError("--severity must be A, B or C, not '\(self.severity)'")
            }
            guard let openedAt = parseInstant(opened) else {
                throw ValidationError("--opened '\(opened)' is not an RFC 3339 instant (e.g. 2026-03-06T16:00:00-05:00)")
            }
            var policy = try sla.loadPolicy()
            if let calendar {
                let text: String
                do { text = try String(contentsOfFile: calendar, encoding: .utf8) } catch {
                    throw ValidationError("cannot read --calendar \(calendar): \(error.localizedDescription)")
                }
                do { policy.defaultCalendar = try BusinessCalendar.load(yaml: text, file: calendar) } catch {
                    throw ValidationError("invalid calendar: \(error)")
                }
            }
            let rules = SlaRules(policy)
            let state = IncidentSla(openedAt: openedAt, severity: severity, coverage: coverage.coverage, team: nil, rules: rules)
            let zone = rules.calendars[Int(state.calendarIndex)].timeZone
            let target = policy.targets(for: severity, coverage: coverage.coverage).firstResponseMinutes
            let unit = coverage.coverage == .twentyFourSeven ? "minutes" : "business minutes"
            print("severity \(severity.rawValue), \(coverage.coverage.rawValue), first response within \(format(target)) \(unit)")
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
                    print("level \(level.level)    \(Self.show(action.due, zone))  → \(level.notify.joined(separator: ", "))\(level.reassign ? " (reassign)" : "")")
                }
            }
            if policy.escalation.isEmpty, let deadline = try? rules.calendars[Int(state.calendarIndex)].adding(businessMinutes: target, to: openedAt) {
                print("deadline   \(Self.show(deadline, zone))")
            }
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
                Reads the events from --events (JSON lines, the protobuf JSON mapping of IncidentEvent; \
                '-' for standard input) or from the lifecycle topic (--incident with --bootstrap), applies \
                them in order exactly as the escalator does, and prints each step: the clocks' state, time \
                used, the deadline, and every warning and escalation with its due time and event id.
                """
        )

        @Option(help: "The incident id (required when reading from Kafka; filters a file otherwise).")
        var incident: String?

        @Option(help: "JSON-lines file of IncidentEvents, or '-' for standard input.")
        var events: String?

        @Option(help: "Show what is due up to this instant (RFC 3339). Default: now.")
        var until: String?

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var sla: SlaOptions
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
            guard let first = history.first else { throw ValidationError("no events found\(incident.map { " for incident \($0)" } ?? "")") }
            let id = first.incidentID
            var book = SlaBook()
            print("incident \(id): \(history.count) event(s)")
            for (index, event) in history.enumerated() {
                let at = event.occurredAt.date
                let fired = book.fire(upTo: at, rules: rules)
                printActions(fired, id: id)
                guard let input = SlaInput(event) else {
                    print("\(at.formatted(.iso8601))  \(event.eventTypeName ?? "?") (no effect on SLA clocks)")
                    continue
                }
                let outcome = book.apply(input, to: id, at: at, position: Int64(index), rules: rules)
                printActions(outcome, id: id)
                print("\(at.formatted(.iso8601))  \(event.eventTypeName ?? "?")  →  \(describe(book[id], at: at, rules: rules))")
            }
            let end = until.flatMap(parseInstant) ?? Date()
            printActions(book.fire(upTo: end, rules: rules), id: id)
            if let state = book[id] {
                print("as of \(end.formatted(.iso8601)): \(describe(state, at: end, rules: rules))")
                if let next = state.nextDue { print("next due: \(next.formatted(.iso8601))") }
            }
        }

        func printActions(_ outcome: SlaBook.Outcome, id: String) {
            for (_, action) in outcome.actions {
                print("\(action.due.formatted(.iso8601))  ⚑ \(action)  id \(action.eventID(incident: id))")
            }
        }

        func describe(_ state: IncidentSla?, at instant: Date, rules: SlaRules) -> String {
            guard let state else { return "not tracked (no Opened yet)" }
            let calendar = rules.calendars[Int(state.calendarIndex)]
            let targets = rules.policy.targets(for: state.severity, coverage: state.coverage)
            var parts = ["sev \(state.severity.rawValue) \(state.coverage.rawValue)"]
            for target in SlaTarget.allCases {
                let clock = target == .firstResponse ? state.firstResponse : state.resolution
                guard clock.phase != .off, let minutes = targets.minutes(for: target) else { continue }
                var used = clock.used
                if clock.phase == .running {
                    used += calendar.businessMinutes(from: Date(timeIntervalSince1970: clock.since), to: instant)
                }
                parts.append("\(target.rawValue) \(clock.phase) \(String(format: "%.1f", used))/\(Int(minutes)) min")
            }
            if state.isClosed { parts.append("closed") }
            return parts.joined(separator: ", ")
        }

        func loadEvents() async throws -> [IncidentEvent] {
            if let events {
                let text: String
                if events == "-" {
                    text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                } else {
                    do { text = try String(contentsOfFile: events, encoding: .utf8) } catch {
                        throw ValidationError("cannot read --events \(events): \(error.localizedDescription)")
                    }
                }
                var result: [IncidentEvent] = []
                for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let trimmed = line.trimmingCharacters(in: .whitespaces)
                    guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { continue }
                    do { result.append(try IncidentEvent(jsonString: trimmed)) } catch {
                        throw ValidationError("\(events):\(number + 1): not an IncidentEvent in JSON: \(error)")
                    }
                }
                return result
            }
            // From Kafka: every partition of the lifecycle topic, keyed records of this incident.
            let logger = common.bootstrapLogging(label: "triage.sla")
            let client = try connection.clientConfiguration()
            let admin = try KafkaAdmin(configuration: client, logger: logger)
            let description = try await admin.describeTopic(TriageTopic.incidentEvents)
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

import Synchronization

final class EventCollector: Sendable {
    let events = Mutex<[IncidentEvent]>([])
    func add(_ event: IncidentEvent) { events.withLock { $0.append(event) } }
}
