import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import SwiftProtobuf
import Testing
import TriageEntitlements
import TriageIntake
import TriageKafka
import TriageKafkaTesting
import TriageSchema

typealias IntakeClient = Triage_V1_IncidentIntake.Client<HTTP2ClientTransport.Posix>

/// The gRPC status code of a failed call (or nil when it succeeded).
func status<T: Sendable>(_ call: @Sendable () async throws -> T) async -> (RPCError.Code, String)? {
    do {
        _ = try await call()
        return nil
    } catch let error as RPCError {
        return (error.code, error.message)
    } catch {
        return (.unknown, "\(error)")
    }
}

func openRequest(_ requestID: String, account: String = "ACME", entitlement: String = "", severity: Severity = .b)
    -> Triage_V1_OpenIncidentRequest
{
    .with {
        $0.requestID = requestID
        $0.customerAccount = account
        $0.entitlementID = entitlement
        $0.product = "billing"
        $0.language = "en"
        $0.severity = severity
        $0.customerTimeZone = "Europe/Zurich"
        $0.title = "invoices fail"
        $0.team = "tier-1"
    }
}

@Suite("Intake over gRPC on the embedded broker", .serialized)
struct IntakeServiceTests {
    static let purchase = ISO8601DateFormatter().date(from: "2026-03-01T09:00:00Z")!

    static func pack(_ id: String, account: String = "ACME", credits: Int = 5, purchasedAt: Date = purchase, zone: String = "UTC")
        -> GrantSpec
    {
        GrantSpec(
            id: id, kind: .fivePack, account: account, purchasedAt: purchasedAt, timeZone: zone, credits: credits, coverage: nil,
            calendar: nil, termYears: 1)
    }

