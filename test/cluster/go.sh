#!/usr/bin/env bash
# Prints the path of a `go` new enough to build the pinned control plane (GO_MIN_VERSION in
# versions.env). The `go` on PATH is used when it is new enough. Otherwise the official toolchain
# is fetched as the module golang.org/toolchain from the Go module proxy by whatever older Go is
# installed (Debian 12's golang-go is 1.19, too old to switch toolchains by itself), once, into
# ${LIVE360_CACHE:-~/.cache/live360}/go/<version>.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
log() { echo "live360 cluster: $*" >&2; }

# at_least <version> <minimum>: true when version >= minimum (both like 1.24.0).
at_least() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }
version_of() { GOTOOLCHAIN=local "$1" env GOVERSION 2>/dev/null | sed 's/^go//'; }

if command -v go >/dev/null && at_least "$(version_of go)" "$GO_MIN_VERSION"; then
  command -v go
  exit 0
fi
cached="${LIVE360_CACHE:-$HOME/.cache/live360}/go/$GO_TOOLCHAIN_VERSION"
if [ -x "$cached/bin/go" ]; then
  echo "$cached/bin/go"
  exit 0
fi
command -v go >/dev/null || {
  log "no 'go' on PATH: install Debian's golang-go (any version: Go $GO_TOOLCHAIN_VERSION is then fetched from the Go module proxy) or Go >= $GO_MIN_VERSION"
  exit 1
}
log "Go $(version_of go) is older than $GO_MIN_VERSION; fetching Go $GO_TOOLCHAIN_VERSION from the Go module proxy (once)"
module="golang.org/toolchain@v0.0.1-go$GO_TOOLCHAIN_VERSION.$(go env GOHOSTOS)-$(go env GOHOSTARCH)"
dir="$(cd "$(mktemp -d)" && GOTOOLCHAIN=local GOFLAGS='' go mod download -json "$module" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
if [ -z "$dir" ] || [ ! -e "$dir/bin/go" ]; then
  log "could not download $module from the Go module proxy"
  exit 1
fi
# The module cache is read-only and drops the executable bits: a private copy makes it runnable.
rm -rf "$cached.partial" && mkdir -p "$(dirname "$cached")"
cp -R "$dir" "$cached.partial"
chmod -R u+w "$cached.partial"
chmod +x "$cached.partial"/bin/* "$cached.partial"/pkg/tool/*/*
mv "$cached.partial" "$cached"
echo "$cached/bin/go"
