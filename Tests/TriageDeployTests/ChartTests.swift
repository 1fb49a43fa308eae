import Foundation
import Testing
import TriageKafkaTesting

/// The Helm chart in helm/triage, rendered and linted by a real helm and validated by
/// kubernetes-validate --strict (scripts/check-chart.sh), for the default values and for the
/// production-like helm/ci/production.yaml; then what the manifests say is checked.
@Suite("Helm chart")
struct ChartTests {
    @Test(arguments: ValuesSet.allCases)
    func rendersLintsAndValidates(_ values: ValuesSet) async throws {
        let check = try await values.check()
        #expect(check.status == 0, "check-chart failed:\n\(check.errors)")
        #expect(check.output.contains("1 chart(s) linted, 0 chart(s) failed"), "\(check.output.prefix(2000))")
        #expect(check.output.contains("check-chart: OK"))
        // Every value of values.yaml has a row in the chart README's values table, and no row is stale.
        #expect(check.output.contains("every value is documented"))
        // Every built-in kind went through kubernetes-validate; none was skipped for want of a schema.
        let manifests = try check.manifests()
        let builtIn = manifests.filter { !["ScaledObject", "TriggerAuthentication", "ServiceMonitor"].contains($0.kind) }
        #expect(check.output.contains("\(builtIn.count) manifest(s) validated"), "\(check.output.suffix(500))")
        #expect(!check.output.contains("Couldn't find schema"))
        for kind in ["Deployment", "ConfigMap", "PodDisruptionBudget", "Service", "Job"] {
            #expect(!manifests.all(kind).isEmpty, "no \(kind) rendered")
        }
    }

    @Test(arguments: ValuesSet.allCases)
    func everyWorkerHasProbesOnItsOpsPortAndAGracePeriodAboveItsShutdownBudget(_ values: ValuesSet) async throws {
        let manifests = try await values.check().manifests()
        #expect(manifests.all("Deployment").count == WorkerKind.all.count + 1, "the workers and the console")
        for worker in WorkerKind.all {
            let deployment = try #require(manifests.named("Deployment", "triage-\(worker.kind)"), "no Deployment for \(worker.kind)")
            let pod = try #require(deployment["spec", "template", "spec"] as? [String: Any])
            let container = try #require(deployment.containers.first)
            let args = try #require(container["args"] as? [String])
            #expect(args.first == worker.kind, "\(args)")
            #expect(argument("--group", in: args) == worker.group)
            #expect(argument("--ops-port", in: args) == String(worker.opsPort))
            // Probes and Prometheus come from outside the pod; the workers' default is loopback.
            #expect(argument("--ops-host", in: args) == "0.0.0.0", "\(args)")

            // The ops port is declared and both probes use it.
            let ports = container["ports"] as? [[String: Any]] ?? []
            #expect(ports.contains { $0["name"] as? String == "ops" && $0["containerPort"] as? Int == worker.opsPort }, "\(ports)")
            #expect(Manifest.value(container, ["livenessProbe", "httpGet", "path"]) as? String == "/healthz")
            #expect(Manifest.value(container, ["livenessProbe", "httpGet", "port"]) as? String == "ops")
            #expect(Manifest.value(container, ["readinessProbe", "httpGet", "path"]) as? String == "/readyz")
            #expect(Manifest.value(container, ["readinessProbe", "httpGet", "port"]) as? String == "ops")

            // SIGTERM → finish in-flight work, commit, leave the group: session timeout + 30 s at most.
            let sessionTimeout = try #require(argument("--session-timeout", in: args).flatMap(Double.init))
            #expect(sessionTimeout == values.sessionTimeout)
            let grace = try #require(pod["terminationGracePeriodSeconds"] as? Int)
            #expect(Double(grace) > sessionTimeout + 30, "\(worker.kind): grace \(grace) s, budget \(sessionTimeout + 30) s")

            // Non-root, read-only root file system, no capabilities.
            #expect(Manifest.value(pod, ["securityContext", "runAsNonRoot"]) as? Bool == true)
            #expect(Manifest.value(container, ["securityContext", "readOnlyRootFilesystem"]) as? Bool == true)
            #expect(Manifest.value(container, ["securityContext", "allowPrivilegeEscalation"]) as? Bool == false)
            #expect(Manifest.value(container, ["securityContext", "capabilities", "drop"]) as? [String] == ["ALL"])
            #expect(resources(container).contains("requests"), "\(worker.kind) has no resource requests")

            // Each configuration file the worker is given is mounted from a ConfigMap that has it.
            let mounts = container["volumeMounts"] as? [[String: Any]] ?? []
            let volumes = pod["volumes"] as? [[String: Any]] ?? []
            for (option, file) in worker.configFiles {
                let path = try #require(argument(option, in: args), "\(worker.kind) lacks \(option)")
                let directory = (path as NSString).deletingLastPathComponent
                #expect((path as NSString).lastPathComponent == file)
                let mount = try #require(mounts.first { $0["mountPath"] as? String == directory }, "\(path) is not mounted")
                let volume = try #require(volumes.first { $0["name"] as? String == mount["name"] as? String })
                let configMapName = try #require(Manifest.value(volume, ["configMap", "name"]) as? String)
                let configMap = try #require(manifests.named("ConfigMap", configMapName), "no ConfigMap \(configMapName)")
                let text = try #require(configMap["data", file] as? String, "\(configMapName) has no \(file)")
                #expect(!text.isEmpty)
            }

            // A PodDisruptionBudget that lets one pod go at a time (production turns off analytics').
            let budget = manifests.named("PodDisruptionBudget", "triage-\(worker.kind)")
            if values == .production && worker.kind == "analytics" {
                #expect(budget == nil)
            } else {
                #expect(budget?["spec", "maxUnavailable"] as? Int == 1, "\(worker.kind)")
                #expect(budget?["spec", "selector", "matchLabels", "app.kubernetes.io/component"] as? String == worker.kind)
            }
            // An autoscaler owns the replica count, so the Deployment leaves it out.
            #expect(deployment["spec", "replicas"] == nil)
        }
    }

