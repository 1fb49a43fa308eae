import ArgumentParser
import Foundation
import Logging
import SwiftProtobuf
import TriageEscalator
import TriageKafka
import TriageSchema
import TriageStreams

struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish incident lifecycle events.",
        discussion: """
            `triage publish [--file F]` reads events (the protobuf JSON mapping of \
            triage.v1.IncidentEvent) from a file or standard input: JSON Lines, pretty-printed events \
            one after the other (schemas/examples/), a JSON array, or `triage tail` output. Missing \
            eventId and occurredAt are filled in (a random UUID, now). Each event is validated and \
            published keyed by its incident id, many in flight at once (tens of thousands of lines a \
            second); the partition and offset are printed per line, in input order. Bad values are \
            reported with the line they start on and skipped; the exit code is 1 if any failed.

            `triage publish opened --severity A ...` publishes one Opened event from flags, stamped now.

            "Now" is SLA time: against an escalator on sped-up time (triage escalator --time-scale N \
            --time-origin T, or triage dev, which prints both), give the same --time-scale and \
            --time-origin, or every event is stamped far in the escalator's past and is overdue at once. \
            Events that carry occurredAt keep it.

            Example: triage publish --file schemas/examples/opened.json --bootstrap 127.0.0.1:9092
            """,
        subcommands: [Lines.self, Opened.self],
        defaultSubcommand: Lines.self
    )

    struct Connection: ParsableArguments {
        @OptionGroup var cluster: ConnectionOptions
        @Option(help: "Topic to publish to.")
        var topic: String = TriageTopic.incidentEvents
        @Option(
            help: ArgumentHelp(
                "Seconds the cluster has to store an event before it counts as failed (librdkafka's message.timeout.ms). When one times out, the rest of the input is not sent.",
                valueName: "SECONDS"))
        var deliveryTimeout: Int = 30

        func validate() throws {
            guard (1...3_600).contains(deliveryTimeout) else { throw ValidationError("--delivery-timeout must be 1 to 3600 seconds") }
        }

        /// A publisher whose validation judges "in the future" by SLA time (`clock`), as the
        /// escalator and the intake do: a sped-up stamp is not a clock-skewed one.
        /// Fails within seconds, naming the cluster, when no broker answers (the producer alone
        /// would wait for its records' delivery timeout, minutes).
        func publisher(clock: ScaledClock, logger: Logger) async throws -> IncidentEventPublisher {
            let client = try cluster.clientConfiguration()
            _ = try await cluster.reachableAdmin(client, logger: logger)
            var configuration = KafkaProducerConfiguration(client: client)
            configuration.messageTimeout = .seconds(deliveryTimeout)
            let producer = try KafkaProducer(configuration: configuration, logger: logger)
            return IncidentEventPublisher(producer: producer, topic: topic, validator: IncidentEventValidator(now: { clock.now() }))
        }
    }

    struct Lines: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "lines", abstract: "Publish JSON lines (the default).")
        @Option(help: "File of events (JSON Lines, pretty-printed, an array, or triage tail output); '-' or absent reads standard input.")
        var file: String?
        @OptionGroup var connection: Connection
        @OptionGroup var time: SlaTimeOptions
        @OptionGroup var common: CommonOptions

        func run() async throws {
            let logger = common.bootstrapLogging(label: "triage.publish")
            let text: String
            if let file, file != "-" {
                do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                    throw CommandFailure("cannot read --file \(file): \(error.localizedDescription)")
                }
            } else {
                text = String(decoding: await readStandardInput(), as: UTF8.self)
            }
            let clock = time.clock
            let entries = IncidentEventText.read(text)
            let publisher = try await connection.publisher(clock: clock, logger: logger)
            // Pipelined: chunks of events in flight at once, every line still reported in order.
            let bulk = IncidentEventBulkPublisher(publisher: publisher)
            var reported = 0
            let (published, failures) = await bulk.publish(
                entries,
                prepare: { event in
                    if event.eventID.isEmpty { event.eventID = RandomEventID.make() }
                    if !event.hasOccurredAt { event.occurredAt = Google_Protobuf_Timestamp(date: clock.now()) }
                },
                report: { outcome in
                    // Reported lines reach a pipe or file as each chunk is done, not when the
                    // process ends (a stopped or killed run still shows what it published).
                    reported += 1
                    if reported % 1_000 == 0 { fflush(nil) }
                    switch outcome.result {
                    case .success(let report):
                        let event = outcome.event ?? IncidentEvent()
                        print(
                            "line \(outcome.line): \(event.incidentID) \(event.eventTypeName ?? "?") -> \(report.topic)[\(report.partition)]@\(report.offset)"
                        )
                    case .failure(let failure):
                        FileHandle.standardError.write(Data("line \(outcome.line): error: \(failure.message)\n".utf8))
                    }
                })
            await publisher.producer.close()
            print("published \(published), failed \(failures)")
            if failures > 0 { throw ExitCode(1) }
        }
    }

    struct Opened: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Publish one Opened event from flags.")
        @Option(help: "Incident id (default: a new UUID).") var incident: String?
        @Option(help: "Customer account.") var customerAccount: String
        @Option(help: "Contract or 5-pack entitlement id.") var entitlement: String
        @Option(help: "Product.") var product: String
        @Option(help: "Severity: A, B or C.") var severity: String
        @Option(help: "Coverage: 24x7 or business.") var coverage: String = "business"
        @Option(help: "Customer's IANA time zone.") var timeZone: String = "UTC"
        @Option(help: "Language (BCP 47).") var language: String = "en"
        @Option(help: "Title.") var title: String
        @Option(help: "Description.") var description: String = ""
        @OptionGroup var connection: Connection
        @OptionGroup var time: SlaTimeOptions
        @OptionGroup var common: CommonOptions

        func validate() throws {
            guard ["A", "B", "C"].contains(severity.uppercased()) else {
                throw ValidationError("--severity must be A, B or C, got '\(severity)'")
            }
            guard ["24x7", "business", "business-hours"].contains(coverage.lowercased()) else {
                throw ValidationError("--coverage must be 24x7 or business, got '\(coverage)'")
            }
        }

        func run() async throws {
            let severity: Severity
            switch self.severity.uppercased() {
            case "A": severity = .a
            case "B": severity = .b
            default: severity = .c
            }
            let coverage: Coverage = self.coverage.lowercased() == "24x7" ? .coverage24X7 : .businessHours
            let clock = time.clock
            let now = clock.now()
            let event = IncidentEvent.with {
                $0.eventID = UUID().uuidString.lowercased()
                $0.incidentID = incident ?? "inc-\(UUID().uuidString.lowercased())"
                $0.occurredAt = Google_Protobuf_Timestamp(date: now)
                $0.producer = "triage-cli"
                $0.opened = .with {
                    $0.customerAccount = customerAccount
                    $0.entitlementID = entitlement
                    $0.product = product
                    $0.language = language
                    $0.severity = severity
                    $0.coverage = coverage
                    $0.customerTimeZone = timeZone
                    $0.title = title
                    $0.description_p = description
                }
            }
            let publisher = try await connection.publisher(clock: clock, logger: common.bootstrapLogging(label: "triage.publish"))
            do {
                let report = try await publisher.publish(event)
                print("\(event.incidentID) Opened -> \(report.topic)[\(report.partition)]@\(report.offset)")
            } catch let violation as SchemaViolation {
                await publisher.producer.close()
                throw CommandFailure("invalid event: \(violation)")
            }
            await publisher.producer.close()
        }
    }
}
