import Foundation
import Testing
import TriageKafkaTesting

/// The Dockerfile cannot be built here (no container engine), so its structure is checked
/// instead: named stages with pinned base images, the release build of `triage` with
/// librdkafka, and a runtime stage that runs `triage` as the non-root user the chart expects.
@Suite("Dockerfile")
struct DockerfileTests {
    /// One instruction: the keyword and its arguments, continuation lines joined.
    struct Instruction {
        var keyword: String
        var arguments: String
    }

    struct Stage {
        var image: String
        var name: String?
        var instructions: [Instruction] = []
        func all(_ keyword: String) -> [String] { instructions.filter { $0.keyword == keyword }.map(\.arguments) }
    }

    static func parse(_ text: String) -> (arguments: [String: String], stages: [Stage]) {
        var logical: [String] = []
        var pending = ""
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if pending.isEmpty && (line.isEmpty || line.hasPrefix("#")) { continue }
            if line.hasPrefix("#") { continue }  // comments inside a continued instruction
            if line.hasSuffix("\\") {
                pending += String(line.dropLast()) + " "
            } else {
                logical.append(pending + line)
                pending = ""
            }
        }
        var globalArguments: [String: String] = [:]
        var stages: [Stage] = []
        for line in logical {
            let keyword = String(line.prefix { !$0.isWhitespace }).uppercased()
            let rest = line.dropFirst(keyword.count).trimmingCharacters(in: .whitespaces)
            if keyword == "FROM" {
                let words = rest.split(separator: " ").map(String.init)
                let name = words.count == 3 && words[1].uppercased() == "AS" ? words[2] : nil
                stages.append(Stage(image: words.first ?? "", name: name))
            } else if stages.isEmpty {
                if keyword == "ARG", let equals = rest.firstIndex(of: "=") {
                    globalArguments[String(rest[..<equals])] = String(rest[rest.index(after: equals)...])
                }
            } else {
                stages[stages.count - 1].instructions.append(Instruction(keyword: keyword, arguments: rest))
            }
        }
        return (globalArguments, stages)
    }

    /// `${NAME}` replaced by the global ARG defaults.
    static func substitute(_ text: String, _ arguments: [String: String]) -> String {
        arguments.reduce(text) { $0.replacingOccurrences(of: "${\($1.key)}", with: $1.value) }
    }

    @Test func stagesAreNamedAndBaseImagesPinned() throws {
        let text = try String(contentsOfFile: repositoryRoot + "/Dockerfile", encoding: .utf8)
        let (arguments, stages) = Self.parse(text)
        #expect(stages.count >= 2, "a build stage and a runtime stage")
        var names: Set<String> = []
        for stage in stages {
            let name = try #require(stage.name, "FROM \(stage.image) has no AS name")
            #expect(names.insert(name).inserted, "stage \(name) is named twice")
            let image = Self.substitute(stage.image, arguments)
            #expect(!image.contains("$"), "\(stage.image): an ARG without a default")
            let tag = image.split(separator: "/").last?.split(separator: ":").dropFirst().first.map(String.init)
            #expect(tag != nil && tag != "latest", "\(image): pin a tag, never latest")
            // COPY --from names an earlier stage.
            for copy in stage.all("COPY") where copy.hasPrefix("--from=") {
                let source = String(copy.dropFirst("--from=".count).prefix { !$0.isWhitespace })
                #expect(names.contains(source) && source != name, "COPY --from=\(source) names no earlier stage")
            }
        }
    }

    @Test func buildsTriageWithLibrdkafkaAndRunsItAsTheChartsNonRootUser() async throws {
        let text = try String(contentsOfFile: repositoryRoot + "/Dockerfile", encoding: .utf8)
        let (arguments, stages) = Self.parse(text)
        let build = try #require(stages.first)
        let runtime = try #require(stages.last)
        #expect(Self.substitute(build.image, arguments).hasPrefix("swift:"), "the build stage needs the Swift toolchain")
        let buildRuns = build.all("RUN").joined(separator: "\n")
        #expect(buildRuns.contains("librdkafka-dev") && buildRuns.contains("pkg-config"))
        #expect(buildRuns.contains("swift build -c release --product triage"))
        #expect(buildRuns.contains("--static-swift-stdlib"), "the runtime stage has no Swift runtime of its own")

        let runtimeImage = Self.substitute(runtime.image, arguments)
        #expect(runtimeImage.hasPrefix("debian:") && runtimeImage.hasSuffix("-slim"), "\(runtimeImage)")
        let runtimeRuns = runtime.all("RUN").joined(separator: "\n")
        for package in ["librdkafka1", "tzdata", "ca-certificates"] {
            #expect(runtimeRuns.contains(package), "the runtime stage lacks \(package)")
        }
        #expect(!runtimeRuns.contains("librdkafka-dev"), "build tools stay in the build stage")
        #expect(runtime.all("COPY").allSatisfy { !$0.hasPrefix(". ") }, "the runtime stage copies the build context")
        #expect(runtime.all("COPY").contains { $0.hasPrefix("--from=\(build.name ?? "")") })
        #expect(text.contains("/usr/local/bin/triage"), "triage is installed on PATH")

        // The user: non-root, numeric, and the one the chart's securityContext runs as.
        let user = try #require(runtime.all("USER").last)
        let uid = try #require(Int(user.split(separator: ":")[0]), "USER \(user): numeric, so runAsNonRoot can check it")
        #expect(uid != 0)
        let deployment = try #require(try await ValuesSet.defaults.check().manifests().named("Deployment", "triage-escalator"))
        #expect(deployment["spec", "template", "spec", "securityContext", "runAsUser"] as? Int == uid)
        #expect(runtimeRuns.contains("--uid \(uid)"), "the image creates the user")

        let entrypoint = try #require(runtime.all("ENTRYPOINT").last)
        #expect(entrypoint == #"["triage"]"#, "exec form, so SIGTERM reaches triage: \(entrypoint)")
    }

    @Test func dockerignoreKeepsBuildOutputAndHistoryOut() throws {
        let text = try String(contentsOfFile: repositoryRoot + "/.dockerignore", encoding: .utf8)
        let patterns = Set(
            text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") })
        for ignored in [".git", ".build", ".build-*"] { #expect(patterns.contains(ignored), "\(ignored) is sent to the daemon") }
        // What the Dockerfile copies must not be ignored.
        for needed in ["Sources", "Tests", "config", "Package.swift"] {
            #expect(!patterns.contains(needed) && !patterns.contains(needed + "/"), "\(needed) is ignored but the Dockerfile copies it")
        }
    }
}
