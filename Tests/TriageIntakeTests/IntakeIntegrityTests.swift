import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import MetricsTestKit
import SwiftProtobuf
import Testing
import TriageAnalytics
import TriageEntitlements
import TriageIntake
import TriageKafka
import TriageKafkaTesting
import TriageSchema
import TriageStreams

/// What an outside attack on the intake found (issue 18), one test per fault.
@Suite("Intake integrity and tenant safety", .serialized)
struct IntakeIntegrityTests {
    static let purchase = IntakeServiceTests.purchase
    static let later = purchase.addingTimeInterval(86_400 * 30)

    static func pack(_ id: String, account: String, credits: Int = 5) -> GrantSpec {
        IntakeServiceTests.pack(id, account: account, credits: credits)
    }

    /// A harness with PACK-1 (ACME) and PACK-EU (ACME-EU) granted and visible.
    static func harness(metrics: TestMetrics? = nil, credits: Int = 5) async throws -> IntakeHarness {
        let harness = try await IntakeHarness(clock: TestClock(later), metrics: metrics)
        try await harness.grant(pack("PACK-1", account: "ACME", credits: credits))
        try await harness.grant(pack("PACK-EU", account: "ACME-EU"))
        try await harness.waitForEntitlement("PACK-1")
        try await harness.waitForEntitlement("PACK-EU")
        return harness
    }

    // MARK: 1. An idempotency key cannot cross accounts

    @Test func aRequestIDReusedForAnotherAccountOrOtherContentIsRefused() async throws {
        let harness = try await Self.harness()
        let acme = Tokens.metadata(Tokens.acme)
        let ops = Tokens.metadata(Tokens.ops)
        let first = try await harness.withClient { try await $0.openIncident(openRequest("r-x", account: "ACME"), metadata: acme) }
        try await eventually("the directory shows the incident", timeout: .seconds(20)) {
            harness.instance.directory[first.incidentID] != nil
        }

        try await harness.withClient { intake in
            // The same key for the tenant's other account: refused, nothing charged.
            let otherAccount = await status { try await intake.openIncident(openRequest("r-x", account: "ACME-EU"), metadata: acme) }
            #expect(otherAccount?.0 == .alreadyExists, "\(String(describing: otherAccount))")
            #expect(otherAccount?.1.contains(first.incidentID) == true)
            // The same key and account with other content: refused, naming what differs.
            var retitled = openRequest("r-x", account: "ACME")
            retitled.title = "something else"
            retitled.severity = .a
            let otherContentRequest = retitled
            let otherContent = await status { try await intake.openIncident(otherContentRequest, metadata: acme) }
            #expect(otherContent?.0 == .alreadyExists)
            #expect(otherContent?.1.contains("severity, title") == true, "\(String(describing: otherContent))")
            // The same request again: the first answer, no second charge.
            let again = try await intake.openIncident(openRequest("r-x", account: "ACME"), metadata: acme)
            #expect(again.incidentID == first.incidentID && again.eventID == first.eventID)
            // An admin reusing its key across accounts: refused the same way.
            _ = try await intake.openIncident(openRequest("r-admin", account: "ACME"), metadata: ops)
            try await eventually("the directory shows the admin's incident", timeout: .seconds(20)) {
                harness.instance.directory[IntakeIDs.requestKey("open", tenant: "operations", scope: "ACME", requestID: "r-admin")] != nil
            }
            let adminOther = await status { try await intake.openIncident(openRequest("r-admin", account: "ACME-EU"), metadata: ops) }
            #expect(adminOther?.0 == .alreadyExists, "\(String(describing: adminOther))")
        }
        // Nothing was charged to the other account, the first incident is still the first
        // account's and its tenant still reads it.
        try await harness.waitForEntitlement("PACK-1") { $0.creditsRemaining == 3 }
        #expect(harness.entitlement("PACK-EU")?.creditsRemaining == 5)
        #expect(harness.entitlement("PACK-1")?.charges.filter { $0.incidentID == first.incidentID }.count == 1)
        let entry = try #require(harness.instance.directory[first.incidentID])
        #expect(entry.account == "ACME" && entry.opened.title == "invoices fail" && entry.severity == .b)
        let view = try await harness.withClient { try await $0.getIncident(.with { $0.incidentID = first.incidentID }, metadata: acme) }
        #expect(view.customerAccount == "ACME")
        try await harness.stop()
    }

    /// Two opens with one key for two accounts, racing: whatever wins, no incident belongs to
    /// two accounts and every success was charged once to its own account.
    @Test func aRequestIDRacedAcrossAccountsNeverSharesAnIncident() async throws {
        let harness = try await Self.harness()
        let acme = Tokens.metadata(Tokens.acme)
        let results = try await harness.withClient { intake in
            try await withThrowingTaskGroup(of: (String, Triage_V1_IntakeReceipt?).self) { group in
                for account in ["ACME", "ACME-EU"] {
                    group.addTask {
                        (account, try? await intake.openIncident(openRequest("r-race", account: account), metadata: acme))
                    }
                }
                return try await group.reduce(into: [String: Triage_V1_IntakeReceipt]()) { if let receipt = $1.1 { $0[$1.0] = receipt } }
            }
        }
        #expect(!results.isEmpty)
        #expect(Set(results.values.map(\.incidentID)).count == results.count, "each success is its own incident")
        for (account, receipt) in results {
            try await eventually("the directory shows \(receipt.incidentID)", timeout: .seconds(20)) {
                harness.instance.directory[receipt.incidentID] != nil
            }
            #expect(harness.instance.directory[receipt.incidentID]?.account == account)
        }
        try await harness.stop()
    }

