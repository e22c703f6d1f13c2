#!/usr/bin/env bash
# make images (and test/kind/up.sh): the live360 images, built with the repository's Dockerfiles and
# tagged $REGISTRY/<name>:$IMAGE_VERSION, on the pinned upstream base images or, where no container
# registry is reachable, on local stand-ins (base-images.sh) through the Dockerfiles' base arguments.
#   images.sh [name=dir ...]   the images to build (default: the Makefile's IMAGES, all of them)
# Environment:
#   REGISTRY                       image name prefix (default ghcr.io/live360, the Makefile's; kind uses live360.local)
#   IMAGE_VERSION, IMAGE_REVISION  the VERSION and REVISION build args (default: the operator's version, git HEAD)
#   LIVE360_IMAGE_SOURCE           upstream: the Dockerfiles' pinned bases; local: base-images.sh's stand-ins;
#                                  auto (default): upstream if the pinned node image is here or can be pulled, else local
# Prints KEY=value lines on stdout for a caller to read (progress and build output go to stderr):
#   IMAGE_SOURCE=upstream|local
#   S3_IMAGE=, SQS_IMAGE=          the S3 and SQS servers for manifests/services.yaml: its own upstream
#                                  references, or the local stand-ins
#   DOCKER_HOST=                   only when no engine was reachable and this started the repository's own
#                                  (docker.sh): the images are in that engine, so the caller needs it too
#                                  (or: eval "$(bash test/kind/docker.sh start)")
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
registry="${REGISTRY:-ghcr.io/live360}"
version="${IMAGE_VERSION:-$(node -p "require('$root/operator/package.json').version")}"
revision="${IMAGE_REVISION:-$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)}"
# shellcheck source=lib.sh
source "$here/lib.sh"

if [ "$#" -gt 0 ]; then
  images=("$@")
else
  read -r -a images <<<"$(sed -n 's/^IMAGES := //p' "$root/Makefile")"
fi
use_docker
image_source
source="$LIVE360_IMAGE_SOURCE"

base_args=()
if [ "$source" = local ]; then
  stand_ins="$(bash "$here/base-images.sh")"
  while IFS='=' read -r key value; do
    case "$key" in
      S3_IMAGE) s3_image="$value" ;;
      SQS_IMAGE) sqs_image="$value" ;;
      PROMETHEUS_IMAGE) prometheus_image="$value" ;;
      # The rest are the Dockerfiles' base arguments.
      *) base_args+=(--build-arg "$key=$value") ;;
    esac
  done <<<"$stand_ins"
else
  s3_image="$(sed -n 's/^ *image: \(.*versitygw.*\)$/\1/p' "$here/manifests/services.yaml")"
  sqs_image="$(sed -n 's/^ *image: \(.*elasticmq.*\)$/\1/p' "$here/manifests/services.yaml")"
  prometheus_image="$(sed -n 's/^ *image: \(.*prometheus.*\)$/\1/p' "$here/manifests/prometheus.yaml")"
fi

for image in "${images[@]}"; do
  name="${image%%=*}" dir="${image#*=}"
  log "$registry/$name:$version ($source bases)"
  DOCKER_BUILDKIT=1 docker build --file "$root/$dir/Dockerfile" \
    --build-arg "VERSION=$version" --build-arg "REVISION=$revision" "${base_args[@]}" \
    --label "$BUILT_BY_LABEL" --tag "$registry/$name:$version" "$root" >&2
done
# Each build leaves the image it replaced untagged and its layers in the build cache: ~4 GB a run
# that filled this machine's disk after a dozen runs. Our own untagged images go, and in the
# project's own engine (never a user's) the build cache is cut to LIVE360_BUILD_CACHE_KEEP.
docker image prune --force --filter "label=$BUILT_BY_LABEL" >/dev/null
if [ "${DOCKER_HOST:-}" = "$OWN_DOCKER_HOST" ]; then
  docker builder prune --force --keep-storage "${LIVE360_BUILD_CACHE_KEEP:-5GB}" >/dev/null
fi

echo "IMAGE_SOURCE=$source"
echo "S3_IMAGE=$s3_image"
echo "SQS_IMAGE=$sqs_image"
echo "PROMETHEUS_IMAGE=$prometheus_image"
if [ -n "${DOCKER_HOST:-}" ]; then
  log "the images are in the Docker engine at $DOCKER_HOST (the project's own: eval \"\$(bash test/kind/docker.sh start)\" reaches it)"
  echo "DOCKER_HOST=$DOCKER_HOST"
fi
