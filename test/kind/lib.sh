# Shared by up.sh, e2e.sh and down.sh (sourced, not run).
# shellcheck disable=SC2034 # the variables are used by the scripts that source this file
# shellcheck shell=bash
CLUSTER="${LIVE360_KIND_CLUSTER:-live360}"
# The kind release whose node image kind-config.yaml pins (and whose config types config-check uses).
KIND_VERSION=v0.30.0
NAMESPACE=live360
# examples/liveevent.yaml: the LiveEvent and its stream are both called demo.
EVENT=demo
STREAM=demo
# Images are built under this registry name and loaded into the nodes, never pulled (values.yaml).
REGISTRY=live360.local
IMAGES=(origin edge vod-worker test-source operator)
VERSION="$(node -p "require('$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/operator/package.json').version")"
# Service -> node port; kind-config.yaml maps 30935, 30936 and 30080 to localhost 1935, 1936 and 8080.
declare -A NODE_PORTS=(
  ["$EVENT-origin-primary-rtmp"]=30935
  ["$EVENT-origin-backup-rtmp"]=30936
  ["$EVENT-edge"]=30080
)
export CLUSTER NAMESPACE EVENT STREAM REGISTRY VERSION

log() { echo "live360 kind: $*" >&2; }
die() { log "$*"; exit 1; }
need() {
  command -v "$1" >/dev/null && return 0
  case "$1" in
    kind) die "kind is required: go install sigs.k8s.io/kind@$KIND_VERSION (or https://kind.sigs.k8s.io/docs/user/quick-start/#installation)" ;;
    *) die "'$1' is required: see README, \"Run on kind\"" ;;
  esac
}

# wait_for <what> <seconds> <command...>: retries the command every 2 s until it succeeds.
wait_for() {
  local what="$1" seconds="$2" deadline
  shift 2
  deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die "timed out after ${seconds}s waiting for $what"
    sleep 2
  done
}

# pin_node_port <service> <port>: the operator leaves nodePort to Kubernetes; this fixes the one
# port of a NodePort Service so the kind port mapping reaches it. A strategic merge on the port
# list keeps the operator's fields; server-side apply never takes the field back, as the
# operator does not set it.
pin_node_port() {
  local service="$1" port="$2" target
  target="$(kubectl -n "$NAMESPACE" get service "$service" -o jsonpath='{.spec.ports[0].port}')"
  kubectl -n "$NAMESPACE" patch service "$service" --type strategic \
    -p "{\"spec\":{\"ports\":[{\"port\":$target,\"nodePort\":$port}]}}" >/dev/null
}
