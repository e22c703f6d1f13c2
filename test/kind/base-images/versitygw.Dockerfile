# Offline stand-in for ghcr.io/versity/versitygw (the S3 server of test/kind/manifests/services.yaml):
# the versitygw binary test/services/install.sh builds (the build context) as the entry point at the
# upstream image's path, so the manifest's args and ROOT_* environment work unchanged.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
COPY versitygw /app/versitygw
# The manifest's user; numeric, so the kubelet can verify runAsNonRoot.
USER 65532:65532
EXPOSE 7070
ENTRYPOINT ["/app/versitygw"]
