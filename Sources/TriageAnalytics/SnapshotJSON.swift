public import Foundation
import TriageCore
import TriageSLA
import TriageSchema

// The JSON form of the `triage.incident-state` value (docs/analytics.md,
// schemas/incident-state.schema.json): snake_case keys, every key always present (`null` when
// unknown), instants as RFC 3339 UTC with milliseconds, enums as in the analytics record.

extension IncidentSnapshot: Codable {
    /// The snapshot as published on `triage.incident-state` (keys sorted, so equal snapshots give
    /// equal bytes).
    public func jsonData() throws -> Data { Data(try jsonBytes()) }

    /// ``jsonData()`` as bytes, written directly (``JSONBuffer``): exactly what `JSONEncoder`
    /// (`.sortedKeys`, `.withoutEscapingSlashes`) writes for ``encode(to:)``, in a fraction of
    /// the time — the feed writes a snapshot per event. Throws as `JSONEncoder` does for a
    /// double that is not finite.
    public func jsonBytes() throws -> [UInt8] {
        var json = JSONBuffer(capacity: 1_024)
        try write(into: &json)
        return json.bytes
    }

    /// The members of ``encode(to:)`` in sorted key order.
    func write(into json: inout JSONBuffer) throws {
        json.raw("{")
        json.key("acknowledged_at", first: true)
        json.instant(acknowledgedAt)
        json.key("assigned_agent_id")
        json.string(assignedAgentID, style: .jsonEncoder)
        json.key("closed_at")
        json.instant(closedAt)
        json.key("closed_by")
        json.string(closedBy, style: .jsonEncoder)
        json.key("coverage")
        json.string(EnumName.coverage(coverage), style: .jsonEncoder)
        json.key("credit_refunded")
        json.bool(creditRefunded)
        json.key("customer_account")
        json.string(customerAccount, style: .jsonEncoder)
        json.key("customer_time_zone")
        json.string(customerTimeZone, style: .jsonEncoder)
        json.key("entitlement_id")
        json.string(entitlementID, style: .jsonEncoder)
        json.key("event_count")
        json.int(eventCount)
        json.key("first_response")
        try firstResponse.write(into: &json)
        json.key("first_response_business_minutes")
        try json.number(firstResponseBusinessMinutes)
        json.key("incident_id")
        json.string(incidentID, style: .jsonEncoder)
        json.key("language")
        json.string(language, style: .jsonEncoder)
        json.key("last_agent_id")
        json.string(lastAgentID, style: .jsonEncoder)
        json.key("last_event_at")
        json.instant(lastEventAt)
        json.key("opened_at")
        json.instant(openedAt)
        json.key("outcome")
        json.string(outcome.rawValue, style: .jsonEncoder)
        json.key("parent_incident_id")
        json.string(parentIncidentID, style: .jsonEncoder)
        json.key("product")
        json.string(product, style: .jsonEncoder)
        json.key("reassignment_count")
        json.int(reassignmentCount)
        json.key("recent_event_ids")
        json.strings(recentEventIDs)
        json.key("reopen_count")
        json.int(reopenCount)
        json.key("resolution")
        try resolution.write(into: &json)
        json.key("severity")
        json.string(EnumName.severity(severity), style: .jsonEncoder)
        json.key("sla")
        if let sla { try sla.write(into: &json) } else { json.null() }
        json.key("snapshot_version")
        json.int(Self.version)
        json.key("split_children")
        json.strings(splitChildren)
        json.key("status")
        json.string(status.rawValue, style: .jsonEncoder)
        json.key("status_before_waiting")
        if let statusBeforeWaiting { json.string(statusBeforeWaiting.rawValue, style: .jsonEncoder) } else { json.null() }
        json.key("team")
        json.string(team, style: .jsonEncoder)
        json.key("title")
        json.string(title, style: .jsonEncoder)
        json.key("waiting_on_customer_minutes")
        try json.number(waitingOnCustomerMinutes)
        json.key("waiting_since")
        json.instant(waitingSince)
        json.raw("}")
    }