    /// Every RPC once, in a plausible story, with credits and billing checked along the way and
    /// the published events read back from the lifecycle topic.
    @Test func everyCallOfTheLifecycle() async throws {
        let clock = TestClock(Self.purchase.addingTimeInterval(86_400 * 30))
        let harness = try await IntakeHarness(clock: clock)
        try await harness.grant(Self.pack("PACK-1"))
        try await harness.waitForEntitlement("PACK-1")
        let acme = Tokens.metadata(Tokens.acme)
        let ops = Tokens.metadata(Tokens.ops)

        let (opened, figures) = try await harness.withClient { intake in
            let opened = try await intake.openIncident(openRequest("r-open"), metadata: acme)
            let incident = opened.incidentID
            let ack = try await intake.acknowledge(
                .with {
                    $0.requestID = "r-ack"; $0.incidentID = incident; $0.agentID = "ana"
                }, metadata: acme)
            let note = try await intake.addNote(
                .with {
                    $0.requestID = "r-note"; $0.incidentID = incident; $0.author = "ana"; $0.text = "looking"; $0.public = true
                }, metadata: acme)
            let severity = try await intake.changeSeverity(
                .with {
                    $0.requestID = "r-sev"; $0.incidentID = incident; $0.severity = .a; $0.reason = "outage"
                }, metadata: acme)
            let wait = try await intake.waitOnCustomer(
                .with {
                    $0.requestID = "r-wait"; $0.incidentID = incident; $0.reason = "logs please"
                    $0.pauseReason = "waiting_on_vendor"
                    $0.resumeAt = Google_Protobuf_Timestamp(date: Self.purchase.addingTimeInterval(86_400 * 31))
                }, metadata: acme)
            let responded = try await intake.customerResponded(
                .with {
                    $0.requestID = "r-resp"; $0.incidentID = incident
                }, metadata: acme)
            // Children take the parent's current severity: wait until the snapshot has it.
            try await eventually("the snapshot has severity A", timeout: .seconds(20)) {
                harness.instance.incidentState[incident]?.severity == .a
            }
            let split = try await intake.split(
                .with {
                    $0.requestID = "r-split"; $0.incidentID = incident
                    $0.children = [
                        .with { $0.title = "export fails" },
                        .with {
                            $0.title = "import fails"; $0.severity = .c; $0.product = "api"
                        },
                    ]
                },
                metadata: acme
            )
            let solution = try await intake.deliverSolution(
                .with {
                    $0.requestID = "r-sol"; $0.incidentID = incident; $0.agentID = "ana"; $0.summary = "patched"
                }, metadata: acme)
            let childA = split.children[0].incidentID
            let childB = split.children[1].incidentID
            let resolved = try await intake.closeResolved(
                .with {
                    $0.requestID = "r-close-a"; $0.incidentID = childA; $0.closedBy = "ana"
                }, metadata: acme)
            let unresolved = try await intake.closeUnresolved(
                .with {
                    $0.requestID = "r-close-b"; $0.incidentID = childB; $0.closedBy = "ana"; $0.reason = "cannot_reproduce"
                }, metadata: acme
            )
            let reopened = try await intake.reopen(
                .with {
                    $0.requestID = "r-reopen-b"; $0.incidentID = childB; $0.reason = "happens again"
                }, metadata: acme)
            let requestClose = try await intake.requestClose(
                .with {
                    $0.requestID = "r-reqclose"; $0.incidentID = incident; $0.reason = "fixed on our side"
                }, metadata: acme)
            // An admin overrides a decision: close B unresolved by the customer (charged by the
            // standard policy), then refund it.
            let withdrawn = try await intake.closeUnresolved(
                .with {
                    $0.requestID = "r-close-b2"; $0.incidentID = childB; $0.closedBy = "customer"; $0.closerRole = "customer";
                    $0.reason = "withdrawn"
                },
                metadata: acme
            )
            let overridden = try await intake.overrideBilling(
                .with {
                    $0.requestID = "r-override"; $0.incidentID = childB; $0.refund = true; $0.note = "goodwill"
                }, metadata: ops)
            return (
                opened,
                [
                    "ack": ack.eventID, "note": note.eventID, "sev": severity.eventID, "wait": wait.eventID, "resp": responded.eventID,
                    "split-parent": split.parent.eventID, "solution": solution.eventID, "resolved": resolved.eventID,
                    "unresolved": unresolved.receipt.eventID,
                    "reopen": reopened.eventID, "reqclose": requestClose.eventID, "withdrawn": withdrawn.receipt.eventID,
                    "credits-after-open": "\(opened.creditsRemaining)", "credits-after-split": "\(split.children[0].creditsRemaining)",
                    "unresolved-refunded": "\(unresolved.creditRefunded)", "unresolved-rule": unresolved.billingRule,
                    "credits-after-refund": "\(unresolved.creditsRemaining)", "credits-after-reopen": "\(reopened.creditsRemaining)",
                    "withdrawn-refunded": "\(withdrawn.creditRefunded)", "withdrawn-rule": withdrawn.billingRule,
                    "override-refunded": "\(overridden.creditRefunded)", "override-rule": overridden.billingRule,
                    "credits-after-override": "\(overridden.creditsRemaining)", "childA": childA, "childB": childB,
                ]
            )
        }
        #expect(opened.incidentID.hasPrefix("INC-"))
        #expect(opened.entitlementID == "PACK-1")
        #expect(opened.creditsRemaining == 4)
        #expect(figures["credits-after-split"] == "2")
        #expect(figures["unresolved-refunded"] == "true")
        #expect(figures["unresolved-rule"] == "default")
        #expect(figures["credits-after-refund"] == "3")
        #expect(figures["credits-after-reopen"] == "2")  // the refunded credit is taken again
        #expect(figures["withdrawn-refunded"] == "false")
        #expect(figures["withdrawn-rule"] != "default")
        #expect(figures["override-refunded"] == "true")
        #expect(figures["override-rule"] == "admin override")
        #expect(figures["credits-after-override"] == "3")

        // The lifecycle topic holds every event, with the ledger's completions.
        let expected = 1 + 11 + 2 + 1  // open, 11 calls with one event each, two child Opened, the second unresolved close
        let messages = try await readAll(harness.topics.incidentEvents, count: expected, cluster: harness.cluster)
        let events = try messages.map { try IncidentEvent(serializedBytes: Array($0.valueBytes ?? [])) }
        #expect(events.count == expected)
        let parentEvents = events.filter { $0.incidentID == opened.incidentID }.compactMap(\.eventTypeName)
        #expect(
            parentEvents == [
                "Opened", "Acknowledged", "NoteAdded", "SeverityChanged", "WaitingOnCustomer", "CustomerResponded", "Split",
                "SolutionDelivered",
                "CloseRequestedByCustomer",
            ]
        )
        let openedEvent = try #require(events.first { $0.incidentID == opened.incidentID && $0.eventTypeName == "Opened" })
        #expect(openedEvent.opened.entitlementID == "PACK-1")
        #expect(openedEvent.opened.coverage == .businessHours)
        #expect(openedEvent.producer == "intake")
        let children = events.filter { $0.eventTypeName == "Opened" && $0.opened.parentIncidentID == opened.incidentID }
        #expect(Set(children.map(\.incidentID)) == [figures["childA"]!, figures["childB"]!])
        #expect(children.first { $0.incidentID == figures["childB"] }?.opened.severity == .c)
        #expect(children.first { $0.incidentID == figures["childB"] }?.opened.product == "api")
        #expect(children.first { $0.incidentID == figures["childA"] }?.opened.severity == .a)  // the parent's current severity
        let closes = events.filter { $0.eventTypeName == "ClosedUnresolved" }
        #expect(closes.map(\.closedUnresolved.creditRefunded) == [true, false])
        // The pause reason and resume instant go through unchanged.
        let waiting = try #require(events.first { $0.eventTypeName == "WaitingOnCustomer" })
        #expect(waiting.waitingOnCustomer.pauseReason == "waiting_on_vendor")
        #expect(waiting.waitingOnCustomer.resumeAt.date == Self.purchase.addingTimeInterval(86_400 * 31))
        let severityChange = try #require(events.first { $0.eventTypeName == "SeverityChanged" })
        #expect(severityChange.severityChanged.from == .b && severityChange.severityChanged.to == .a)

