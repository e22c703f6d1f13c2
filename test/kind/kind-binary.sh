#!/usr/bin/env bash
# Prints the path of kind $KIND_VERSION (lib.sh), built once with `go install` from the Go module proxy
# into ${LIVE360_CACHE:-~/.cache/live360}/kind/bin/<version>: machines that reach only package
# registries cannot download kind's release binaries from GitHub.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
dir="${LIVE360_CACHE:-$HOME/.cache/live360}/kind/bin/$KIND_VERSION"
# Asking the binary, not testing for the file, also catches a copy cut short by an interrupted install.
installed() { "$dir/kind" version 2>/dev/null | grep -q "kind $KIND_VERSION "; }
if ! installed; then
  mkdir -p "$dir"
  exec 9>"$dir/.lock"
  flock 9
  if ! installed; then
    go="$(bash "$here/../cluster/go.sh")"
    log "building kind $KIND_VERSION (once)"
    GOBIN="$dir" GOWORK=off CGO_ENABLED=0 nice -n 15 "$go" install -trimpath -ldflags "-s -w" "sigs.k8s.io/kind@$KIND_VERSION"
  fi
fi
echo "$dir/kind"
