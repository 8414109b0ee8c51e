#!/usr/bin/env bash
# Scale of one gossipd node, one table, all rows measured in this run:
#
#   members (10^3 .. 10^6) x
#     bytes per member  heap (mallinfo2, exact) and RSS growth of a process
#                       holding the core and the Serf layer with N members
#                       (names of 21 bytes, three short tags), after the
#                       join's broadcasts went out (the idle pool), and the
#                       peak while they were queued;
#     join, update      CPU µs (utime + stime) per member-join and per
#                       member-update, through the real paths (UDP alive ->
#                       core -> event -> Serf layer -> Serf event).
#   (tools/bench-members; owner: scale-core.)
#
# scale-sync adds its rows below (join time, full-sync time and peak
# memory, steady sync bytes/s, `serf members` time); gossip-swarm plays
# the rest of the pool for the idle-CPU row.
#
# Usage: scripts/bench-scale.sh [--sizes "1000 10000 100000 1000000"]
# Env: BUILD (default build). Bounded: bench-members stops on its own;
# each size runs under `timeout` (600 s).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
SIZES="1000 10000 100000 1000000"
while [ $# -gt 0 ]; do
	case "$1" in
	--sizes) SIZES="$2"; shift 2 ;;
	*) echo "usage: $0 [--sizes \"1000 10000 ...\"]" >&2; exit 2 ;;
	esac
done

BENCH="$BUILD/tools/bench-members"
if [ ! -x "$BENCH" ]; then
	ninja -C "$BUILD" tools/bench-members >/dev/null
fi

# key=value line -> the value of key
val() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }

printf '%-9s %10s %10s %10s %9s %9s %s\n' members heap_B/m peak_B/m \
	rss_B/m join_us upd_us check
for n in $SIZES; do
	line=$(timeout 600 "$BENCH" "$n") && ok=ok || ok="FAILED($?)"
	printf '%-9s %10s %10s %10s %9s %9s %s\n' "$n" \
		"$(val "$line" heap_per_member)" \
		"$(val "$line" heap_peak_per_member)" \
		"$(val "$line" rss_per_member)" "$(val "$line" join_us)" \
		"$(val "$line" update_us)" "$ok"
done

# --- rows added by scale-sync (streamed push/pull, RPC at scale) ---
#
# Full sync (tests/cp/bench_pp, one process, loopback): node A holds N
# members, node B joins it, one push/pull both ways. "stream" is the
# streamed path (cp_sync_pp.c), "whole" the whole-message path it
# replaced (still used for sealed and compressed streams; memberlist's
# 20 MiB cap). cpu_ms: the exchange's CPU; buf: the largest stream buffer;
# rss: the process's growth (both tables included); slice_ms: the longest
# reactor pass (CPU), i.e. how long anything else on the control thread
# waits during the sync; steady_B/s: what one node moves in push/pulls
# once the pool is stable: two exchanges per scaled PushPullInterval (its
# own and, on average, one from a peer), each carrying both states
# (memberlist's pushPullScale: 30 s x (ceil(log2 N - 5) + 1)).
PP="$BUILD/tests/cp/bench_pp"
[ -x "$PP" ] || ninja -C "$BUILD" tests/cp/bench_pp >/dev/null
echo
printf '%-9s %-6s %-4s %9s %9s %10s %9s %9s %11s %11s\n' members mode ok \
	sync_ms cpu_ms buf_B rss_MiB slice_ms state_B steady_B/s