    /// A snapshot read back from `triage.incident-state`.
    public init(jsonData: Data) throws {
        self = try JSONDecoder().decode(IncidentSnapshot.self, from: jsonData)
    }

    enum CodingKeys: String, CodingKey {
        case snapshotVersion = "snapshot_version"
        case incidentID = "incident_id"
        case severity, coverage, product
        case customerAccount = "customer_account"
        case customerTimeZone = "customer_time_zone"
        case entitlementID = "entitlement_id"
        case language, team
        case parentIncidentID = "parent_incident_id"
        case title
        case status
        case statusBeforeWaiting = "status_before_waiting"
        case assignedAgentID = "assigned_agent_id"
        case lastAgentID = "last_agent_id"
        case reassignmentCount = "reassignment_count"
        case openedAt = "opened_at"
        case acknowledgedAt = "acknowledged_at"
        case closedAt = "closed_at"
        case closedBy = "closed_by"
        case creditRefunded = "credit_refunded"
        case outcome
        case reopenCount = "reopen_count"
        case splitChildren = "split_children"
        case firstResponseBusinessMinutes = "first_response_business_minutes"
        case firstResponse = "first_response"
        case resolution
        case waitingOnCustomerMinutes = "waiting_on_customer_minutes"
        case waitingSince = "waiting_since"
        case sla
        case recentEventIDs = "recent_event_ids"
        case eventCount = "event_count"
        case lastEventAt = "last_event_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.version, forKey: .snapshotVersion)
        try container.encode(incidentID, forKey: .incidentID)
        try container.encode(EnumName.severity(severity), forKey: .severity)
        try container.encode(EnumName.coverage(coverage), forKey: .coverage)
        try container.encode(product, forKey: .product)
        try container.encode(customerAccount, forKey: .customerAccount)
        try container.encode(customerTimeZone, forKey: .customerTimeZone)
        try container.encode(entitlementID, forKey: .entitlementID)
        try container.encode(language, forKey: .language)
        try container.encode(team, forKey: .team)
        try container.encode(parentIncidentID, forKey: .parentIncidentID)
        try container.encode(title, forKey: .title)
        try container.encode(status, forKey: .status)
        try container.encodeOrNull(statusBeforeWaiting, forKey: .statusBeforeWaiting)
        try container.encode(assignedAgentID, forKey: .assignedAgentID)
        try container.encode(lastAgentID, forKey: .lastAgentID)
        try container.encode(reassignmentCount, forKey: .reassignmentCount)
        try container.encodeOrNull(openedAt.map(AnalyticsInstant.string), forKey: .openedAt)
        try container.encodeOrNull(acknowledgedAt.map(AnalyticsInstant.string), forKey: .acknowledgedAt)
        try container.encodeOrNull(closedAt.map(AnalyticsInstant.string), forKey: .closedAt)
        try container.encode(closedBy, forKey: .closedBy)
        try container.encode(creditRefunded, forKey: .creditRefunded)
        try container.encode(outcome, forKey: .outcome)
        try container.encode(reopenCount, forKey: .reopenCount)
        try container.encode(splitChildren, forKey: .splitChildren)
        try container.encodeOrNull(firstResponseBusinessMinutes, forKey: .firstResponseBusinessMinutes)
        try container.encode(firstResponse, forKey: .firstResponse)
        try container.encode(resolution, forKey: .resolution)
        try container.encode(waitingOnCustomerMinutes, forKey: .waitingOnCustomerMinutes)
        try container.encodeOrNull(waitingSince.map(AnalyticsInstant.string), forKey: .waitingSince)
        try container.encodeOrNull(sla, forKey: .sla)
        try container.encode(recentEventIDs, forKey: .recentEventIDs)
        try container.encode(eventCount, forKey: .eventCount)
        try container.encodeOrNull(lastEventAt.map(AnalyticsInstant.string), forKey: .lastEventAt)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let version = try container.decode(Int.self, forKey: .snapshotVersion)
        guard version == Self.version else {
            throw DecodingError.dataCorruptedError(
                forKey: .snapshotVersion, in: container, debugDescription: "unknown snapshot version \(version)")
        }
        self.init(incidentID: try container.decode(String.self, forKey: .incidentID))
        severity = try container.decodeName(.severity, EnumName.severity)
        coverage = try container.decodeName(.coverage, EnumName.coverage)
        product = try container.decode(String.self, forKey: .product)
        customerAccount = try container.decode(String.self, forKey: .customerAccount)
        customerTimeZone = try container.decodeIfPresent(String.self, forKey: .customerTimeZone) ?? ""
        entitlementID = try container.decode(String.self, forKey: .entitlementID)
        language = try container.decode(String.self, forKey: .language)
        team = try container.decode(String.self, forKey: .team)
        parentIncidentID = try container.decode(String.self, forKey: .parentIncidentID)
        title = try container.decode(String.self, forKey: .title)
        status = try container.decode(IncidentStatus.self, forKey: .status)
        statusBeforeWaiting = try container.decodeIfPresent(IncidentStatus.self, forKey: .statusBeforeWaiting)
        assignedAgentID = try container.decode(String.self, forKey: .assignedAgentID)
        lastAgentID = try container.decode(String.self, forKey: .lastAgentID)
        reassignmentCount = try container.decode(Int.self, forKey: .reassignmentCount)
        openedAt = try container.decodeInstant(.openedAt)
        acknowledgedAt = try container.decodeInstant(.acknowledgedAt)
        closedAt = try container.decodeInstant(.closedAt)
        closedBy = try container.decode(String.self, forKey: .closedBy)
        creditRefunded = try container.decode(Bool.self, forKey: .creditRefunded)
        outcome = try container.decode(IncidentOutcome.self, forKey: .outcome)
        reopenCount = try container.decode(Int.self, forKey: .reopenCount)
        splitChildren = try container.decode([String].self, forKey: .splitChildren)
        firstResponseBusinessMinutes = try container.decodeIfPresent(Double.self, forKey: .firstResponseBusinessMinutes)
        firstResponse = try container.decode(SlaMeasure.self, forKey: .firstResponse)
        resolution = try container.decode(SlaMeasure.self, forKey: .resolution)
        waitingOnCustomerMinutes = try container.decode(Double.self, forKey: .waitingOnCustomerMinutes)
        waitingSince = try container.decodeInstant(.waitingSince)
        sla = try container.decodeIfPresent(SlaTrackerState.self, forKey: .sla)
        recentEventIDs = try container.decode([String].self, forKey: .recentEventIDs)
        eventCount = try container.decode(Int.self, forKey: .eventCount)
        lastEventAt = try container.decodeInstant(.lastEventAt)
    }
}

