import Foundation
import GRPCCore
import SwiftProtobuf
import Testing
import TriageEntitlements
import TriageIntake
import TriageKafka
import TriageKafkaTesting
import TriageSchema

/// The ledger takes every command fetched at once in one step: the race for the last credits
/// stays exact inside a batch (partition order decides, one writer applies), and the answers
/// of a batch each carry their own decision.
@Suite("Entitlement ledger: many opens in one batch against few credits")
struct LedgerBatchTests {
    /// Forty opens staged on the request topic before the ledger starts (so that it fetches them
    /// together) against a pack with three credits: the first three in partition order win, with
    /// 2, 1 and 0 credits left; the other 37 are refused as exhausted; three Opened events and
    /// three charges, no more.
    @Test func theFirstOpensInPartitionOrderTakeTheCreditsAndNoMore() async throws {
        let purchase = IntakeServiceTests.purchase
        let opens = 40
        let credits = 3
        let harness = try await IntakeHarness(clock: TestClock(purchase.addingTimeInterval(600))) { topics, cluster in
            let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
            let sending = Task { try await producer.run() }
            defer { sending.cancel() }
            func request(_ id: String, _ command: LedgerCommand, events: [IncidentEvent] = []) throws -> KafkaProducerMessage {
                var request = EntitlementRequest()
                request.requestID = id
                request.entitlementID = "PACK-B"
                request.setLedgerCommand(command)
                request.events = events
                return KafkaProducerMessage(topic: topics.requests, key: Array("PACK-B".utf8), value: try request.serializedBytes())
            }
            let at = purchase.addingTimeInterval(60)
            var commands = [try request("grant", .grant(IntakeServiceTests.pack("PACK-B", credits: credits)))]
            for index in 0..<opens {
                let incident = "INC-\(index)"
                let opened = IncidentEvent.with {
                    $0.eventID = "ev-\(incident)"; $0.incidentID = incident; $0.producer = "intake"
                    $0.occurredAt = Google_Protobuf_Timestamp(date: at)
                    $0.opened = .with {
                        $0.customerAccount = "ACME"; $0.product = "billing"; $0.severity = .b; $0.title = "t"; $0.language = "en"
                        $0.customerTimeZone = "UTC"
                    }
                }
                commands.append(
                    try request(
                        "open-\(index)", .open(incidentID: incident, account: "ACME", at: at, parentIncidentID: nil), events: [opened]))
            }
            try await producer.sendAll(commands)
        }
        try await eventually("the ledger read every command", timeout: .seconds(30)) {
            harness.instance.ledger.statistics.commands == opens + 1
        }
        let replies = try await readAll(harness.topics.replies, count: opens + 1, cluster: harness.cluster)
        var winners: [String: Int?] = [:]
        var exhausted: [String] = []
        for record in replies {
            let reply = try EntitlementReply(serializedBytes: Array(record.valueBytes ?? []))
            switch try reply.ledgerAnswer() {
            case .success(.opened(_, _, let remaining)): winners[reply.requestID] = remaining
            case .success: #expect(reply.requestID == "grant")
            case .failure(let rejection):
                #expect(rejection.code == .exhausted, "\(reply.requestID): \(rejection)")
                exhausted.append(reply.requestID)
            }
        }
        #expect(winners == ["open-0": 2, "open-1": 1, "open-2": 0])
        #expect(exhausted.count == opens - credits)
        #expect(Set(exhausted) == Set((credits..<opens).map { "open-\($0)" }))
        let statistics = harness.instance.ledger.statistics
        #expect(statistics.accepted == credits + 1 && statistics.rejected == opens - credits, "\(statistics)")
        try await harness.waitForEntitlement("PACK-B") { $0.charges.count == credits }
        #expect(harness.entitlement("PACK-B")?.charges.map(\.incidentID) == ["INC-0", "INC-1", "INC-2"])
        #expect(harness.entitlement("PACK-B")?.creditsRemaining == 0)
        // Every answer is out, and answers leave after their events: all events are stored.
        let events = try await readAll(harness.topics.incidentEvents, count: credits, cluster: harness.cluster)
        #expect(Set(events.compactMap(\.keyString)) == ["INC-0", "INC-1", "INC-2"])
        try await harness.stop()
    }

