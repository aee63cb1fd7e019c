#!/bin/sh
# compare.sh runs the same `qscale bench` workload against each SQS endpoint
# given, one after the other in one run, and prints msgs/s for each and the
# ratio of the first endpoint (qscale) to every other.
#
#   bench/peers/compare.sh [-- BENCH FLAGS...] NAME=URL[@KEY:SECRET][+FLAGS] ...
#
# NAME=URL              an endpoint, e.g. goaws=http://127.0.0.1:4100
# @KEY:SECRET           credentials it needs (default: placeholders)
# +FLAGS                extra bench flags for this endpoint only, joined by
#                       commas, e.g. +--single-deletes or +--messages=1000
#                       or +--client=sdk (qscale bench's default raw client
#                       rejects answers that do not follow the JSON protocol,
#                       e.g. goaws v0.5.4's SendMessageBatch answer)
#
# Environment: QSCALE (the qscale binary; default: built from this checkout),
# BENCH_FLAGS (the common workload; default below).
# Nothing here builds or starts a peer: see docs/benchmarks.md.
set -eu

here=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${QSCALE:-}" ]; then
	QSCALE=$(mktemp -d)/qscale
	(cd "$here" && go build -o "$QSCALE" ./cmd/qscale)
fi
flags=${BENCH_FLAGS:---messages 20000 --size 256 --senders 4 --receivers 4 --batch 10 --wait 20}
if [ $# -eq 0 ]; then
	sed -n '2,/^set/p' "$0" | sed '$d' >&2
	exit 2
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "workload: $flags" >&2
for spec in "$@"; do
	name=${spec%%=*}
	rest=${spec#*=}
	extra=""
	case $rest in *+*) extra=$(echo "${rest#*+}" | tr ',' ' '); rest=${rest%%+*} ;; esac
	key=""
	case $rest in *@*) key=${rest#*@}; rest=${rest%%@*} ;; esac
	url=$rest
	echo "== $name $url $extra" >&2
	if [ -n "$key" ]; then
		res=$(AWS_ACCESS_KEY_ID=${key%%:*} AWS_SECRET_ACCESS_KEY=${key#*:} \
			"$QSCALE" bench --json --endpoint-url "$url" $flags $extra) || { echo "$name failed" >&2; continue; }
	else
		res=$("$QSCALE" bench --json --endpoint-url "$url" $flags $extra) || { echo "$name failed" >&2; continue; }
	fi
	e2e=$(echo "$res" | sed -n 's/.*"e2e_msgs_per_s": \([0-9.e+]*\).*/\1/p')
	send=$(echo "$res" | sed -n 's/.*"send_msgs_per_s": \([0-9.e+]*\).*/\1/p')
	p99=$(echo "$res" | sed -n '/"e2e_latency"/,/}/s/.*"p99_ms": \([0-9.e+]*\).*/\1/p')
	n=$(echo "$res" | sed -n 's/.*"messages": \([0-9]*\).*/\1/p')
	echo "$name $e2e $send $p99 $n $extra" >> "$out"
done

awk 'NR == 1 { base = $2 }
	{ printf "%-18s %10.0f %10.0f %10.1f %8d %10s  %s\n", $1, $2, $3, $4, $5,
	         (NR == 1 ? "-" : sprintf("%.1fx", base / $2)), (NF >= 6 ? substr($0, index($0, $6)) : "") }' "$out" |
	{ printf "%-18s %10s %10s %10s %8s %10s  %s\n" endpoint "e2e msg/s" "send msg/s" "p99 ms" messages "first/this" "extra flags"; cat; }
