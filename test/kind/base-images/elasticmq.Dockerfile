# Offline stand-in for softwaremill/elasticmq-native (the SQS server of test/kind/manifests/services.yaml):
# the JVM build of the same ElasticMQ version (the jars test/services/install.sh fetches, in the
# build context with a default configuration) on Debian's Java 17. Like the native image it reads
# /opt/elasticmq.conf, where the manifest mounts its ConfigMap, and listens on 9324 (SQS) and 9325 (UI).
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
# The JRE's scripts register its man pages, so their directory must exist although the slim
# rootfs keeps no manuals.
# hadolint DL3008: apt versions are not pinned because Debian drops superseded security builds
# from its mirrors, which would break every rebuild.
# hadolint ignore=DL3008
RUN mkdir -p /usr/share/man/man1 \
 && apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && rm -rf /var/lib/apt/lists/*
COPY lib /opt/elasticmq/lib
COPY elasticmq.conf /opt/elasticmq.conf
# The manifest's user; numeric, so the kubelet can verify runAsNonRoot.
USER 65532:65532
EXPOSE 9324 9325
# -XX:-UsePerfData: no /tmp/hsperfdata_* (the JVM's monitoring file), which the manifest's read-only
# root filesystem refuses; without it the JVM tries on every start and falls back to plain memory.
# Start-up and footprint over throughput (as the tests' ElasticMQ): C1 only, the serial collector,
# and half the container's memory limit for the heap (128 MiB under the manifest's 256 MiB).
ENTRYPOINT ["java", "-XX:-UsePerfData", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:MaxRAMPercentage=50", \
            "-Dconfig.file=/opt/elasticmq.conf", "-cp", "/opt/elasticmq/lib/*", "org.elasticmq.server.Main"]
