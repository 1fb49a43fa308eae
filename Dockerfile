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
#
# Both stages are Ubuntu 24.04 (noble), so the binary runs on the glibc and the librdkafka it was
# built against. Not Debian 12: bookworm's librdkafka 2.0.2 cannot read an ApiVersion response
# that carries tagged fields (the tansu broker: "Protocol read buffer underflow for ApiVersion
# v3"); librdkafka 2.2.0 fixed it. There is no Swift 6.3 image on Debian 13. See
# docs/deployment.md.

ARG SWIFT_VERSION=6.3.1
ARG UBUNTU_RELEASE=noble
# The exact librdkafka package (Ubuntu's universe) both stages install: at least 2.2.0
# (DockerfileTests checks it). A release pocket's packages never change, so the pin stays
# installable after updates; it names a noble package, so change it with UBUNTU_RELEASE.
ARG LIBRDKAFKA_VERSION=2.3.0-1build2

# ---------------------------------------------------------------------------------------------
FROM swift:${SWIFT_VERSION}-${UBUNTU_RELEASE} AS build
ARG LIBRDKAFKA_VERSION

# librdkafka through pkg-config (the CRdKafka system library target). librdkafka-dev pulls the
# librdkafka1 of the same version.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "librdkafka-dev=${LIBRDKAFKA_VERSION}" pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# Dependencies first: this layer is rebuilt only when the manifest or Package.resolved (committed:
# the image builds the pinned versions) changes.
COPY Package.* ./
RUN swift package resolve

COPY Sources ./Sources
# Test target folders must exist for the manifest to load, though no test is built.
COPY Tests ./Tests
RUN swift build -c release --product triage --static-swift-stdlib \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/triage" /out/usr/local/bin/triage

# ---------------------------------------------------------------------------------------------
FROM ubuntu:${UBUNTU_RELEASE} AS runtime
ARG LIBRDKAFKA_VERSION

# librdkafka1: the Kafka client, the version the build stage linked. tzdata: business calendars
# name IANA zones (America/New_York...). ca-certificates: TLS to Kafka, webhooks and SMTP with the
# system trust roots. libcurl4t64 (noble's name for libcurl4) and libxml2: what Foundation's
# networking and XML parts link when the Swift runtime is static.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "librdkafka1=${LIBRDKAFKA_VERSION}" tzdata ca-certificates libcurl4t64 libxml2 libstdc++6 \
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