extension SlaMeasure: Codable {
    enum CodingKeys: String, CodingKey {
        case targetBusinessMinutes = "target_business_minutes"
        case usedBusinessMinutes = "used_business_minutes"
        case breached
        case breachedByBusinessMinutes = "breached_by_business_minutes"
        case isFinal = "final"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(targetBusinessMinutes, forKey: .targetBusinessMinutes)
        try container.encodeOrNull(usedBusinessMinutes, forKey: .usedBusinessMinutes)
        try container.encode(breached, forKey: .breached)
        try container.encodeOrNull(breachedByBusinessMinutes, forKey: .breachedByBusinessMinutes)
        try container.encode(isFinal, forKey: .isFinal)
    }

    /// ``encode(to:)`` in sorted key order (see ``IncidentSnapshot/jsonBytes()``).
    func write(into json: inout JSONBuffer) throws {
        json.raw("{")
        json.key("breached", first: true)
        json.bool(breached)
        json.key("breached_by_business_minutes")
        try json.number(breachedByBusinessMinutes)
        json.key("final")
        json.bool(isFinal)
        json.key("target_business_minutes")
        try json.number(targetBusinessMinutes)
        json.key("used_business_minutes")
        try json.number(usedBusinessMinutes)
        json.raw("}")
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            targetBusinessMinutes: try container.decodeIfPresent(Double.self, forKey: .targetBusinessMinutes),
            usedBusinessMinutes: try container.decodeIfPresent(Double.self, forKey: .usedBusinessMinutes),
            breached: try container.decode(Bool.self, forKey: .breached),
            breachedByBusinessMinutes: try container.decodeIfPresent(Double.self, forKey: .breachedByBusinessMinutes),
            isFinal: try container.decode(Bool.self, forKey: .isFinal)
        )
    }
}

