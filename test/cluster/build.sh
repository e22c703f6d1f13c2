#!/usr/bin/env bash
# Builds the local Kubernetes control plane from the Go module proxy into a cache keyed by version:
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl  (k8s.io/kubernetes)
#   etcd                                                              (go.etcd.io/etcd/server/v3)
#   kwok, plus its default node/pod stages                            (sigs.k8s.io/kwok)
# `build.sh node` builds what a kind node image needs instead (test/kind/node-image/build.sh):
#   the control plane and etcd above, plus kubelet, kubeadm, kube-proxy (k8s.io/kubernetes), no kwok.
# Each component is rebuilt only when its stamp file is missing, so a second run takes seconds.
# Prints the bin directory on stdout; progress goes to stderr.
set -euo pipefail
case "${1:-}" in
  "" | node) ;;
  *) echo "usage: build.sh [node]" >&2; exit 1 ;;
esac
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

# A Go new enough for Kubernetes' go.mod (fetched from the Go module proxy when the installed one is older).
go_bin="$("$here/go.sh")"
PATH="$(dirname "$go_bin"):$PATH"
export PATH

root="${LIVE360_CACHE:-$HOME/.cache/live360}/k8s/$KUBERNETES_VERSION"
bin="$root/bin"
mkdir -p "$bin" "$root/src"

# Two builds of the same version at once (make cluster while jest starts one) would race on the stamps.
exec 9>"$root/build.lock"
flock 9

# The wrapper modules must not pick up a go.work from the working directory or its parents.
export GOWORK=off CGO_ENABLED=0
# Build with low priority: the machine is shared with other test runs.
gobuild() { nice -n 15 go build -trimpath "$@"; }
log() { echo "live360 cluster: $*" >&2; }

build_kubernetes() {
  local stamp="$bin/.kubernetes-$KUBERNETES_VERSION"
  [ -e "$stamp" ] && return 0
  local minor="${KUBERNETES_VERSION#v1.}" src="$root/src/kubernetes"
  local staging="v0.$minor"  # staging modules are tagged v0.Y.Z for Kubernetes v1.Y.Z
  log "building Kubernetes $KUBERNETES_VERSION (first run only; takes a while)"
  rm -rf "$src" && mkdir -p "$src"
  local gomod
  gomod="$(cd "$src" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')"
  [ -n "$gomod" ] || { log "could not download k8s.io/kubernetes@$KUBERNETES_VERSION from the Go module proxy"; exit 1; }
  # k8s.io/kubernetes replaces every staging module with ./staging/src/k8s.io/<name>; replace
  # directives of a dependency are ignored, so this module repeats them against the published tags.
  {
    echo "module live360.local/kubernetes-build"
    echo
    echo "go 1.24.0"
    echo
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo
    echo "replace ("
    sed -n "s#^\t\(k8s.io/[^ ]*\) => ./staging/src/k8s.io/[^ ]*\$#\t\1 => \1 $staging#p" "$gomod"
    echo ")"
  } >"$src/go.mod"
  grep -q "k8s.io/client-go => k8s.io/client-go $staging" "$src/go.mod" \
    || { log "found no staging replace lines in $gomod"; exit 1; }
  build_kubernetes_commands kubernetes-out \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubectl
  touch "$stamp"
}

# build_kubernetes_commands <scratch dir name> <package>...: builds commands of k8s.io/kubernetes from
# the wrapper module build_kubernetes writes, into the bin directory.
build_kubernetes_commands() {
  local out="$root/src/$1" minor="${KUBERNETES_VERSION#v1.}"
  shift
  # Same version stamps as Kubernetes' own build (hack/lib/version.sh), so `kubectl version`
  # and the API server's /version report the real release instead of v0.0.0-master.
  local ldflags="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=${minor%%.*}"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  rm -rf "$out" && mkdir -p "$out"
  (cd "$root/src/kubernetes" && GOFLAGS="-mod=mod" gobuild -ldflags "$ldflags" -o "$out/" "$@")
  mv -f "$out"/* "$bin/" && rmdir "$out"
}

# The node agents, for kind node images; same wrapper module, so the control plane's module
# downloads and build cache are reused.
build_node() {
  local stamp="$bin/.node-$KUBERNETES_VERSION"
  [ -e "$stamp" ] && return 0
  log "building kubelet, kubeadm and kube-proxy $KUBERNETES_VERSION (first run only)"
  build_kubernetes_commands node-out \
    k8s.io/kubernetes/cmd/kubelet \
    k8s.io/kubernetes/cmd/kubeadm \
    k8s.io/kubernetes/cmd/kube-proxy
  touch "$stamp"
}

build_etcd() {
  local stamp="$bin/.etcd-$ETCD_VERSION"
  [ -e "$stamp" ] && return 0
  local src="$root/src/etcd"
  log "building etcd $ETCD_VERSION"
  rm -rf "$src" && mkdir -p "$src"
  # etcd's server module points its sibling modules at ../api etc., so `go install ...@tag` refuses it;
  # a wrapper module pins the siblings to the same tag instead.
  cat >"$src/go.mod" <<MOD
module live360.local/etcd-build

go 1.24.0

require go.etcd.io/etcd/server/v3 $ETCD_VERSION

replace (
	go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/pkg/v3 => go.etcd.io/etcd/client/pkg/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/v3 => go.etcd.io/etcd/client/v3 $ETCD_VERSION
	go.etcd.io/etcd/pkg/v3 => go.etcd.io/etcd/pkg/v3 $ETCD_VERSION
)
MOD
  (cd "$src" && GOFLAGS="-mod=mod" gobuild -ldflags "-s -w" -o "$src/etcd" go.etcd.io/etcd/server/v3)
  mv -f "$src/etcd" "$bin/etcd"
  touch "$stamp"
}

build_kwok() {
  local stamp="$bin/.kwok-$KWOK_VERSION"
  [ -e "$stamp" ] && return 0
  log "building kwok $KWOK_VERSION"
  GOBIN="$root/src/kwok-bin" nice -n 15 go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mv -f "$root/src/kwok-bin/kwok" "$bin/kwok"
  # kwok only simulates what Stage objects tell it to. Take the stages kwokctl uses by default from the
  # same tag: nodes become Ready and renew their Lease; pods become Running/Ready, Job pods Succeed,
  # and deleted pods go away.
  local dir
  dir="$(cd "$root/src" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  local stage first=1
  : >"$bin/kwok-stages.yaml.tmp"
  for stage in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
    pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
    [ "$first" = 1 ] || echo "---" >>"$bin/kwok-stages.yaml.tmp"
    first=0
    cat "$dir/kustomize/stage/$stage.yaml" >>"$bin/kwok-stages.yaml.tmp"
  done
  mv -f "$bin/kwok-stages.yaml.tmp" "$bin/kwok-stages.yaml"
  touch "$stamp"
}

build_kubernetes
build_etcd
if [ "${1:-}" = node ]; then build_node; else build_kwok; fi
echo "$bin"
