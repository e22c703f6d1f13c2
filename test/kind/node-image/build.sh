#!/usr/bin/env bash
# A kind node image built with no container registry: what `kind build node-image` makes (for kind
# $KIND_VERSION, lib.sh, and Kubernetes $KUBERNETES_VERSION, ../../cluster/versions.env), assembled from
# Debian packages and local builds, for machines that reach only package registries. Makes sure the
# Docker engine (DOCKER_HOST, else the one ../docker.sh starts) has it and prints its reference,
# live360.local/kind-node:<Kubernetes version>-<hash of this directory and the versions>, on stdout;
# progress goes to stderr. Use it as `kind create cluster --image "$(bash build.sh)" ...`.
#
# Where the parts come from:
#   kind's base image       its files (images/base in the kind module source) on a Debian rootfs
#                           (mmdebstrap), with Debian's containerd, runc and CNI plugins
#   kubeadm, kubelet, ...   ../../cluster/build.sh node (Go builds from the module proxy)
#   preloaded images        the names `kubeadm config images list` gives, plus local-path-provisioner
#                           with kind's storage manifest and metrics-server; Go builds (CoreDNS with
#                           kubeadm's plugins only: coredns/main.go), pause from Kubernetes' pause.c,
#                           kube-proxy and the storage helper on a small Debian rootfs
#   kindnetd                not obtainable offline: live360-cni.sh stands in
# Cached under ${LIVE360_CACHE:-~/.cache/live360}/kind: builds by version, root filesystems by their
# package lists, and the finished image (docker save | zstd) by its tag, so a warm run only loads it.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kind_dir="$(dirname "$here")"
# shellcheck source=../../cluster/versions.env
source "$kind_dir/../cluster/versions.env"
# shellcheck source=../lib.sh
source "$kind_dir/lib.sh"

# The CoreDNS, pause and etcd versions are the ones kubeadm $KUBERNETES_VERSION lists (checked below).
COREDNS_VERSION=v1.12.1
PAUSE_VERSION=3.10.1
LOCAL_PATH_VERSION=v0.0.30
# The newest v0.8: v0.9 needs a newer Go than Kubernetes 1.34's. ../manifests/metrics-server.yaml runs it.
METRICS_SERVER_VERSION=v0.8.1
CRICTL_VERSION=v1.34.0
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR="${LIVE360_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

cache="${LIVE360_CACHE:-$HOME/.cache/live360}/kind"
sha12() { sha256sum | cut -c1-12; }
tag="$KUBERNETES_VERSION-$({
  echo "$KUBERNETES_VERSION $ETCD_VERSION $KIND_VERSION"
  cd "$here" && find . -type f -print0 | sort -z | xargs -0 sha256sum
} | sha12)"
ref="live360.local/kind-node:$tag"
tools_ref="live360.local/kind-tools:$tag"
saved="$cache/images/kind-node-$tag.tar.zst"

# Builds run at low priority: the machine is shared with other test runs.
low() { nice -n 15 "$@"; }

