import Logging
import Testing
import TriageKafka
import TriageKafkaTesting

@Suite("Configuration fails fast, naming the key")
struct ConfigurationTests {
    let logger = KafkaTestCluster.makeLogger("test.configuration")

    @Test func unknownPassThroughKeyIsNamed() throws {
        var configuration = KafkaProducerConfiguration()
        configuration.client.librdkafkaOverrides = ["no.such.property": "1"]
        let error = #expect(throws: KafkaError.self) { try KafkaProducer(configuration: configuration, logger: logger) }
        #expect(error?.configurationKey == "no.such.property")
        #expect(error?.description.contains("no.such.property") == true)
        #expect(error?.code == .invalidConfiguration)
    }

    @Test func badValueIsNamed() throws {
        var configuration = KafkaConsumerConfiguration(groupID: "g", topics: ["t"])
        configuration.client.librdkafkaOverrides = ["fetch.wait.max.ms": "banana"]
        let error = #expect(throws: KafkaError.self) { try KafkaConsumer(configuration: configuration, logger: logger) }
        #expect(error?.configurationKey == "fetch.wait.max.ms")
    }

    @Test func missingBootstrapServers() throws {
        let configuration = KafkaProducerConfiguration(client: .init(bootstrapServers: [" "]))
        let error = #expect(throws: KafkaError.self) { try KafkaProducer(configuration: configuration, logger: logger) }
        #expect(error?.configurationKey == "bootstrap.servers")
    }

    @Test func bootstrapWithoutPort() throws {
        let configuration = KafkaProducerConfiguration(client: .init(bootstrap: "kafka-1:9092,kafka-2"))
        let error = #expect(throws: KafkaError.self) { try KafkaProducer(configuration: configuration, logger: logger) }
        #expect(error?.configurationKey == "bootstrap.servers")
        #expect(error?.message.contains("kafka-2") == true)
    }

    @Test func idempotenceRequiresAcksAll() throws {
        let configuration = KafkaProducerConfiguration(idempotent: true, acks: .leader)
        let error = #expect(throws: KafkaError.self) { try KafkaProducer(configuration: configuration, logger: logger) }
        #expect(error?.configurationKey == "acks")
    }

    @Test func heartbeatMustBeBelowSessionTimeout() throws {
        let configuration = KafkaConsumerConfiguration(
            groupID: "g", topics: ["t"], sessionTimeout: .seconds(3), heartbeatInterval: .seconds(3)
        )
        let error = #expect(throws: KafkaError.self) { try KafkaConsumer(configuration: configuration, logger: logger) }
        #expect(error?.configurationKey == "heartbeat.interval.ms")
    }

    @Test func consumerNeedsGroupAndTopics() throws {
        #expect(throws: KafkaError.self) {
            try KafkaConsumer(configuration: .init(groupID: "", topics: ["t"]), logger: logger)
        }
        let error = #expect(throws: KafkaError.self) {
            try KafkaConsumer(configuration: .init(groupID: "g", topics: []), logger: logger)
        }
        #expect(error?.configurationKey == "topics")
    }

    @Test func saslPassThroughIsAccepted() async throws {
        var configuration = KafkaProducerConfiguration()
        configuration.client.librdkafkaOverrides = [
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": "PLAIN",
            "sasl.username": "triage",
            "sasl.password": "secret",
        ]
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        await producer.close()
    }

    @Test func tlsPassThroughIsValidatedByLibrdkafka() throws {
        var configuration = KafkaProducerConfiguration()
        configuration.client.librdkafkaOverrides = [
            "security.protocol": "SSL",
            "ssl.ca.location": "/nonexistent/ca.pem",
        ]
        let error = #expect(throws: KafkaError.self) { try KafkaProducer(configuration: configuration, logger: logger) }
        #expect(error?.configurationKey == "ssl.ca.location")
    }

    @Test func errorClassification() {
        let error = KafkaError(code: .queueFull, message: "full", isRetriable: true)
        #expect(error.codeName == "_QUEUE_FULL")
        #expect(error.isRetriable)
        #expect(!error.isFatal)
        #expect(KafkaError.Code.unknownTopicOrPartition.name == "UNKNOWN_TOPIC_OR_PART")
    }
}
