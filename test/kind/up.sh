#!/usr/bin/env bash
# make kind-up: live360 on a local kind cluster, end to end.
#   1. a kind cluster (kind-config.yaml): two Spot-labelled workers in two zones, one on-demand;
#      metrics-server for the edge's HPA;
#   2. the images (make images REGISTRY=live360.local), loaded into the nodes;
#   3. the in-cluster S3 (versitygw) and SQS (ElasticMQ) stand-ins, their static keys (Secret
#      live360-aws-credentials) and their buckets (manifests/), and a Prometheus scraping the
#      annotated pods (manifests/prometheus.yaml: the edges' viewer insight);
#   4. the CRDs and the operator chart (values.yaml), which hands those keys to the operator, the
#      origins and the VOD workers (aws.credentialsSecret: kind has no Pod Identity);
#   5. examples/liveevent.yaml with the test source on, its RTMP and edge Services pinned to the
#      node ports that kind-config.yaml maps to localhost.
# With internet, the node image and the base images are the pinned upstream ones. Without a
# reachable registry (or LIVE360_IMAGE_SOURCE=local) the same steps run on local stand-ins:
# node-image/build.sh assembles the node image, base-images.sh (through make images) the
# Dockerfiles' bases and the S3/SQS/Prometheus images. KIND_NODE_IMAGE names a node image of your own.
# The example asks for production-sized origins (2 CPUs each) and a 1280x640 test source; on nodes
# with fewer than 4 CPUs (every kind node has the host's) small-nodes.json is merged into it first
# so that everything is scheduled and runs in real time. LIVE360_KIND_EVENT_PATCH=<file> picks
# another JSON merge patch, LIVE360_KIND_EVENT_PATCH=none none.
# Needs Docker (started here when none answers), kind, kubectl and helm (built when missing).
# Re-running is safe: every step converges.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

use_tools
for tool in docker kind kubectl helm make; do need "$tool"; done
need_disk
image_source
if [ "$LIVE360_IMAGE_SOURCE" = local ]; then
  : "${KIND_NODE_IMAGE:=$(bash "$here/node-image/build.sh")}"
fi

if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  log "kind cluster $CLUSTER exists; reusing it"
else
  log "creating kind cluster $CLUSTER${KIND_NODE_IMAGE:+ from $KIND_NODE_IMAGE}"
  kind create cluster --name "$CLUSTER" --config "$here/kind-config.yaml" ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"} --wait 180s
fi
kubectl config use-context "kind-$CLUSTER" >/dev/null

log "building the images (make images REGISTRY=$REGISTRY)"
# KEY=value lines: IMAGE_SOURCE, S3_IMAGE, SQS_IMAGE, PROMETHEUS_IMAGE (the stand-ins' or the manifests' own), DOCKER_HOST.
built="$(make --no-print-directory -C "$root" images REGISTRY="$REGISTRY")"
S3_IMAGE="$(sed -n 's/^S3_IMAGE=//p' <<<"$built")"
SQS_IMAGE="$(sed -n 's/^SQS_IMAGE=//p' <<<"$built")"
PROMETHEUS_IMAGE="$(sed -n 's/^PROMETHEUS_IMAGE=//p' <<<"$built")"
images=()
for image in "${IMAGES[@]}"; do images+=("$REGISTRY/$image:$VERSION"); done
# One archive for all: layers the images share are saved and imported once. Only the workers run
# live360's pods (the control plane is tainted), so only they get the images.
workers="$(kind get nodes --name "$CLUSTER" | grep -v control-plane | sort | paste -sd, -)"
archive="$(mktemp "${TMPDIR:-/tmp}/live360-kind-images.XXXXXX.tar")"
trap 'rm -f "$archive"' EXIT
docker save -o "$archive" "${images[@]}"
kind load image-archive --name "$CLUSTER" --nodes "$workers" "$archive"
# The S3 and SQS stand-ins and Prometheus run on the control plane (manifests/services.yaml,
# prometheus.yaml). Upstream, it pulls their pinned images itself; offline they are loaded.
if [ "$LIVE360_IMAGE_SOURCE" = local ]; then
  docker save -o "$archive" "$S3_IMAGE" "$SQS_IMAGE" "$PROMETHEUS_IMAGE"
  kind load image-archive --name "$CLUSTER" --nodes "$CLUSTER-control-plane" "$archive"
