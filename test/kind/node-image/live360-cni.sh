#!/bin/bash
# Pod networking of the offline kind node image, in place of kindnetd (whose image only a registry has):
# installed as /usr/local/bin/live360-cni, run on every node by live360-cni.service. From the Node and
# ServiceCIDR objects, read with the kubelet's credentials (default-cni.yaml lets nodes list them), it keeps
#   - this node's CNI config: a bridge with host-local addresses from the node's pod CIDR, and portmap
#     for hostPort (containerd's CRI adds the loopback itself);
#   - a route to every other node's pod CIDR via that node's InternalIP, which is all cross-node pod
#     traffic needs when the nodes share a Docker network;
#   - a reject rule for the Service CIDRs, see reconcile.
# Within kind's defaults: IPv4 only, no NetworkPolicy, no masquerade of pod traffic leaving the cluster.
set -uo pipefail
kubeconfig=/etc/kubernetes/kubelet.conf
conf=/etc/cni/net.d/10-live360.conflist
self="$(hostname)" # kind names each node after its container's hostname

api() { kubectl --kubeconfig="$kubeconfig" get --raw "$1" 2>/dev/null; }

# Fails until the kubelet has joined and the controller manager has given this node a pod CIDR.
reconcile() {
  local nodes services cidr chain want other via
  # A packet to a Service IP that kube-proxy has not translated (a new Service takes it a moment) must
  # fail at once rather than leave the node: sent on, it may reach whatever the Docker host routes it
  # to; behind an intercepting proxy that answers any address, the API server kept a connection to the
  # proxy for a new APIService and reported it unavailable for good.
  services="$(api /apis/networking.k8s.io/v1/servicecidrs | jq -r '.items[].spec.cidrs[] | select(contains(":") | not)')" || return 1
  for cidr in $services; do
    for chain in OUTPUT FORWARD; do
      iptables -C "$chain" -d "$cidr" -j REJECT 2>/dev/null || iptables -A "$chain" -d "$cidr" -j REJECT
    done
  done
  nodes="$(api /api/v1/nodes)" || return 1
  cidr="$(jq -r --arg self "$self" '.items[] | select(.metadata.name == $self) | .spec.podCIDR // empty' <<<"$nodes")"
  [ -n "$cidr" ] || return 1
  want="$(jq -n --arg subnet "$cidr" '{cniVersion: "1.0.0", name: "live360", plugins: [
    {type: "bridge", bridge: "cni0", isGateway: true, hairpinMode: true,
     ipam: {type: "host-local", ranges: [[{subnet: $subnet}]], routes: [{dst: "0.0.0.0/0"}]}},
    {type: "portmap", capabilities: {portMappings: true}}]}')"
  # Rewritten only on change, and atomically: containerd reloads the directory on every write.
  if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
    mkdir -p "${conf%/*}"
    printf '%s\n' "$want" >"$conf.tmp" && mv "$conf.tmp" "$conf"
  fi
  jq -r --arg self "$self" '.items[] | select(.metadata.name != $self and .spec.podCIDR != null)
    | first(.status.addresses[]? | select(.type == "InternalIP" and (.address | contains(":") | not)) | .address) as $via
    | [.spec.podCIDR, $via] | @tsv' <<<"$nodes" |
    while IFS=$'\t' read -r other via; do
      ip route replace "$other" via "$via"
    done
}

# Quick retries until the node is configured (it stays NotReady without a CNI config), then a slower
# pace to pick up nodes that join later.
while :; do
  if reconcile; then sleep 5; else sleep 1; fi
done
