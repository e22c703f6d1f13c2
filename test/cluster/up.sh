#!/usr/bin/env bash
# Starts a local Kubernetes control plane with fake (kwok) nodes, no containers needed:
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler on free loopback ports,
#   kwok simulating two Spot nodes (zones a, b) and one on-demand node (zone c).
# Builds the binaries on first use (build.sh). All state lives in the run directory
# (${LIVE360_CLUSTER_DIR:-$PWD/.cache/cluster}); down.sh stops everything and removes it.
# On success the last line on stdout is `export KUBECONFIG=<run dir>/kubeconfig`, and
# <run dir>/cluster.env holds KUBECONFIG and LIVE360_APISERVER_URL for programs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
run="${LIVE360_CLUSTER_DIR:-$PWD/.cache/cluster}"
timeout="${LIVE360_CLUSTER_TIMEOUT:-180}"
log() { echo "live360 cluster: $*" >&2; }

for tool in openssl curl node; do
  command -v "$tool" >/dev/null || { log "'$tool' is required but not on PATH"; exit 1; }
done
bin="$("$here/build.sh")"

if [ -s "$run/cluster.env" ]; then
  # shellcheck source=/dev/null
  source "$run/cluster.env"
  if "$bin/kubectl" --kubeconfig "$KUBECONFIG" get --raw /readyz >/dev/null 2>&1; then
    log "already running ($run)"
    echo "export KUBECONFIG=$KUBECONFIG"
    exit 0
  fi
  log "found a stopped cluster in $run; cleaning it up first"
fi
mkdir -p "$run"
run="$(cd "$run" && pwd)"
export LIVE360_CLUSTER_DIR="$run"
"$here/down.sh" 2>/dev/null
mkdir -p "$run"/{pki,logs,pids,etcd}
pki="$run/pki"

# Whatever fails below, stop what was started and keep the logs.
ready=0
on_exit() {
  [ "$ready" = 1 ] && return
  log "start-up failed; component logs are in $run/logs"
  "$here/down.sh" --keep-logs 2>/dev/null || true
}
trap on_exit EXIT

