#!/usr/bin/env bash
# Usage: build.sh [promtool|prometheus] (default promtool).
# Builds a pinned promtool — or, for the kind suite's in-cluster Prometheus, the prometheus server —
# from the Go module proxy (github.com/prometheus/prometheus/cmd/<tool>;
# Debian 12's prometheus package is 2.42, from before Prometheus 3 changed query semantics such as
# range selectors' boundaries) into a cache keyed by version, like test/helm/build.sh does for helm.
# Only the first run compiles; later runs print the cached binary's path at once.
# Prints the promtool binary's path on stdout; progress goes to stderr.
set -euo pipefail
# Prometheus 3.16.0 (its Go module is tagged v0.MAJORMINOR.PATCH). Its go.mod has no replace or
# exclude directives, so `go install module@version` builds it; it needs Go >= 1.26.7 (the machine's
# Go is 1.26.8; an older one switches toolchains through the Go module proxy by itself).
PROMETHEUS_MODULE_VERSION=v0.316.0
PROMETHEUS_VERSION=3.16.0

tool="${1:-promtool}"
case "$tool" in
  # remove_all_sd leaves out the service discovery plugins (cloud SDKs, client-go) that only
  # `promtool check config`/`check service-discovery` of such configs would need: rule checks and
  # rule unit tests do not, and the build is a fraction of the size.
  promtool) tags=remove_all_sd ;;
  # The server keeps Kubernetes discovery alone: it finds the pods by their prometheus.io annotations.
  prometheus) tags=remove_all_sd,enable_kubernetes_sd ;;
  *) echo "usage: $0 [promtool|prometheus]" >&2; exit 2 ;;
esac
# shellcheck source-path=SCRIPTDIR source=../cluster/go-tool.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../cluster/go-tool.sh"
go_tool_cache promtool "$PROMETHEUS_MODULE_VERSION" "$tool"
if [ ! -x "$GO_TOOL_ROOT/$tool" ]; then
  log "building $tool $PROMETHEUS_VERSION ($PROMETHEUS_MODULE_VERSION) from the Go module proxy (first run only)"
  # The ldflags of Prometheus's own release build (promu): the version `--version` reports.
  ldflags="-s -w -X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION -X github.com/prometheus/common/version.Branch=HEAD"
  go_tool_install "$tool" "github.com/prometheus/prometheus/cmd/$tool@$PROMETHEUS_MODULE_VERSION" -tags "$tags" -ldflags "$ldflags"
fi
echo "$GO_TOOL_ROOT/$tool"
