import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
public import Logging
public import ServiceLifecycle
import Synchronization
import TriageEntitlements
public import TriageEscalator
public import TriageIntake
import TriageKafka
import TriageSLA
import TriageSchema

/// `triage dev`'s portal: grants two demo entitlements (a 24x7 contract and a 5-pack) and then,
/// every few seconds, opens an incident through the gRPC front door, alternating between them,
/// and acknowledges it. The 5-pack runs out after five incidents, so the live line shows the
/// FAILED_PRECONDITION answers a portal would get.
public final class DevIntakeDriver: Service, Sendable {
    public struct Figures: Sendable {
        public var opened = 0
        public var acknowledged = 0
        public var refused = 0
        public var lastRefusal = ""
        public var packCreditsLeft: Int?
        /// Trace ids the portal sent (one per open).
        public var traceIDs: Set<String> = []
    }

    public static let contract = "DEMO-24X7"
    public static let pack = "DEMO-PACK"

    public let intakePort: @Sendable () async throws -> Int
    public let ledger: LedgerClient
    public let token: String
    public let clock: any SlaTimeSource
    public let interval: Duration
    public let logger: Logger
    private let state = Mutex(Figures())

    public init(
        intakePort: @escaping @Sendable () async throws -> Int, ledger: LedgerClient, token: String, clock: any SlaTimeSource,
        interval: Duration,
        logger: Logger
    ) {
        self.intakePort = intakePort
        self.ledger = ledger
        self.token = token
        self.clock = clock
        self.interval = interval
        self.logger = logger
    }

    public var figures: Figures { state.withLock { $0 } }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            do {
                try await self.drive()
            } catch is CancellationError {
            } catch {
                self.logger.error("dev portal stopped", metadata: ["error": "\(error)"])
            }
        }
    }

    private func drive() async throws {
        let port = try await intakePort()
        let purchased = clock.now()
        for spec in [
            GrantSpec(
                id: Self.contract, kind: .twentyFourSeven, account: "acct-contract", purchasedAt: purchased, timeZone: "America/New_York",
                credits: nil,
                coverage: nil, calendar: nil, termYears: 1
            ),
            GrantSpec(
                id: Self.pack, kind: .fivePack, account: "acct-pack", purchasedAt: purchased, timeZone: "America/New_York", credits: 5,
                coverage: nil,
                calendar: nil, termYears: 1
            ),
        ] {
            _ = try await ledger.submit(
                .grant(spec), entitlementID: spec.id, requestID: "dev-grant/\(spec.id)/\(UUID())", requestedBy: "triage dev")
        }
        var metadata = Metadata()
        metadata.addString("Bearer \(token)", forKey: "authorization")
        try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext))
        { client in
            let intake = Triage_V1_IncidentIntake.Client(wrapping: client)
            var index = 0
            while !Task.isCancelled {
                let account = index % 2 == 0 ? "acct-contract" : "acct-pack"
                // Every fourth (a Sev A on the 24x7 contract) stays unanswered, so its SLA
                // warnings and escalations show up within seconds.
                let unanswered = index % 4 == 2
                // Each open starts a trace; the escalator's warnings for it and the notifier's
                // webhooks continue it (the dev receiver counts the ones that arrive).
                let trace = TraceContext.newTrace()
                var callMetadata = metadata
                callMetadata.addString(trace.traceparent, forKey: "traceparent")
                do {
                    let receipt = try await intake.openIncident(
                        .with {
                            $0.requestID = "dev-\(index)-\(UUID())"; $0.customerAccount = account; $0.product = "billing";
                            $0.language = "en"
                            $0.severity = unanswered ? .a : [.b, .c][index % 2]; $0.customerTimeZone = "America/New_York";
                            $0.title = "portal incident \(index)"
                            $0.team = "tier-1"
                        },
                        metadata: callMetadata
                    )
                    state.withLock {
                        $0.traceIDs.insert(trace.traceID)
                        $0.opened += 1
                        if account == "acct-pack" { $0.packCreditsLeft = Int(receipt.creditsRemaining) }
                    }
                    if !unanswered {
                        _ = try await intake.acknowledge(
                            .with {
                                $0.requestID = "dev-ack-\(index)"; $0.incidentID = receipt.incidentID; $0.agentID = "agent-1"
                            }, metadata: callMetadata
                        )
                        state.withLock { $0.acknowledged += 1 }
                    }
                } catch let error as RPCError {
                    state.withLock {
                        $0.refused += 1
                        $0.lastRefusal = "\(IntakeService.statusName(error.code)): \(error.message)"
                    }
                }
                index += 1
                try await Task.sleep(for: interval)
            }
        }
    }
}
