#!/usr/bin/env bash
# Installs the Debian packages live360's tests and benchmarks drive for real, only when missing.
set -euo pipefail
need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v ffprobe >/dev/null || need+=(ffmpeg)
command -v nginx >/dev/null || need+=(nginx)
[ -e /usr/lib/nginx/modules/ngx_rtmp_module.so ] || need+=(libnginx-mod-rtmp)
[ -e /usr/lib/nginx/modules/ngx_http_js_module.so ] || need+=(libnginx-mod-http-js)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || need+=(fonts-dejavu-core)
command -v chromium >/dev/null || need+=(chromium)
command -v wrk >/dev/null || need+=(wrk)
command -v shellcheck >/dev/null || need+=(shellcheck)
# Self-signed certificates for the RTMPS tests.
command -v openssl >/dev/null || need+=(openssl)
# GStreamer as the second encoder the ingest must take (x264enc: ugly, rtmp2sink: bad, flvmux: good, avenc_aac: libav).
command -v gst-launch-1.0 >/dev/null || need+=(gstreamer1.0-tools)
gst_has() { command -v gst-inspect-1.0 >/dev/null && gst-inspect-1.0 "$1" >/dev/null 2>&1; }
gst_has flvmux || need+=(gstreamer1.0-plugins-good)
gst_has rtmp2sink || need+=(gstreamer1.0-plugins-bad)
gst_has x264enc || need+=(gstreamer1.0-plugins-ugly)
gst_has avenc_aac || need+=(gstreamer1.0-libav)
# Any Go: test/cluster/go.sh fetches the newer toolchain the control plane needs from the Go module proxy.
command -v go >/dev/null || need+=(golang-go)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "live360: missing system packages: ${need[*]}; run as root or: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
echo "live360: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
