import Foundation
public import TriageNotification
public import TriageSLA

/// The notification rules of `triage dev` in one process.
public enum DevNotificationRules {
    /// One webhook endpoint (the local receiver on `port`, signed with the key in
    /// `TRIAGE_DEV_WEBHOOK_KEY`) for every recipient the SLA policy names, every agent and every
    /// customer.
    public static func webhooks(policy: SlaPolicy, port: Int, maintenanceWindows: [MaintenanceWindow] = []) -> NotificationRules {
        let endpoint = NotificationRules.Endpoint(
            name: "dev-webhooks",
            kind: .webhook(.init(url: .url(URL(string: "http://127.0.0.1:\(port)/hooks/all")!), secretVariable: "TRIAGE_DEV_WEBHOOK_KEY"))
        )
        let names = DevProcessFiles.recipientNames(policy: policy)
        let everyone = NotificationRules.Recipient(name: "default", endpoints: [endpoint.name])
        return NotificationRules(
            endpoints: [endpoint.name: endpoint],
            recipients: Dictionary(
                uniqueKeysWithValues: names.map { ($0, NotificationRules.Recipient(name: $0, endpoints: [endpoint.name])) }),
            agents: ContactDirectory(kind: .agent, fallback: everyone),
            customers: ContactDirectory(kind: .customer, fallback: everyone), maintenanceWindows: maintenanceWindows
        )
    }
}
