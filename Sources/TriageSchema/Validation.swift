public import Foundation
public import SwiftProtobuf

/// A rule an event broke, naming the field (protobuf field path, e.g. `opened.severity`).
public struct SchemaViolation: Error, Hashable, Sendable, CustomStringConvertible {
    public let field: String
    public let message: String
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { "\(field): \(message)" }
}

/// Checks decoded events against the contract's rules. Decoding (is it protobuf?) and validation
/// (does it make sense?) are separate steps: a decodable event can still be invalid.
public struct IncidentEventValidator: Sendable {
    /// How far in the future `occurred_at` may be (clock skew between producers). Default 5 minutes.
    public var allowedClockSkew: TimeInterval
    /// The clock; injectable for tests.
    public var now: @Sendable () -> Date

    public init(allowedClockSkew: TimeInterval = 300, now: @escaping @Sendable () -> Date = { Date() }) {
        self.allowedClockSkew = allowedClockSkew
        self.now = now
    }

    /// Every rule the event breaks (empty when valid).
    public func violations(of event: IncidentEvent) -> [SchemaViolation] {
        var problems: [SchemaViolation] = []
        func require(_ condition: Bool, _ field: String, _ message: @autoclosure () -> String) {
            if !condition { problems.append(SchemaViolation(field: field, message: message())) }
        }
        require(!Self.isBlank(event.eventID), "event_id", "is required (used for idempotency)")
        require(!Self.isBlank(event.incidentID), "incident_id", "is required (the partition key)")
        // Out of Timestamp's range, converting to a Date overflows (a crash) and JSON has no text
        // for it: refused before anything else looks at the instants.
        require(event.occurredAt.isInProtobufRange, "occurred_at", Google_Protobuf_Timestamp.rangeMessage(event.occurredAt))
        if case .escalated(let escalated) = event.event {
            require(
                escalated.breachedDeadline.isInProtobufRange, "escalated.breached_deadline",
                Google_Protobuf_Timestamp.rangeMessage(escalated.breachedDeadline))
        }
        if case .slaWarning(let warning) = event.event {
            require(warning.deadline.isInProtobufRange, "sla_warning.deadline", Google_Protobuf_Timestamp.rangeMessage(warning.deadline))
        }
        if event.hasOccurredAt, event.occurredAt.isInProtobufRange {
            let occurred = event.occurredAt.date
            require(
                occurred <= now().addingTimeInterval(allowedClockSkew),
                "occurred_at",
                "is \(Int(occurred.timeIntervalSince(now()))) s in the future (allowed skew \(allowedClockSkew) s)"
            )
        } else if !event.hasOccurredAt {
            problems.append(SchemaViolation(field: "occurred_at", message: "is required"))
        }
        switch event.event {
        case nil:
            problems.append(SchemaViolation(field: "event", message: "no lifecycle event set (opened, acknowledged, ...)"))
        case .opened(let opened):
            require(!opened.customerAccount.isEmpty, "opened.customer_account", "is required")
            require(!opened.entitlementID.isEmpty, "opened.entitlement_id", "is required")
            require(!opened.product.isEmpty, "opened.product", "is required")
            require(Self.isKnown(opened.severity), "opened.severity", "must be A, B or C, got \(opened.severity)")
            require(Self.isKnown(opened.coverage), "opened.coverage", "must be 24x7 or business hours, got \(opened.coverage)")
            require(
                TimeZone(identifier: opened.customerTimeZone) != nil,
                "opened.customer_time_zone",
                "'\(opened.customerTimeZone)' is not an IANA time zone"
            )
            require(opened.parentIncidentID != event.incidentID, "opened.parent_incident_id", "an incident cannot be its own parent")
        case .acknowledged(let acknowledged):
            require(!acknowledged.agentID.isEmpty, "acknowledged.agent_id", "is required")
        case .assigned(let assigned):
            require(!assigned.agentID.isEmpty, "assigned.agent_id", "is required")
        case .reassigned(let reassigned):
            // Routers before ReturnedToQueue published a queue return as a Reassigned without a
            // target; such records stay readable (the analytics fold and the dashboard treat them
            // as queue returns). Routers publish ReturnedToQueue now; anyone else must name a target.
            require(
                !reassigned.toAgentID.isEmpty || event.producer == "router",
                "reassigned.to_agent_id",
                "is required (an incident going back to the queue is a ReturnedToQueue; a request to move it a ReassignRequested)"
            )
        case .returnedToQueue(let returned):
            require(!returned.fromAgentID.isEmpty, "returned_to_queue.from_agent_id", "is required")
        case .teamChanged(let moved):
            require(!moved.fromTeam.isEmpty, "team_changed.from_team", "is required")
            require(!moved.toTeam.isEmpty, "team_changed.to_team", "is required")
            require(moved.fromTeam != moved.toTeam, "team_changed.to_team", "equals from_team")
            require(!moved.cause.isEmpty, "team_changed.cause", "is required (overflow or follow_the_sun)")
        case .severityChanged(let change):
            require(Self.isKnown(change.to), "severity_changed.to", "must be A, B or C, got \(change.to)")
            require(change.from != change.to, "severity_changed.to", "equals the previous severity")
        case .escalated(let escalated):
            require(escalated.level >= 1, "escalated.level", "levels start at 1")
            require(escalated.hasBreachedDeadline, "escalated.breached_deadline", "is required")
        case .slaWarning(let warning):
            require((1...99).contains(warning.thresholdPercent), "sla_warning.threshold_percent", "must be 1...99")
        case .split(let split):
            require(!split.childIncidentIds.isEmpty, "split.child_incident_ids", "names no child incident")
            require(!split.childIncidentIds.contains(event.incidentID), "split.child_incident_ids", "contains the incident itself")
            require(Set(split.childIncidentIds).count == split.childIncidentIds.count, "split.child_incident_ids", "has duplicates")
        case .noteAdded(let note):
            require(!note.text.isEmpty, "note_added.text", "is empty")
        case .waitingOnCustomer, .customerResponded, .solutionDelivered, .closedResolved, .closedUnresolved,
            .closeRequestedByCustomer, .reopened, .reassignRequested:
            break
        }
        return problems
    }