extension SlaTrackerState: Codable {
    enum CodingKeys: String, CodingKey {
        case severity, coverage, calendar
        case waitingOnCustomer = "waiting_on_customer"
        case pauseReason = "pause_reason"
        case resumeAt = "resume_at"
        case progress
        case closedAt = "closed_at"
        case firstResponse = "first_response"
        case resolution
        case update
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(severity.rawValue, forKey: .severity)
        try container.encode(coverage.rawValue, forKey: .coverage)
        try container.encode(calendar, forKey: .calendar)
        try container.encode(waitingOnCustomer, forKey: .waitingOnCustomer)
        try container.encodeIfPresent(pauseReason, forKey: .pauseReason)
        try container.encodeIfPresent(resumeAt, forKey: .resumeAt)
        if progress != 0 { try container.encode(progress, forKey: .progress) }
        try container.encodeOrNull(closedAt, forKey: .closedAt)
        try container.encode(firstResponse, forKey: .firstResponse)
        try container.encode(resolution, forKey: .resolution)
        if update.phase != .off { try container.encode(update, forKey: .update) }
    }

    /// ``encode(to:)`` in sorted key order (see ``IncidentSnapshot/jsonBytes()``).
    func write(into json: inout JSONBuffer) throws {
        json.raw("{")
        json.key("calendar", first: true)
        json.string(calendar, style: .jsonEncoder)
        json.key("closed_at")
        try json.number(closedAt)
        json.key("coverage")
        json.string(coverage.rawValue, style: .jsonEncoder)
        json.key("first_response")
        try firstResponse.write(into: &json)
        if let pauseReason {
            json.key("pause_reason")
            json.string(pauseReason, style: .jsonEncoder)
        }
        if progress != 0 {
            json.key("progress")
            json.int(progress)
        }
        json.key("resolution")
        try resolution.write(into: &json)
        if let resumeAt {
            json.key("resume_at")
            try json.number(resumeAt)
        }
        json.key("severity")
        json.string(severity.rawValue, style: .jsonEncoder)
        if update.phase != .off {
            json.key("update")
            try update.write(into: &json)
        }
        json.key("waiting_on_customer")
        json.bool(waitingOnCustomer)
        json.raw("}")
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        severity = try container.decodeName(.severity) { SupportSeverity(rawValue: $0) }
        coverage = try container.decodeName(.coverage) { SlaCoverage(rawValue: $0) }
        calendar = try container.decode(String.self, forKey: .calendar)
        waitingOnCustomer = try container.decode(Bool.self, forKey: .waitingOnCustomer)
        pauseReason = try container.decodeIfPresent(String.self, forKey: .pauseReason)
        resumeAt = try container.decodeIfPresent(Double.self, forKey: .resumeAt)
        progress = try container.decodeIfPresent(UInt8.self, forKey: .progress) ?? 0
        closedAt = try container.decodeIfPresent(Double.self, forKey: .closedAt)
        firstResponse = try container.decode(Clock.self, forKey: .firstResponse)
        resolution = try container.decode(Clock.self, forKey: .resolution)
        update = try container.decodeIfPresent(Clock.self, forKey: .update) ?? Clock(.off)
    }
}

extension SlaTrackerState.Clock: Codable {
    enum CodingKeys: String, CodingKey {
        case phase
        case warningsDone = "warnings_done"
        case levelsDone = "levels_done"
        case segmentStart = "segment_start"
        case usedMinutes = "used_minutes"
        case breachedAt = "breached_at"
    }

