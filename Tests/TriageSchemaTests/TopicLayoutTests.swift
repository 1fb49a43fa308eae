import Testing
import TriageSchema

@Suite("Topic layout")
struct TopicLayoutTests {
    @Test func everyTopicOnceWithItsGroupAndConfigs() {
        let layout = TriageTopicLayout.topics()
        #expect(layout.map(\.name) == TriageTopic.all)
        let compacted = Set(layout.filter(\.isCompacted).map(\.name))
        #expect(
            compacted == [
                TriageTopic.slaState, TriageTopic.routingIndex, TriageTopic.incidentState, TriageTopic.routerState,
                TriageTopic.entitlements,
                TriageTopic.agentEvents, TriageTopic.incidentDirectory, TriageTopic.notificationLedger,
            ]
        )
        let ledger = layout.first { $0.name == TriageTopic.notificationLedger }
        #expect(ledger?.configs == ["cleanup.policy": "compact,delete", "retention.ms": "604800000"])
        // Co-partitioned: a worker's input and the state or retry topics it keeps beside it.
        let group = Dictionary(uniqueKeysWithValues: layout.map { ($0.name, $0.group) })
        for (input, companions) in [
            (TriageTopic.incidentEvents, [TriageTopic.slaState, TriageTopic.routingIndex, TriageTopic.incidentState]),
            (TriageTopic.routing, [TriageTopic.routerState]),
            (TriageTopic.notificationRequests, [TriageTopic.notificationRetry, TriageTopic.notificationLedger]),
            (TriageTopic.entitlementRequests, [TriageTopic.entitlements]),
        ] {
            for companion in companions { #expect(group[companion] == group[input], "\(companion) is co-partitioned with \(input)") }
        }
        for worker in TriageTopicLayout.Worker.allCases {
            #expect(Set(TriageTopicLayout.topics(usedBy: worker)).isSubset(of: Set(TriageTopic.all)), "\(worker)")
        }
    }
}