        // GetIncident answers from the analytics feed's snapshot once it has folded the events.
        try await eventually("the snapshot shows the close request", timeout: .seconds(20)) {
            let view = try await harness.withClient { intake in
                try await intake.getIncident(.with { $0.incidentID = opened.incidentID }, metadata: acme)
            }
            return view.status == "close_requested"
        }
        let view = try await harness.withClient { intake in
            try await intake.getIncident(.with { $0.incidentID = opened.incidentID }, metadata: acme)
        }
        #expect(view.customerAccount == "ACME")
        #expect(view.severity == .a)
        #expect(view.splitChildren.count == 2)
        // Typed fields, not JSON inside a string; RFC 3339 instants in the JSON mapping.
        #expect(view.product == "billing" && view.language == "en")
        #expect(view.eventCount >= 5 && view.hasLastEventAt && view.firstResponse.hasTargetBusinessMinutes)
        let json = try view.jsonString()
        #expect(json.range(of: #""openedAt":"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z""#, options: .regularExpression) != nil, "\(json)")
        #expect(!json.contains("snapshot"), "\(json)")
        // Instants to the millisecond the snapshot keeps, without the binary fraction's noise.
        #expect(view.openedAt.nanos % 1_000_000 == 0 && view.lastEventAt.nanos % 1_000_000 == 0, "\(view.openedAt) \(view.lastEventAt)")

