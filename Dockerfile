# syntax=docker/dockerfile:1
# The triage image: one binary whose subcommands are the workers (`triage escalator`, `router`,
# `notifier`, `analytics`, `intake`) and the tools (`topics create`, `agents apply`...). The Helm
# chart in helm/triage runs it.
#
#   docker build -t triage:0.1.0 .
#   docker run --rm triage:0.1.0 --help
#
# Two stages: the Swift toolchain builds a release binary with the Swift runtime linked in
# statically (--static-swift-stdlib), so the runtime stage needs only librdkafka and the few
# system libraries Foundation links, not a toolchain.

ARG SWIFT_VERSION=6.3.1
ARG DEBIAN_RELEASE=bookworm

# ---------------------------------------------------------------------------------------------
FROM swift:${SWIFT_VERSION}-${DEBIAN_RELEASE} AS build

# librdkafka through pkg-config (the CRdKafka system library target).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends librdkafka-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# Dependencies first: this layer is rebuilt only when the manifest (or a local Package.resolved,
# which is not committed) changes.
COPY Package.* ./
RUN swift package resolve

COPY Sources ./Sources
# Test target folders must exist for the manifest to load, though no test is built.
COPY Tests ./Tests
RUN swift build -c release --product triage --static-swift-stdlib \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/triage" /out/usr/local/bin/triage

# ---------------------------------------------------------------------------------------------
FROM debian:${DEBIAN_RELEASE}-slim AS runtime

# librdkafka1: the Kafka client. tzdata: business calendars name IANA zones (America/New_York...).
# ca-certificates: TLS to Kafka, webhooks and SMTP with the system trust roots. libcurl4 and
# libxml2: what Foundation's networking and XML parts link when the Swift runtime is static.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        librdkafka1 tzdata ca-certificates libcurl4 libxml2 libstdc++6 \
    && rm -rf /var/lib/apt/lists/*

# A fixed non-root user; the chart's securityContext runs as the same uid and gid.
RUN groupadd --system --gid 10001 triage \
    && useradd --system --uid 10001 --gid triage --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin triage

COPY --from=build /out/ /
COPY config/ /etc/triage/examples/

USER 10001:10001
# The workers need nothing writable (the chart mounts a read-only root file system and an
# emptyDir at /tmp).
WORKDIR /tmp
# 8081-8085: the workers' ops ports (/healthz, /readyz, /metrics); 50051: the intake's gRPC.
EXPOSE 8081 8082 8083 8084 8085 50051
ENTRYPOINT ["triage"]
CMD ["--help"]