    /// The topic Job runs `triage topics create --all` (the topic list, configs and groups live in
    /// the code) with every co-partitioned group's count, as a pre-install/pre-upgrade hook with
    /// retries and a TTL.
    @Test(arguments: ValuesSet.allCases)
    func topicJobRunsCreateAllWithEveryGroupsPartitions(_ values: ValuesSet) async throws {
        let manifests = try await values.check().manifests()
        let job = try #require(manifests.named("Job", "triage-topics"))
        #expect(job["metadata", "annotations", "helm.sh/hook"] as? String == "pre-install,pre-upgrade")
        #expect((job["spec", "backoffLimit"] as? Int ?? 0) > 0)
        #expect((job["spec", "ttlSecondsAfterFinished"] as? Int ?? 0) > 0)
        #expect(job.containers.count == 1)
        let container = try #require(job.containers.first)
        let args = try #require(container["args"] as? [String])
        #expect(Array(args.prefix(3)) == ["topics", "create", "--all"], "\(args)")
        let p = values.partitions
        let groups = Dictionary(
            arguments("--partitions", in: args).map {
                ($0.split(separator: "=").first.map(String.init) ?? "", Int($0.split(separator: "=").last ?? "") ?? 0)
            },
            uniquingKeysWith: { _, second in second }
        )
        #expect(
            groups == [
                "incidents": p.incidents, "routing": p.routing, "notifications": p.notifications, "entitlements": p.entitlements,
                "agentEvents": 3, "entitlementReplies": 3, "incidentDirectory": 6, "analytics": 12, "deadLetter": 3,
            ],
            "\(args)"
        )
        #expect(argument("--replication-factor", in: args) == "3")
        // The notifier's delivery ledger forgets keys: compacted and time-limited (docs/notifier.md).
        #expect(argument("--notification-ledger-retention-ms", in: args) == "604800000")
        if values == .production { #expect(arguments("--config", in: args).contains("min.insync.replicas=2"), "\(args)") }
    }

    @Test func defaultsScaleOnCPUWithNeitherKEDANorServiceMonitor() async throws {
        let manifests = try await ValuesSet.defaults.check().manifests()
        for kind in ["ScaledObject", "TriggerAuthentication", "ServiceMonitor", "Secret"] {
            #expect(manifests.all(kind).isEmpty, "\(kind) rendered without being enabled")
        }
        #expect(manifests.all("HorizontalPodAutoscaler").count == WorkerKind.all.count)
        for worker in WorkerKind.all {
            let hpa = try #require(manifests.named("HorizontalPodAutoscaler", "triage-\(worker.kind)"))
            #expect(hpa["spec", "scaleTargetRef", "name"] as? String == "triage-\(worker.kind)")
            #expect(hpa["spec", "metrics", 0, "resource", "name"] as? String == "cpu")
            // No more pods than partitions: the rest would sit idle.
            #expect(hpa["spec", "maxReplicas"] as? Int == worker.partitions(in: .defaults), "\(worker.kind)")
        }
        // The bootstrap servers come from the values, as TRIAGE_BOOTSTRAP.
        let escalator = try #require(manifests.named("Deployment", "triage-escalator")?.containers.first)
        let env = escalator["env"] as? [[String: Any]] ?? []
        #expect(env.contains { $0["name"] as? String == "TRIAGE_BOOTSTRAP" && $0["value"] as? String == "kafka:9092" })
    }

