#!/usr/bin/env bash
# Builds a pinned helm from the Go module proxy (helm.sh/helm/v3/cmd/helm; Debian has no helm
# package) into a cache keyed by version, like test/cluster/build.sh does for the control plane.
# Only the first run compiles; later runs print the cached binary's path at once.
# Prints the helm binary's path on stdout; progress goes to stderr.
set -euo pipefail
# v3.19 is built on client-go 0.34 (the Kubernetes 1.34 the project targets) and with Go 1.24, the
# toolchain test/cluster/go.sh provides on a fresh machine.
HELM_VERSION=v3.19.5

log() { echo "live360 helm: $*" >&2; }
root="${LIVE360_CACHE:-$HOME/.cache/live360}/helm/$HELM_VERSION"
mkdir -p "$root"
# Two test runs starting at once would race on the same output.
exec 9>"$root/build.lock"
flock 9
if [ ! -x "$root/helm" ]; then
  log "building helm $HELM_VERSION from the Go module proxy (first run only)"
  # The same Go as the control plane build: the one on PATH if new enough, else fetched once.
  go="$("$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../cluster/go.sh")"
  export GOWORK=off CGO_ENABLED=0
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
  GOBIN="$root/bin.tmp" nice -n 15 "$go" install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  mv -f "$root/bin.tmp/helm" "$root/helm"
  rmdir "$root/bin.tmp"
fi
echo "$root/helm"
