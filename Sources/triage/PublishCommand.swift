import ArgumentParser
import Foundation
import Logging
import SwiftProtobuf
import TriageKafka
import TriageSchema
import TriageStreams

struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish incident lifecycle events.",
        discussion: """
            `triage publish [--file F]` reads events as JSON lines (the protobuf JSON mapping of \
            triage.v1.IncidentEvent, see schemas/examples/) from a file or standard input. Missing \
            eventId and occurredAt are filled in (a random UUID, now). Each event is validated and \
            published keyed by its incident id; the partition and offset are printed per line. Bad \
            lines are reported with their line number and skipped; the exit code is 1 if any failed.

            `triage publish opened --severity A ...` publishes one Opened event from flags.
            """,
        subcommands: [Lines.self, Opened.self],
        defaultSubcommand: Lines.self
    )

    struct Connection: ParsableArguments {
        @OptionGroup var cluster: ConnectionOptions
        @Option(help: "Topic to publish to.")
        var topic: String = TriageTopic.incidentEvents

        func publisher(logger: Logger) throws -> IncidentEventPublisher {
            let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: cluster.clientConfiguration()), logger: logger)
            return IncidentEventPublisher(producer: producer, topic: topic)
        }
    }

    struct Lines: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "lines", abstract: "Publish JSON lines (the default).")
        @Option(help: "File of JSON lines; '-' or absent reads standard input.")
        var file: String?
        @OptionGroup var connection: Connection
        @OptionGroup var common: CommonOptions

        func run() async throws {
            let logger = common.bootstrapLogging(label: "triage.publish")
            let publisher = try connection.publisher(logger: logger)
            let input: FileHandle
            if let file, file != "-" {
                guard let handle = FileHandle(forReadingAtPath: file) else { throw ValidationError("cannot read --file \(file)") }
                input = handle
            } else {
                input = FileHandle.standardInput
            }
            let text = String(decoding: input.readDataToEndOfFile(), as: UTF8.self)
            var failures = 0
            var published = 0
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
                do {
                    var event = try IncidentEvent(jsonString: trimmed)
                    if event.eventID.isEmpty { event.eventID = UUID().uuidString.lowercased() }
                    if !event.hasOccurredAt { event.occurredAt = Google_Protobuf_Timestamp(date: Date()) }
                    let report = try await publisher.publish(event)
                    published += 1
                    print("line \(index + 1): \(event.incidentID) \(event.eventTypeName ?? "?") -> \(report.topic)[\(report.partition)]@\(report.offset)")
                } catch {
                    failures += 1
                    FileHandle.standardError.write(Data("line \(index + 1): error: \(error)\n".utf8))
                }
            }
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
        @OptionGroup var common: CommonOptions

        func run() async throws {
            let severity: Severity
            switch self.severity.uppercased() {
            case "A": severity = .a
            case "B": severity = .b
            case "C": severity = .c
            default: throw ValidationError("--severity must be A, B or C, got '\(self.severity)'")
            }
            let coverage: Coverage
            switch self.coverage.lowercased() {
            case "24x7": coverage = .coverage24X7
            case "business", "business-hours": coverage = .businessHours
            default: throw ValidationError("--coverage must be 24x7 or business, got '\(self.coverage)'")
            }
            let event = IncidentEvent.with {
                $0.eventID = UUID().uuidString.lowercased()
                $0.incidentID = incident ?? "inc-\(UUID().uuidString.lowercased())"
                $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
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
            let publisher = try connection.publisher(logger: common.bootstrapLogging(label: "triage.publish"))
            do {
                let report = try await publisher.publish(event)
                print("\(event.incidentID) Opened -> \(report.topic)[\(report.partition)]@\(report.offset)")
            } catch let violation as SchemaViolation {
                await publisher.producer.close()
                throw ValidationError("invalid event: \(violation)")
            }
            await publisher.producer.close()
        }
    }
}
