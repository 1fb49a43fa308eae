import Foundation
public import ServiceLifecycle
import SwiftProtobuf
import Synchronization
public import TriageEscalator
public import TriageKafka
import TriageSchema
import TriageStreams

/// The workload of `triage dev`: customers opening incidents at a fixed rate on SLA time with a
/// realistic severity mix (A 10 %, B 35 %, C 55 %), agents answering after varied delays (some
/// too late, a tenth never), some incidents waiting on the customer for a while, most resolved
/// hours later and a few closed unresolved. Each event is published when its SLA time comes.
public final class IncidentSimulator: Service, Sendable {
    let producer: KafkaProducer
    let clock: any SlaTimeSource
    let rate: Double
    private let count = Atomic<Int>(0)
    /// With `tracksDeliveries`, the ids of events the broker acknowledged (`triage chaos`
    /// audits against them); otherwise events are enqueued and not followed up.
    private let tracksDeliveries: Bool
    /// Where the broker said each delivered event was stored (partition, offset).
    private let acknowledgements = Mutex<[String: (partition: Int32, offset: Int64)]>([:])
    private let failed = Atomic<Int>(0)
    /// With `publicNotes`, acknowledged incidents get customer-visible notes now and then (the
    /// update clock starts over at each; `triage chaos` audits its escalations).
    private let publicNotes: Bool
    /// With `variety` (`triage dev`): public notes, customers in four languages and time zones,
    /// and pauses for every reason of the default SLA policy (a scheduled follow-up resumes by
    /// itself).
    private let variety: Bool

    public init(
        producer: KafkaProducer, clock: any SlaTimeSource, rate: Double, tracksDeliveries: Bool = false, publicNotes: Bool = false,
        variety: Bool = false
    ) {
        self.producer = producer
        self.clock = clock
        self.rate = rate
        self.tracksDeliveries = tracksDeliveries
        self.publicNotes = publicNotes || variety
        self.variety = variety
    }

    /// Customers' languages and time zones with `variety`, by account number modulo 4.
    static let customerLocales = [
        ("en", "America/New_York"), ("de", "Europe/Berlin"), ("fr", "Europe/Paris"), ("es", "America/Mexico_City"),
    ]
    static let pauseReasons = ["waiting_on_customer", "waiting_on_vendor", "waiting_on_engineering", "scheduled_follow_up"]

    /// Event ids the broker acknowledged (empty unless `tracksDeliveries`).
    public var deliveredEvents: Set<String> { acknowledgements.withLock { Set($0.keys) } }
    /// The partition and offset the broker acknowledged for `event` (with `tracksDeliveries`).
    public func acknowledgement(of event: String) -> (partition: Int32, offset: Int64)? { acknowledgements.withLock { $0[event] } }
    /// Events that could not be delivered (only counted with `tracksDeliveries`).
    public var failedEvents: Int { failed.load(ordering: .relaxed) }

    public var opened: Int { count.load(ordering: .relaxed) }