for n in $SIZES; do
	for mode in whole stream; do
		line=$(timeout 600 "$PP" "$mode" "$n") || true
		set -- $line
		[ $# -ge 10 ] || { printf '%-9s %-6s FAILED\n' "$n" "$mode"; continue; }
		steady=$(python3 -c "import math; n=$n; iv=30*(math.ceil(math.log2(n)-5)+1 if n>32 else 1); print(round(4*${10}/iv))")
		printf '%-9s %-6s %-4s %9s %9s %10s %9s %9s %11s %11s\n' "$n" \
			"$mode" "$3" "$5" "$6" "$7" "$(($8 / 1024))" \
			"$(python3 -c "print(round($9/1000,1))")" "${10}" "$steady"
	done
done

# The Serf user state of one push/pull alone (tests/unit/bench_serf_pp;
# owner: serfpp): node A holds N members with status LTimes, node B the
# same members; A's state goes to B once. "stream" is the daemon's path
# (serf_pp_enc / serf_pp_dec through 64 KiB windows), "whole" the one
# before it (one buffer each way). cpu_ms: the exchange's CPU; peak_KiB:
# VmHWM in the exchange over VmRSS before it; first_ms: CPU before the
# first byte can go (the whole encode, or the stream's sizing walk), the
# one step the control loop cannot slice.
SP="$BUILD/tests/unit/bench_serf_pp"
[ -x "$SP" ] || ninja -C "$BUILD" tests/unit/bench_serf_pp >/dev/null
echo
printf '%-9s %-6s %-4s %11s %9s %9s %9s\n' members mode ok state_B \
	cpu_ms peak_KiB first_ms
for n in $SIZES; do
	for mode in whole stream; do
		line=$(timeout 600 "$SP" "$mode" "$n") || true
		set -- $line
		[ $# -ge 7 ] || { printf '%-9s %-6s FAILED\n' "$n" "$mode"; continue; }
		printf '%-9s %-6s %-4s %11s %9s %9s %9s\n' "$n" "$mode" "$3" \
			"$4" "$5" "$6" "$7"
	done
done

# `serf members` against gossipd (RPC at scale): gossipd joins pp_seed,
# a bare core that streams N members; join_s runs from gossipd's start
# until `gossipctl info` counts N + 2 members; then the real serf CLI
# lists the pool through gossipd's streamed reply (serf_s, wall; lines);
# gossipd's RSS afterwards. Skipped without serf.
# One row: pp_seed with n members, gossipd joins it, serf members times it.
SS_PIDS=()
ss_cleanup() {
	for p in "${SS_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${SS_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	SS_PIDS=()
}
trap ss_cleanup EXIT
ss_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
scale_serf_members() {
	local n=$1 tmp sp gp rp t0 t1 t2 got=0 lines rss pid
	tmp=$(mktemp -d)
	"$BUILD/tests/cp/pp_seed" "$n" 900 > "$tmp/seed" 2>&1 &
	SS_PIDS+=($!)
	for _ in $(seq 1 3000); do [ -s "$tmp/seed" ] && break; sleep 0.1; done
	sp=$(head -n1 "$tmp/seed"); gp=$(ss_port); rp=$(ss_port)
	t0=$(date +%s.%N)
	"$BUILD/control/gossipd" --name g1 --bind 127.0.0.1:"$gp" \
		--rpc-addr 127.0.0.1:"$rp" --join 127.0.0.1:"$sp" \
		> "$tmp/gossipd.log" 2>&1 &
	pid=$!
	SS_PIDS+=($pid)
	# info's serf members count costs O(1): polling it does not slow
	# the join down as a listing would
	for _ in $(seq 1 6000); do
		got=$(timeout 60 "$BUILD/control/gossipctl" --rpc-addr \
		      127.0.0.1:"$rp" info 2>/dev/null |
		      awk '$1 == "members" {print $3}')
		[ "${got:-0}" -ge $((n + 2)) ] 2>/dev/null && break
		sleep 0.1
	done
	t1=$(date +%s.%N)
	lines=$(timeout 300 serf members -rpc-addr=127.0.0.1:"$rp" | wc -l)
	t2=$(date +%s.%N)
	rss=$(awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$pid/status")
	printf '%-9s %8s %8s %9s %9s\n' "$n" \
		"$(python3 -c "print(round($t1 - $t0, 1))")" \
		"$(python3 -c "print(round($t2 - $t1, 2))")" "$lines" "$rss"
	ss_cleanup
	rm -rf "$tmp"
}
if command -v serf >/dev/null 2>&1; then
	ninja -C "$BUILD" control/gossipd control/gossipctl tests/cp/pp_seed >/dev/null
	echo
	printf '%-9s %8s %8s %9s %9s\n' members join_s serf_s lines rss_MiB
	for n in $SIZES; do
		scale_serf_members "$n"
	done
fi
