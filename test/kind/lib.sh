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
# Every image images.sh builds carries it, so that only our own superseded images are pruned.
BUILT_BY_LABEL=io.live360.built-by=test-kind-images
# The project's own engine (docker.sh start), told apart from a user's, whose cache is not ours to cut.
OWN_DOCKER_HOST="unix://${LIVE360_DOCKER_RUN:-/run/live360-docker}/docker.sock"
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
  die "'$1' is required: see README, \"Run on kind\""
}

# use_docker: a Docker engine for the scripts: the user's own when one answers, else the project's
# (docker.sh, which also puts a BuildKit-capable client first on PATH).
use_docker() {
  local engine_env
  # An assignment first, so that a failing start stops the script (eval of nothing would not).
  engine_env="$(bash "$(dirname "${BASH_SOURCE[0]}")/docker.sh" start)"
  eval "$engine_env"
}

# need_disk: enough free space where the images, the nodes and `kind load`'s temporary tar go,
# checked before anything is built, because a full disk midway fails in a random later step
# ("write /tmp/.docker_temp_…: no space left on device") and leaves half a cluster.
# LIVE360_KIND_MIN_FREE_GB (default 15: four images in the engine, their tar, four nodes' copies).
need_disk() {
  local want="${LIVE360_KIND_MIN_FREE_GB:-15}" dir free_kb data_root
  data_root="$(docker info --format '{{.DockerRootDir}}' 2>/dev/null || echo /var/lib/docker)"
  for dir in "$data_root" "${TMPDIR:-/tmp}"; do
    [ -d "$dir" ] || continue
    free_kb="$(df --output=avail -k "$dir" | tail -1)"
    if ((free_kb < want * 1024 * 1024)); then
      die "only $((free_kb / 1024 / 1024)) GB free on the filesystem of $dir; the kind stage needs $want GB (LIVE360_KIND_MIN_FREE_GB). Free space: the project's engine keeps its build cache and images in $data_root ('eval \"\$(bash test/kind/docker.sh start)\"; docker builder prune --force' and 'docker image prune --force' cut them)"
    fi
  done
}

# use_tools: kind, kubectl, helm and a Docker engine for the scripts. A user's own tools on PATH
# win; where one is missing, the project's pinned build is made (Go module proxy, cached in
# ~/.cache/live360) and put first on PATH: `make kind-up` works on a machine with nothing but Go
# and root.
use_tools() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  command -v kind >/dev/null || PATH="$(dirname "$(bash "$root/test/kind/kind-binary.sh")"):$PATH"
  command -v kubectl >/dev/null || PATH="$(bash "$root/test/cluster/build.sh"):$PATH"
  command -v helm >/dev/null || PATH="$(dirname "$(bash "$root/test/helm/build.sh")"):$PATH"
  export PATH
  use_docker
}

# image_source: "upstream" when the pinned upstream images can be had (present, or one pull of the
# node image every Dockerfile builds on works: a machine that cannot fetch it reaches no container
# registry at all), else "local": the offline stand-ins (base-images.sh, node-image/build.sh).
# LIVE360_IMAGE_SOURCE=upstream|local forces either; the answer is exported for the scripts called.
image_source() {
  local wanted="${LIVE360_IMAGE_SOURCE:-auto}" probe pull_error
  case "$wanted" in
    upstream | local) ;;
    auto)
      probe="$(sed -n 's/^ARG NODE_IMAGE=//p' "$(dirname "${BASH_SOURCE[0]}")/../../operator/Dockerfile")"
      if docker image inspect "$probe" >/dev/null 2>&1 || pull_error="$(docker pull --quiet "$probe" 2>&1 >/dev/null)"; then
        wanted=upstream
      else
        wanted=local
        log "********************************************************************************"
        log "the pinned base $probe"
        log "is neither here nor pullable: ${pull_error##*$'\n'}"
        log "BUILDING ON LOCAL STAND-INS: a kind node image assembled from Debian and Go modules"
        log "(node-image/build.sh), Debian bookworm with Node from PyPI, Debian's nginx and njs"
        log "(base-images.sh). Fine for trying live360 here, not for publishing images;"
        log "LIVE360_IMAGE_SOURCE=upstream insists on the pinned upstream images."
        log "********************************************************************************"
      fi
      ;;
    *) die "LIVE360_IMAGE_SOURCE=$wanted: use upstream, local or auto" ;;
  esac
  export LIVE360_IMAGE_SOURCE="$wanted"
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

# Every NodePort in the cluster, one "namespace service port nodePort" line each.
node_ports() {
  # shellcheck disable=SC2016 # a Go template, not shell
  kubectl get services -A -o go-template='{{range .items}}{{$ns := .metadata.namespace}}{{$name := .metadata.name}}{{range .spec.ports}}{{if .nodePort}}{{$ns}} {{$name}} {{.port}} {{.nodePort}}{{"\n"}}{{end}}{{end}}{{end}}'
}

# pin_node_port <service> <port>: the operator leaves nodePort to Kubernetes; this fixes the one
# port of a NodePort Service so the kind port mapping reaches it. A strategic merge on the port
# list keeps the operator's fields; server-side apply never takes the field back, as the
# operator does not set it. Kubernetes may have given the wanted port to another Service
# already (it allocates at random): that one is moved to a free port first.
pin_node_port() {
  local service="$1" port="$2" target ns name holder_port node_port free
  while read -r ns name holder_port node_port; do
    if [ "$node_port" != "$port" ] || { [ "$ns" = "$NAMESPACE" ] && [ "$name" = "$service" ]; }; then continue; fi
    free="$(comm -23 <(seq 32000 32767) <(node_ports | awk '{print $4}' | sort -u) | head -n 1)"
    log "nodePort $port is taken by $ns/$name: moving it to $free"
    kubectl -n "$ns" patch service "$name" --type strategic \
      -p "{\"spec\":{\"ports\":[{\"port\":$holder_port,\"nodePort\":$free}]}}" >/dev/null
  done < <(node_ports)
  target="$(kubectl -n "$NAMESPACE" get service "$service" -o jsonpath='{.spec.ports[0].port}')"
  kubectl -n "$NAMESPACE" patch service "$service" --type strategic \
    -p "{\"spec\":{\"ports\":[{\"port\":$target,\"nodePort\":$port}]}}" >/dev/null
}