    static let phaseNames: [(SlaClockState.Phase, String)] = [
        (.off, "off"), (.running, "running"), (.paused, "paused"), (.stopped, "stopped"),
    ]

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.phaseNames.first { $0.0 == phase }!.1, forKey: .phase)
        try container.encode(warningsDone, forKey: .warningsDone)
        try container.encode(levelsDone, forKey: .levelsDone)
        try container.encode(segmentStart, forKey: .segmentStart)
        try container.encode(usedMinutes, forKey: .usedMinutes)
        try container.encodeOrNull(breachedAt, forKey: .breachedAt)
    }

    /// ``encode(to:)`` in sorted key order (see ``IncidentSnapshot/jsonBytes()``).
    func write(into json: inout JSONBuffer) throws {
        json.raw("{")
        json.key("breached_at", first: true)
        try json.number(breachedAt)
        json.key("levels_done")
        json.int(levelsDone)
        json.key("phase")
        json.string(Self.phaseNames.first { $0.0 == phase }!.1, style: .jsonEncoder)
        json.key("segment_start")
        try json.number(segmentStart)
        json.key("used_minutes")
        try json.number(usedMinutes)
        json.key("warnings_done")
        json.int(warningsDone)
        json.raw("}")
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        phase = try container.decodeName(.phase) { name in Self.phaseNames.first { $0.1 == name }?.0 }
        warningsDone = try container.decode(UInt8.self, forKey: .warningsDone)
        levelsDone = try container.decode(UInt8.self, forKey: .levelsDone)
        segmentStart = try container.decode(Double.self, forKey: .segmentStart)
        usedMinutes = try container.decode(Double.self, forKey: .usedMinutes)
        breachedAt = try container.decodeIfPresent(Double.self, forKey: .breachedAt)
    }
}

/// The proto enum names the JSON mapping uses, so the snapshot and the record agree.
enum EnumName {
    static let severities: [(Severity, String)] = [
        (.unspecified, "SEVERITY_UNSPECIFIED"), (.a, "SEVERITY_A"), (.b, "SEVERITY_B"), (.c, "SEVERITY_C"),
    ]
    static let coverages: [(Coverage, String)] = [
        (.unspecified, "COVERAGE_UNSPECIFIED"), (.coverage24X7, "COVERAGE_24X7"), (.businessHours, "COVERAGE_BUSINESS_HOURS"),
    ]

    static func severity(_ value: Severity) -> String { severities.first { $0.0 == value.known }!.1 }
    static func severity(_ name: String) -> Severity? { severities.first { $0.1 == name }?.0 }
    static func coverage(_ value: Coverage) -> String { coverages.first { $0.0 == value.known }!.1 }
    static func coverage(_ name: String) -> Coverage? { coverages.first { $0.1 == name }?.0 }
}

extension KeyedEncodingContainer {
    mutating func encodeOrNull<Value: Encodable>(_ value: Value?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
}

extension KeyedDecodingContainer {
    func decodeName<Value>(_ key: Key, _ parse: (String) -> Value?) throws -> Value {
        let name = try decode(String.self, forKey: key)
        guard let value = parse(name) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "unknown value '\(name)'")
        }
        return value
    }

    func decodeInstant(_ key: Key) throws -> Date? {
        guard let text = try decodeIfPresent(String.self, forKey: key) else { return nil }
        guard let date = AnalyticsInstant.date(text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "'\(text)' is not an RFC 3339 UTC instant")
        }
        return date
    }
}

extension JSONBuffer {
    /// A double as `JSONEncoder` writes it, `null` for `nil`; throws as it does unless finite.
    mutating func number(_ value: Double?) throws {
        guard let value else { return null() }
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value, .init(codingPath: [], debugDescription: "Unable to encode Double.\(value) directly in JSON."))
        }
        double(value, style: .jsonEncoder)
    }

    /// An instant as ``AnalyticsInstant/string(_:)`` writes it, `null` for `nil`.
    mutating func instant(_ value: Date?) {
        guard let value else { return null() }
        AnalyticsInstant.write(value, into: &self)
    }

    mutating func strings(_ values: [String]) {
        raw("[")
        for (index, value) in values.enumerated() {
            if index > 0 { raw(",") }
            string(value, style: .jsonEncoder)
        }
        raw("]")
    }
}