    /// The lifecycle of one simulated incident, as (SLA minutes after opening, event) pairs.
    static func story(
        _ incident: String, index: Int, openedAt: Date, publicNotes: Bool = false, variety: Bool = false,
        random: inout some RandomNumberGenerator
    ) -> [(Double, IncidentEvent)] {
        func event(_ suffix: String, _ build: (inout IncidentEvent) -> Void) -> IncidentEvent {
            var event = IncidentEvent.with {
                $0.eventID = "\(incident)-\(suffix)"; $0.incidentID = incident; $0.producer = "simulator"
            }
            build(&event)
            return event
        }
        let roll = Double.random(in: 0..<1, using: &random)
        let severity: Severity = roll < 0.10 ? .a : roll < 0.45 ? .b : .c
        let target: Double = severity == .a ? 120 : severity == .b ? 240 : 480
        let agent = "agent-\(Int.random(in: 1...12, using: &random))"
        var story: [(Double, IncidentEvent)] = [
            (
                0,
                event("opened") {
                    $0.opened = .with {
                        $0.customerAccount = "acct-\(index % 17)"; $0.entitlementID = "pack-\(index % 17)"; $0.product = "billing";
                        $0.language = variety ? customerLocales[index % 17 % 4].0 : "en"
                        $0.severity = severity; $0.coverage = severity == .a || index % 2 == 0 ? .coverage24X7 : .businessHours
                        $0.customerTimeZone = variety ? customerLocales[index % 17 % 4].1 : "America/New_York";
                        $0.title = "simulated incident \(index)"; $0.team = "tier-1"
                    }
                }
            )
        ]
        func stamped(_ story: [(Double, IncidentEvent)]) -> [(Double, IncidentEvent)] {
            story.map { minutes, event in
                var event = event
                event.occurredAt = Google_Protobuf_Timestamp(date: openedAt.addingTimeInterval(minutes * 60))
                return (minutes, event)
            }
        }
        // Never answered: warnings, then escalations.
        guard Double.random(in: 0..<1, using: &random) >= 0.10 else { return stamped(story) }
        // Answered after 20 %–130 % of the target: about a fifth breach it first.
        let answered = target * Double.random(in: 0.2...1.3, using: &random)
        story.append((answered, event("ack") { $0.acknowledged = .with { $0.agentID = agent } }))
        var resolved = answered + Double.random(in: 30...480, using: &random)
        if Double.random(in: 0..<1, using: &random) < 0.2 {  // waits on the customer for a while
            let waits = answered + 10
            let responds = waits + Double.random(in: 30...240, using: &random)
            let reason = variety ? pauseReasons.randomElement(using: &random)! : "waiting_on_customer"
            story.append(
                (
                    waits,
                    event("wait") {
                        $0.waitingOnCustomer = .with {
                            $0.reason = reason == "waiting_on_customer" ? "need logs" : reason.replacingOccurrences(of: "_", with: " ")
                            if variety { $0.pauseReason = reason }
                            // A follow-up booked for a date: the clocks it pauses start again then by themselves.
                            if reason == "scheduled_follow_up" {
                                $0.resumeAt = Google_Protobuf_Timestamp(date: openedAt.addingTimeInterval((waits + 60) * 60))
                            }
                        }
                    }
                ))
            story.append((responds, event("respond") { $0.customerResponded = .init() }))
            resolved = max(resolved, responds + 20)
        }
        if publicNotes {
            // Zero to three customer-visible notes between the answer and the solution, some far
            // enough apart for the update clock to breach in between.
            var at = answered
            for note in 0..<Int.random(in: 0...3, using: &random) {
                at += Double.random(in: 20...240, using: &random)
                guard at < resolved - 10 else { break }
                story.append(
                    (
                        at,
                        event("note-\(note)") {
                            $0.noteAdded = .with {
                                $0.author = agent; $0.text = "update \(note)"; $0.public = true
                            }
                        }
                    ))
            }
        }
        if Double.random(in: 0..<1, using: &random) < 0.05 {
            story.append(
                (
                    resolved,
                    event("closed") {
                        $0.closedUnresolved = .with {
                            $0.closedBy = agent; $0.reason = "cannot_reproduce"
                        }
                    }
                ))
        } else {
            story.append(
                (
                    resolved - 5,
                    event("solution") {
                        $0.solutionDelivered = .with {
                            $0.agentID = agent; $0.summary = "fixed"
                        }
                    }
                ))
            story.append((resolved, event("closed") { $0.closedResolved = .with { $0.closedBy = agent } }))
        }
        return stamped(story)
    }

    public func run() async throws {
        guard rate > 0 else { return try await gracefulShutdown() }
        let publisher = IncidentEventPublisher(producer: producer, validator: .init(now: { [clock] in clock.now() }))
        let run = UUID().uuidString.prefix(4).lowercased()
        await cancelWhenGracefulShutdown {
            var random = SystemRandomNumberGenerator()
            var pending: [(due: Date, event: IncidentEvent)] = []  // sorted by due
            var index = 0
            var nextOpen = self.clock.now()
            while !Task.isCancelled {
                let now = self.clock.now()
                if now >= nextOpen {
                    let incident = "INC-\(run)-\(index)"
                    for (minutes, event) in Self.story(
                        incident, index: index, openedAt: now, publicNotes: self.publicNotes, variety: self.variety, random: &random)
                    {
                        let due = now.addingTimeInterval(minutes * 60)
                        let position = pending.firstIndex { $0.due > due } ?? pending.endIndex
                        pending.insert((due, event), at: position)
                    }
                    self.count.add(1, ordering: .relaxed)
                    index += 1
                    nextOpen = nextOpen.addingTimeInterval(self.scale / self.rate)
                }
                while let first = pending.first, first.due <= now {
                    pending.removeFirst()
                    guard self.tracksDeliveries else {
                        _ = try? await publisher.producer.enqueue(publisher.record(for: first.event))
                        continue
                    }
                    let record = try? publisher.record(for: first.event)
                    let id = first.event.eventID
                    Task {
                        do {
                            guard let record else { throw CancellationError() }
                            let report = try await publisher.producer.send(record)
                            self.acknowledgements.withLock { $0[id] = (report.partition, report.offset) }
                        } catch {
                            self.failed.add(1, ordering: .relaxed)
                        }
                    }
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    private var scale: Double { (clock as? ScaledClock)?.scale ?? 1 }
}
