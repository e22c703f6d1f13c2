#!/usr/bin/env bash
# make kind-e2e: the failover drill on the cluster make kind-up built.
#   1. the demo LiveEvent becomes Live and its master playlist comes through the edge;
#   2. the primary origin's node is drained (as EKS does on a Spot rebalance): the event switches
#      to the backup and the live playlist keeps advancing through the edge;
#   3. the stream ends (test source off): the recording becomes a VodJob that succeeds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

for tool in kubectl curl; do need "$tool"; done
kubectl config use-context "kind-$CLUSTER" >/dev/null
edge="http://127.0.0.1:8080"
k() { kubectl -n "$NAMESPACE" "$@"; }
phase() { k get liveevent "$EVENT" -o jsonpath='{.status.phase}'; }
is_live() { [ "$(phase)" = Live ]; }
on_backup() { [ "$(k get liveevent "$EVENT" -o jsonpath='{.status.activeOrigin}')" = backup ]; }

# The media sequence number of the first rendition's live playlist: it grows while segments come.
media_sequence() {
  local master variant
  master="$(curl -fsS "$edge/hls/$STREAM/master.m3u8")"
  variant="$(grep -v '^#' <<<"$master" | head -n 1)"
  curl -fsS "$edge/hls/$STREAM/$variant" | sed -n 's/^#EXT-X-MEDIA-SEQUENCE://p'
}

# advancing <seconds>: the playlist's media sequence grows within that time.
advancing() {
  local before after deadline
  before="$(media_sequence)"
  deadline=$((SECONDS + $1))
  while [ "$SECONDS" -lt "$deadline" ]; do
    sleep 2
    after="$(media_sequence || true)"
    if [ -n "$after" ] && [ "$after" -gt "$before" ]; then return 0; fi
  done
  return 1
}

log "waiting for LiveEvent $EVENT to be Live"
wait_for "LiveEvent $EVENT phase Live" 300 is_live
curl -fsS "$edge/hls/$STREAM/master.m3u8" | grep -q '^#EXT-X-STREAM-INF' || die "the master playlist through the edge lists no renditions"
advancing 30 || die "the live playlist does not advance through the edge"
log "live through the edge: $edge/hls/$STREAM/master.m3u8"

node="$(k get pod -l "live360.io/event=$EVENT,live360.io/origin-role=primary" -o jsonpath='{.items[0].spec.nodeName}')"
[ -n "$node" ] || die "no primary origin pod found"
log "draining $node, the primary origin's node"
kubectl drain "$node" --ignore-daemonsets --delete-emptydir-data --timeout=180s
wait_for "activeOrigin backup" 120 on_backup
advancing 60 || die "playback stopped after the primary's node was drained"
log "playback continued from the backup (phase $(phase))"
kubectl uncordon "$node"

log "ending the stream: test source off"
k patch liveevent "$EVENT" --type merge -p '{"spec":{"testSource":{"enabled":false}}}'
# The VodJob's name is a hash of the recording's key: find it by its phase instead.
succeeded() { k get vodjob -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | grep -qx Succeeded; }
wait_for "a VodJob to succeed" 900 succeeded
k get vodjob
log "passed: live, failover to the backup without stopping playback, recording transcoded"
