#!/usr/bin/env bash
# Runs `swift test` with the arguments given and, when it fails, repeats the failed tests' lines
# at the end of the output: the suites log a lot (librdkafka's connection errors among them),
# and CI keeps only the tail of a run, where "1 issue" alone does not say which test it was.
set -uo pipefail
SWIFT=${SWIFT:-swift}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
$SWIFT test "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
    echo "== swift test $* failed (exit $status); the failures, again:"
    grep -a -E '✘|error:|Fatal error|Assertion failed|Crash|signal' "$log" | grep -a -v -E 'librdkafka|rdkafka\.facility' | tail -40
fi
exit "$status"