    @Test func productionScalesOnConsumerLagWithKEDAAndIsScraped() async throws {
        let manifests = try await ValuesSet.production.check().manifests()
        // KEDA replaces the CPU autoscaler: two would fight over the replica count.
        #expect(manifests.all("HorizontalPodAutoscaler").isEmpty)
        #expect(manifests.all("ScaledObject").count == WorkerKind.all.count)
        let authentication = try #require(manifests.all("TriggerAuthentication").first)
        let secretRefs = authentication["spec", "secretTargetRef"] as? [[String: Any]] ?? []
        #expect(Set(secretRefs.compactMap { $0["parameter"] as? String }) == ["username", "password", "ca"])
        #expect(secretRefs.allSatisfy { ["triage-kafka-credentials", "triage-kafka-ca"].contains($0["name"] as? String ?? "") })

        for worker in WorkerKind.all {
            let scaled = try #require(manifests.named("ScaledObject", "triage-\(worker.kind)"))
            #expect(scaled["spec", "scaleTargetRef", "name"] as? String == "triage-\(worker.kind)")
            let maximum = try #require(scaled["spec", "maxReplicaCount"] as? Int)
            #expect(maximum <= worker.partitions(in: .production), "\(worker.kind): \(maximum) replicas")
            let triggers = scaled["spec", "triggers"] as? [[String: Any]] ?? []
            #expect(triggers.allSatisfy { $0["type"] as? String == "kafka" })
            let sources = Set(
                triggers.map {
                    WorkerKind.LagSource(
                        group: Manifest.value($0, ["metadata", "consumerGroup"]) as? String ?? "",
                        topic: Manifest.value($0, ["metadata", "topic"]) as? String ?? "")
                })
            #expect(sources == Set(worker.lagSources), "\(worker.kind)")
            for trigger in triggers {
                #expect(Manifest.value(trigger, ["metadata", "sasl"]) as? String == "scram_sha512")
                #expect(Manifest.value(trigger, ["metadata", "tls"]) as? String == "enable")
                #expect(Manifest.value(trigger, ["authenticationRef", "name"]) as? String == authentication.name)
                #expect(Manifest.value(trigger, ["metadata", "lagThreshold"]) as? String == "500")
            }

            // The ServiceMonitor scrapes /metrics on the port named ops of the worker's ops Service.
            let monitor = try #require(manifests.named("ServiceMonitor", "triage-\(worker.kind)"))
            #expect(monitor["metadata", "labels", "release"] as? String == "kube-prometheus-stack")
            #expect(monitor["spec", "endpoints", 0, "port"] as? String == "ops")
            #expect(monitor["spec", "endpoints", 0, "path"] as? String == "/metrics")
            let selector = try #require(monitor["spec", "selector", "matchLabels"] as? [String: String])
            let service = try #require(manifests.named("Service", "triage-\(worker.kind)-ops"))
            let serviceLabels = service["metadata", "labels"] as? [String: String] ?? [:]
            #expect(selector.allSatisfy { serviceLabels[$0.key] == $0.value }, "the ServiceMonitor does not select \(service.name)")
            let ports = service["spec", "ports"] as? [[String: Any]] ?? []
            #expect(ports.contains { $0["name"] as? String == "ops" && $0["port"] as? Int == worker.opsPort })
        }
        // The intake's gRPC is reachable through its own Service, over TLS.
        let grpc = try #require(manifests.named("Service", "triage-intake"))
        #expect(grpc["spec", "type"] as? String == "LoadBalancer")
        #expect(grpc["spec", "ports", 0, "targetPort"] as? String == "grpc")
        let intakeArgs = try #require(manifests.named("Deployment", "triage-intake")?.containers.first?["args"] as? [String])
        #expect(argument("--tls-certificate", in: intakeArgs) == "/etc/triage/intake-tls/tls.crt")
        #expect(argument("--port", in: intakeArgs) == "50051")
    }

