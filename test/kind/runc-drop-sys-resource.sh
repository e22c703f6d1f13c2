#!/usr/bin/env bash
# runc, minus CAP_SYS_RESOURCE: registered by docker.sh as its dockerd's default runtime on
# machines whose capability bounding set lacks that capability, where runc otherwise fails every
# `--privileged` container (kind nodes) with "unable to apply caps: operation not permitted".
# It edits the OCI spec (config.json of the bundle on create/run, the --process file on exec) and
# then runs the real runc with the same arguments.
set -euo pipefail
runc="${LIVE360_REAL_RUNC:-$(command -v runc)}"
drop='walk(if type == "object" and has("bounding") then
  with_entries(if (.value | type) == "array" then .value |= map(select(. != "CAP_SYS_RESOURCE")) else . end)
  else . end)'

strip() {
  local file="$1" tmp
  [ -f "$file" ] || return 0
  tmp="$file.live360.tmp"
  jq "$drop" "$file" >"$tmp" && mv "$tmp" "$file"
}

command_seen="" bundle="" process=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    create | run | exec) [ -n "$command_seen" ] || command_seen="${args[i]}" ;;
    --bundle | -b) bundle="${args[i + 1]}" ;;
    --bundle=*) bundle="${args[i]#--bundle=}" ;;
    --process | -p) process="${args[i + 1]}" ;;
    --process=*) process="${args[i]#--process=}" ;;
  esac
done
case "$command_seen" in
  create | run) strip "${bundle:-.}/config.json" ;;
  exec) [ -z "$process" ] || strip "$process" ;;
esac
exec "$runc" "$@"
