#!/usr/bin/env bash
# make kind-down: deletes the kind cluster make kind-up created (images stay in Docker).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
need kind
kind delete cluster --name "$CLUSTER"
