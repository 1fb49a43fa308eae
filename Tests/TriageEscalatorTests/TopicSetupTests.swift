import Foundation
import Testing
import TriageKafka
import TriageKafkaTesting
import TriageSchema

/// `triage topics create --all` / `triage topics check` and the workers' start-up check, against
/// `triage broker`. (The embedded broker cannot create topics over the protocol: its topics come
/// from `--topic`; creation itself needs a real cluster.)
@Suite("Topic set-up")
struct TopicSetupTests {
    static let layout = TriageTopicLayout.topics()

    @Test func createAllOnACompleteClusterCreatesNothingTwice() async throws {
        let broker = try await BrokerProcess(arguments: Self.layout.flatMap { ["--topic", "\($0.name):3"] })
        for run in 1...2 {
            let (status, output, errors) = try await runProcess(
                triageExecutable,
                ["topics", "create", "--all", "--partitions", "3", "--bootstrap", broker.bootstrap, "--log-level", "error"]
            )
            #expect(status == 0, "run \(run): \(output) \(errors)")
            #expect(!output.contains("created "), "run \(run) created something: \(output)")
            #expect(output.contains("0 created, \(Self.layout.count) existed"), "run \(run): \(output)")
            for topic in Self.layout { #expect(output.contains("exists  \(topic.name) (3 partition(s))"), "\(output)") }
        }
        let (status, output, errors) = try await runProcess(
            triageExecutable, ["topics", "check", "--partitions", "3", "--bootstrap", broker.bootstrap, "--log-level", "error"]
        )
        #expect(status == 0, "\(output) \(errors)")
        _ = try await broker.stop()
    }

    /// The embedded broker cannot create topics over the protocol: `triage broker --triage-topics N`
    /// does it at start, and the hints of the check and of a worker say so.
    @Test func theEmbeddedBrokerCreatesEveryTriageTopicAtStart() async throws {
        let broker = try await BrokerProcess(arguments: ["--triage-topics", "2"])
        let (status, output, errors) = try await runProcess(
            triageExecutable, ["topics", "check", "--partitions", "2", "--bootstrap", broker.bootstrap, "--log-level", "error"]
        )
        #expect(status == 0, "\(output) \(errors)")
        _ = try await broker.stop()
        let empty = try await BrokerProcess(arguments: [])
        let (missingStatus, _, missingErrors) = try await runProcess(
            triageExecutable, ["topics", "check", "--bootstrap", empty.bootstrap, "--log-level", "error"])
        #expect(missingStatus == 1 && missingErrors.contains("--bootstrap \(empty.bootstrap)"), "\(missingErrors)")
        _ = try await empty.stop()
    }

    @Test func checkListsMissingTopicsAndWrongPartitionCounts() async throws {
        // triage.sla-state and triage.routing are missing; triage.routing-index has 2 partitions
        // where the rest of its group (incidents) has 3.
        let missing = [TriageTopic.slaState, TriageTopic.routing]
        let present = Self.layout.filter { !missing.contains($0.name) }
        let broker = try await BrokerProcess(
            arguments: present.flatMap { ["--topic", "\($0.name):\($0.name == TriageTopic.routingIndex ? 2 : 3)"] })
        let (status, output, errors) = try await runProcess(
            triageExecutable, ["topics", "check", "--bootstrap", broker.bootstrap, "--log-level", "error"])
        #expect(status == 1, "\(output) \(errors)")
        for name in missing { #expect(output.contains("missing \(name)"), "\(output)") }
        #expect(output.contains("wrong   co-partitioned topics of group incidents"), "\(output)")
        #expect(output.contains("\(TriageTopic.routingIndex) 2"), "\(output)")
        #expect(errors.contains("2 topic(s) missing"), "\(errors)")
        _ = try await broker.stop()
    }

    /// A worker that finds topics missing names all of them, and the command, in one error.
    @Test func aWorkerNamesEveryMissingTopicAtStartUp() async throws {
        let missing = [TriageTopic.slaState, TriageTopic.notificationRequests]
        let broker = try await BrokerProcess(
            arguments: Self.layout.filter { !missing.contains($0.name) }.flatMap { ["--topic", "\($0.name):2"] })
        let (status, output, errors) = try await runProcess(
            triageExecutable, ["escalator", "--bootstrap", broker.bootstrap, "--ops-port", "0", "--log-level", "error"],
            timeout: .seconds(60)
        )
        #expect(status == 1, "\(output) \(errors)")
        #expect(errors.contains("2 topic(s) missing: \(TriageTopic.slaState), \(TriageTopic.notificationRequests)"), "\(errors)")
        #expect(errors.contains("triage topics create --all --partitions N --bootstrap \(broker.bootstrap)"), "\(errors)")
        _ = try await broker.stop()
    }
}
