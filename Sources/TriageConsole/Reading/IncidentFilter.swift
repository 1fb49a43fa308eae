import Foundation

/// The Incidents list's filters, from the query string: `team`, `severity` (A/B/C), `state`
/// (`open`, the default; `closed`; `all`; or a status such as `waiting_on_customer`),
/// `customer`, `risk` (`breached`, `at_risk`), `q` (an id or words of the title).
public struct IncidentFilter: Sendable, Hashable {
    public var team = ""
    public var severity = ""
    public var state = "open"
    public var customer = ""
    public var risk = ""
    public var query = ""

    public init() {}

    public init(query parameters: [String: String]) {
        func value(_ key: String) -> String { (parameters[key] ?? "").trimmingCharacters(in: .whitespaces) }
        team = value("team")
        severity = value("severity").uppercased()
        state = value("state").isEmpty ? "open" : value("state")
        customer = value("customer")
        risk = value("risk")
        query = value("q")
    }

    public func matches(_ row: IncidentRow) -> Bool {
        if !team.isEmpty, row.team != team { return false }
        if !severity.isEmpty, row.severity != severity { return false }
        switch state {
        case "all": break
        case "open": if row.isClosed { return false }
        case "closed": if !row.isClosed { return false }
        default: if row.status != state { return false }
        }
        if !customer.isEmpty, row.customer.range(of: customer, options: .caseInsensitive) == nil { return false }
        switch risk {
        case "breached": if row.clockState != "breached" { return false }
        case "at_risk": if row.clockState != "at_risk" && row.clockState != "breached" { return false }
        default: break
        }
        if !query.isEmpty, row.id.range(of: query, options: .caseInsensitive) == nil,
            row.title.range(of: query, options: .caseInsensitive) == nil
        {
            return false
        }
        return true
    }
}
