#!/usr/bin/env bash
# make kind-up: live360 on a local kind cluster, end to end.
#   1. a kind cluster (kind-config.yaml): two Spot-labelled workers in two zones, one on-demand;
#   2. the images (make images REGISTRY=live360.local), loaded into the nodes;
#   3. the in-cluster S3 (versitygw) and SQS (ElasticMQ) stand-ins, their static keys (Secret
#      live360-aws-credentials) and their buckets (manifests/);
#   4. the CRDs and the operator chart (values.yaml), which hands those keys to the operator, the
#      origins and the VOD workers (aws.credentialsSecret: kind has no Pod Identity);
#   5. examples/liveevent.yaml with the test source on, its RTMP and edge Services pinned to the
#      node ports that kind-config.yaml maps to localhost.
# Needs Docker, kind, kubectl and helm. Re-running is safe: every step converges.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

for tool in docker kind kubectl helm make; do need "$tool"; done
docker info >/dev/null 2>&1 || die "Docker is installed but its engine is not running: start Docker and retry"

if kind get clusters | grep -qx "$CLUSTER"; then
  log "kind cluster $CLUSTER exists; reusing it"
else
  log "creating kind cluster $CLUSTER"
  kind create cluster --config "$here/kind-config.yaml" --wait 120s
fi
kubectl config use-context "kind-$CLUSTER" >/dev/null

log "building the images (make images REGISTRY=$REGISTRY)"
make -C "$root" images REGISTRY="$REGISTRY"
for image in "${IMAGES[@]}"; do
  kind load docker-image --name "$CLUSTER" "$REGISTRY/$image:$VERSION"
done

log "installing the S3 and SQS stand-ins"
kubectl apply -f "$here/manifests/services.yaml"
kubectl -n "$NAMESPACE" rollout status deployment/s3 deployment/sqs --timeout=180s
kubectl -n "$NAMESPACE" wait --for=condition=Complete job/create-buckets --timeout=180s

log "installing the CRDs and the operator"
kubectl apply --server-side -f "$root/crds/"
helm upgrade --install live360-operator "$root/charts/live360-operator" \
  --namespace "$NAMESPACE" --values "$here/values.yaml" --wait --timeout 180s

log "applying examples/liveevent.yaml (test source on)"
kubectl -n "$NAMESPACE" apply -f "$root/examples/liveevent.yaml"
for service in "${!NODE_PORTS[@]}"; do
  wait_for "Service $service" 120 kubectl -n "$NAMESPACE" get service "$service"
  pin_node_port "$service" "${NODE_PORTS[$service]}"
done

cat <<EOF

live360 is running on kind. Watch it with:  kubectl -n $NAMESPACE get liveevent -w
  playlist (edge): http://127.0.0.1:8080/hls/$STREAM/master.m3u8
  player:          kubectl -n $NAMESPACE port-forward svc/$STREAM-origin-primary 8081:8080, then open
                   http://127.0.0.1:8081/player/?url=http://127.0.0.1:8080/hls/$STREAM/master.m3u8
  publish (OBS):   server rtmp://127.0.0.1:1935/live (backup rtmp://127.0.0.1:1936/live), stream key $STREAM,
                   after turning the test source off: kubectl -n $NAMESPACE patch liveevent $STREAM --type merge -p '{"spec":{"testSource":{"enabled":false}}}'
  end-to-end test: make kind-e2e      remove everything: make kind-down
EOF
