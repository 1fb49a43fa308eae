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

    /// The ARGs a stage's RUN sees: only those it declares, a bare `ARG NAME` taking the global
    /// default (a global ARG not declared again in the stage is empty there).
    static func stageArguments(_ stage: Stage, _ global: [String: String]) -> [String: String] {
        var arguments: [String: String] = [:]
        for declaration in stage.all("ARG") {
            if let equals = declaration.firstIndex(of: "=") {
                arguments[String(declaration[..<equals])] = String(declaration[declaration.index(after: equals)...])
            } else if let value = global[declaration] {
                arguments[declaration] = value
            }
        }
        return arguments
    }

    /// The version an `apt-get install PACKAGE=VERSION` in the stage's RUNs pins, ARGs substituted;
    /// nil when the stage installs the package unpinned or not at all.
    static func pinnedVersion(of package: String, in stage: Stage, _ global: [String: String]) -> String? {
        let runs = substitute(stage.all("RUN").joined(separator: " "), stageArguments(stage, global))
        let words = runs.split(whereSeparator: \.isWhitespace).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"'")) }
        return words.first { $0.hasPrefix(package + "=") }.map { String($0.dropFirst(package.count + 1)) }
    }

    /// The upstream part of a Debian or Ubuntu package version as numbers: `1:2.3.0-1build2` is
    /// [2, 3, 0] (no epoch, no package revision). Nil when it is not dotted numbers.
    static func upstreamVersion(_ packageVersion: String) -> [Int]? {
        var upstream = Substring(packageVersion)
        if let colon = upstream.firstIndex(of: ":") { upstream = upstream[upstream.index(after: colon)...] }
        if let dash = upstream.lastIndex(of: "-") { upstream = upstream[..<dash] }
        let parts = upstream.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { return nil }
        return parts.compactMap { $0 }
    }

    /// `version >= minimum`, component by component, missing components as 0 (2.2 == 2.2.0).
    static func isAtLeast(_ version: [Int], _ minimum: [Int]) -> Bool {
        let count = max(version.count, minimum.count)
        let padded = { (parts: [Int]) in parts + Array(repeating: 0, count: count - parts.count) }
        return !padded(version).lexicographicallyPrecedes(padded(minimum))
    }

    /// The distribution release an image is built on: `swift:6.3.1-noble` and `ubuntu:noble` are
    /// noble, `debian:bookworm-slim` is bookworm.
    static func distributionRelease(ofImage image: String) -> String? {
        guard let colon = image.lastIndex(of: ":") else { return nil }
        let repository = image[..<colon].split(separator: "/").last.map(String.init) ?? ""
        var tag = String(image[image.index(after: colon)...])
        if tag.hasSuffix("-slim") { tag = String(tag.dropLast("-slim".count)) }
        if repository == "swift" {
            // swift:<toolchain version>-<release>
            guard let dash = tag.firstIndex(of: "-") else { return nil }
            return String(tag[tag.index(after: dash)...])
        }
        return tag
    }

    /// The first librdkafka that skips tagged fields by their full length (librdkafka#4278, in
    /// its CHANGELOG under v2.2.0). Older ones (Debian 12's 2.0.2) skip one byte too few and fail
    /// the ApiVersion v3 handshake with brokers that send tagged fields, e.g. tansu:
    /// "Protocol read buffer underflow for ApiVersion v3". See docs/deployment.md.
    static let firstLibrdkafkaSkippingTaggedFields = [2, 2, 0]

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
        #expect(
            runtimeImage.hasPrefix("ubuntu:") || runtimeImage.hasPrefix("debian:"),
            "a plain distribution image, no toolchain: \(runtimeImage)")
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

    @Test func bothStagesPinALibrdkafkaThatSkipsTaggedFieldsInTheApiVersionHandshake() throws {
        let text = try String(contentsOfFile: repositoryRoot + "/Dockerfile", encoding: .utf8)
        let (arguments, stages) = Self.parse(text)
        let build = try #require(stages.first)
        let runtime = try #require(stages.last)
        // Pinned, in the stage's own ARG scope, so an unset ARG cannot install whatever is current.
        let buildVersion = try #require(
            Self.pinnedVersion(of: "librdkafka-dev", in: build, arguments), "the build stage installs librdkafka-dev unpinned")
        let runtimeVersion = try #require(
            Self.pinnedVersion(of: "librdkafka1", in: runtime, arguments), "the runtime stage installs librdkafka1 unpinned")
        for version in [buildVersion, runtimeVersion] {
            #expect(!version.isEmpty && !version.contains("$"), "librdkafka=\(version): an ARG the stage does not declare")
        }
        #expect(buildVersion == runtimeVersion, "built against librdkafka \(buildVersion), runs on \(runtimeVersion)")

        let upstream = try #require(Self.upstreamVersion(runtimeVersion), "librdkafka1=\(runtimeVersion): not a package version")
        let minimum = Self.firstLibrdkafkaSkippingTaggedFields
        #expect(
            Self.isAtLeast(upstream, minimum),
            "librdkafka \(runtimeVersion) is older than \(minimum.map(String.init).joined(separator: ".")), which fails the ApiVersion handshake with brokers that send tagged fields"
        )
    }

    @Test func buildAndRuntimeStagesShareOneDistributionRelease() throws {
        let text = try String(contentsOfFile: repositoryRoot + "/Dockerfile", encoding: .utf8)
        let (arguments, stages) = Self.parse(text)
        let build = try #require(stages.first)
        let runtime = try #require(stages.last)
        let buildImage = Self.substitute(build.image, arguments)
        let runtimeImage = Self.substitute(runtime.image, arguments)
        let buildRelease = try #require(Self.distributionRelease(ofImage: buildImage), "\(buildImage): no release in the tag")
        let runtimeRelease = try #require(Self.distributionRelease(ofImage: runtimeImage), "\(runtimeImage): no release in the tag")
        // Same glibc and same librdkafka package for the binary as it was linked against.
        #expect(buildRelease == runtimeRelease, "built on \(buildImage), runs on \(runtimeImage)")
    }

    @Test func dockerfileChecksParseVersionsAndReleases() {
        #expect(Self.upstreamVersion("2.3.0-1build2") == [2, 3, 0])
        #expect(Self.upstreamVersion("2.0.2-1") == [2, 0, 2])
        #expect(Self.upstreamVersion("1:2.10.1-0ubuntu1") == [2, 10, 1])
        #expect(Self.upstreamVersion("2.8.0") == [2, 8, 0])
        #expect(Self.upstreamVersion("latest") == nil)
        #expect(Self.isAtLeast([2, 10, 0], [2, 2, 0]), "numerically, not as text")
        #expect(Self.isAtLeast([2, 2], [2, 2, 0]))
        #expect(!Self.isAtLeast([2, 1, 1], [2, 2, 0]))
        #expect(!Self.isAtLeast([2, 0, 2], Self.firstLibrdkafkaSkippingTaggedFields), "Debian 12's librdkafka")
        #expect(Self.distributionRelease(ofImage: "swift:6.3.1-noble") == "noble")
        #expect(Self.distributionRelease(ofImage: "swift:6.3.1-bookworm") == "bookworm")
        #expect(Self.distributionRelease(ofImage: "debian:bookworm-slim") == "bookworm")
        #expect(Self.distributionRelease(ofImage: "docker.io/library/ubuntu:noble") == "noble")
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
