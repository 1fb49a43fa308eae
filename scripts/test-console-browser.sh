#!/usr/bin/env bash
# The console's browser tests of `make test`: a `triage dev` on the embedded broker with the
# console, driven by Selenium (PyPI selenium) through Debian's chromium and chromium-driver
# (scripts/browser/console_test.py says what is checked). Screenshots of every page go to
# .build/test-artifacts/console/.
#
#   TRIAGE=.build/debug/triage scripts/test-console-browser.sh
#
# The run: two teams (tier-1: agent-1 away, so nothing is pushed to them, and agent-3 with room
# for one incident; tier-2: agent-2), simulated incidents for tier-1 every two seconds, SLA time
# at wall-clock speed (the simulator's own answers come hours later, after the test), no demo
# portal and no simulated presence changes (both would act on the incidents the test acts on).
# `triage dev` simulates customers in four languages (en, de, fr, es): every agent speaks all of
# them, or "take next" finds nothing that fits whenever only other languages wait.
set -euo pipefail

TRIAGE=${TRIAGE:-.build/debug/triage}
PYTHON=${PYTHON:-python3}
ARTIFACTS=${ARTIFACTS:-.build/test-artifacts/console}
work=$(mktemp -d "${TMPDIR:-/tmp}/triage-console-browser.XXXXXX")
dev_pid=""
cleanup() {
	if [ -n "$dev_pid" ]; then
		kill -TERM "$dev_pid" 2>/dev/null || true
		for _ in $(seq 1 60); do kill -0 "$dev_pid" 2>/dev/null || break; sleep 0.5; done
		kill -9 "$dev_pid" 2>/dev/null || true
		wait "$dev_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

fail() {
	echo "console browser test: FAILED — $*" >&2
	[ -f "$work/dev.log" ] && { echo "--- last lines of triage dev:" >&2; tail -n 40 "$work/dev.log" >&2; }
	exit 1
}

for tool in /usr/bin/chromium /usr/bin/chromedriver; do
	[ -x "$tool" ] || fail "$tool is missing: apt-get install chromium chromium-driver (make test-deps does)"
done
"$PYTHON" -c 'import selenium' 2>/dev/null || fail "Selenium is missing: pip install selenium (make test-deps does)"

free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
console_port=$(free_port)

cat > "$work/roster.yaml" <<'EOF'
agents:
  - { id: agent-1, team: tier-1, products: [billing], languages: [en, de, fr, es], capacity: 6, presence: away }
  - { id: agent-2, team: tier-2, products: [billing], languages: [en, de, fr, es], capacity: 6, presence: online }
  - { id: agent-3, team: tier-1, products: [billing], languages: [en, de, fr, es], capacity: 2, presence: online }
EOF

"$TRIAGE" dev --brokers 1 --time-scale 1 --incident-rate 0.5 --portal-interval 0 --presence-interval 0 \
	--roster "$work/roster.yaml" --console-port "$console_port" --dashboard-port 0 --intake-port 0 --ops-port 0 \
	--port-file "$work/bootstrap" --report-interval 30 --duration 900 > "$work/dev.log" 2>&1 &
dev_pid=$!

console="http://127.0.0.1:$console_port"
for _ in $(seq 1 240); do
	kill -0 "$dev_pid" 2>/dev/null || fail "triage dev ended early"
	if [ -s "$work/bootstrap" ] && curl -fsS "$console/readyz" >/dev/null 2>&1; then break; fi
	sleep 0.5
done
curl -fsS "$console/readyz" >/dev/null 2>&1 || fail "the console at $console was not ready within 120 s"
password=$(sed -n 's/.*— password \([^ ]*\).*/\1/p' "$work/dev.log" | head -n 1)
[ -n "$password" ] || fail "triage dev printed no demo password"

mkdir -p "$ARTIFACTS"
"$PYTHON" scripts/browser/console_test.py --console "$console" --bootstrap "$(cat "$work/bootstrap")" \
	--password "$password" --triage "$TRIAGE" --artifacts "$ARTIFACTS" || fail "see the check above; screenshots in $ARTIFACTS"
echo "console browser test: OK"
