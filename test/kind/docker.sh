#!/usr/bin/env bash
# The Docker engine the kind recipe uses, owned by this repository when the machine has none.
#   docker.sh start   prints `export DOCKER_HOST=...; export PATH=...` for a working engine: the
#                     user's own when `docker info` answers, else a dockerd of our own (own socket,
#                     run dir and config; data root in the cache so images and build cache survive)
#   docker.sh stop    stops our dockerd (never the user's), unmounts what it left and removes the
#                     network interfaces it made
#   docker.sh leftovers  prints what of our engine is still there (process, mounts, interfaces)
# Like test/cluster owns its etcd and API server, nothing of the machine's Docker setup is changed.
#
# Machine quirks handled here (../shared/kind-offline.md):
# - VMs whose capability bounding set lacks CAP_SYS_RESOURCE cannot run `--privileged` containers
#   (kind nodes): "unable to apply caps: operation not permitted". Our dockerd then runs every
#   container through runc-drop-sys-resource.sh, which removes that capability from the OCI spec.
# - A newer docker client without buildx cannot use BuildKit; Debian's client (20.10) can, so it
#   goes first on PATH for our engine.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${LIVE360_CACHE:-$HOME/.cache/live360}"
run="${LIVE360_DOCKER_RUN:-/run/live360-docker}"
log() { echo "live360 docker: $*" >&2; }
die() { log "$*"; exit 1; }

# CAP_SYS_RESOURCE is bit 24 of the bounding set.
lacks_sys_resource() {
  local bounding
  bounding="$(sed -n 's/^CapBnd:\t//p' /proc/self/status)"
  (((0x$bounding >> 24 & 1) == 0))
}

print_env() {
  echo "export DOCKER_HOST=unix://$run/docker.sock"
  echo "export PATH=$run/bin:\$PATH"
}

interfaces() { ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort; }

# Interfaces of Docker's kinds (bridges, veths) that were not there when our engine started.
our_interfaces() {
  [ -e "$cache/docker/interfaces-before" ] || return 0
  interfaces | grep -E '^(docker0|br-|veth)' | comm -23 - "$cache/docker/interfaces-before" || true
}

our_mounts() { grep -oE " ($run|$cache/docker/data)[^ ]*" /proc/mounts | sed 's/^ //' | sort -r || true; }

ours_running() {
  [ -S "$run/docker.sock" ] && DOCKER_HOST="unix://$run/docker.sock" "$run/bin/docker" info >/dev/null 2>&1
}

install_engine() {
  command -v dockerd >/dev/null && [ -x /usr/bin/docker ] && command -v jq >/dev/null && return 0
  [ "$(id -u)" -eq 0 ] || die "no Docker engine is reachable and dockerd is not installed: install Docker (https://docs.docker.com/engine/install/) or run as root so docker.io can be installed"
  log "installing Debian's docker.io"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io jq iptables >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io jq iptables >/dev/null; }
}

start() {
  if ours_running; then print_env; return 0; fi
  if [ -z "${LIVE360_OWN_DOCKER:-}" ] && docker info >/dev/null 2>&1; then
    log "using the Docker engine already running ($(docker info --format '{{.Name}} {{.ServerVersion}}'))"
    return 0
  fi
  install_engine
  mkdir -p "$run/bin" "$cache/docker"
  ln -sf /usr/bin/docker "$run/bin/docker"
  local config="$run/daemon.json" runtime='{}'
  if lacks_sys_resource; then
    runtime="$(jq -n --arg path "$here/runc-drop-sys-resource.sh" '{"default-runtime":"live360-runc","runtimes":{"live360-runc":{"path":$path}}}')"
  fi
  jq -n --argjson runtime "$runtime" --arg data "$cache/docker/data" --arg exec "$run/exec" \
    '{"data-root":$data,"exec-root":$exec,"storage-driver":"overlay2","log-level":"warn",
      "features":{"buildkit":true}} + $runtime' >"$config"
  # The interfaces there before, so stop removes exactly the ones our engine made (docker0, br-*).
  interfaces >"$cache/docker/interfaces-before"
  log "starting dockerd (socket $run/docker.sock, data $cache/docker/data, log $run/dockerd.log)"
  # setsid: the engine outlives the make target that started it; docker.sh stop ends it.
  setsid dockerd --config-file "$config" --host "unix://$run/docker.sock" --pidfile "$run/dockerd.pid" \
    >"$run/dockerd.log" 2>&1 </dev/null &
  local deadline=$((SECONDS + 60))
  until ours_running; do
    [ "$SECONDS" -lt "$deadline" ] || { tail -n 20 "$run/dockerd.log" >&2; die "dockerd did not answer within 60 s"; }
    sleep 1
  done
  print_env
}

stop() {
  local pid
  pid="$(cat "$run/dockerd.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    log "stopping dockerd ($pid)"
    kill "$pid"
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null; do
      [ "$SECONDS" -lt "$deadline" ] || { kill -9 "$pid" 2>/dev/null || true; break; }
      sleep 1
    done
  fi
  # Mounts a killed engine can leave under its run and data dirs.
  our_mounts | while read -r mountpoint; do umount -l "$mountpoint" 2>/dev/null || true; done
  our_interfaces | while read -r interface; do ip link delete "$interface" 2>/dev/null || true; done
  rm -rf "$run" "$cache/docker/interfaces-before"
}

leftovers() {
  if [ -e "$run/dockerd.pid" ] && kill -0 "$(cat "$run/dockerd.pid")" 2>/dev/null; then echo "dockerd $(cat "$run/dockerd.pid")"; fi
  our_mounts | sed 's/^/mount /'
  our_interfaces | sed 's/^/interface /'
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  leftovers) leftovers ;;
  *) die "usage: docker.sh start|stop|leftovers" ;;
esac
