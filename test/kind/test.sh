#!/usr/bin/env bash
# The kind stage of `make test`: make kind-up, make kind-e2e and make kind-down on a fresh cluster,
# each timed into test-artifacts/kind/timings.json (bench/results/kind.md). The cluster and the
# project's Docker engine are removed at the end whatever happened, and down.sh's check that
# nothing is left behind is part of the result.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

artifacts="$root/test-artifacts/kind"
mkdir -p "$artifacts"
timings=()
timed() {
  local name="$1" start=$SECONDS
  shift
  "$@"
  timings+=("\"$name\": $((SECONDS - start))")
}
finish() {
  local status=$?
  trap - EXIT
  timed kind_down_seconds bash "$here/down.sh" || status=1
  (IFS=,; echo "{${timings[*]}}") >"$artifacts/timings.json"
  exit "$status"
}
trap finish EXIT

use_tools
# A cluster left by an interrupted run would carry its state into this one.
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then kind delete cluster --name "$CLUSTER"; fi
timed kind_up_seconds bash "$here/up.sh"
timed kind_e2e_seconds bash "$here/e2e.sh"
