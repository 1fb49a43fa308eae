internal import CRdKafka
import Logging
import Synchronization

/// Facts about the linked librdkafka.
public enum KafkaLibrary {
    /// librdkafka's version string, such as `2.0.2`.
    public static var version: String { String(cString: rd_kafka_version_str()) }

    /// The first librdkafka that skips tagged fields of flexible-version responses by the right
    /// number of bytes (CHANGELOG v2.2.0: "Fix a bug that happens when skipping tags, causing
    /// buffer underflow in MetadataResponse (#4278)"). Older ones misread the ApiVersions answer
    /// of brokers that send tagged fields (tansu, for one) and never connect.
    public static let firstVersionReadingTaggedFields = "2.2.0"

    /// Whether the loaded librdkafka reads tagged fields correctly (≥ 2.2.0).
    public static var readsTaggedFields: Bool { rd_kafka_version() >= 0x0202_0000 }

    private static let warnedAboutTaggedFields = Atomic<Bool>(false)

    /// Called with every librdkafka log line: once per process, when an old librdkafka fails a
    /// broker's ApiVersions answer with a read underflow, says what it is and what to install.
    static func diagnose(facility: String, text: String, logger: Logger) {
        guard facility == "FAIL", !readsTaggedFields, text.contains("ApiVersionRequest failed"), text.contains("underflow"),
            !warnedAboutTaggedFields.exchange(true, ordering: .relaxed)
        else { return }
        logger.warning(
            """
            librdkafka \(version) cannot read this broker's ApiVersions answer and will never connect to it: librdkafka before \
            \(firstVersionReadingTaggedFields) skips the tagged fields of flexible-version responses wrongly (librdkafka CHANGELOG \
            v\(firstVersionReadingTaggedFields), #4278). Run Triage with librdkafka \(firstVersionReadingTaggedFields) or newer \
            (docs/deployment.md; the Docker image ships one).
            """
        )
    }
}
