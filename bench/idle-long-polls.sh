#!/usr/bin/env bash
# Measures what idle long polls cost `qscale server --in-memory`: N
# concurrent ReceiveMessage calls (WaitTimeSeconds 20, re-sent as each
# ends) from one client process on an empty queue; the server's CPU from
# /proc/PID/stat and its resident memory. Usage:
#   bench/idle-long-polls.sh [polls, default 10000] [window, default 60s] [tls]
# A third argument "tls" serves and polls over TLS (HTTP/1.1).
set -euo pipefail
polls=${1:-10000}
window=${2:-60s}
tls=()
case "${3:-}" in
  "") ;;
  tls) tls=(-tls) ;;
  *) echo "idle-long-polls.sh: third argument: want tls or nothing, got ${3}" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
(cd "$root" && go build -o "$dir/qscale" ./cmd/qscale && go build -o "$dir/idlepolls" ./bench/idlepolls)
ulimit -n "$(ulimit -Hn)"
"$dir/idlepolls" -qscale "$dir/qscale" -polls "$polls" -window "$window" "${tls[@]}"