# --- ports: ask the kernel for free loopback ports (tiny race until the components bind them) ---
read -r etcd_port etcd_peer_port api_port kcm_port sched_port < <(node -e '
  const net = require("node:net");
  const servers = Array.from({ length: 5 }, () => net.createServer());
  Promise.all(servers.map((s) => new Promise((ok) => s.listen(0, "127.0.0.1", () => ok(s.address().port)))))
    .then((ports) => { console.log(ports.join(" ")); servers.forEach((s) => s.close()); });')
[ -n "${sched_port:-}" ] || { log "could not pick free loopback ports with node"; exit 1; }
server="https://127.0.0.1:$api_port"

# --- certificates: one CA signs the API server's serving cert and every client identity ---
openssl_quiet() { openssl "$@" 2>>"$run/logs/openssl.log"; }
openssl_quiet req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
  -subj "/CN=live360-local-ca" -keyout "$pki/ca.key" -out "$pki/ca.crt"
# sign <name> <subject> <extensions>
sign() {
  openssl_quiet req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "$2" -keyout "$pki/$1.key" -out "$pki/$1.csr"
  openssl_quiet x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 3650 -out "$pki/$1.crt" -extfile <(printf '%b' "$3")
  rm -f "$pki/$1.csr"
}
service_cidr=10.96.0.0/16
sign apiserver "/CN=kube-apiserver" \
  "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature"
client_ext="extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature"
# system:masters: the admin (tests, kubectl, kwok) may do anything, as with a cluster creator on EKS.
sign admin "/O=system:masters/CN=live360-admin" "$client_ext"
# The controller manager and scheduler use the identities Kubernetes' bootstrap RBAC grants.
sign controller-manager "/CN=system:kube-controller-manager" "$client_ext"
sign scheduler "/CN=system:kube-scheduler" "$client_ext"
# The aggregator's identity towards extension API servers; its CA is also what the controller manager
# and scheduler expect to find in kube-system/extension-apiserver-authentication.
sign front-proxy-client "/CN=front-proxy-client" "$client_ext"
openssl_quiet genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/sa.key"
openssl_quiet pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub"

# kubeconfig <file> <client cert name>: credentials embedded, so the file can be copied anywhere.
kubeconfig() {
  cat >"$1" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: live360-local
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 <"$pki/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(base64 -w0 <"$pki/$2.crt")
    client-key-data: $(base64 -w0 <"$pki/$2.key")
contexts:
- name: live360-local
  context: {cluster: live360-local, user: $2}
current-context: live360-local
KUBECONFIG
  chmod 600 "$1"
}
kubeconfig "$run/kubeconfig" admin
kubeconfig "$run/controller-manager.kubeconfig" controller-manager
kubeconfig "$run/scheduler.kubeconfig" scheduler
kubectl() { "$bin/kubectl" --kubeconfig "$run/kubeconfig" "$@"; }

# start <name> <binary> <args...>: in a session of its own so it outlives `make cluster` and its
# terminal; the process writes its own pid, which stays valid across the exec.
start() {
  local name="$1"; shift
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$run/pids/$name.pid" "$@" >"$run/logs/$name.log" 2>&1 </dev/null &
  local deadline=$((SECONDS + 10))
  until [ -s "$run/pids/$name.pid" ]; do
    [ "$SECONDS" -lt "$deadline" ] || { log "$name did not start"; return 1; }
    sleep 0.05
  done
}
# wait_for <component> <what> <command...>: retries until the command succeeds or the timeout expires,
# then names the component and shows the end of its log.
wait_for() {
  local name="$1" what="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$(cat "$run/pids/$name.pid")" 2>/dev/null; then
      log "$name exited while waiting for $what; last lines of $run/logs/$name.log:"
      tail -n 30 "$run/logs/$name.log" >&2
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "$name: $what not reached within ${timeout}s (LIVE360_CLUSTER_TIMEOUT); last lines of $run/logs/$name.log:"
      tail -n 30 "$run/logs/$name.log" >&2
      return 1
    fi
    sleep 0.5
  done
}
healthz() { curl -fsS --cacert "$pki/ca.crt" "$@"; }

# --- etcd: a single member; fsync off because the data is thrown away with the cluster ---
start etcd "$bin/etcd" --name live360 --data-dir "$run/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster "live360=http://127.0.0.1:$etcd_peer_port" --unsafe-no-fsync --log-level warn
wait_for etcd "/health" curl -fsS "http://127.0.0.1:$etcd_port/health"

# --- kube-apiserver: RBAC, the default admission plugins (namespace lifecycle, service accounts,
# limit ranges, quotas, default tolerations, pod security, admission webhooks and policies).
# No endpoint reconciler: Endpoints may not hold a loopback address, and no real pod would use
# the in-cluster "kubernetes" Service anyway. ---
start kube-apiserver "$bin/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$etcd_port" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
  --cert-dir "$pki" --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --client-ca-file "$pki/ca.crt" \
  --requestheader-client-ca-file "$pki/ca.crt" --requestheader-allowed-names front-proxy-client \
  --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
  --requestheader-extra-headers-prefix X-Remote-Extra- \
  --proxy-client-cert-file "$pki/front-proxy-client.crt" --proxy-client-key-file "$pki/front-proxy-client.key" \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-cluster-ip-range "$service_cidr" \
  --authorization-mode RBAC --allow-privileged=true --profiling=false \
  --endpoint-reconciler-type none
wait_for kube-apiserver "/readyz" healthz --cert "$pki/admin.crt" --key "$pki/admin.key" "$server/readyz"

# --- kube-controller-manager: every default controller (Deployments, ReplicaSets, StatefulSets, Jobs,
# HPA, PDB/disruption, garbage collector, node lifecycle, service accounts, ...) ---
start kube-controller-manager "$bin/kube-controller-manager" \
  --kubeconfig "$run/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$run/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$run/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$kcm_port" --cert-dir "$run/pki/controller-manager" \
  --leader-elect=false --controllers '*' --use-service-account-credentials \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key"
wait_for kube-controller-manager "/healthz" curl -fsSk "https://127.0.0.1:$kcm_port/healthz"

start kube-scheduler "$bin/kube-scheduler" \
  --kubeconfig "$run/scheduler.kubeconfig" \
  --authentication-kubeconfig "$run/scheduler.kubeconfig" \
  --authorization-kubeconfig "$run/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$sched_port" --cert-dir "$run/pki/scheduler" \
  --leader-elect=false
wait_for kube-scheduler "/healthz" curl -fsSk "https://127.0.0.1:$sched_port/healthz"

# --- kwok: plays the kubelet for nodes annotated kwok.x-k8s.io/node=fake (Ready, lease renewal)
# and for their pods (Running/Ready, Job pods Succeeded, deleted pods removed) ---
# HOME points into the run dir so a user's ~/.kwok/kwok.yaml cannot add stages to the ones we pass.
start kwok env HOME="$run" "$bin/kwok" --kubeconfig "$run/kubeconfig" --config "$bin/kwok-stages.yaml" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
  --node-lease-duration-seconds 40 --cidr 10.244.0.0/16 --node-ip 10.0.0.1

# --- fake nodes: Spot in zones a and b, on-demand in zone c, sized for hundreds of pods ---
# node <name> <zone> <capacity type>
node_manifest() {
  cat <<NODE
---
apiVersion: v1
kind: Node
metadata:
  name: $1
  annotations:
    kwok.x-k8s.io/node: fake
  labels:
    kubernetes.io/hostname: $1
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    topology.kubernetes.io/region: us-east-1
    topology.kubernetes.io/zone: $2
    eks.amazonaws.com/capacityType: $3
    type: kwok
status:
  allocatable: {cpu: "${LIVE360_NODE_CPU:-256}", memory: "${LIVE360_NODE_MEMORY:-1Ti}", pods: "${LIVE360_NODE_PODS:-1000}"}
  capacity: {cpu: "${LIVE360_NODE_CPU:-256}", memory: "${LIVE360_NODE_MEMORY:-1Ti}", pods: "${LIVE360_NODE_PODS:-1000}"}
NODE
}
{
  node_manifest spot-a us-east-1a SPOT
  node_manifest spot-b us-east-1b SPOT
  node_manifest on-demand-c us-east-1c ON_DEMAND
} >"$run/nodes.yaml"
kubectl apply -f "$run/nodes.yaml" >/dev/null
wait_for kwok "Ready nodes" kubectl wait --for=condition=Ready node --all --timeout=5s
# Pods can only be created once the service account controller made the namespace's "default" account.
wait_for kube-controller-manager "the default service account" kubectl -n default get serviceaccount default

# A program that owns the cluster (the jest harness) passes its pid: if it dies without calling
# down.sh, the watchdog does, so a crashed test run leaves no control plane behind.
if [ -n "${LIVE360_CLUSTER_OWNER_PID:-}" ]; then
  start watchdog bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 2; done; exec "$2"' \
    "$run/watchdog" "$LIVE360_CLUSTER_OWNER_PID" "$here/down.sh"
fi

cat >"$run/cluster.env" <<ENV
KUBECONFIG=$run/kubeconfig
LIVE360_APISERVER_URL=$server
ENV
ready=1
log "ready: Kubernetes $(kubectl version -o json | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -1) at $server; a matching kubectl is $bin/kubectl"
echo "export KUBECONFIG=$run/kubeconfig"
