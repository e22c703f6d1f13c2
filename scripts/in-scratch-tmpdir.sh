#!/usr/bin/env bash
# Runs a command with TMPDIR set to a directory of its own, removed afterwards whatever happened.
# The tests make hundreds of temporary directories (recordings, HLS trees, nginx caches, browser
# profiles); some belong to processes a test kills on purpose and cannot clean up after, and a
# failed test skips its own clean-up. Left in /tmp they grew to ~5 GB a day here and, with the
# Docker build cache, filled the disk under CI. Short path: Unix sockets live below it.
set -euo pipefail
scratch="$(mktemp -d "${TMPDIR:-/tmp}/l360-XXXXXX")"
# What /tmp is (mktemp makes 0700): processes under other users — nginx-rtmp's workers and the
# FFmpeg they exec run as nobody in the reference benchmark — write below it too.
chmod 1777 "$scratch"
trap 'rm -rf "$scratch"' EXIT
TMPDIR="$scratch" "$@"