        let entitlement = try #require(harness.entitlement("PACK-1"))
        #expect(entitlement.creditsRemaining == 3)
        #expect(entitlement.charges.count == 3)
        try await harness.stop()
    }

    @Test func tenantsActOnlyOnTheirOwnAccounts() async throws {
        let harness = try await IntakeHarness(clock: TestClock(Self.purchase.addingTimeInterval(3_600)))
        try await harness.grant(Self.pack("PACK-A"))
        try await harness.grant(Self.pack("PACK-B", account: "BETA"))
        try await harness.waitForEntitlement("PACK-A")
        try await harness.waitForEntitlement("PACK-B")
        try await harness.withClient { intake in
            let acme = Tokens.metadata(Tokens.acme)
            let beta = Tokens.metadata(Tokens.beta)
            let incident = try await intake.openIncident(openRequest("a-1"), metadata: acme).incidentID

            let none = await status {
                try await intake.acknowledge(
                    .with {
                        $0.incidentID = incident; $0.agentID = "x"
                    }, metadata: Tokens.metadata(nil))
            }
            #expect(none?.0 == .unauthenticated)
            let wrong = await status {
                try await intake.acknowledge(
                    .with {
                        $0.incidentID = incident; $0.agentID = "x"
                    }, metadata: Tokens.metadata("nope"))
            }
            #expect(wrong?.0 == .unauthenticated)
            #expect(wrong?.1.contains("nope") == false)

            let crossAck = await status {
                try await intake.acknowledge(
                    .with {
                        $0.incidentID = incident; $0.agentID = "x"
                    }, metadata: beta)
            }
            #expect(crossAck?.0 == .permissionDenied)
            let crossGet = await status { try await intake.getIncident(.with { $0.incidentID = incident }, metadata: beta) }
            #expect(crossGet?.0 == .permissionDenied)
            let crossOpen = await status { try await intake.openIncident(openRequest("b-1", account: "ACME"), metadata: beta) }
            #expect(crossOpen?.0 == .permissionDenied)
            // Naming someone else's entitlement for one's own account: the ledger refuses.
            let foreignPack = await status {
                try await intake.openIncident(openRequest("b-2", account: "BETA", entitlement: "PACK-A"), metadata: beta)
            }
            #expect(foreignPack?.0 == .permissionDenied)
            let override = await status {
                try await intake.overrideBilling(
                    .with {
                        $0.incidentID = incident; $0.refund = true
                    }, metadata: acme)
            }
            #expect(override?.0 == .permissionDenied)
            let unknown = await status {
                try await intake.acknowledge(
                    .with {
                        $0.incidentID = "INC-NOPE"; $0.agentID = "x"
                    }, metadata: acme)
            }
            #expect(unknown?.0 == .notFound)

            // Beta's own incident works; the admin may act on both.
            let betaIncident = try await intake.openIncident(openRequest("b-3", account: "BETA"), metadata: beta)
            #expect(betaIncident.entitlementID == "PACK-B")
            _ = try await intake.acknowledge(
                .with {
                    $0.incidentID = betaIncident.incidentID; $0.agentID = "y"
                }, metadata: Tokens.metadata(Tokens.ops))
            _ = try await intake.acknowledge(
                .with {
                    $0.incidentID = incident; $0.agentID = "y"
                }, metadata: Tokens.metadata(Tokens.ops))
        }
        let stats = harness.instance.service.statistics
        #expect(stats.denied >= 7)
        try await harness.stop()
    }

    @Test func aRetryWithTheSameRequestIDIsOneEventAndOneCharge() async throws {
        let harness = try await IntakeHarness(clock: TestClock(Self.purchase.addingTimeInterval(3_600)))
        try await harness.grant(Self.pack("PACK-R", credits: 2))
        try await harness.waitForEntitlement("PACK-R")
        let acme = Tokens.metadata(Tokens.acme)
        let (first, second, ackFirst, ackSecond) = try await harness.withClient { intake in
            let first = try await intake.openIncident(openRequest("same-id"), metadata: acme)
            let second = try await intake.openIncident(openRequest("same-id"), metadata: acme)
            let ackFirst = try await intake.acknowledge(
                .with {
                    $0.requestID = "ack-1"; $0.incidentID = first.incidentID; $0.agentID = "ana"
                }, metadata: acme)
            let ackSecond = try await intake.acknowledge(
                .with {
                    $0.requestID = "ack-1"; $0.incidentID = first.incidentID; $0.agentID = "ana"
                }, metadata: acme)
            return (first, second, ackFirst, ackSecond)
        }
        #expect(first.incidentID == second.incidentID)
        #expect(first.eventID == second.eventID)
        #expect(first.creditsRemaining == 1)
        #expect(second.creditsRemaining == 1)  // not charged twice
        #expect(ackFirst.eventID == ackSecond.eventID)
        try await harness.waitForEntitlement("PACK-R") { $0.incidentsOpened >= 1 }
        #expect(harness.entitlement("PACK-R")?.charges.map(\.incidentID) == [first.incidentID])
        // The same request id from another tenant is another incident.
        let other = try await harness.withClient { intake in
            try await intake.openIncident(openRequest("same-id", account: "ACME"), metadata: Tokens.metadata(Tokens.ops))
        }
        #expect(other.incidentID != first.incidentID)
        #expect(other.creditsRemaining == 0)
        try await harness.stop()
    }

    @Test func validationErrorsNameTheField() async throws {
        let harness = try await IntakeHarness(clock: TestClock(Self.purchase.addingTimeInterval(3_600)))
        try await harness.grant(Self.pack("PACK-V"))
        try await harness.waitForEntitlement("PACK-V")
        let acme = Tokens.metadata(Tokens.acme)
        try await harness.withClient { intake in
            func expectInvalid(_ field: String, _ request: Triage_V1_OpenIncidentRequest) async {
                let failure = await status { try await intake.openIncident(request, metadata: acme) }
                #expect(failure?.0 == .invalidArgument, "\(field)")
                #expect(failure?.1.hasPrefix(field + ":") == true, "\(failure?.1 ?? "ok") should start with \(field):")
            }
            var request = openRequest("v")
            request.product = ""
            await expectInvalid("product", request)
            request = openRequest("v")
            request.customerAccount = " "
            await expectInvalid("customer_account", request)
            request = openRequest("v")
            request.severity = .unspecified
            await expectInvalid("severity", request)
            for tag in ["english please", "e", "en-", "en-x", "en_US", "dé", "en-toolongtag", "-en"] {
                request = openRequest("v")
                request.language = tag
                await expectInvalid("language", request)
            }
            request = openRequest("v")
            request.customerTimeZone = "Mars/Olympus"
            await expectInvalid("customer_time_zone", request)
            request = openRequest("v")
            request.title = ""
            await expectInvalid("title", request)
            request = openRequest("v")
            request.customerTimeZone = ""
            await expectInvalid("customer_time_zone", request)

            // Every missing field at once, in the message and as BadRequest field violations.
            request = openRequest("v")
            request.language = ""
            request.customerTimeZone = ""
            request.product = ""
            do {
                _ = try await intake.openIncident(request, metadata: acme)
                Issue.record("an incomplete request was accepted")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument)
                #expect(error.message == "product: required; language: required; customer_time_zone: required", "\(error.message)")
                let details = try? error.unpackGoogleRPCStatus()
                let requests: [ErrorDetails.BadRequest] = details?.details.compactMap { $0.badRequest } ?? []
                let fields = requests.flatMap { $0.violations.map { $0.field } }
                #expect(fields == ["product", "language", "customer_time_zone"], "\(String(describing: details))")
            } catch {
                Issue.record("unexpected \(error)")
            }

            var valid = openRequest("v-ok")
            valid.language = "de-CH-1996"  // subtags after the language
            let incident = try await intake.openIncident(valid, metadata: acme).incidentID
            let noAgent = await status { try await intake.acknowledge(.with { $0.incidentID = incident }, metadata: acme) }
            #expect(noAgent?.0 == .invalidArgument && noAgent?.1.hasPrefix("agent_id:") == true)
            let noIncident = await status {
                try await intake.addNote(
                    .with {
                        $0.author = "a"; $0.text = "t"
                    }, metadata: acme)
            }
            #expect(noIncident?.0 == .invalidArgument && noIncident?.1.hasPrefix("incident_id:") == true)
            // Pause reasons: the spelling, and a resume instant in the future within a year.
            let now = Self.purchase.addingTimeInterval(3_600)
            let badReason = await status {
                try await intake.waitOnCustomer(
                    .with {
                        $0.incidentID = incident; $0.pauseReason = "Waiting On Vendor"
                    }, metadata: acme)
            }
            #expect(badReason?.0 == .invalidArgument && badReason?.1.hasPrefix("pause_reason:") == true, "\(String(describing: badReason))")
            let past = await status {
                try await intake.waitOnCustomer(
                    .with {
                        $0.incidentID = incident; $0.resumeAt = Google_Protobuf_Timestamp(date: now.addingTimeInterval(-60))
                    },
                    metadata: acme)
            }
            #expect(past?.0 == .invalidArgument && past?.1.hasPrefix("resume_at:") == true, "\(String(describing: past))")
            let tooFar = await status {
                try await intake.waitOnCustomer(
                    .with {
                        $0.incidentID = incident; $0.resumeAt = Google_Protobuf_Timestamp(date: now.addingTimeInterval(400 * 86_400))
                    },
                    metadata: acme)
            }
            #expect(tooFar?.0 == .invalidArgument && tooFar?.1.contains("a year") == true, "\(String(describing: tooFar))")
            let noChildren = await status { try await intake.split(.with { $0.incidentID = incident }, metadata: acme) }
            #expect(noChildren?.0 == .invalidArgument && noChildren?.1.hasPrefix("children:") == true)
            let untitledChild = await status {
                try await intake.split(
                    .with {
                        $0.incidentID = incident; $0.children = [.with { $0.title = "ok" }, .init()]
                    }, metadata: acme)
            }
            #expect(untitledChild?.1.hasPrefix("children[1].title:") == true)
            let badRole = await status {
                try await intake.closeUnresolved(
                    .with {
                        $0.incidentID = incident; $0.closedBy = "ana"; $0.closerRole = "robot"
                    }, metadata: acme)
            }
            #expect(badRole?.0 == .invalidArgument && badRole?.1.hasPrefix("closer_role:") == true)
            let badSeverity = await status { try await intake.changeSeverity(.with { $0.incidentID = incident }, metadata: acme) }
            #expect(badSeverity?.1.hasPrefix("severity:") == true)
            // Every call reports every field at once, the incident id included.
            let empty = await status { try await intake.acknowledge(.init(), metadata: acme) }
            #expect(empty?.0 == .invalidArgument && empty?.1 == "incident_id: required; agent_id: required", "\(String(describing: empty))")
            let emptyClose = await status { try await intake.closeUnresolved(.with { $0.closerRole = "martian" }, metadata: acme) }
            #expect(
                emptyClose?.1 == "incident_id: required; closed_by: required; closer_role: must be one of agent, customer, system",
                "\(String(describing: emptyClose))"
            )
            let emptySplit = await status { try await intake.split(.with { $0.children = [.init()] }, metadata: acme) }
            #expect(emptySplit?.1 == "incident_id: required; children[0].title: required", "\(String(describing: emptySplit))")
            do {
                _ = try await intake.closeUnresolved(
                    .with {
                        $0.incidentID = incident; $0.closedBy = "ana"; $0.closerRole = "robot"
                    }, metadata: acme)
            } catch let error as RPCError {
                let violations = (try? error.unpackGoogleRPCStatus())?.details.compactMap { $0.badRequest }.flatMap {
                    $0.violations.map { $0.field }
                }
                #expect(violations == ["closer_role"], "the refused role comes with its field in the status details")
            }
        }
        #expect(harness.instance.service.statistics.invalid >= 12)
        try await harness.stop()
    }

    /// Exhausted, expired, not yet valid and no entitlement at all: FAILED_PRECONDITION with the
    /// reason; the expiry boundary is exact (valid 1 ms before, expired at the instant).
    @Test func entitlementProblemsAndTheExpiryBoundary() async throws {
        let clock = TestClock(Self.purchase)
        let harness = try await IntakeHarness(clock: clock)
        // Purchased 2028-02-29 10:00 in New York (EST): expires 2029-02-28 10:00 EST = 15:00Z.
        let leap = ISO8601DateFormatter().date(from: "2028-02-29T15:00:00Z")!
        try await harness.grant(Self.pack("PACK-LEAP", credits: 5, purchasedAt: leap, zone: "America/New_York"))
        try await harness.grant(Self.pack("PACK-ONE", account: "ACME-EU", credits: 1))
        try await harness.waitForEntitlement("PACK-LEAP")
        try await harness.waitForEntitlement("PACK-ONE")
        let expiry = ISO8601DateFormatter().date(from: "2029-02-28T15:00:00Z")!
        #expect(harness.entitlement("PACK-LEAP")?.expiresAt == expiry)
        let acme = Tokens.metadata(Tokens.acme)
        try await harness.withClient { intake in
            clock.set(leap.addingTimeInterval(-1))
            let early = await status { try await intake.openIncident(openRequest("early", entitlement: "PACK-LEAP"), metadata: acme) }
            #expect(early?.0 == .failedPrecondition)
            clock.set(expiry.addingTimeInterval(-0.001))
            let lastMoment = try await intake.openIncident(openRequest("last-moment", entitlement: "PACK-LEAP"), metadata: acme)
            #expect(lastMoment.creditsRemaining == 4)
            clock.set(expiry)
            let atExpiry = await status {
                try await intake.openIncident(openRequest("at-expiry", entitlement: "PACK-LEAP"), metadata: acme)
            }
            #expect(atExpiry?.0 == .failedPrecondition)
            #expect(atExpiry?.1.contains("expired") == true, "\(atExpiry?.1 ?? "")")
            // Auto-selection finds nothing valid and says why.
            let none = await status { try await intake.openIncident(openRequest("auto-expired"), metadata: acme) }
            #expect(none?.0 == .failedPrecondition)
            #expect(none?.1.contains("PACK-LEAP") == true, "\(none?.1 ?? "")")

            clock.set(Self.purchase.addingTimeInterval(60))
            _ = try await intake.openIncident(openRequest("eu-1", account: "ACME-EU"), metadata: acme)
            let exhausted = await status {
                try await intake.openIncident(openRequest("eu-2", account: "ACME-EU", entitlement: "PACK-ONE"), metadata: acme)
            }
            #expect(exhausted?.0 == .failedPrecondition)
            #expect(exhausted?.1.contains("1 of 1") == true, "\(exhausted?.1 ?? "")")
            let nothing = await status { try await intake.openIncident(openRequest("acme-none", account: "ACME"), metadata: acme) }
            #expect(nothing?.0 == .failedPrecondition)
        }
        try await harness.stop()
    }
}