    /// `autoscaling.enabled: false` on one worker: its replica count is fixed and nothing scales
    /// it, while the other workers keep their ScaledObjects; the override leaves the defaults alone.
    @Test func aWorkerWithoutAutoscalingKeepsItsReplicaCount() async throws {
        let file = try temporaryFile(
            "keda:\n  enabled: true\nworkers:\n  router:\n    replicaCount: 3\n    autoscaling:\n      enabled: false\n")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let check = try await checkChart([file])
        #expect(check.status == 0, "\(check.errors)")
        let manifests = try check.manifests()
        #expect(manifests.named("Deployment", "triage-router")?["spec", "replicas"] as? Int == 3)
        #expect(manifests.named("ScaledObject", "triage-router") == nil)
        #expect(manifests.all("HorizontalPodAutoscaler").isEmpty)
        for worker in WorkerKind.all where worker.kind != "router" {
            #expect(manifests.named("ScaledObject", "triage-\(worker.kind)") != nil, "\(worker.kind)")
            #expect(manifests.named("Deployment", "triage-\(worker.kind)")?["spec", "replicas"] == nil, "\(worker.kind)")
        }
    }

    /// Kafka credentials, webhook keys and tenant tokens come from Secrets by reference; the
    /// chart renders no Secret and writes no secret into a ConfigMap or an argument.
    @Test func secretsAreReferencedNeverInlined() async throws {
        let manifests = try await ValuesSet.production.check().manifests()
        #expect(manifests.all("Secret").isEmpty)
        let pods = manifests.all("Deployment") + manifests.all("Job")
        for pod in pods {
            for container in pod.containers {
                let env = container["env"] as? [[String: Any]] ?? []
                let byName = Dictionary(env.map { ($0["name"] as? String ?? "", $0) }, uniquingKeysWith: { first, _ in first })
                for name in ["TRIAGE_KAFKA_SASL_USERNAME", "TRIAGE_KAFKA_SASL_PASSWORD"] {
                    #expect(
                        Manifest.value(byName[name], ["valueFrom", "secretKeyRef", "name"]) as? String == "triage-kafka-credentials",
                        "\(pod.name): \(name)")
                }
                for entry in env
                where (entry["name"] as? String ?? "").range(of: "SECRET|PASSWORD|TOKEN|KEY", options: .regularExpression) != nil {
                    #expect(entry["value"] == nil, "\(pod.name): \(entry["name"] ?? "") is inlined")
                    #expect(Manifest.value(entry, ["valueFrom", "secretKeyRef", "key"]) is String, "\(pod.name): \(entry["name"] ?? "")")
                }
                let args = container["args"] as? [String] ?? []
                // The credentials come from the env (triage reads TRIAGE_KAFKA_* as properties):
                // never in args, where the process list would show them.
                #expect(!args.contains { $0.contains("sasl.password") || $0.contains("sasl.username") }, "\(pod.name)")
                #expect(args.contains("security.protocol=SASL_SSL"), "\(pod.name)")
                #expect(args.contains("ssl.ca.location=/etc/triage/kafka-tls/ca.crt"), "\(pod.name)")
            }
        }
        for configMap in manifests.all("ConfigMap") {
            let text = (configMap["data"] as? [String: String] ?? [:]).values.joined(separator: "\n")
            #expect(!text.contains("sasl.password"), "\(configMap.name)")
        }

