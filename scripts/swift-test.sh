#!/usr/bin/env bash
# Runs `swift test` with the arguments given and, when it fails, repeats the failed tests' lines
# at the end of the output: the suites log a lot (librdkafka's connection errors among them),
# and CI keeps only the tail of a run, where "1 issue" alone does not say which test it was.
#
# A run that hangs would otherwise end only at CI's own limit, with nothing saying where. After
# SWIFT_TEST_TIME_LIMIT seconds (default 1500: the main run takes ~6 minutes) the run is stopped:
# the threads' stacks of the test process (when gdb is installed), then the tests that started and
# never finished, are printed last, and the script fails.
set -uo pipefail
SWIFT=${SWIFT:-swift}
limit=${SWIFT_TEST_TIME_LIMIT:-1500}
log=$(mktemp)
status_file=$(mktemp)
trap 'rm -f "$log" "$status_file"' EXIT

# Every process below `pid`, deepest last.
descendants() {
    local child
    for child in $(ps -o pid= --ppid "$1"); do
        echo "$child"
        descendants "$child"
    done
}

bash -c '"$@" 2>&1 | tee "'"$log"'"; echo "${PIPESTATUS[0]}" >"'"$status_file"'"' swift-test "$SWIFT" test "$@" &
run=$!
started=$SECONDS
while kill -0 "$run" 2>/dev/null; do
    if ((SECONDS - started > limit)); then
        echo "== swift test $* still running after ${limit} s: stopped"
        processes=$(descendants "$run")
        if command -v gdb >/dev/null; then
            # Per thread, its name and the first frame of Triage's code (librdkafka has no
            # symbols), counted; the whole stacks go to .build/test-hang-stacks.txt.
            for pid in $processes; do
                grep -q -a PackageTests "/proc/$pid/cmdline" 2>/dev/null || continue
                gdb -p "$pid" -batch -ex 'thread apply all bt 25' 2>/dev/null | grep -a -E '^(Thread|#)' >.build/test-hang-stacks.txt
                echo "== the threads of the test process $pid, by their first frame in Triage's code:"
                awk '/^Thread/ { name = $0; sub(/^[^"]*"/, "", name); sub(/".*/, "", name); found = 0; next }
                     !found && /\$s[0-9]+Triage/ { for (i = 1; i <= NF; i++) if ($i ~ /^\$s[0-9]+Triage/) { print name ": " $i; found = 1; break } }' \
                    .build/test-hang-stacks.txt | swift demangle --simplified 2>/dev/null | cut -c1-220 | sort | uniq -c | sort -rn | head -30
            done
        fi
        # The test process runs in a process group of its own: each process is stopped by its id.
        kill -TERM $processes 2>/dev/null
        sleep 5
        kill -KILL $processes 2>/dev/null
        echo "== the tests that started and had not finished after ${limit} s:"
        grep -a -E '^◇ Test .* started\.$' "$log" | sed -E 's/^◇ Test (.*) started\.$/\1/' | sort | uniq >"$log.started"
        grep -a -E '^[✔✘] Test .* (passed|failed) after' "$log" | sed -E 's/^[^ ]+ Test (.*) (passed|failed) after.*/\1/' \
            | sort | uniq >"$log.finished"
        comm -23 "$log.started" "$log.finished"
        rm -f "$log.started" "$log.finished"
        exit 124
    fi
    sleep 2
done
wait "$run"
status=$(cat "$status_file")
status=${status:-1}
if [ "$status" -ne 0 ]; then
    echo "== swift test $* failed (exit $status); the failures, again:"
    grep -a -E '✘|error:|Fatal error|Assertion failed|Crash|signal' "$log" | grep -a -v -E 'librdkafka|rdkafka\.facility' | tail -40
fi
exit "$status"