install_missing() {
  local need=()
  command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
  command -v zstd >/dev/null || need+=(zstd)
  command -v pigz >/dev/null || need+=(pigz)
  command -v jq >/dev/null || need+=(jq)
  # pause is linked statically, as upstream's.
  if ! command -v gcc >/dev/null || [ ! -e "$(gcc -print-file-name=libc.a)" ]; then need+=(gcc libc6-dev); fi
  [ ${#need[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing system packages: ${need[*]}; run as root or: sudo apt-get install ${need[*]}"
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
}

# module_dir <module@version>: its source in the Go module cache (downloaded if needed).
module_dir() {
  local dir
  dir="$(cd "$cache" && go mod download -json "$1" | jq -r '.Dir // empty')" || true
  [ -d "$dir" ] || die "could not download $1 from the Go module proxy"
  echo "$dir"
}

# go_install <cache dir> <ldflags> <package@version>: `go install` once into the cache dir.
go_install() {
  [ -d "$1" ] && return 0
  log "building $3"
  rm -rf "$1.partial"
  GOBIN="$1.partial" low go install -trimpath -ldflags "-s -w $2" "$3"
  mv "$1.partial" "$1"
}

build_coredns() {
  local dir="$cache/build/coredns-$COREDNS_VERSION" src="$cache/build/coredns-src"
  [ -d "$dir" ] && return 0
  log "building CoreDNS $COREDNS_VERSION with the plugins of kubeadm's Corefile"
  rm -rf "$src" "$dir.partial" && mkdir -p "$src"
  cp "$here/coredns/main.go" "$src/"
  printf 'module live360.local/coredns-build\n\ngo 1.24.0\n\nrequire github.com/coredns/coredns %s\n' "$COREDNS_VERSION" >"$src/go.mod"
  (cd "$src" && GOFLAGS=-mod=mod low go build -trimpath -ldflags "-s -w" -o "$dir.partial/coredns" .)
  mv "$dir.partial" "$dir"
  rm -rf "$src"
}

build_pause() {
  local dir="$cache/build/pause-$PAUSE_VERSION" src
  [ -d "$dir" ] && return 0
  src="$(module_dir "k8s.io/kubernetes@$KUBERNETES_VERSION")/build/pause"
  grep -q "^TAG ?= $PAUSE_VERSION\$" "$src/Makefile" || die "k8s.io/kubernetes@$KUBERNETES_VERSION builds another pause than $PAUSE_VERSION"
  log "building pause $PAUSE_VERSION"
  rm -rf "$dir.partial" && mkdir -p "$dir.partial"
  low gcc -Os -Wall -Werror -static -s -DVERSION="v$PAUSE_VERSION" -o "$dir.partial/pause" "$src/linux/pause.c"
  mv "$dir.partial" "$dir"
}

# debian_rootfs <tarball> <mmdebstrap option>...: a Debian root filesystem, built once per file name.
debian_rootfs() {
  local out="$1"
  shift
  [ -e "$out" ] && return 0
  log "building ${out##*/} (mmdebstrap, $DEBIAN_SUITE)"
  # Those of earlier recipes go: each is a few hundred megabytes.
  rm -f "${out%-*}"-*.tar "$out.partial"
  # Its hooks are chatty even with --quiet: the log is shown only on failure.
  if ! low mmdebstrap --quiet --format=tar "$@" "$DEBIAN_SUITE" "$out.partial" "$DEBIAN_MIRROR" >"$out.log" 2>&1; then
    tail -n 30 "$out.log" >&2
    die "mmdebstrap failed (log: $out.log)"
  fi
  rm -f "$out.log"
  mv "$out.partial" "$out"
}

# No documentation or translations (kind's images drop the documentation too), and merged /usr set up
# by mmdebstrap rather than by the usrmerge package, which would bring perl along.
rootfs_options=(--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*' --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)
# The node's packages: those of kind's base image but its network-storage clients (nfs-common,
# open-iscsi), plus what kind builds from source there (containerd, runc, CNI plugins), /sbin/init and dbus.
node_rootfs_options=("${rootfs_options[@]}" --variant=apt
  "--include=systemd,systemd-sysv,dbus,conntrack,iptables,nftables,iproute2,ethtool,util-linux,mount,kmod,libseccomp2,pigz,fuse-overlayfs,bash,ca-certificates,curl,jq,procps,containerd,runc,containernetworking-plugins")
# kube-proxy's userland (iptables, conntrack), and busybox for the storage helper pods (upstream's helper
# is busybox) and for test pods. iptables-wrapper.sh is made the iptables and ip6tables alternative.
# shellcheck disable=SC2016 # "$1" of the second hook is mmdebstrap's root directory
tools_rootfs_options=("${rootfs_options[@]}" --variant=minbase "--include=iptables,conntrack,busybox"
  --customize-hook="copy-in $here/iptables-wrapper.sh /usr/sbin"
  --customize-hook='chroot "$1" sh -ec "for t in iptables ip6tables; do
    update-alternatives --quiet --install /usr/sbin/\$t \$t /usr/sbin/iptables-wrapper.sh 100 \
      --slave /usr/sbin/\$t-restore \$t-restore /usr/sbin/iptables-wrapper.sh \
      --slave /usr/sbin/\$t-save \$t-save /usr/sbin/iptables-wrapper.sh
    update-alternatives --quiet --set \$t /usr/sbin/iptables-wrapper.sh; done"')

# --- the preloaded images: one OCI image layout (a layer shared by images is stored once) -------------
declare -A layer_descriptor layer_diff_id
images=()

# blob <media type>: stores stdin as a blob of the layout; prints its descriptor.
blob() {
  local tmp="$oci/blob.tmp" digest
  cat >"$tmp"
  digest="$(sha256sum <"$tmp" | cut -c1-64)"
  mv "$tmp" "$oci/blobs/sha256/$digest"
  jq -nc --arg type "$1" --arg digest "sha256:$digest" --argjson size "$(stat -c %s "$oci/blobs/sha256/$digest")" \
    '{mediaType: $type, digest: $digest, size: $size}'
}

# add_layer <name> <tar file>: the tar as a gzip layer; the uncompressed tar's digest is its diff ID.
add_layer() {
  layer_diff_id[$1]="sha256:$(sha256sum <"$2" | cut -c1-64)"
  layer_descriptor[$1]="$(low pigz -nc "$2" | blob application/vnd.oci.image.layer.v1.tar+gzip)"
}

# binary_layer <name> <file> <path in the image>: a layer holding only that executable.
binary_layer() {
  local stage="$work/stage/$1"
  install -D -m 0755 "$2" "$stage$3"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$stage" -cf "$stage.tar" .
  add_layer "$1" "$stage.tar"
}

# image <reference> <entrypoint> <user> <layer name>...: adds an image (a manifest named by containerd's
# annotation) to the layout.
image() {
  local ref="$1" entrypoint="$2" user="$3" name config manifest
  shift 3
  local diff_ids=() layers=()
  for name in "$@"; do
    diff_ids+=("${layer_diff_id[$name]}")
    layers+=("${layer_descriptor[$name]}")
  done
  config="$(jq -nc --arg arch "$arch" --arg entrypoint "$entrypoint" --arg user "$user" '{architecture: $arch, os: "linux",
      config: {Entrypoint: [$entrypoint], User: $user, Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
      rootfs: {type: "layers", diff_ids: $ARGS.positional}}' --args "${diff_ids[@]}" |
    blob application/vnd.oci.image.config.v1+json)"
  manifest="$(printf '%s\n' "${layers[@]}" |
    jq -sc --argjson config "$config" '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: $config, layers: .}' |
    blob application/vnd.oci.image.manifest.v1+json)"
  jq -c --arg ref "$ref" --arg arch "$arch" '. + {platform: {architecture: $arch, os: "linux"},
      annotations: {"io.containerd.image.name": $ref, "org.opencontainers.image.ref.name": ($ref | sub(".*:"; ""))}}' \
    <<<"$manifest" >>"$oci/manifests.jsonl"
  images+=("$ref")
}

preloaded_images() {
  local component
  for component in kube-apiserver kube-controller-manager kube-scheduler; do
    binary_layer "$component" "$k8s_bin/$component" "/usr/local/bin/$component"
    image "registry.k8s.io/$component:$KUBERNETES_VERSION" "/usr/local/bin/$component" "" "$component"
  done
  add_layer tools "$tools_rootfs"
  binary_layer kube-proxy "$k8s_bin/kube-proxy" /usr/local/bin/kube-proxy
  image "registry.k8s.io/kube-proxy:$KUBERNETES_VERSION" /usr/local/bin/kube-proxy "" tools kube-proxy
  binary_layer etcd "$k8s_bin/etcd" /usr/local/bin/etcd
  image "registry.k8s.io/etcd:${ETCD_VERSION#v}-0" /usr/local/bin/etcd "" etcd
  binary_layer coredns "$cache/build/coredns-$COREDNS_VERSION/coredns" /coredns
  image "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" /coredns "" coredns
  binary_layer pause "$cache/build/pause-$PAUSE_VERSION/pause" /pause
  image "registry.k8s.io/pause:$PAUSE_VERSION" /pause 65535:65535 pause
  binary_layer local-path "$cache/build/local-path-provisioner-$LOCAL_PATH_VERSION/local-path-provisioner" /usr/local/bin/local-path-provisioner
  image "docker.io/rancher/local-path-provisioner:$LOCAL_PATH_VERSION" /usr/local/bin/local-path-provisioner "" local-path
  binary_layer metrics-server "$cache/build/metrics-server-$METRICS_SERVER_VERSION/metrics-server" /metrics-server
  image "registry.k8s.io/metrics-server/metrics-server:$METRICS_SERVER_VERSION" /metrics-server 65534 metrics-server
  image "$tools_ref" /bin/sh "" tools

  local kubeadm_images wanted
  kubeadm_images="$("$k8s_bin/kubeadm" config images list --kubernetes-version "$KUBERNETES_VERSION")"
  for wanted in $kubeadm_images; do
    printf '%s\n' "${images[@]}" | grep -qxF "$wanted" || die "kubeadm $KUBERNETES_VERSION wants $wanted, which this recipe does not build"
  done
  grep -qF "image: registry.k8s.io/metrics-server/metrics-server:$METRICS_SERVER_VERSION" "$kind_dir/manifests/metrics-server.yaml" \
    || die "../manifests/metrics-server.yaml does not run metrics-server $METRICS_SERVER_VERSION"

  jq -s '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: .}' "$oci/manifests.jsonl" >"$oci/index.json"
  echo '{"imageLayoutVersion": "1.0.0"}' >"$oci/oci-layout"
}

# --- the node's own files, laid out as in the image ------------------------------------------------
node_files() {
  local files="$work/files" kind_src
  kind_src="$(module_dir "sigs.k8s.io/kind@$KIND_VERSION")"
  cp -R "$kind_src/images/base/files" "$files"
  # The module cache is read-only; kind's Dockerfile sets these modes with COPY --chmod.
  chmod -R u+w,go-w,a+rX "$files"
  chmod 0755 "$files"/usr/local/bin/* "$files"/kind/bin/*
  # Pod sandboxes cannot start where the node lacks CAP_SYS_RESOURCE (the CRI's oom_score_adj of -998
  # needs it): kind's rootless setting lifts that. The sandbox image is kubeadm's pause.
  sed -i -e 's/^\( *restrict_oom_score_adj =\) false$/\1 true/' \
    -e "s#^\( *sandbox_image =\) .*#\1 \"registry.k8s.io/pause:$PAUSE_VERSION\"#" "$files/etc/containerd/config.toml"
  if ! grep -q '^ *restrict_oom_score_adj = true$' "$files/etc/containerd/config.toml" \
    || ! grep -q "^ *sandbox_image = \"registry.k8s.io/pause:$PAUSE_VERSION\"\$" "$files/etc/containerd/config.toml"; then
    die "kind $KIND_VERSION's containerd config.toml has changed: review node_files"
  fi

  install -D -m 0755 -t "$files/usr/bin" "$k8s_bin/kubeadm" "$k8s_bin/kubelet" "$k8s_bin/kubectl"
  install -D -m 0755 "$cache/build/crictl-$CRICTL_VERSION/crictl" "$files/usr/local/bin/crictl"
  install -D -m 0755 "$here/live360-cni.sh" "$files/usr/local/bin/live360-cni"
  install -D -m 0644 "$here/live360-cni.service" "$files/etc/systemd/system/live360-cni.service"
  printf '%s' "$KUBERNETES_VERSION" >"$files/kind/version"
  install -D -m 0644 "$here/default-cni.yaml" "$files/kind/manifests/default-cni.yaml"
  # kind's storage manifest (a Go string constant) with this image's provisioner and helper images.
  awk '/^const defaultStorageManifest = `$/ {on = 1; next} on && /^`$/ {exit} on' "$kind_src/pkg/build/nodeimage/const_storage.go" |
    sed -e "s#\` + storageProvisionerImage + \`#docker.io/rancher/local-path-provisioner:$LOCAL_PATH_VERSION#g" \
      -e "s#\` + storageHelperImage + \`#$tools_ref#g" >"$files/kind/manifests/default-storage.yaml"
  if ! grep -q "image: $tools_ref" "$files/kind/manifests/default-storage.yaml" || grep -q '`' "$files/kind/manifests/default-storage.yaml"; then
    die "kind $KIND_VERSION's storage manifest has changed: review node_files"
  fi
}

build() {
  install_missing
  PATH="$(dirname "$(bash "$kind_dir/../cluster/go.sh")"):$PATH"
  export GOWORK=off CGO_ENABLED=0
  arch="$(go env GOARCH)"
  mkdir -p "$cache/build" "$cache/rootfs"

  local node_rootfs tools_rootfs
  node_rootfs="$cache/rootfs/node-$DEBIAN_SUITE-$(printf '%s\n' "${node_rootfs_options[@]}" | sha12).tar"
  tools_rootfs="$cache/rootfs/tools-$DEBIAN_SUITE-$({ printf '%s\n' "${tools_rootfs_options[@]}"; cat "$here/iptables-wrapper.sh"; } | sha12).tar"
  # The root filesystems mostly wait on the mirror and dpkg: built alongside the Go builds.
  { debian_rootfs "$node_rootfs" "${node_rootfs_options[@]}" && debian_rootfs "$tools_rootfs" "${tools_rootfs_options[@]}"; } &
  local rootfs_pid=$!

  k8s_bin="$(bash "$kind_dir/../cluster/build.sh" node)"
  build_coredns
  build_pause
  go_install "$cache/build/crictl-$CRICTL_VERSION" "-X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" \
    "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
  go_install "$cache/build/local-path-provisioner-$LOCAL_PATH_VERSION" "-X main.VERSION=$LOCAL_PATH_VERSION" \
    "github.com/rancher/local-path-provisioner@$LOCAL_PATH_VERSION"
  go_install "$cache/build/metrics-server-$METRICS_SERVER_VERSION" "-X k8s.io/client-go/pkg/version.gitVersion=$METRICS_SERVER_VERSION" \
    "sigs.k8s.io/metrics-server/cmd/metrics-server@$METRICS_SERVER_VERSION"
  wait "$rootfs_pid" || die "building the Debian root filesystems failed"

  work="$(mktemp -d "$cache/work.XXXXXX")"
  oci="$work/oci"
  container="live360-kind-build-$$"
  trap 'docker rm -f "$container" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
  mkdir -p "$oci/blobs/sha256"
  log "assembling the preloaded images"
  preloaded_images
  node_files

  # As `kind build node-image`: a container of the base image gets the node's files and the images,
  # then is committed. The stop signal is systemd's (SIGTERM would make it re-execute itself); commit
  # keeps it, but not the entrypoint this container runs under.
  log "assembling $ref"
  local base
  base="$(docker import --change 'ENV container=docker' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' "$node_rootfs")"
  docker run --detach --name "$container" --entrypoint sleep --stop-signal SIGRTMIN+3 "$base" infinity >/dev/null
  tar -C "$work/files" --owner=0 --group=0 --numeric-owner -c . | docker exec -i "$container" tar -C / --no-overwrite-dir -x
  local loaded wanted
  loaded="$(tar -C "$oci" -c oci-layout index.json blobs | docker exec -i "$container" bash -c "$(cat "$here/setup-node.sh")")"
  for wanted in "${images[@]}"; do
    grep -qxF "$wanted" <<<"$loaded" || die "containerd in the node did not take $wanted"
  done
  docker commit --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' "$container" "$ref" >/dev/null

  # Only the current recipe's image is kept, here and in the cache: each takes most of a gigabyte
  # (images still used by clusters stay).
  docker images --format '{{.Repository}}:{{.Tag}}' "${ref%:*}" | grep -vxF "$ref" | xargs -r docker rmi >/dev/null 2>&1 || true
  log "saving $ref to $saved"
  mkdir -p "$(dirname "$saved")"
  rm -f "$cache"/images/kind-node-*.tar.zst
  docker save "$ref" | low zstd -T2 -3 -q >"$saved.partial"
  mv "$saved.partial" "$saved"
}

mkdir -p "$cache"
# Two runs at once would build the same things into the same cache.
exec 9>"$cache/build.lock"
flock 9
eval "$(bash "$kind_dir/docker.sh" start)"
if docker image inspect "$ref" >/dev/null 2>&1; then
  :
elif [ -e "$saved" ]; then
  log "loading $ref from $saved"
  command -v zstd >/dev/null || install_missing
  zstd -dc "$saved" | docker load >&2
else
  log "building $ref (about 6 minutes on 2 cores from scratch; cached parts are reused)"
  build
fi
echo "$ref"
