import Foundation
import Logging
import ServiceLifecycle
import SwiftProtobuf
import Synchronization
import Testing
import TriageKafka
import TriageKafkaTesting
import TriageRouterWorker
import TriageRouting
import TriageSchema
import TriageStreams

/// Every notification request read, in order.
final class NoticeLog: Sendable {
    let all = Mutex<[NotificationRequest]>([])
}

/// One router on fresh topics under a given policy, agents by team, and watchers that keep the
/// router's lifecycle events by incident and every notification request.
final class TeamFixture: Sendable {
    let cluster: KafkaTestCluster
    let topics: RouterTopics
    let policy: RoutingPolicy
    let producer: KafkaProducer
    let publisher: IncidentEventPublisher
    let decisions = DecisionLog()
    let notices = NoticeLog()
    let watchers: [KafkaConsumer]
    let watching: [Task<Void, any Error>]
    let routerGroup = uniqueName("router")
    let first: RunningRouter

    /// `agents`: id → team; every agent speaks `de`, supports `billing`, capacity 6, online.
    init(policy: RoutingPolicy, agents: [String: String]) async throws {
        cluster = try KafkaTestCluster()
        var topics = RouterTopics()
        topics.incidentEvents = try cluster.makeTopic("incident-events", partitions: 2)
        topics.agentEvents = try cluster.makeTopic("agent-events", partitions: 1)
        topics.routing = try cluster.makeTopic("routing", partitions: 2)
        topics.routingIndex = try cluster.makeTopic("routing-index", partitions: 2)
        topics.deskState = try cluster.makeTopic("router-state", partitions: 2)
        topics.notificationRequests = try cluster.makeTopic("notification-requests", partitions: 2)
        topics.deadLetter = try cluster.makeTopic("dead-letter", partitions: 1)
        self.topics = topics
        self.policy = policy
        let logger = cluster.logger
        producer = try KafkaProducer(configuration: cluster.producerConfiguration(), logger: logger)
        publisher = IncidentEventPublisher(producer: producer, topic: topics.incidentEvents)
        for (id, team) in agents.sorted(by: { $0.key < $1.key }) {
            for event in [
                AgentEvent.with {
                    $0.eventID = "\(id)-p"; $0.agentID = id; $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
                    $0.profile = .with {
                        $0.team = team; $0.products = ["billing"]; $0.languages = ["de"]; $0.capacity = 6
                    }
                },
                AgentEvent.with {
                    $0.eventID = "\(id)-o"; $0.agentID = id; $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
                    $0.presenceChanged = .with { $0.presence = .online }
                },
            ] {
                _ = try await producer.send(
                    KafkaProducerMessage(topic: topics.agentEvents, key: Array(id.utf8), value: try event.serializedBytes()))
            }
        }
        let decisions = self.decisions
        let requests = self.notices
        let lifecycle = try KafkaConsumer(
            configuration: cluster.consumerConfiguration(group: uniqueName("watch"), topics: [topics.incidentEvents]), logger: logger)
        let notices = try KafkaConsumer(
            configuration: cluster.consumerConfiguration(group: uniqueName("notices"), topics: [topics.notificationRequests]),
            logger: logger)
        watchers = [lifecycle, notices]
        watching = [
            Task {
                for try await batch in lifecycle.batches {
                    for message in batch {
                        guard let value = message.valueBytes, let event = try? IncidentEvent(serializedBytes: Array(value)),
                            event.producer == TriageProducer.router
                        else { continue }
                        decisions.byIncident.withLock { $0[event.incidentID, default: []].append(event) }
                    }
                }
            },
            Task {
                for try await batch in notices.batches {
                    for message in batch {
                        guard let value = message.valueBytes, var request = try? NotificationRequest(serializedBytes: Array(value))
                        else { continue }
                        // The key and the header must agree with the request.
                        if message.key.map({ String(decoding: $0, as: UTF8.self) }) != request.recipient
                            || message.header(TriageHeader.idempotencyKey)?.stringValue != request.idempotencyKey
                        {
                            request.template = "MISMATCHED KEY OR HEADER"
                        }
                        requests.all.withLock { $0.append(request) }
                    }
                }
            },
        ]
        first = try await Self.startRouter(cluster: cluster, topics: topics, policy: policy, group: routerGroup)
        let router = first.router
        try await eventually("the router owns its desks and knows every agent", timeout: .seconds(30)) {
            router.statistics.partitions == 2 && router.statistics.agents == agents.count
        }
    }

    static func startRouter(cluster: KafkaTestCluster, topics: RouterTopics, policy: RoutingPolicy, group: String) async throws
        -> RunningRouter
    {
        let instance = try await RouterInstance(
            client: cluster.embedded.clientConfiguration, policy: policy, group: group, defaultTeam: "tier-1",
            sessionTimeout: .seconds(3), logger: cluster.logger, topics: topics
        )
        let services = ServiceGroup(configuration: .init(services: instance.services.map { .init(service: $0) }, logger: cluster.logger))
        return RunningRouter(instance: instance, group: services, running: Task { try await services.run() })
    }

    func publish(_ id: String, _ incident: String, _ build: (inout IncidentEvent) -> Void) async throws {
        var event = IncidentEvent.with {
            $0.eventID = id; $0.incidentID = incident; $0.producer = "test"; $0.occurredAt = Google_Protobuf_Timestamp(date: Date())
        }
        build(&event)
        _ = try await publisher.publish(event)
    }

    func open(_ incident: String, team: String, severity: Severity = .b) async throws {
        try await publish("open-\(incident)", incident) {
            $0.opened = .with {
                $0.customerAccount = "acme"; $0.entitlementID = "pack"; $0.product = "billing"; $0.language = "de-CH"
                $0.severity = severity; $0.coverage = .coverage24X7; $0.customerTimeZone = "Europe/Zurich"; $0.title = "t"
                $0.team = team
            }
        }
    }

    func events(_ incident: String) -> [IncidentEvent] { decisions.byIncident.withLock { $0[incident] ?? [] } }

    func requests(_ incident: String) -> [NotificationRequest] { notices.all.withLock { $0.filter { $0.incidentID == incident } } }

    func stopWatching() async {
        for watcher in watchers { await watcher.close() }
        for task in watching { _ = try? await task.value }
    }
}
