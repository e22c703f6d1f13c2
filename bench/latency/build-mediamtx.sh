#!/usr/bin/env bash
# MediaMTX, the reference of the LL-HLS latency bench (issue #15), built from the Go module proxy
# at a pinned release and cached. Its own build runs `go generate`, which fetches hls.js from a CDN
# and reads the version from git: neither can be reached here, so the two generated files are
# written as the generators would write them — the VERSION, and the hls.min.js of the hls.js the
# player already pins (MediaMTX's generator downloads the same file from npm's CDN).
set -euo pipefail
VERSION=v1.12.3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${LIVE360_CACHE:-$HOME/.cache/live360}/mediamtx
BIN=$CACHE/mediamtx-$VERSION
if [[ -x $BIN ]]; then echo "$BIN"; exit 0; fi
mkdir -p "$CACHE"
dir=$(go mod download -json "github.com/bluenviron/mediamtx@$VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[[ -n $dir ]] || { echo "mediamtx $VERSION: the Go module proxy did not serve it" >&2; exit 1; }
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cp -r "$dir/." "$work/"
chmod -R u+w "$work"
echo "$VERSION" > "$work/internal/core/VERSION"
hlsjs=$(node -e 'console.log(require.resolve("hls.js/dist/hls.min.js", { paths: [process.argv[1]] }))' "$ROOT/player")
cp "$hlsjs" "$work/internal/servers/hls/hls.min.js"
(cd "$work" && CGO_ENABLED=0 go build -trimpath -o "$BIN.tmp" .)
mv "$BIN.tmp" "$BIN"
echo "$BIN"