    /// Regression: an incident a Kafka-native producer opened is known to the intake only from
    /// its analytics snapshot, which did not keep the customer's time zone; the children of its
    /// split were built without one and the ledger refused the split with INVALID_ARGUMENT
    /// ("opened.customer_time_zone: '' is not an IANA time zone"), which the client cannot fix.
    @Test func anIncidentOpenedOnKafkaCanBeSplitAndItsChildrenKeepTheTimeZone() async throws {
        let harness = try await Self.harness(credits: 10)
        let producer = try KafkaProducer(configuration: harness.cluster.producerConfiguration(), logger: harness.cluster.logger)
        let producing = Task { try await producer.run() }
        defer { producing.cancel() }
        var event = IncidentEvent()
        event.eventID = "native-open-1"
        event.incidentID = "INC-NATIVE-1"
        event.producer = "crm-bridge"
        event.occurredAt = Google_Protobuf_Timestamp(date: Self.later)
        event.opened = .with {
            $0.customerAccount = "ACME"; $0.entitlementID = "PACK-1"; $0.product = "billing"; $0.language = "en"
            $0.severity = .b; $0.coverage = .businessHours; $0.customerTimeZone = "Asia/Tokyo"; $0.title = "sync fails"
            $0.team = "tier-1"
        }
        _ = try await IncidentEventPublisher(producer: producer, topic: harness.topics.incidentEvents).publish(event)
        try await eventually("the intake sees the incident's snapshot", timeout: .seconds(20)) {
            harness.instance.incidentState["INC-NATIVE-1"] != nil
        }
        #expect(harness.instance.directory["INC-NATIVE-1"] == nil, "known from the snapshot only")
        let split = try await harness.withClient { intake in
            try await intake.split(
                .with {
                    $0.requestID = "r-native-split"
                    $0.incidentID = "INC-NATIVE-1"
                    $0.children = [.with { $0.title = "contacts" }, .with { $0.title = "calendars" }]
                },
                metadata: Tokens.metadata(Tokens.acme)
            )
        }
        #expect(split.children.count == 2)
        for child in split.children.map(\.incidentID) {
            try await eventually("the directory shows \(child)", timeout: .seconds(20)) { harness.instance.directory[child] != nil }
            #expect(harness.instance.directory[child]?.opened.customerTimeZone == "Asia/Tokyo")
            #expect(harness.instance.directory[child]?.opened.parentIncidentID == "INC-NATIVE-1")
        }
        try await harness.stop()
    }

    // MARK: 2. Split children are out of a client's reach

    @Test func aClientCannotOpenUnderASplitChildsID() async throws {
        let harness = try await Self.harness(credits: 10)
        let acme = Tokens.metadata(Tokens.acme)
        let (parent, split) = try await harness.withClient { intake in
            let parent = try await intake.openIncident(openRequest("r-parent"), metadata: acme)
            let split = try await intake.split(
                .with {
                    $0.requestID = "r-split"
                    $0.incidentID = parent.incidentID
                    $0.children = [.with { $0.title = "export fails" }, .with { $0.title = "import fails" }]
                },
                metadata: acme
            )
            return (parent, split)
        }
        let children = split.children.map(\.incidentID)
        let collisions = try await harness.withClient { intake in
            var collisions: [String] = []
            for guess in ["r-split/child-0", "r-split/child-1", "\(parent.incidentID)/child-0", "split-child"] {
                let opened = try await intake.openIncident(openRequest(guess), metadata: acme)
                if children.contains(opened.incidentID) { collisions.append(guess) }
            }
            return collisions
        }
        #expect(collisions.isEmpty)
        try await eventually("the children are in the directory", timeout: .seconds(20)) {
            children.allSatisfy { harness.instance.directory[$0] != nil }
        }
        for child in children {
            let entry = try #require(harness.instance.directory[child])
            #expect(entry.opened.parentIncidentID == parent.incidentID, "the child's entry was not rewritten")
        }
        try await harness.stop()
    }

    // MARK: 3. The lifecycle at the front door