@Suite("Intake: TLS and poison requests", .serialized)
struct IntakeTLSAndPoisonTests {
    /// With --tls-certificate/--tls-key the listener speaks TLS: a client trusting the
    /// certificate gets answers, a plaintext client does not.
    @Test func servesTLS() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("intake-tls")).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let (made, _, opensslErrors) = try await runProcess(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout", folder + "/key.pem", "-out", folder + "/cert.pem",
            ]
        )
        #expect(made == 0, "\(opensslErrors)")
        let harness = try await IntakeHarness(
            clock: TestClock(IntakeServiceTests.purchase.addingTimeInterval(60)),
            tls: IntakeTLS(certificateChainPath: folder + "/cert.pem", privateKeyPath: folder + "/key.pem")
        )
        try await harness.grant(IntakeServiceTests.pack("PACK-TLS"))
        try await harness.waitForEntitlement("PACK-TLS")
        let trusted = HTTP2ClientTransport.Posix.TransportSecurity.tls {
            $0.trustRoots = .certificates([.file(path: folder + "/cert.pem", format: .pem)])
        }
        let receipt = try await harness.withClient(tls: trusted) { intake in
            try await intake.openIncident(openRequest("tls-1"), metadata: Tokens.metadata(Tokens.acme))
        }
        #expect(receipt.entitlementID == "PACK-TLS")
        let plaintext = await status {
            try await withDeadline(seconds: 20) {
                try await harness.withClient(tls: .plaintext) { intake in
                    var options = CallOptions.defaults
                    options.timeout = .seconds(5)
                    return try await intake.openIncident(openRequest("tls-2"), metadata: Tokens.metadata(Tokens.acme), options: options)
                }
            }
        }
        #expect(plaintext != nil, "a plaintext client must not get an answer from a TLS listener")
        #expect(harness.entitlement("PACK-TLS")?.charges.count == 1)
        try await harness.stop()
    }

    /// A record on the request topic that is no request goes to the dead-letter topic with the
    /// reason; the ledger carries on.
    @Test func aPoisonRequestIsDeadLetteredAndTheLedgerCarriesOn() async throws {
        let harness = try await IntakeHarness(clock: TestClock(IntakeServiceTests.purchase.addingTimeInterval(60)))
        try await harness.grant(IntakeServiceTests.pack("PACK-P"))
        let producer = try KafkaProducer(configuration: harness.cluster.producerConfiguration(), logger: harness.cluster.logger)
        let sending = Task { try await producer.run() }
        defer { sending.cancel() }
        _ = try await producer.send(
            KafkaProducerMessage(topic: harness.topics.requests, key: Array("PACK-P".utf8), value: Array("not protobuf \u{1}\u{2}".utf8)))
        let dead = try await readAll(harness.topics.deadLetter, count: 1, cluster: harness.cluster)
        let reason = dead.first?.header(TriageHeader.deadLetterReason)?.stringValue ?? ""
        #expect(reason.contains("EntitlementRequest"), "\(reason)")
        #expect(dead.first?.header(TriageHeader.deadLetterTopic)?.stringValue == harness.topics.requests)
        try await harness.waitForEntitlement("PACK-P")
        let receipt = try await harness.withClient { intake in
            try await intake.openIncident(openRequest("after-poison"), metadata: Tokens.metadata(Tokens.acme))
        }
        #expect(receipt.creditsRemaining == 4)
        #expect(harness.instance.ledger.statistics.deadLettered == 1)
        try await harness.stop()
    }
}

