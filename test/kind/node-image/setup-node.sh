#!/bin/bash
# Runs inside the container that build.sh commits as the kind node image, after the node's files are
# copied in: what kind's images/base/Dockerfile RUNs once its packages are installed, then the image
# preload of `kind build node-image`, from the OCI archive on stdin instead of registries.
# Prints the names of the images containerd holds.
set -euo pipefail

# systemd as a container's init: only the services a node needs (as images/base/Dockerfile).
find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete
rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \
  /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \
  /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*
echo "ReadKMsg=no" >>/etc/systemd/journald.conf
systemctl enable --quiet kubelet.service containerd.service undo-mount-hacks.service live360-cni.service
# systemd-binfmt would register handlers in binfmt_misc, which is the host kernel's, not the node's.
systemctl mask --quiet systemd-binfmt.service
mkdir -p /etc/kubernetes/manifests

# Debian installs containerd in /usr/bin and the CNI plugins in /usr/lib/cni; kind's containerd unit and
# containerd's CRI defaults look in /usr/local/bin and /opt/cni/bin.
ln -sf /usr/bin/containerd /usr/local/bin/containerd
mkdir -p /opt/cni && ln -sfn /usr/lib/cni /opt/cni/bin

# The base runtime spec kind's containerd config names: its hook bind-mounts a per-container copy of
# product_uuid/product_name, and without the default rlimits containers inherit containerd's.
ctr oci spec \
  | jq '.hooks.createContainer[.hooks.createContainer | length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \
  | jq 'del(.process.rlimits)' >/etc/containerd/cri-base.json

# The preload: containerd runs only for the import; the layers stay packed, as in kind's images, and are
# unpacked on a node's first use.
containerd </dev/null >/tmp/containerd.log 2>&1 &
containerd_pid=$!
for _ in $(seq 30); do
  ctr version >/dev/null 2>&1 && break
  sleep 1
done
ctr --namespace=k8s.io images import --all-platforms --no-unpack - >&2
ctr --namespace=k8s.io images list --quiet
kill "$containerd_pid"
wait "$containerd_pid" || true
rm -rf /tmp/* /run/containerd
