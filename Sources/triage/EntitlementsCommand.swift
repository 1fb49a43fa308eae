import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TriageEntitlements
import TriageIntake
import TriageKafka
import TriageSchema
import TriageStreams

struct EntitlementsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "entitlements",
        abstract: "Grant, show and transfer entitlements (5-packs and support contracts).",
        discussion: """
            grant and transfer are commands to the entitlement ledger, which runs inside `triage \
            intake`: at least one intake must be running. show reads \(TriageTopic.entitlements) \
            directly.
            """,
        subcommands: [Grant.self, Show.self, Transfer.self, Billing.self]
    )

    /// Runs `body` with a ledger client (a producer and the reply reader running beside it).
    static func withLedger<T: Sendable>(
        _ connection: ConnectionOptions, timeout: Double, logger: Logger, _ body: @Sendable @escaping (LedgerClient) async throws -> T
    ) async throws -> T {
        let client = try connection.clientConfiguration()
        let admin = try await connection.reachableAdmin(client, logger: logger)
        guard
            let replies = try await connection.describe(TriageTopic.entitlementReplies, admin: admin, client: client)?.partitions.map(\.id)
        else {
            throw CommandFailure(
                "topic \(TriageTopic.entitlementReplies) does not exist; is Triage set up on this cluster? (triage topics create \(TriageTopic.entitlementReplies):6)"
            )
        }
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: client, linger: .milliseconds(1)), logger: logger)
        let ledger = LedgerClient(
            producer: producer, client: client, replyPartitions: replies, timeout: .milliseconds(Int64(timeout * 1000)), logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await producer.run()
                return nil
            }
            group.addTask {
                try await ledger.run()
                return nil
            }
            group.addTask { try await body(ledger) }
            defer {
                ledger.stop()
                group.cancelAll()
            }
            while let next = try await group.next() {
                if let result = next { return result }
            }
            throw CancellationError()
        }
    }

    static func print(_ entitlement: Entitlement, at now: Date = Date()) {
        let format = ISO8601DateFormatter()
        let credits = entitlement.credits.map { "\(entitlement.creditsRemaining ?? 0) of \($0) credits left" } ?? "unlimited incidents"
        Swift.print("\(entitlement.id)\t\(entitlement.kind.rawValue)\taccount \(entitlement.account)\t\(credits)")
        Swift.print(
            "  purchased \(format.string(from: entitlement.purchasedAt)) (\(entitlement.timeZone)), expires \(format.string(from: entitlement.expiresAt)); coverage \(entitlement.coverage.rawValue)"
                + (entitlement.calendar.map { ", calendar \($0)" } ?? "") + "; status \(status(entitlement.status(at: now)))"
        )
        Swift.print("  incidents opened: \(entitlement.incidentsOpened)")
        for charge in entitlement.charges {
            let billing = charge.billing.map { $0.refunded ? " — refunded (\($0.rule))" : " — charged (\($0.rule))" } ?? ""
            Swift.print(
                "  charge \(charge.incidentID) by \(charge.account) at \(format.string(from: charge.chargedAt))"
                    + (charge.parentIncidentID.map { " (split from \($0))" } ?? "") + billing)
        }
        for transfer in entitlement.transfers {
            Swift.print("  transferred \(transfer.from) → \(transfer.to) at \(format.string(from: transfer.at)) by \(transfer.by)")
        }
    }

    static func status(_ status: EntitlementStatus) -> String {
        let format = ISO8601DateFormatter()
        switch status {
        case .valid: return "valid"
        case .exhausted: return "exhausted"
        case .expired(let at): return "expired at \(format.string(from: at))"
        case .notYetValid(let at): return "valid from \(format.string(from: at))"
        }
    }

    static func result(_ answer: LedgerAnswer) throws -> LedgerOutcome {
        switch answer.outcome {
        case .success(let outcome): return outcome
        case .failure(let rejection): throw CommandFailure("the ledger refused: \(rejection.message) [\(rejection.code.rawValue)]")
        }
    }

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Grant an entitlement to an account.",
            discussion: """
                A 5-pack holds --credits incident credits (default 5) and expires --term-years after \
                --purchased-at, at the same local time in --time-zone (Feb 29 → Feb 28; docs/intake.md). \
                Support contracts (business-hours, 24x7) open any number of incidents during their term. \
                Granting the same id again with the same terms changes nothing; different terms are refused.
                """
        )

        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Entitlement id, e.g. PACK-2026-0001.") var id: String
        @Option(help: "5-pack, business-hours or 24x7.") var kind: String
        @Option(help: "The purchasing customer account.") var account: String
        @Option(help: "Purchase instant, ISO 8601 (default: now).") var purchasedAt: String?
        @Option(help: "IANA time zone the term is counted in.") var timeZone: String = "UTC"
        @Option(help: "Credits of a 5-pack (default 5).") var credits: Int?
        @Option(help: "SLA coverage of a 5-pack: business-hours (default) or 24x7.") var coverage: String?
        @Option(help: "Business calendar name for business-hours coverage.") var calendar: String?
        @Option(help: "Term in years.") var termYears: Int = 1
        @Option(help: "Seconds to wait for the ledger.") var timeout: Double = 20
        @OptionGroup var common: CommonOptions

        func validate() throws {
            guard ContractKind(rawValue: kind) != nil else { throw ValidationError("--kind must be 5-pack, business-hours or 24x7") }
            if let coverage, EntitlementCoverage(rawValue: coverage) == nil {
                throw ValidationError("--coverage must be business-hours or 24x7")
            }
            if let purchasedAt, ISO8601DateFormatter().date(from: purchasedAt) == nil {
                throw ValidationError("--purchased-at '\(purchasedAt)' is not ISO 8601, e.g. 2026-03-01T09:00:00Z")
            }
        }

        func run() async throws {
            let logger = common.bootstrapLogging(label: "triage.entitlements")
            guard let kind = ContractKind(rawValue: kind) else { throw ValidationError("--kind must be 5-pack, business-hours or 24x7") }
            let coverage = try coverage.map { value in
                guard let parsed = EntitlementCoverage(rawValue: value) else {
                    throw ValidationError("--coverage must be business-hours or 24x7")
                }
                return parsed
            }
            var purchase = Date()
            if let purchasedAt {
                guard let parsed = ISO8601DateFormatter().date(from: purchasedAt) else {
                    throw ValidationError("--purchased-at '\(purchasedAt)' is not ISO 8601, e.g. 2026-03-01T09:00:00Z")
                }
                purchase = parsed
            }
            let spec = GrantSpec(
                id: id, kind: kind, account: account, purchasedAt: purchase, timeZone: timeZone,
                credits: credits ?? (kind == .fivePack ? 5 : nil),
                coverage: coverage, calendar: calendar, termYears: termYears
            )
            let id = self.id
            let answer = try await EntitlementsCommand.withLedger(connection, timeout: timeout, logger: logger) { ledger in
                try await ledger.submit(
                    .grant(spec), entitlementID: id, requestID: "grant/\(id)/\(UUID().uuidString)", requestedBy: "triage entitlements grant"
                )
            }
            if case .granted(let existed) = try EntitlementsCommand.result(answer) {
                Swift.print(
                    existed ? "\(id) already granted with these terms; nothing changed" : "granted \(id) (\(kind.rawValue)) to \(account)")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show entitlements: credits, expiry, charges, billing decisions, transfers.")

        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Entitlement ids (default: all).") var ids: [String] = []
        @Option(help: "Only this account's entitlements.") var account: String?
        @OptionGroup var common: CommonOptions

        func run() async throws {
            let logger = common.bootstrapLogging(label: "triage.entitlements")
            let client = try connection.clientConfiguration()
            let admin = try await connection.reachableAdmin(client, logger: logger)
            guard
                let partitions = try await connection.describe(TriageTopic.entitlements, admin: admin, client: client)?.partitions.map(\.id)
            else {
                throw CommandFailure("topic \(TriageTopic.entitlements) does not exist; no entitlement was ever granted on this cluster")
            }
            let view = KeyedTopicView<Entitlement>.entitlements(partitions: partitions, client: client, logger: logger)
            let reader = Task { try await view.run() }
            defer { reader.cancel() }
            try await view.ready()
            let chosen = view.values.filter { (ids.isEmpty || ids.contains($0.id)) && (account == nil || $0.account == account) }.sorted {
                $0.id < $1.id
            }
            for missing in ids where !chosen.contains(where: { $0.id == missing }) { Swift.print("\(missing): no such entitlement") }
            for entitlement in chosen { EntitlementsCommand.print(entitlement) }
            if chosen.isEmpty && ids.isEmpty { Swift.print("no entitlements" + (account.map { " for account \($0)" } ?? "")) }
            view.stop()
        }
    }

    struct Transfer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Transfer an entitlement to another account; the remaining credits go with it.",
            discussion: "Incidents already opened stay with the account that opened them."
        )

        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Entitlement id.") var id: String
        @Option(help: "The new owning account.") var to: String
        @Option(help: "Who asks (kept in the transfer history).") var by: String = ProcessInfo.processInfo.environment["USER"] ?? "operator"
        @Option(help: "Idempotency key: repeating a transfer with the same key changes nothing.") var requestID: String?
        @Option(help: "Seconds to wait for the ledger.") var timeout: Double = 20
        @OptionGroup var common: CommonOptions

        func run() async throws {
            let logger = common.bootstrapLogging(label: "triage.entitlements")
            let key = requestID ?? UUID().uuidString
            let command = LedgerCommand.transfer(toAccount: to, by: by, at: Date(), requestID: key)
            let id = self.id
            let answer = try await EntitlementsCommand.withLedger(connection, timeout: timeout, logger: logger) { ledger in
                try await ledger.submit(
                    command, entitlementID: id, requestID: "transfer/\(id)/\(key)", requestedBy: "triage entitlements transfer")
            }
            if case .transferred(let from, let to, let done) = try EntitlementsCommand.result(answer) {
                Swift.print(done ? "\(id) was already transferred to \(to) by this request" : "transferred \(id): \(from) → \(to)")
            }
        }
    }

    struct Billing: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Override the billing decision of an incident closed unresolved (refund or charge its credit)."
        )

        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Entitlement id the incident was charged to.") var id: String
        @Argument(help: "Incident id.") var incident: String
        @Flag(exclusivity: .exclusive, help: "The decision.") var decision: Decision
        @Option(help: "Why (kept with the decision).") var note: String?
        @Option(help: "Who decides.") var by: String = ProcessInfo.processInfo.environment["USER"] ?? "operator"
        @Option(help: "Seconds to wait for the ledger.") var timeout: Double = 20
        @OptionGroup var common: CommonOptions

        enum Decision: String, EnumerableFlag {
            case refund, charge
        }

        func run() async throws {
            let logger = common.bootstrapLogging(label: "triage.entitlements")
            let command = LedgerCommand.overrideBilling(incidentID: incident, refund: decision == .refund, by: by, note: note, at: Date())
            let id = self.id
            let answer = try await EntitlementsCommand.withLedger(connection, timeout: timeout, logger: logger) { ledger in
                try await ledger.submit(
                    command, entitlementID: id, requestID: "billing/\(id)/\(UUID().uuidString)", requestedBy: "triage entitlements billing")
            }
            if case .billed(let billing, let remaining, let changed) = try EntitlementsCommand.result(answer) {
                Swift.print(
                    "\(incident): \(billing.refunded ? "refunded" : "charged") (\(changed ? "changed" : "unchanged")); "
                        + (remaining.map { "\($0) credit(s) left" } ?? "unlimited")
                )
            }
        }
    }
}
