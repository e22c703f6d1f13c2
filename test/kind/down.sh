#!/usr/bin/env bash
# make kind-down: deletes the kind cluster make kind-up created and stops the Docker engine the
# project started for it (a user's own engine keeps running, with the images in it). Fails when
# anything is left behind: a node container, kind's network, a mount of our engine.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

use_tools
kind delete cluster --name "$CLUSTER"
left="$(docker ps -a --filter "label=io.x-k8s.kind.cluster=$CLUSTER" --format '{{.Names}}')"
[ -z "$left" ] || die "kind left containers behind: $left"
# kind keeps its network for the next cluster; nothing else uses it.
if docker network inspect kind >/dev/null 2>&1 && [ -z "$(docker network inspect kind --format '{{range .Containers}}{{.Name}}{{end}}')" ]; then
  docker network rm kind >/dev/null
fi
bash "$here/docker.sh" stop
leftovers="$(bash "$here/docker.sh" leftovers)"
[ -z "$leftovers" ] || die "left behind: $leftovers"
log "nothing left: cluster $CLUSTER, its network and the project's Docker engine (if it started one) are gone"