    @Test func callsTheLifecycleDoesNotAllowAreRefusedNamingTheState() async throws {
        let harness = try await Self.harness()
        let acme = Tokens.metadata(Tokens.acme)
        try await harness.withClient { intake in
            let incident = try await intake.openIncident(openRequest("r-open"), metadata: acme).incidentID
            // Reopening an open incident.
            let reopenOpen = await status {
                try await intake.reopen(
                    .with {
                        $0.requestID = "r-reopen-0"; $0.incidentID = incident
                    }, metadata: acme)
            }
            #expect(reopenOpen?.0 == .failedPrecondition)
            #expect(
                reopenOpen?.1.contains("the incident is open; reopen is possible only when it is closed_resolved or closed_unresolved")
                    == true)
            let close = try await intake.closeResolved(
                .with {
                    $0.requestID = "r-close"; $0.incidentID = incident; $0.closedBy = "ana"
                }, metadata: acme)
            // Right after the close, through the same intake (its state view has not folded it yet).
            let secondClose = await status {
                try await intake.closeResolved(
                    .with {
                        $0.requestID = "r-close-2"; $0.incidentID = incident; $0.closedBy = "ana"
                    }, metadata: acme)
            }
            #expect(
                secondClose?.0 == .failedPrecondition && secondClose?.1.contains("closed_resolved") == true,
                "\(String(describing: secondClose))")
            let unresolved = await status {
                try await intake.closeUnresolved(
                    .with {
                        $0.requestID = "r-close-3"; $0.incidentID = incident; $0.closedBy = "ana"
                    }, metadata: acme)
            }
            #expect(unresolved?.0 == .failedPrecondition)
            let ack = await status {
                try await intake.acknowledge(
                    .with {
                        $0.requestID = "r-ack"; $0.incidentID = incident; $0.agentID = "ana"
                    }, metadata: acme)
            }
            #expect(ack?.0 == .failedPrecondition)
            let split = await status {
                try await intake.split(
                    .with {
                        $0.requestID = "r-split"; $0.incidentID = incident; $0.children = [.with { $0.title = "x" }]
                    }, metadata: acme)
            }
            #expect(split?.0 == .failedPrecondition && split?.1.contains("split is possible only when it is open") == true)
            // A retry of the close itself is the same call: answered, same event.
            let retry = try await intake.closeResolved(
                .with {
                    $0.requestID = "r-close"; $0.incidentID = incident; $0.closedBy = "ana"
                }, metadata: acme)
            #expect(retry.eventID == close.eventID)
            // Notes are allowed on a closed incident; a reopen opens it again.
            _ = try await intake.addNote(
                .with {
                    $0.requestID = "r-note"; $0.incidentID = incident; $0.author = "ana"; $0.text = "post-mortem"
                }, metadata: acme)
            _ = try await intake.reopen(
                .with {
                    $0.requestID = "r-reopen"; $0.incidentID = incident; $0.reason = "back"
                }, metadata: acme)
            _ = try await intake.acknowledge(
                .with {
                    $0.requestID = "r-ack-2"; $0.incidentID = incident; $0.agentID = "ana"
                }, metadata: acme)
            // Once the analytics feed folded it all, the view agrees (not only this intake's memory).
            try await eventually("the snapshot shows the reopened, acknowledged incident", timeout: .seconds(20)) {
                harness.instance.incidentState[incident]?.status == .acknowledged
                    && harness.instance.incidentState[incident]?.reopenCount == 1
            }
            let lateClose = try await intake.closeResolved(
                .with {
                    $0.requestID = "r-close-4"; $0.incidentID = incident; $0.closedBy = "ana"
                }, metadata: acme)
            #expect(!lateClose.eventID.isEmpty)
        }
        // The split on the closed incident charged nothing: open (1) only.
        #expect(harness.entitlement("PACK-1")?.creditsRemaining == 4)
        let events = try await readAll(harness.topics.incidentEvents, count: 6, cluster: harness.cluster)
        let kinds = try events.map { try IncidentEvent(serializedBytes: Array($0.valueBytes ?? [])).eventTypeName ?? "?" }
        let closes = try events.map { try IncidentEvent(serializedBytes: Array($0.valueBytes ?? [])) }.filter {
            $0.eventTypeName == "ClosedResolved"
        }
        // The first close (its retry was answered without publishing again) and the close after
        // the reopen; none of the refused ones.
        #expect(closes.count == 2 && Set(closes.map(\.eventID)).count == 2, "\(kinds)")
        #expect(!kinds.contains("Split") && !kinds.contains("ClosedUnresolved"))
        try await harness.stop()
    }

    // MARK: 4. The closer role comes from the tenant's kind

    @Test func aPortalCannotClaimAnAgentsClose() async throws {
        let harness = try await Self.harness()
        let portal = Tokens.metadata(Tokens.acmeCustomers)
        try await harness.withClient { intake in
            let first = try await intake.openIncident(openRequest("r-1"), metadata: portal).incidentID
            let claimed = await status {
                try await intake.closeUnresolved(
                    .with {
                        $0.requestID = "r-c"; $0.incidentID = first; $0.closedBy = "me"; $0.closerRole = "agent";
                        $0.reason = "cannot_reproduce"
                    },
                    metadata: portal
                )
            }
            #expect(claimed?.0 == .permissionDenied)
            #expect(claimed?.1 == "closer_role: tenant acme-customers is a customer portal and may record closes as customer, not agent")
            // Without a claim the close is the customer's: the standard policy charges it.
            let close = try await intake.closeUnresolved(
                .with {
                    $0.requestID = "r-c2"; $0.incidentID = first; $0.closedBy = "me"; $0.reason = "cannot_reproduce"
                }, metadata: portal
            )
            #expect(close.billingRule == "customer-withdrew" && !close.creditRefunded)
            // A staff tool may close as the agent, but not as the system.
            let second = try await intake.openIncident(openRequest("r-2"), metadata: Tokens.metadata(Tokens.acme)).incidentID
            let system = await status {
                try await intake.closeUnresolved(
                    .with {
                        $0.requestID = "r-c3"; $0.incidentID = second; $0.closedBy = "ana"; $0.closerRole = "system"
                    }, metadata: Tokens.metadata(Tokens.acme)
                )
            }
            #expect(
                system?.0 == .permissionDenied
                    && system?.1.contains("is a staff tool and may record closes as customer or agent, not system") == true)
        }
        try await harness.stop()
    }

    // MARK: 5. Sizes in bytes, characters, messages a client can act on

    @Test func oversizeAndMalformedInputIsRefusedUpFront() async throws {
        let harness = try await Self.harness()
        let acme = Tokens.metadata(Tokens.acme)
        try await harness.withClient { intake in
            var long = openRequest("r-long")
            long.description_p = String(repeating: "x", count: 1_200_000)
            let longRequest = long
            let description = await status { try await intake.openIncident(longRequest, metadata: acme) }
            #expect(description?.0 == .invalidArgument)
            #expect(description?.1 == "description: 1200000 bytes; at most 32768 bytes (UTF-8) are accepted")

            var combining = openRequest("r-zalgo")
            combining.title = "a" + String(repeating: "\u{0301}", count: 400_000)
            let combiningRequest = combining
            let title = await status { try await intake.openIncident(combiningRequest, metadata: acme) }
            #expect(
                title?.0 == .invalidArgument && title?.1.hasPrefix("title: 800001 bytes; at most 1024") == true,
                "\(String(describing: title))")

            var zone = openRequest("r-zone")
            zone.customerTimeZone = "Europe/Zurich\0"
            let zoneRequest = zone
            let nul = await status { try await intake.openIncident(zoneRequest, metadata: acme) }
            #expect(nul?.1 == "customer_time_zone: contains U+0000; control or invisible formatting characters are not accepted here")

            let hugeID = String(repeating: "I", count: 100_000)
            let id = await status { try await intake.getIncident(.with { $0.incidentID = hugeID }, metadata: acme) }
            #expect(id?.0 == .invalidArgument && id?.1 == "incident_id: 100000 bytes; at most 128 bytes (UTF-8) are accepted")
            var language = openRequest("r-lang")
            language.language = "e\u{202E}n"
            let languageRequest = language
            let bidi = await status { try await intake.openIncident(languageRequest, metadata: acme) }
            #expect(bidi?.1.hasPrefix("language: contains U+202E") == true, "\(String(describing: bidi))")

            var huge = Triage_V1_AddNoteRequest()
            huge.incidentID = "INC-1"
            huge.author = "ana"
            huge.text = String(repeating: "y", count: 5_000_000)
            let hugeRequest = huge
            let whole = await status { try await intake.addNote(hugeRequest, metadata: acme) }
            #expect(whole?.0 == .resourceExhausted, "\(String(describing: whole))")
            let size = (try hugeRequest.serializedBytes() as [UInt8]).count
            #expect(
                whole?.1 == "the request is \(size) bytes; the intake accepts at most 4194304 (free text at most 32768 bytes per field)")
        }
        let published = harness.instance.service.statistics.published
        #expect(published == 0, "nothing oversize reached Kafka")
        try await harness.stop()
    }

    // MARK: 6. Every call counted

    @Test func everyCallIsCountedUnderItsStatus() async throws {
        let metrics = TestMetrics()
        let harness = try await Self.harness(metrics: metrics)
        let acme = Tokens.metadata(Tokens.acme)
        try await harness.withClient { intake in
            let incident = try await intake.openIncident(openRequest("r-1"), metadata: acme).incidentID
            _ = await status { try await intake.acknowledge(.with { $0.incidentID = incident }, metadata: acme) }  // INVALID_ARGUMENT
            // UNAUTHENTICATED
            _ = await status { try await intake.getIncident(.with { $0.incidentID = incident }, metadata: Tokens.metadata("nope")) }
            _ = await status { try await intake.getIncident(.with { $0.incidentID = "INC-NONE" }, metadata: acme) }  // NOT_FOUND
            _ = await status { try await intake.reopen(.with { $0.incidentID = incident }, metadata: acme) }  // FAILED_PRECONDITION
            _ = await status { try await intake.openIncident(openRequest("r-2", account: "BETA"), metadata: acme) }  // PERMISSION_DENIED
        }
        let codes = ["OK", "INVALID_ARGUMENT", "UNAUTHENTICATED", "NOT_FOUND", "FAILED_PRECONDITION", "PERMISSION_DENIED"]
        for code in codes {
            #expect(metrics.counterTotal(label: "triage_intake_calls_total", dimensions: [("code", code)]) == 1, "\(code)")
        }
        #expect(metrics.counterTotal(label: "triage_intake_calls_total") == 6)
        try await harness.stop()
    }

    /// The branch the attack saw skipped: the ledger not answering is UNAVAILABLE, and counted.
    @Test func anUnavailableLedgerIsCounted() async throws {
        let metrics = TestMetrics()
        let harness = try await Self.harness()
        // A second service whose ledger requests go to a topic no ledger reads, waiting 1 s.
        let client = harness.cluster.embedded.clientConfiguration
        var topics = harness.topics
        topics.requests = try harness.cluster.makeTopic("unserved-requests", partitions: 1)
        let producer = try KafkaProducer(configuration: harness.cluster.producerConfiguration(), logger: harness.cluster.logger)
        let ledger = LedgerClient(
            producer: producer, client: client, replyPartitions: [0, 1], topics: topics, timeout: .seconds(1),
            logger: harness.cluster.logger)
        let service = IntakeService(
            dependencies: IntakeDependencies(
                tenants: try Tokens.directory(), publisher: IncidentEventPublisher(producer: producer, topic: topics.incidentEvents),
                ledger: ledger,
                entitlements: harness.instance.entitlements, directory: harness.instance.directory,
                incidentState: harness.instance.incidentState
            ),
            logger: harness.cluster.logger, metricsFactory: metrics
        )
        let running = Task {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await producer.run() }
                group.addTask { try await ledger.run() }
            }
        }
        defer { running.cancel() }
        try await ledger.ready()
        let transport = HTTP2ServerTransport.Posix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext)
        let server = GRPCServer(transport: transport, services: [service])
        let serving = Task { try await server.serve() }
        defer { server.beginGracefulShutdown() }
        let port = try #require(try await transport.listeningAddress.ipv4?.port)
        let answer = try await withGRPCClient(
            transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
        ) {
            client in
            await status {
                try await Triage_V1_IncidentIntake.Client(wrapping: client).openIncident(
                    openRequest("r-u"), metadata: Tokens.metadata(Tokens.acme))
            }
        }
        #expect(answer?.0 == .unavailable, "\(String(describing: answer))")
        #expect(metrics.counterTotal(label: "triage_intake_calls_total", dimensions: [("code", "UNAVAILABLE")]) == 1)
        server.beginGracefulShutdown()
        try await serving.value
        try await harness.stop()
    }

    // MARK: 7. No other tenant's data in a refusal

    @Test func aRefusalNamesOnlyTheCallersAccount() async throws {
        let harness = try await Self.harness()
        try await harness.grant(Self.pack("PACK-B", account: "BETA"))
        try await harness.waitForEntitlement("PACK-B")
        let beta = Tokens.metadata(Tokens.beta)
        let refused = try await harness.withClient { intake in
            await status { try await intake.openIncident(openRequest("r-b", account: "BETA", entitlement: "PACK-1"), metadata: beta) }
        }
        #expect(refused?.0 == .permissionDenied)
        #expect(refused?.1 == "entitlement 'PACK-1' does not belong to account 'BETA'")
        #expect(refused?.1.contains("ACME") == false)
        try await harness.stop()
    }

    // MARK: 9. Event ids are unique per event

    @Test func oneRequestIDOnTwoIncidentsIsTwoEventIDs() async throws {
        let harness = try await Self.harness()
        let acme = Tokens.metadata(Tokens.acme)
        let ids = try await harness.withClient { intake in
            let a = try await intake.openIncident(openRequest("r-a"), metadata: acme).incidentID
            let b = try await intake.openIncident(openRequest("r-b"), metadata: acme).incidentID
            let first = try await intake.acknowledge(
                .with {
                    $0.requestID = "same"; $0.incidentID = a; $0.agentID = "ana"
                }, metadata: acme)
            let second = try await intake.acknowledge(
                .with {
                    $0.requestID = "same"; $0.incidentID = b; $0.agentID = "ana"
                }, metadata: acme)
            return [first.eventID, second.eventID]
        }
        #expect(Set(ids).count == 2)
        try await harness.stop()
    }

    // MARK: Found by the outside attack on the first fixes

    /// Two different requests under one request id, racing (neither visible to the other): two
    /// incidents, each charged once; never one incident charged twice or one event id with two
    /// contents.
    @Test func differentRequestsRacingUnderOneIDNeverShareAnIncident() async throws {
        let harness = try await Self.harness(credits: 10)
        try await harness.grant(Self.pack("PACK-2", account: "ACME"))
        try await harness.waitForEntitlement("PACK-2")
        let acme = Tokens.metadata(Tokens.acme)
        var successes: [Triage_V1_IntakeReceipt] = []
        for round in 0..<4 {
            let key = "r-race-\(round)"
            let receipts = try await harness.withClient { intake in
                try await withThrowingTaskGroup(of: Triage_V1_IntakeReceipt?.self) { group in
                    group.addTask { try? await intake.openIncident(openRequest(key, entitlement: "PACK-1"), metadata: acme) }
                    group.addTask {
                        var other = openRequest(key, entitlement: "PACK-2")
                        other.title = "something else"
                        return try? await intake.openIncident(other, metadata: acme)
                    }
                    return try await group.reduce(into: [Triage_V1_IntakeReceipt]()) { if let receipt = $1 { $0.append(receipt) } }
                }
            }
            #expect(!receipts.isEmpty)
            #expect(Set(receipts.map(\.incidentID)).count == receipts.count, "round \(round): two answers, two incidents")
            successes += receipts
        }
        let succeeded = Set(successes.map(\.incidentID))
        try await eventually("every success is charged", timeout: .seconds(20)) {
            let charged = ["PACK-1", "PACK-2"].flatMap { harness.entitlement($0)?.charges.map(\.incidentID) ?? [] }
            return succeeded.isSubset(of: charged)
        }
        let charged = ["PACK-1", "PACK-2"].flatMap { harness.entitlement($0)?.charges.map(\.incidentID) ?? [] }
        #expect(charged.count == Set(charged).count, "no incident is charged twice: \(charged)")
        #expect(charged.count == successes.count)
        let events = try await readAll(harness.topics.incidentEvents, count: successes.count, cluster: harness.cluster)
            .map { try IncidentEvent(serializedBytes: Array($0.valueBytes ?? [])) }
        let contents = Dictionary(grouping: events, by: \.eventID).mapValues { Set($0.map(\.opened.title)) }
        #expect(contents.values.allSatisfy { $0.count == 1 }, "one event id, one content")
        try await harness.stop()
    }

    /// A retry is answered exactly as the first time; a changed call under a used request id is
    /// another event, checked like any other call.
    @Test func aRetryGetsTheSameAnswerAndAChangedCallIsAnotherEvent() async throws {
        let harness = try await Self.harness()
        let acme = Tokens.metadata(Tokens.acme)
        try await harness.withClient { intake in
            let opened = try await intake.openIncident(openRequest("r-o"), metadata: acme)
            let openedAgain = try await intake.openIncident(openRequest("r-o"), metadata: acme)
            #expect(openedAgain == opened, "the same receipt, partition and offset included")
            let incident = opened.incidentID
            let raise = try await intake.changeSeverity(
                .with {
                    $0.requestID = "r-s"; $0.incidentID = incident; $0.severity = .a
                }, metadata: acme)
            let lower = try await intake.changeSeverity(
                .with {
                    $0.requestID = "r-s"; $0.incidentID = incident; $0.severity = .c
                }, metadata: acme)
            #expect(raise.eventID != lower.eventID)
            let close = try await intake.closeResolved(
                .with {
                    $0.requestID = "r-c"; $0.incidentID = incident; $0.closedBy = "ana"
                }, metadata: acme)
            let again = try await intake.closeResolved(
                .with {
                    $0.requestID = "r-c"; $0.incidentID = incident; $0.closedBy = "ana"
                }, metadata: acme)
            #expect(again == close)
            let changed = await status {
                try await intake.closeResolved(
                    .with {
                        $0.requestID = "r-c"; $0.incidentID = incident; $0.closedBy = "bob"
                    }, metadata: acme)
            }
            #expect(changed?.0 == .failedPrecondition, "a changed close is a second close: \(String(describing: changed))")
        }
        try await harness.stop()
    }

    /// Calls on one incident through one intake are decided one after the other: a split racing
    /// a close is either refused or published before the close, never after it.
    @Test func aSplitRacingACloseThroughOneIntakeNeverFollowsIt() async throws {
        let harness = try await Self.harness(credits: 20)
        let acme = Tokens.metadata(Tokens.acme)
        var incidents: [String] = []
        for round in 0..<4 {
            let incident = try await harness.withClient { intake in
                let incident = try await intake.openIncident(openRequest("r-open-\(round)"), metadata: acme).incidentID
                async let split = status {
                    try await intake.split(
                        .with {
                            $0.requestID = "r-split"; $0.incidentID = incident; $0.children = [.with { $0.title = "part" }]
                        }, metadata: acme
                    )
                }
                async let close = status {
                    try await intake.closeResolved(
                        .with {
                            $0.requestID = "r-close"; $0.incidentID = incident; $0.closedBy = "ana"
                        }, metadata: acme)
                }
                let (splitStatus, closeStatus) = await (split, close)
                #expect(closeStatus == nil)
                #expect(
                    splitStatus == nil || splitStatus?.0 == .failedPrecondition,
                    "split answered \(splitStatus.map { "\($0.0): \($0.1)" } ?? "OK"); close \(closeStatus.map { "\($0.0)" } ?? "OK")")
                return incident
            }
            incidents.append(incident)
        }
        let opened = incidents
        try await eventually("every close is folded", timeout: .seconds(20)) {
            opened.allSatisfy { harness.instance.incidentState[$0]?.status == .closedResolved }
        }
        let splits = incidents.compactMap { harness.instance.incidentState[$0] }.filter { !$0.splitChildren.isEmpty }.count
        let messages = try await readAll(harness.topics.incidentEvents, count: incidents.count * 2 + splits * 2, cluster: harness.cluster)
        for incident in incidents {
            let kinds = messages.compactMap { message -> (Int64, String)? in
                guard let event = try? IncidentEvent(serializedBytes: Array(message.valueBytes ?? [])), event.incidentID == incident else {
                    return nil
                }
                return (message.offset, event.eventTypeName ?? "?")
            }.sorted { $0.0 < $1.0 }.map(\.1)
            if let split = kinds.firstIndex(of: "Split"), let close = kinds.firstIndex(of: "ClosedResolved") {
                #expect(split < close, "\(incident): \(kinds)")
            }
        }
        try await harness.stop()
    }

    /// An override decides an unresolved close; on an open incident it would make it free.
    @Test func aBillingOverrideNeedsAnUnresolvedClose() async throws {
        let harness = try await Self.harness()
        let acme = Tokens.metadata(Tokens.acme)
        let ops = Tokens.metadata(Tokens.ops)
        try await harness.withClient { intake in
            let incident = try await intake.openIncident(openRequest("r-o"), metadata: acme).incidentID
            let early = await status {
                try await intake.overrideBilling(
                    .with {
                        $0.requestID = "r-b"; $0.incidentID = incident; $0.refund = true
                    }, metadata: ops)
            }
            #expect(early?.0 == .failedPrecondition)
            #expect(
                early?.1 == "incident \(incident): the incident is open; a billing override is possible only when it is closed_unresolved")
            _ = try await intake.closeUnresolved(
                .with {
                    $0.requestID = "r-cu"; $0.incidentID = incident; $0.closedBy = "customer"; $0.closerRole = "customer"
                }, metadata: acme)
            let late = try await intake.overrideBilling(
                .with {
                    $0.requestID = "r-b2"; $0.incidentID = incident; $0.refund = true
                }, metadata: ops)
            #expect(late.creditRefunded && late.billingRule == "admin override")
            // Reopened (the refunded credit taken again): no unresolved close on record any more.
            _ = try await intake.reopen(
                .with {
                    $0.requestID = "r-r"; $0.incidentID = incident
                }, metadata: acme)
            let reopened = await status {
                try await intake.overrideBilling(
                    .with {
                        $0.requestID = "r-b3"; $0.incidentID = incident; $0.refund = true
                    }, metadata: ops)
            }
            #expect(reopened?.0 == .failedPrecondition, "\(String(describing: reopened))")
        }
        try await harness.stop()
    }

    /// Twenty bad children are still an answer a default client can read (trailers well under
    /// 8 KiB), and a status message never carries a client's odd value.
    @Test func manyProblemsAndOddValuesMakeAReadableAnswer() async throws {
        let harness = try await Self.harness()
        let acme = Tokens.metadata(Tokens.acme)
        let parent = try await harness.withClient { try await $0.openIncident(openRequest("r-p"), metadata: acme) }.incidentID
        try await harness.withClient { intake in
            let bad = Triage_V1_ChildProblem.with {
                $0.title = "bad\u{0007}title"
                $0.description_p = String(repeating: "\u{2028}", count: 200)
                $0.product = "p\u{200B}"
            }
            let many = await status {
                try await intake.split(
                    .with {
                        $0.requestID = "r-s"; $0.incidentID = parent; $0.children = Array(repeating: bad, count: 20)
                    }, metadata: acme)
            }
            #expect(many?.0 == .invalidArgument, "\(String(describing: many))")
            #expect(many?.1.hasSuffix("; and 50 more") == true, "\(String(describing: many))")
            #expect((many?.1.utf8.count ?? .max) < 2048)
            let odd = "a" + String(repeating: "\u{0301}", count: 20)
            let notFound = await status { try await intake.getIncident(.with { $0.incidentID = odd }, metadata: acme) }
            #expect(notFound?.0 == .notFound && notFound?.1.contains("\u{0301}") == false, "\(String(describing: notFound))")
            #expect(
                notFound?.1 == "incident the value given (41 bytes) is not known to the intake (not opened through it, or not visible yet)")
        }
        try await harness.stop()
    }

    /// Two different requests raced under one request id and both opened: a retry of either gets
    /// its own answer, not the other's; a first try naming its entitlement may be retried without.
    @Test func eachOfTwoRacedRequestsIsAnsweredAgainOnRetry() async throws {
        let harness = try await Self.harness(credits: 10)
        let acme = Tokens.metadata(Tokens.acme)
        let ops = Tokens.metadata(Tokens.ops)
        var other = openRequest("r-race")
        other.title = "something else"
        let requests = [openRequest("r-race"), other]
        let first = try await harness.withClient { intake in
            try await withThrowingTaskGroup(of: (Int, Triage_V1_IntakeReceipt?).self) { group in
                for (index, request) in requests.enumerated() {
                    group.addTask { (index, try? await intake.openIncident(request, metadata: acme)) }
                }
                return try await group.reduce(into: [Int: Triage_V1_IntakeReceipt]()) { if let receipt = $1.1 { $0[$1.0] = receipt } }
            }
        }
        try await harness.withClient { intake in
            for (index, receipt) in first {
                let again = try await intake.openIncident(requests[index], metadata: acme)
                #expect(again.incidentID == receipt.incidentID, "request \(index)")
            }
            // Named first, retried without naming it once the first answer is recorded.
            let named = try await intake.openIncident(openRequest("r-named", entitlement: "PACK-1"), metadata: acme)
            let unnamed = try await intake.openIncident(openRequest("r-named"), metadata: acme)
            #expect(unnamed.incidentID == named.incidentID && unnamed.entitlementID == "PACK-1")
            // An admin's odd account value is not echoed.
            let odd = await status { try await intake.openIncident(openRequest("r-odd", account: "Z\u{00FC}rich"), metadata: ops) }
            #expect(odd?.0 == .failedPrecondition && odd?.1.contains("Z\u{00FC}rich") == false, "\(String(describing: odd))")
        }
        try await harness.stop()
    }

    /// Two different requests raced under one request id through two intakes, and one is
    /// retried on the intake that answered the other, before that intake's directory view has
    /// read the retried request's incident (CI, stop 43: ALREADY_EXISTS "with a different
    /// title" for a retry). The retry is a retry: the same incident, charged once.
    @Test func aRetryReachingAnIntakeWhoseViewLagsIsStillARetry() async throws {
        let harness = try await Self.harness(credits: 10)
        let acme = Tokens.metadata(Tokens.acme)
        // A second intake on the same ledger whose directory view has not started following.
        let lagging = KeyedTopicView<DirectoryEntry>.directory(
            partitions: [0, 1], topics: harness.topics, client: harness.cluster.embedded.clientConfiguration, logger: harness.cluster.logger
        )
        let second = try await SecondIntake(harness, directory: lagging)

        var retitled = openRequest("r-lag")
        retitled.title = "something else"
        let other = retitled
        // One request through the first intake, the other through the second, which cannot see
        // the first's record yet: both open, as two requests racing would.
        let first = try await harness.withClient { try await $0.openIncident(other, metadata: acme) }
        let (opened, retry) = try await second.withClient { intake in
            let opened = try await intake.openIncident(openRequest("r-lag"), metadata: acme)
            // The first request retried here: this view's record of the id names the second
            // request, and it reads the first's incident only 300 ms from now.
            let following = Task {
                try await Task.sleep(for: .milliseconds(300))
                try await lagging.run()
            }
            defer {
                lagging.stop()
                following.cancel()
            }
            let retry: Result<Triage_V1_IntakeReceipt, any Error>
            do { retry = .success(try await intake.openIncident(other, metadata: acme)) } catch { retry = .failure(error) }
            return (opened, retry)
        }
        #expect(first.incidentID != opened.incidentID)
        #expect((try? retry.get())?.incidentID == first.incidentID, "the retry was answered: \(retry)")
        // The retry got the first answer: nothing charged twice.
        try await harness.waitForEntitlement("PACK-1") { $0.creditsRemaining == 8 }
        #expect(harness.entitlement("PACK-1")?.charges.filter { $0.incidentID == first.incidentID }.count == 1)
        try await second.stop()
        try await harness.stop()
    }

    /// An open naming no pack, on an intake whose view still shows credits in two packs that
    /// concurrent opens used up meanwhile: the refusal names both packs and why, not only the
    /// last one tried (stop 43's leftover).
    @Test func anOpenThatLosesEveryPackToConcurrentOpensNamesThemAll() async throws {
        let harness = try await Self.harness(credits: 1)
        try await harness.grant(Self.pack("PACK-2", account: "ACME", credits: 1))
        try await harness.waitForEntitlement("PACK-2")
        let acme = Tokens.metadata(Tokens.acme)
        // The second intake's entitlements as they are now, then no longer followed.
        let stale = KeyedTopicView<Entitlement>.entitlements(
            partitions: [0, 1, 2], topics: harness.topics, client: harness.cluster.embedded.clientConfiguration,
            logger: harness.cluster.logger)
        let following = Task { try await stale.run() }
        try await stale.ready()
        #expect(stale["PACK-1"]?.creditsRemaining == 1 && stale["PACK-2"]?.creditsRemaining == 1)
        stale.stop()
        _ = try? await following.value
        let second = try await SecondIntake(harness, entitlements: stale)
        // Both credits go through the first intake.
        try await harness.withClient { intake in
            for request in ["r-a", "r-b"] { _ = try await intake.openIncident(openRequest(request), metadata: acme) }
        }
        try await harness.waitForEntitlement("PACK-1") { $0.creditsRemaining == 0 }
        try await harness.waitForEntitlement("PACK-2") { $0.creditsRemaining == 0 }
        let refused = try await second.withClient { intake in
            await status { try await intake.openIncident(openRequest("r-c"), metadata: acme) }
        }
        #expect(refused?.0 == .failedPrecondition, "\(String(describing: refused))")
        let message = refused?.1 ?? ""
        #expect(message.hasPrefix("account 'ACME' has no entitlement that can pay for an incident now"), "\(message)")
        #expect(message.contains("PACK-1") && message.contains("PACK-2"), "\(message)")
        try await second.stop()
        try await harness.stop()
    }
}