    /// Throws the first violation.
    public func validate(_ event: IncidentEvent) throws(SchemaViolation) {
        if let first = violations(of: event).first { throw first }
    }

    /// Whether `text` is empty or only `CharacterSet.whitespaces` (space and tab in ASCII),
    /// without `trimmingCharacters`, which goes through `NSString` on Linux (it was ~3 % of the
    /// router's CPU, called twice for every event). Non-ASCII scalars ask the same set.
    static func isBlank(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII ? scalar == " " || scalar == "\t" : CharacterSet.whitespaces.contains(scalar)
        }
    }

    static func isKnown(_ severity: Severity) -> Bool {
        switch severity {
        case .a, .b, .c: true
        default: false
        }
    }

    static func isKnown(_ coverage: Coverage) -> Bool {
        switch coverage {
        case .coverage24X7, .businessHours: true
        default: false
        }
    }
}

extension Google_Protobuf_Timestamp {
    /// Seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the range a Timestamp may hold.
    public static let validSeconds: ClosedRange<Int64> = -62_135_596_800...253_402_300_799

    /// Within the range a Timestamp may hold (years 1 to 9999, nanos 0 to 999,999,999). Outside
    /// it, `date` can overflow and JSON has no text for the instant: check before using one
    /// that came from outside.
    public var isInProtobufRange: Bool { Self.validSeconds.contains(seconds) && (0..<1_000_000_000).contains(nanos) }

    static func rangeMessage(_ timestamp: Self) -> String {
        "is outside the Timestamp range (years 1 to 9999, nanos 0 to 999999999): seconds \(timestamp.seconds), nanos \(timestamp.nanos)"
    }
}
