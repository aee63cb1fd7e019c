#!/usr/bin/env bash
# Measures an idle `qscale up` (the quickstart: empty queue, zero workers):
# CPU from /proc/PID/stat (utime+stime ticks) over a window after a warm-up,
# and its resident memory. Usage: bench/up-idle-cost.sh [seconds, default 60]
# It builds qscale into a temporary directory, runs it there in memory on
# free loopback ports, and stops it by its PID.
set -euo pipefail
window=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
(cd "$root" && go build -o "$dir/qscale" ./cmd/qscale)
cd "$dir"
./qscale up --in-memory --listen 127.0.0.1:0 --console 127.0.0.1:0 >/dev/null 2>&1 &
pid=$!
sleep 5 # warm-up: start-up work is not idle cost
t0=$(awk '{print $14+$15}' "/proc/$pid/stat")
sleep "$window"
t1=$(awk '{print $14+$15}' "/proc/$pid/stat")
rss=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
hz=$(getconf CLK_TCK)
workers=$(pgrep -P "$pid" | wc -l || true)
kill -TERM "$pid"
wait "$pid" || true
awk -v d="$((t1 - t0))" -v hz="$hz" -v w="$window" -v rss="$rss" -v n="$workers" \
  'BEGIN { printf "cpu %.3f %% of a core over %d s; rss %d MiB; worker processes %d\n", d*100/hz/w, w, rss/1024, n }'