@Suite("Entitlement ledger: redelivery after a crash")
struct LedgerRedeliveryTests {
    /// A crash after the state was stored but before the offsets were: the commands are read
    /// again. Those at or below the state's stamped offset are skipped — including a rejected
    /// open that the refund after it would now let through — and the one after is applied.
    @Test func commandsTheStoredStateAlreadyHoldsAreSkipped() async throws {
        let purchase = IntakeServiceTests.purchase
        let harness = try await IntakeHarness(clock: TestClock(purchase.addingTimeInterval(600))) { topics, cluster in
            let producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: cluster.logger)
            let sending = Task { try await producer.run() }
            defer { sending.cancel() }
            func request(_ id: String, _ command: LedgerCommand, events: [IncidentEvent] = []) throws -> KafkaProducerMessage {
                var request = EntitlementRequest()
                request.requestID = id
                request.entitlementID = "PACK-C"
                if id == "g" {
                    // As an older intake wrote it (JSON in the deprecated command_json): still read.
                    request.commandJson = String(decoding: try LedgerJSON.encode(command), as: UTF8.self)
                } else {
                    request.setLedgerCommand(command)
                }
                request.events = events
                return KafkaProducerMessage(topic: topics.requests, key: Array("PACK-C".utf8), value: try request.serializedBytes())
            }
            func opened(_ incident: String) -> IncidentEvent {
                .with {
                    $0.eventID = "ev-\(incident)"; $0.incidentID = incident; $0.producer = "intake"
                    $0.occurredAt = Google_Protobuf_Timestamp(date: purchase.addingTimeInterval(60))
                    $0.opened = .with {
                        $0.customerAccount = "ACME"; $0.product = "billing"; $0.severity = .b; $0.title = "t"; $0.language = "en";
                        $0.customerTimeZone = "UTC"
                    }
                }
            }
            let at = purchase.addingTimeInterval(60)
            let spec = GrantSpec(
                id: "PACK-C", kind: .fivePack, account: "ACME", purchasedAt: purchase, timeZone: "UTC", credits: 1, coverage: nil,
                calendar: nil, termYears: 1)
            // Offsets 0...3: grant, open A (takes the only credit), open B (rejected: exhausted),
            // close A unresolved (refunded: a credit is free again). Then open C at offset 4.
            let commands = [
                try request("g", .grant(spec)),
                try request("a", .open(incidentID: "INC-A", account: "ACME", at: at, parentIncidentID: nil), events: [opened("INC-A")]),
                try request("b", .open(incidentID: "INC-B", account: "ACME", at: at, parentIncidentID: nil), events: [opened("INC-B")]),
                try request(
                    "close-a",
                    .closeUnresolved(
                        incidentID: "INC-A", at: at.addingTimeInterval(1), closedBy: .agent, reason: "x", severity: "B", openedAt: at)),
                try request(
                    "c", .open(incidentID: "INC-C", account: "ACME", at: at.addingTimeInterval(2), parentIncidentID: nil),
                    events: [opened("INC-C")]),
            ]
            var reports: [KafkaDeliveryReport] = []
            for command in commands { reports.append(try await producer.send(command)) }
            // The state the ledger had stored before the crash: everything up to the refund
            // applied, stamped with the refund's offset.
            var state: Entitlement?
            for command in [
                LedgerCommand.grant(spec), .open(incidentID: "INC-A", account: "ACME", at: at, parentIncidentID: nil),
                .closeUnresolved(
                    incidentID: "INC-A", at: at.addingTimeInterval(1), closedBy: .agent, reason: "x", severity: "B", openedAt: at),
            ] {
                state = EntitlementLedger.apply(command, to: state, entitlementID: "PACK-C", policy: .standard).state
            }
            state?.appliedRequestOffset = reports[3].offset
            _ = try await producer.send(
                KafkaProducerMessage(
                    topic: topics.entitlements, key: Array("PACK-C".utf8), value: try LedgerJSON.encode(state!),
                    partition: reports[3].partition)
            )
        }
        try await eventually("the ledger read all five commands", timeout: .seconds(30)) {
            harness.instance.ledger.statistics.commands == 5
        }
        let figures = harness.instance.ledger.statistics
        #expect(figures.skipped == 4, "\(figures)")
        let replies = try await readAll(harness.topics.replies, count: 1, cluster: harness.cluster)
        #expect(
            figures.accepted == 1,
            "\(replies.map { record in (try? EntitlementReply(serializedBytes: Array(record.valueBytes ?? [])).ledgerAnswer()).map { "\($0)" } ?? "?" })"
        )
        try await harness.waitForEntitlement("PACK-C") { $0.charges.count == 2 }
        let entitlement = try #require(harness.entitlement("PACK-C"))
        #expect(entitlement.charges.map(\.incidentID) == ["INC-A", "INC-C"])
        #expect(entitlement.creditsRemaining == 0)
        let events = try await readAll(harness.topics.incidentEvents, count: 1, cluster: harness.cluster)
        #expect(events.compactMap { $0.keyString } == ["INC-C"], "INC-B stays rejected; INC-A's event was published before the crash")
        try await harness.stop()
    }
}
