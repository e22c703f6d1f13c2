#!/usr/bin/env bash
# make kind-e2e: the end-to-end suite (src/e2e.kind.ts) on the cluster make kind-up built: Live
# through the edge in the project's player in headless Chromium, three failover drills with the
# viewer's stall measured, edge autoscaling and PDB, operator leader takeover, helm upgrade,
# security settings on a real kubelet, and the stream's recording becoming a VOD asset that plays.
# It ends the demo stream (the VOD step): run make kind-up again to start it anew.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

use_tools
for tool in kubectl helm docker wrk; do need "$tool"; done
kind get clusters 2>/dev/null | grep -qx "$CLUSTER" || die "no kind cluster $CLUSTER: run make kind-up first"
[ -e "$here/dist/e2e.kind.js" ] || die "the suite is not built: run npm run build (make build)"
cd "$root"
# The machine's busiest processes every 5 s (test-artifacts/kind/top.log): kind's nodes share this
# machine's cores, so a drill's stall can be read beside what was using them.
mkdir -p test-artifacts/kind
top -b -c -d 5 -w 220 | awk '/^top -/ { print; fflush(); next } $9 + 0 >= 5 { print; fflush() }' >test-artifacts/kind/top.log 2>&1 &
sampler=$!
trap 'kill "$sampler" 2>/dev/null || true' EXIT
NODE_OPTIONS=--experimental-vm-modules npx jest --runInBand --testMatch '**/test/kind/dist/e2e.kind.js'
