#!/usr/bin/env bash
# Stops the control plane up.sh started in the run directory and removes its data.
# --keep-logs leaves <run dir>/logs for a post-mortem (up.sh uses it when start-up fails).
set -euo pipefail
run="${LIVE360_CLUSTER_DIR:-$PWD/.cache/cluster}"
keep_logs=0
[ "${1:-}" = "--keep-logs" ] && keep_logs=1
[ -d "$run" ] || exit 0
run="$(cd "$run" && pwd)"

# Only signal a pid whose command line names this run directory: a stale pid file must never
# make us kill an unrelated process that reused the number.
ours() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF "$run/"; }

# Reverse start order: the owner watchdog, then simulators and controllers, etcd last.
for name in watchdog kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
  pidfile="$run/pids/$name.pid"
  [ -s "$pidfile" ] || continue
  pid="$(cat "$pidfile")"
  if ours "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do ours "$pid" || break; sleep 0.1; done
    if ours "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$pidfile"
done

# Remove only what up.sh creates: the run directory may be one the user chose and shares.
(cd "$run" && rm -rf pki pids etcd kubeconfig ./*.kubeconfig nodes.yaml cluster.env)
[ "$keep_logs" = 1 ] || (cd "$run" && rm -rf logs)
rmdir "$run" 2>/dev/null || true
echo "live360 cluster: stopped ($run)" >&2