/// A second intake on a harness's ledger and topics, with views of its own where a test needs
/// them to lag (the harness's where not), serving gRPC on a port of its own.
struct SecondIntake {
    let port: Int
    private let server: GRPCServer<HTTP2ServerTransport.Posix>
    private let serving: Task<Void, any Error>
    private let running: Task<Void, any Error>

    init(
        _ harness: IntakeHarness, directory: KeyedTopicView<DirectoryEntry>? = nil, entitlements: KeyedTopicView<Entitlement>? = nil
    ) async throws {
        let cluster = harness.cluster
        let topics = harness.topics
        let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
        let ledger = LedgerClient(
            producer: producer, client: cluster.embedded.clientConfiguration, replyPartitions: [0, 1], topics: topics,
            timeout: .seconds(20), logger: cluster.logger)
        // Not followed: only what this intake writes itself.
        let unread = KeyedTopicView<IncidentSnapshot>.incidentState(
            partitions: [0, 1, 2], topics: topics, client: cluster.embedded.clientConfiguration, logger: cluster.logger)
        let service = IntakeService(
            dependencies: IntakeDependencies(
                tenants: try Tokens.directory(), publisher: IncidentEventPublisher(producer: producer, topic: topics.incidentEvents),
                ledger: ledger, entitlements: entitlements ?? harness.instance.entitlements,
                directory: directory ?? harness.instance.directory,
                incidentState: unread, requestIndex: RequestIndex(producer: producer, topic: topics.directory), now: { harness.clock.now }
            ),
            logger: cluster.logger
        )
        running = Task {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await producer.run() }
                group.addTask { try await ledger.run() }
            }
        }
        try await ledger.ready()
        let transport = HTTP2ServerTransport.Posix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext)
        let server = GRPCServer(transport: transport, services: [service])
        self.server = server
        serving = Task { try await server.serve() }
        port = try #require(try await transport.listeningAddress.ipv4?.port)
    }

    func withClient<T: Sendable>(
        _ body: @Sendable @escaping (Triage_V1_IncidentIntake.Client<HTTP2ClientTransport.Posix>) async throws -> T
    ) async throws -> T {
        try await withGRPCClient(
            transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
        ) { client in try await body(Triage_V1_IncidentIntake.Client(wrapping: client)) }
    }

    func stop() async throws {
        server.beginGracefulShutdown()
        try await serving.value
        running.cancel()
        _ = try? await running.value
    }
}