    /// Calls one after another through one intake: once its ledger has decided a command of the
    /// partition (the grant, which it fetched), each next command is handed to it by its own
    /// intake as soon as it is stored and decided without waiting for the consumer's Fetch; the
    /// consumer's copies are not decided again: one command decided per call, one charge each.
    @Test func commandsOfThisIntakeAreDecidedAsTheyAreStoredAndOnceOnly() async throws {
        let harness = try await IntakeHarness(clock: TestClock(IntakeServiceTests.purchase.addingTimeInterval(600)))
        try await harness.grant(IntakeServiceTests.pack("PACK-O", credits: 10))
        try await harness.waitForEntitlement("PACK-O")
        // The grant's figures are counted once all its outputs are stored (its state may be seen first).
        try await eventually("the grant is counted", timeout: .seconds(10)) { harness.instance.ledger.statistics.commands == 1 }
        let before = harness.instance.ledger.statistics.commands
        let calls = 8
        try await harness.withClient { intake in
            for index in 0..<calls {
                _ = try await intake.openIncident(openRequest("offered-\(index)"), metadata: Tokens.metadata(Tokens.acme))
            }
        }
        try await eventually("every call's command was offered to the ledger", timeout: .seconds(10)) {
            let runtime = harness.instance.ledger.runtimeStatistics
            return runtime.offeredTaken + runtime.offeredPassedOver == calls
        }
        #expect(harness.instance.ledger.runtimeStatistics.offeredTaken >= 1, "\(harness.instance.ledger.runtimeStatistics)")
        try await harness.waitForEntitlement("PACK-O") { $0.charges.count == calls }
        // Long enough for the consumer to bring its copies of the commands decided as offered.
        try await Task.sleep(for: .seconds(1))
        #expect(harness.instance.ledger.statistics.commands - before == calls)
        #expect(harness.entitlement("PACK-O")?.creditsRemaining == 10 - calls)
        // Commands and answers name their message type (what `triage tail` decodes them by).
        let requests = try await readAll(harness.topics.requests, count: calls + 1, cluster: harness.cluster)
        #expect(requests.allSatisfy { $0.header(TriageHeader.schema)?.stringValue == "triage.v1.EntitlementRequest; v=1" })
        let replies = try await readAll(harness.topics.replies, count: calls + 1, cluster: harness.cluster)
        #expect(replies.allSatisfy { $0.header(TriageHeader.schema)?.stringValue == "triage.v1.EntitlementReply; v=1" })
        try await harness.stop()
    }

    /// Twenty OpenIncident calls at once through gRPC (their commands leave together, the ledger
    /// decides them in batches, the answers come back through this intake's own ledger) against
    /// two credits: exactly two open an incident, eighteen are refused with FAILED_PRECONDITION.
    @Test func concurrentCallsAgainstTwoCreditsOpenExactlyTwoIncidents() async throws {
        let harness = try await IntakeHarness(clock: TestClock(IntakeServiceTests.purchase.addingTimeInterval(600)))
        try await harness.grant(IntakeServiceTests.pack("PACK-R", credits: 2))
        try await harness.waitForEntitlement("PACK-R")
        let calls = 20
        let outcomes = try await harness.withClient { intake in
            try await withThrowingTaskGroup(of: Result<Triage_V1_IntakeReceipt, RPCError>.self) { group in
                for index in 0..<calls {
                    group.addTask {
                        do {
                            return .success(
                                try await intake.openIncident(openRequest("race-\(index)"), metadata: Tokens.metadata(Tokens.acme)))
                        } catch let error as RPCError {
                            return .failure(error)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        let opened = outcomes.compactMap { try? $0.get() }
        let refused = outcomes.compactMap { outcome -> RPCError? in
            guard case .failure(let error) = outcome else { return nil }
            return error
        }
        #expect(opened.count == 2)
        #expect(Set(opened.map(\.incidentID)).count == 2)
        #expect(opened.map(\.creditsRemaining).sorted() == [0, 1])
        #expect(refused.count == calls - 2)
        #expect(refused.allSatisfy { $0.code == .failedPrecondition }, "\(refused.map { "\($0.code): \($0.message)" })")
        try await harness.waitForEntitlement("PACK-R") { $0.charges.count == 2 }
        #expect(harness.entitlement("PACK-R")?.creditsRemaining == 0)
        try await harness.stop()
    }
}