        // The real notifier, given the rendered rules and an empty environment, names the
        // variables it needs; each one is a Secret reference in the notifier's Deployment.
        let rulesMap = try #require(manifests.named("ConfigMap", "triage-notification-rules"))
        let rules = try temporaryFile(try #require(rulesMap["data", "notification-rules.yaml"] as? String))
        defer { try? FileManager.default.removeItem(atPath: rules) }
        let (status, _, errors) = try await runProcess(
            "/usr/bin/env", ["-i", triageExecutable, "notifier", "--rules", rules, "--bootstrap", "127.0.0.1:1"])
        #expect(status != 0)
        let marker = "which are not set: "
        let line = try #require(errors.split(separator: "\n").first { $0.contains(marker) }, "\(errors)")
        let needed = line.components(separatedBy: marker)[1].components(separatedBy: ", ").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(needed.count == 4, "\(needed)")
        try expectSecretReferences(needed, in: manifests, worker: "notifier")

        // The tenants file names its tokens with token_env; each is a Secret reference of the intake.
        let tenants = try #require(manifests.named("ConfigMap", "triage-intake")?["data", "tenants.yaml"] as? String)
        let tokenVariables = tenants.split(separator: "\n").compactMap { line -> String? in
            let code = String(line).components(separatedBy: "#")[0]
            guard let range = code.range(of: #"token_env:\s*([A-Za-z_][A-Za-z0-9_]*)"#, options: .regularExpression) else { return nil }
            return code[range].components(separatedBy: ":")[1].trimmingCharacters(in: .whitespaces)
        }
        #expect(tokenVariables == ["TRIAGE_BETA_TOKEN", "TRIAGE_OPS_TOKEN", "TRIAGE_CONSOLE_TOKEN"])
        try expectSecretReferences(tokenVariables, in: manifests, worker: "intake")
        #expect(!tenants.contains("\n    token: "), "a tenant token is written in clear")
    }

    /// The console: its own Deployment and Service, acting through the intake's Service as the
    /// console tenant (the token the intake knows as TRIAGE_CONSOLE_TOKEN, from the same Secret),
    /// the staff accounts from a Secret, probes on its HTTP port, one client per pod.
    @Test(arguments: ValuesSet.allCases)
    func theConsoleActsThroughTheIntakeWithItsAccountsFromASecret(_ values: ValuesSet) async throws {
        let manifests = try await values.check().manifests()
        let deployment = try #require(manifests.named("Deployment", "triage-console"))
        let container = try #require(deployment.containers.first)
        let args = try #require(container["args"] as? [String])
        #expect(args.first == "console")
        #expect(argument("--host", in: args) == "0.0.0.0")
        let intakeService = try #require(manifests.named("Service", "triage-intake"))
        let intakePort = try #require((intakeService["spec", "ports"] as? [[String: Any]])?.first?["port"] as? Int)
        #expect(argument("--intake", in: args) == "triage-intake:\(intakePort)")
        #expect(args.contains("--intake-tls") == (values == .production), "production serves gRPC over TLS")
        #expect(argument("--intake-token-env", in: args) == "TRIAGE_CONSOLE_INTAKE_TOKEN")
        let env = container["env"] as? [[String: Any]] ?? []
        let token = env.first { $0["name"] as? String == "TRIAGE_CONSOLE_INTAKE_TOKEN" }
        let intakeEnv = try #require(manifests.named("Deployment", "triage-intake")?.containers.first?["env"] as? [[String: Any]])
        let intakeToken = intakeEnv.first { $0["name"] as? String == "TRIAGE_CONSOLE_TOKEN" }
        #expect(Manifest.value(token, ["valueFrom", "secretKeyRef", "name"]) as? String == "triage-console")
        #expect(
            Manifest.value(token, ["valueFrom", "secretKeyRef"]) as? [String: String]
                == Manifest.value(intakeToken, ["valueFrom", "secretKeyRef"]) as? [String: String], "one token, two names")

        let pod = try #require(deployment["spec", "template", "spec"] as? [String: Any])
        let accounts = try #require(argument("--accounts", in: args))
        let mounts = container["volumeMounts"] as? [[String: Any]] ?? []
        let volumes = pod["volumes"] as? [[String: Any]] ?? []
        let mount = try #require(mounts.first { $0["mountPath"] as? String == (accounts as NSString).deletingLastPathComponent })
        let volume = try #require(volumes.first { $0["name"] as? String == mount["name"] as? String })
        #expect(Manifest.value(volume, ["secret", "secretName"]) as? String == "triage-console", "accounts come from a Secret")
        for option in ["--policy", "--roster"] {
            let path = try #require(argument(option, in: args), "no \(option)")
            #expect(mounts.contains { $0["mountPath"] as? String == (path as NSString).deletingLastPathComponent }, "\(option) \(path)")
        }

        #expect(Manifest.value(container, ["livenessProbe", "httpGet", "port"]) as? String == "http")
        #expect(Manifest.value(container, ["readinessProbe", "httpGet", "path"]) as? String == "/readyz")
        #expect(Manifest.value(container, ["securityContext", "readOnlyRootFilesystem"]) as? Bool == true)
        let service = try #require(manifests.named("Service", "triage-console"))
        #expect(service["spec", "sessionAffinity"] as? String == "ClientIP")
        #expect((service["spec", "ports"] as? [[String: Any]])?.first?["targetPort"] as? String == "http")
    }

