#!/usr/bin/env bash
# Installs the real S3- and SQS-compatible servers the tests run against, once, into a cache:
#   versitygw  (S3, posix backend)   built with `go install`            -> $CACHE/versitygw/<version>/versitygw
#   ElasticMQ  (SQS, AWS JSON proto)  classpath from Maven Central      -> $CACHE/elasticmq/<version>/lib/*.jar
# Re-running is cheap: a version whose directory is complete is left alone. Versions are pinned in
# versions.env, which the test harness (test/kit/src/services) reads too.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
cache="${LIVE360_CACHE:-$HOME/.cache/live360}"
mkdir -p "$cache"
# Two concurrent `make test` runs must not build into the same directory at once.
exec 9>"$cache/test-services.lock"
flock 9

need_tool() {
  command -v "$1" >/dev/null || { echo "live360 test services: '$1' is missing; $2" >&2; exit 1; }
}

install_versitygw() {
  local dir="$cache/versitygw/$VERSITYGW_VERSION"
  [ -x "$dir/versitygw" ] && return 0
  need_tool go "install Go >= 1.25 (https://go.dev/dl/) to build versitygw"
  echo "live360 test services: building versitygw $VERSITYGW_VERSION into $dir (first run only)" >&2
  # GOBIN is a scratch dir renamed into place, so an interrupted build never leaves a half-written binary.
  local tmp="$dir/.build"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  GOBIN="$tmp" GOFLAGS=-buildvcs=false go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
  mv "$tmp/versitygw" "$dir/versitygw"
  rmdir "$tmp"
}

install_elasticmq() {
  local dir="$cache/elasticmq/$ELASTICMQ_VERSION"
  [ -e "$dir/complete" ] && return 0
  need_tool java "install a Java runtime >= 11 (Debian: apt-get install openjdk-17-jre-headless)"
  need_tool mvn "install Maven (Debian: apt-get install maven)"
  echo "live360 test services: fetching ElasticMQ $ELASTICMQ_VERSION into $dir (first run only)" >&2
  rm -rf "$dir/lib"
  mkdir -p "$dir"
  # Maven's output is only interesting when it fails.
  if ! mvn -B -q -f "$here/elasticmq/pom.xml" "-Delasticmq.version=$ELASTICMQ_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime "-DoutputDirectory=$dir/lib" >"$dir/mvn.log" 2>&1; then
    cat "$dir/mvn.log" >&2
    exit 1
  fi
  # The marker is written last: a partial download is retried on the next run instead of used.
  touch "$dir/complete"
}

install_versitygw
install_elasticmq
