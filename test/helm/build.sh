#!/usr/bin/env bash
# Builds a pinned helm from the Go module proxy (helm.sh/helm/v3/cmd/helm; Debian has no helm
# package) into a cache keyed by version, like test/cluster/build.sh does for the control plane.
# Only the first run compiles; later runs print the cached binary's path at once.
# Prints the helm binary's path on stdout; progress goes to stderr.
set -euo pipefail
# v3.19 is built on client-go 0.34 (the Kubernetes 1.34 the project targets) and with Go 1.24, the
# toolchain test/cluster/go.sh provides on a fresh machine.
HELM_VERSION=v3.19.5

# shellcheck source-path=SCRIPTDIR source=../cluster/go-tool.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../cluster/go-tool.sh"
go_tool_cache helm "$HELM_VERSION" helm
root="$GO_TOOL_ROOT"
if [ ! -x "$root/helm" ]; then
  log "building helm $HELM_VERSION from the Go module proxy (first run only)"
  go="$(go_tool_go)"
  gomod="$(cd "$root" && "$go" mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')"
  [ -n "$gomod" ] || { log "could not download helm.sh/helm/v3@$HELM_VERSION from the Go module proxy"; exit 1; }
  # The ldflags of helm's own release build (its Makefile): the version `helm version` reports, and
  # the Kubernetes version of its client-go as the default capabilities of `helm template`/`lint`
  # (without them helm assumes Kubernetes 1.20 and refuses charts that need newer).
  minor="$(sed -n 's/^\tk8s.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$gomod")"
  [ -n "$minor" ] || { log "found no k8s.io/client-go requirement in $gomod"; exit 1; }
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$minor"
  done
  go_tool_install helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" -ldflags "$ldflags"
fi
echo "$root/helm"
