# shellcheck shell=bash
# Sourced by the build scripts of the Go tools the tests need (helm, promtool, prometheus): each is
# built once from the Go module proxy into a cache directory per tool and version under
# ${LIVE360_CACHE:-~/.cache/live360}, with the project's Go (go.sh), and found there afterwards.

# go_tool_cache <cache name> <version> <label>: makes and locks the cache directory (GO_TOOL_ROOT);
# two test runs starting at once would otherwise race on the same output. The lock lasts the
# script. Also sets up the script's Go environment (static builds outside any workspace) and its
# `log` (progress on stderr, named by label: stdout is for the binary's path).
go_tool_cache() {
  export GOWORK=off CGO_ENABLED=0
  GO_TOOL_LABEL="$3"
  GO_TOOL_ROOT="${LIVE360_CACHE:-$HOME/.cache/live360}/$1/$2"
  mkdir -p "$GO_TOOL_ROOT"
  exec 9>"$GO_TOOL_ROOT/build.lock"
  flock 9
}

log() { echo "live360 $GO_TOOL_LABEL: $*" >&2; }

# go_tool_go: the Go to build with (the one on PATH if new enough, else fetched once).
go_tool_go() {
  "$(dirname "${BASH_SOURCE[0]}")/go.sh"
}

# go_tool_install <binary> <package@version> [go install flags...]: builds it into GO_TOOL_ROOT,
# at low priority (the machine may be running tests), replacing the cached binary only when done.
go_tool_install() {
  local binary="$1" package="$2" go
  shift 2
  go="$(go_tool_go)"
  GOBIN="$GO_TOOL_ROOT/bin.tmp" nice -n 15 "$go" install -trimpath "$@" "$package"
  mv -f "$GO_TOOL_ROOT/bin.tmp/$binary" "$GO_TOOL_ROOT/$binary"
  rmdir "$GO_TOOL_ROOT/bin.tmp"
}