fi

log "installing metrics-server (the edge's HPA scales on CPU)"
kubectl apply -f "$here/manifests/metrics-server.yaml" >/dev/null

log "installing the S3 and SQS stand-ins"
# Offline, the stand-ins' images replace the pinned upstream ones (loaded above, never pulled).
sed -e "s#image: ghcr.io/versity/versitygw:.*#image: $S3_IMAGE#" \
    -e "s#image: softwaremill/elasticmq-native:.*#image: $SQS_IMAGE#" \
    "$here/manifests/services.yaml" | kubectl apply -f - >/dev/null
kubectl -n "$NAMESPACE" rollout status deployment/s3 deployment/sqs --timeout=180s
kubectl -n "$NAMESPACE" wait --for=condition=Complete job/create-buckets --timeout=180s

log "installing Prometheus (scrapes the annotated pods: the edges' viewer insight)"
sed -e "s#image: prom/prometheus:.*#image: $PROMETHEUS_IMAGE#" "$here/manifests/prometheus.yaml" | kubectl apply -f - >/dev/null
kubectl -n "$NAMESPACE" rollout status deployment/prometheus --timeout=180s

log "installing the CRDs and the operator"
kubectl apply --server-side -f "$root/crds/" >/dev/null
helm upgrade --install live360-operator "$root/charts/live360-operator" \
  --namespace "$NAMESPACE" --values "$here/values.yaml" --wait --timeout 180s

log "applying examples/liveevent.yaml (test source on)"
patch_file="${LIVE360_KIND_EVENT_PATCH:-}"
if [ -z "$patch_file" ]; then
  cpus="$(kubectl get node "$CLUSTER-worker" -o jsonpath='{.status.allocatable.cpu}')"
  # Allocatable CPU is whole cores ("2") or millicores ("1500m").
  case "$cpus" in *m) cpus=$((${cpus%m} / 1000)) ;; esac
  if [ "$cpus" -lt 4 ]; then
    patch_file="$here/small-nodes.json"
    log "nodes have $cpus CPUs: applying the example with $(basename "$patch_file") (small origins, edge and test media)"
  fi
fi
patch='{}'
[ -z "$patch_file" ] || [ "$patch_file" = none ] || patch="$(cat "$patch_file")"
kubectl patch --local -f "$root/examples/liveevent.yaml" --type merge -p "$patch" -o yaml \
  | kubectl -n "$NAMESPACE" apply -f -
for service in "${!NODE_PORTS[@]}"; do
  wait_for "Service $service" 120 kubectl -n "$NAMESPACE" get service "$service"
  pin_node_port "$service" "${NODE_PORTS[$service]}"
done

cat <<EOF

live360 is running on kind. Watch it with:  kubectl -n $NAMESPACE get liveevent -w
  player (edge):   http://127.0.0.1:8080/player/?url=/hls/$STREAM/master.m3u8
  playlist (edge): http://127.0.0.1:8080/hls/$STREAM/master.m3u8
  publish (OBS):   server rtmp://127.0.0.1:1935/live (backup rtmp://127.0.0.1:1936/live), stream key $STREAM?key=<key>,
                   the key: kubectl -n $NAMESPACE get secret $EVENT-publish-key -o jsonpath='{.data.keys}' | base64 -d   (prints $STREAM=<key>)
                   after turning the test source off: kubectl -n $NAMESPACE patch liveevent $STREAM --type merge -p '{"spec":{"testSource":{"enabled":false}}}'
  end-to-end test: make kind-e2e      remove everything: make kind-down
EOF