    /// The SLA policy the escalator is given (with the production file's shared calendars merged
    /// in) is one the real `triage` accepts.
    @Test func renderedSLAPolicyWithSharedCalendarsLoads() async throws {
        let manifests = try await ValuesSet.production.check().manifests()
        let policyText = try #require(manifests.named("ConfigMap", "triage-sla-policy")?["data", "sla-policy.yaml"] as? String)
        #expect(policyText.contains("uk-office:") && policyText.contains("emea:"), "shared and own calendars")
        for (name, file) in [("triage-roster", "roster.yaml"), ("triage-notification-rules", "notification-rules.yaml")] {
            let text = try #require(manifests.named("ConfigMap", name)?["data", file] as? String)
            #expect(text.contains("uk-office:"), "\(name) lacks the shared calendar")
        }
        let policy = try temporaryFile(policyText)
        defer { try? FileManager.default.removeItem(atPath: policy) }
        let (status, output, errors) = try await runProcess(
            triageExecutable, ["sla", "deadline", "--policy", policy, "--severity", "B", "--opened", "2026-12-24T16:00:00Z"]
        )
        #expect(status == 0, "\(errors)")
        #expect(output.contains("deadline"), "\(output)")
    }

    /// The chart bundles the example configuration files as its defaults; they must not drift.
    @Test func bundledConfigFilesAreTheExamples() throws {
        for (bundled, example) in [
            ("sla-policy.yaml", "sla-policy.example.yaml"), ("notification-rules.yaml", "notification-rules.example.yaml"),
            ("tenants.yaml", "tenants.example.yaml"), ("billing-policy.yaml", "billing-policy.example.yaml"),
        ] {
            let chartFile = try String(contentsOfFile: repositoryRoot + "/helm/triage/files/" + bundled, encoding: .utf8)
            let exampleFile = try String(contentsOfFile: repositoryRoot + "/config/" + example, encoding: .utf8)
            #expect(chartFile == exampleFile, "helm/triage/files/\(bundled) differs from config/\(example): copy it again")
        }
    }

    struct InvalidValues: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var yaml: String
        var message: String
    }

    @Test(arguments: [
        InvalidValues(
            testDescription: "replicas not a number", yaml: "workers:\n  router:\n    replicaCount: many\n",
            message: "at '/workers/router/replicaCount': got string, want integer"),
        InvalidValues(testDescription: "bootstrap servers missing", yaml: "kafka:\n  bootstrap: \"\"\n", message: "at '/kafka/bootstrap'"),
        InvalidValues(
            testDescription: "misspelt key", yaml: "workers:\n  escalator:\n    replicas: 3\n",
            message: "additional properties 'replicas' not allowed"),
        InvalidValues(
            testDescription: "grace period within the shutdown budget", yaml: "workerDefaults:\n  terminationGracePeriodSeconds: 40\n",
            message: "terminationGracePeriodSeconds (40) must exceed the graceful-shutdown budget, sessionTimeoutSeconds + 30 = 40"),
        InvalidValues(
            testDescription: "SASL without its Secret", yaml: "kafka:\n  sasl:\n    enabled: true\n",
            message: "kafka.sasl.existingSecret is required with kafka.sasl.enabled"),
        InvalidValues(
            testDescription: "too few partitions", yaml: "topics:\n  partitions:\n    routing: 0\n",
            message: "at '/topics/partitions/routing': minimum"),
    ])
    func invalidValuesAreRefusedWithAClearMessage(_ invalid: InvalidValues) async throws {
        let file = try temporaryFile(invalid.yaml)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let check = try await checkChart([file])
        #expect(check.status != 0)
        #expect(check.errors.contains(invalid.message), "\(check.errors)")
        #expect(!check.output.contains("check-chart: OK"))
    }
}

/// Expects every variable in `names` to come from a secretKeyRef in the worker's Deployment.
private func expectSecretReferences(_ names: [String], in manifests: [Manifest], worker: String) throws {
    let container = try #require(manifests.named("Deployment", "triage-\(worker)")?.containers.first)
    let env = container["env"] as? [[String: Any]] ?? []
    for name in names {
        let entry = env.first { $0["name"] as? String == name }
        #expect(Manifest.value(entry, ["valueFrom", "secretKeyRef", "name"]) is String, "\(worker): \(name) is not a Secret reference")
    }
}

private func resources(_ container: [String: Any]) -> Set<String> {
    Set((container["resources"] as? [String: Any] ?? [:]).keys)
}
