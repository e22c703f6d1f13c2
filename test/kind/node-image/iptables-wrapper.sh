#!/bin/sh
# iptables, ip6tables and their -save/-restore in the kube-proxy image until the first call: kube-proxy
# must use the iptables backend (legacy or nft) its node uses, and kind's entrypoint picks the node's
# from the host's rules, so it cannot be fixed at build time. The same detection as kind's entrypoint
# (after kubernetes-sigs/iptables-wrappers): the backend holding more rules wins. The alternatives are
# then switched to it and the call re-run with the real command.
set -eu
legacy=$( (iptables-legacy-save || true; ip6tables-legacy-save || true) 2>/dev/null | grep -c '^-' || true)
nft=$( (timeout 5 sh -c "iptables-nft-save; ip6tables-nft-save" || true) 2>/dev/null | grep -c '^-' || true)
if [ "$legacy" -ge "$nft" ]; then mode=legacy; else mode=nft; fi
update-alternatives --set iptables "/usr/sbin/iptables-$mode" >/dev/null
update-alternatives --set ip6tables "/usr/sbin/ip6tables-$mode" >/dev/null
exec "$0" "$@"
