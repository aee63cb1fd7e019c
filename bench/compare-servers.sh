#!/bin/sh
# compare-servers.sh OLD_QSCALE NEW_QSCALE [PAIRS]
#
# Measures the queue server of two qscale binaries against each other, in
# turn (old, new, old, new, ...), so that a machine whose speed drifts
# affects both alike: each run starts a fresh durable server (a new data
# directory) on a free loopback port, drives it with one `qscale bench` run
# of NEW_QSCALE's raw client (16 senders, 16 receivers, 20,000 messages in
# batches of 10), and stops it by its PID. It prints each pair's end-to-end
# throughput, their ratio new/old, and the medians.
set -eu
old=$1 new=$2 pairs=${3:-7}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { # run BINARY: prints the end-to-end msg/s of one bench run
  d=$(mktemp -d "$tmp/run.XXXX")
  "$1" server --listen 127.0.0.1:0 --data-dir "$d/data" --addr-file "$d/addr" >"$d/log" 2>&1 &
  pid=$!
  i=0
  while [ ! -s "$d/addr" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
  "$new" bench --endpoint-url "http://$(cat "$d/addr")" --client raw \
    --senders 16 --receivers 16 --messages 20000 --batch 10 2>/dev/null |
    awk '/^end to end/ {print $4}'
  kill -TERM "$pid"
  wait "$pid" || true
}

run "$old" >/dev/null # warm-up: page cache, CPU frequency
run "$new" >/dev/null
: >"$tmp/pairs"
p=0
while [ $p -lt "$pairs" ]; do
  o=$(run "$old")
  n=$(run "$new")
  echo "$o $n" | tee -a "$tmp/pairs" | awk '{printf "old %6d msg/s   new %6d msg/s   new/old %.2f\n", $1, $2, $2/$1}'
  p=$((p + 1))
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "median old $(awk '{print $1}' "$tmp/pairs" | median) msg/s, new $(awk '{print $2}' "$tmp/pairs" | median) msg/s," \
  "median ratio new/old $(awk '{printf "%.2f\n", $2/$1}' "$tmp/pairs" | median)"
