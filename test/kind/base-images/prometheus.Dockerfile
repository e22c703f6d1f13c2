# Offline stand-in for prom/prometheus (test/kind/manifests/prometheus.yaml): the release's server
# as test/promtool/build.sh builds it from the Go module proxy (the build context), at the upstream
# image's path and entry point, so the manifest's arguments work unchanged.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
COPY prometheus /bin/prometheus
# The upstream image's user (nobody); numeric, so the kubelet can verify runAsNonRoot.
USER 65534:65534
EXPOSE 9090
ENTRYPOINT ["/bin/prometheus"]
