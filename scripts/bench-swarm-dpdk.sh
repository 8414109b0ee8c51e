#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# gossip-swarm at line rate (issue 10): the DPDK backend over net_memif,
# one lcore per process, each process pinned to its own CPU.
#
#  (b) swarm -> swarm: a target swarm of $TARGET_N (100,000) virtual
#      members (198.18.0.0/15, memif server, CPU 0) and a generator swarm
#      (198.20.0.0/16, memif client, CPU 1) whose --flood spreads its pings
#      over all $TARGET_N members of the target (--flood-members), window
#      $WINDOW; every ack's mbuf becomes the next ping.
#  (a) swarm -> gossipd: gossipd --dataplane dpdk (its fast path answers
#      pings to itself only, so the swarm is the generator: pings from its
#      members to the node, acks back), gossipd in a throwaway netns whose
#      lo holds 198.18.0.1 (its bind address), main + worker lcore on
#      CPU 0; the generator swarm on CPU 1.
#  (s) the socket backend in the same run: a target swarm (socket
#      backend, $TARGET_N members on 127.64.0.0/10, joined to one gossipd
#      on loopback) flooded by a socket-backend generator (--flood, kernel
#      UDP, window $WINDOW) over all its members; CPU 0 and CPU 1.
#
# Per run: acks/s (wall) on each side and acks per CPU second of the
# answering process (utime + stime from the swarm itself or /proc): on
# this shared 2-vCPU VM the CPU second is the fairer "per lcore" unit.
# Every EAL: --no-pci --no-huge -m 256 --no-shconf. Bounded: $DURATION s
# per run, $ROUNDS rounds; everything started is killed by PID in the
# trap, the netns deleted. Output: "RESULT ..." lines.
# Usage: scripts/bench-swarm-dpdk.sh [build-dir]
#        (env: ROUNDS=3 DURATION=5 TARGET_N=100000 WINDOW=256 SKIP=)
set -u

BUILD=${1:-build}
SWARM=${GOSSIP_SWARM:-$BUILD/tools/swarm/gossip-swarm}
GOSSIPD=${GOSSIPD:-$BUILD/control/gossipd}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
TARGET_N=${TARGET_N:-100000}
WINDOW=${WINDOW:-256}
SKIP=${SKIP:-}			# letters of runs to skip: a, b, s
OUT=${OUT:-$(mktemp -d /tmp/bench-swarm-dpdk.XXXXXX)}
mkdir -p "$OUT"
NS=swdpdk$$
Q="--no-pci --no-huge -m 256 --no-shconf --no-telemetry --log-level=lib.eal:error --log-level=pmd.net.memif:error"
HZ=$(getconf CLK_TCK)
PIDS=()

[ -x "$SWARM" ] || { echo "no gossip-swarm at $SWARM"; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "needs 2 CPUs (one per process)"; exit 77; }

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	rm -f "$OUT"/*.sock
}
trap cleanup EXIT
trap 'exit 130' INT TERM

note() { echo "[$(date +%T)] $*" >&2; }
jnum() { grep -o "\"$2\": [0-9.]*" "$1" 2>/dev/null | awk '{ print $2 }'; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg | tr ' ' /; }
cpu_s() {
	awk -v hz="$HZ" '{ sub(/^.*\) /, ""); split($0, f, " ");
		printf "%.2f", (f[12] + f[13]) / hz }' "/proc/$1/stat" 2>/dev/null
}

# gen TAG FLOOD NAME [netns]: the generator swarm on CPU 1 (memif client).
gen() {
	local tag=$1 flood=$2 name=$3 ns=() n=$TARGET_N
	[ "$name" != swarm- ] && n=1
	[ -n "${4:-}" ] && ns=(ip netns exec "$4")
	"${ns[@]}" taskset -c 1 "$SWARM" --dataplane dpdk --members 1000 \
		--prefix 198.20.0.0/16 --duration "$DURATION" \
		--flood "$flood" --flood-name "$name" --flood-members "$n" \
		--flood-window "$WINDOW" --json "$OUT/gen-$tag.json" \
		--eal "-l 1 $Q --vdev=net_memif0,role=client,socket=$OUT/$tag.sock,socket-abstract=no" \
		>"$OUT/gen-$tag.log" 2>&1
}

wait_sock() {
	for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done
	return 1
}

# (b) swarm -> swarm over memif.
run_swarm() {
	local tag=b$1 t c0 c1 acks
	taskset -c 0 "$SWARM" --dataplane dpdk --members "$TARGET_N" \
		--prefix 198.18.0.0/15 --duration $((DURATION + 6)) \
		--json "$OUT/tgt-$tag.json" \
		--eal "-l 0 $Q --vdev=net_memif0,role=server,socket=$OUT/$tag.sock,socket-abstract=no" \
		>"$OUT/tgt-$tag.log" 2>&1 &
	t=$!; PIDS+=($t)
	wait_sock "$OUT/$tag.sock" || { echo "RESULT run=swarm FAILED (no memif socket)"; return; }
	sleep 1
	c0=$(cpu_s "$t")
	gen "$tag" 198.18.0.1:7950 swarm-
	c1=$(cpu_s "$t")
	wait "$t"
	acks=$(jnum "$OUT/gen-$tag.json" acks_in)
	# The target's CPU while the generator ran (a busy poller spins
	# while its peer is descheduled: this is an upper bound per ack).
	echo "RESULT run=swarm-dpdk->swarm-dpdk round=$1 target_members=$TARGET_N" \
		"spread_over=$(jnum "$OUT/gen-$tag.json" flood_members)" \
		"acks_per_s=$(jnum "$OUT/gen-$tag.json" acks_in_per_s)" \
		"target_cpu_s=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')" \
		"target_acks_per_cpu_s=$(awk -v a="$c0" -v b="$c1" -v n="$acks" 'BEGIN { printf "%.0f", (b > a ? n / (b - a) : 0) }')" \
		"target_busy_ns_per_ack=$(jnum "$OUT/tgt-$tag.json" busy_ns_per_ack)" \
		"gen_acks_per_cpu_s=$(jnum "$OUT/gen-$tag.json" acks_per_cpu_s)" \
		"gen_busy_ns_per_ack=$(jnum "$OUT/gen-$tag.json" busy_ns_per_ack)" \
		"target_silent=$(jnum "$OUT/tgt-$tag.json" pings_silent)" \
		"lost=$(jnum "$OUT/gen-$tag.json" lost)" \
		"loadavg=$(loadavg)"
}

# (a) swarm -> gossipd's DPDK dataplane over memif, gossipd in a netns.
run_gossipd() {
	local tag=a$1 g c0 c1 acks secs
	ip netns add "$NS" && ip -n "$NS" link set lo up &&
		ip -n "$NS" addr add 198.18.0.1/32 dev lo ||
		{ echo "RESULT run=gossipd FAILED (netns)"; return; }
	ip netns exec "$NS" taskset -c 0 "$GOSSIPD" --name gd-node \
		--bind 198.18.0.1:7946 --rpc-addr 127.0.0.1:$((20000 + $$ % 10000)) \
		--dataplane dpdk --log-level warn \
		--eal "--lcores=0@0,1@0 $Q --vdev=net_memif0,role=server,socket=$OUT/$tag.sock,socket-abstract=no" \
		>"$OUT/gossipd-$tag.log" 2>&1 &
	g=$!; PIDS+=($g)
	wait_sock "$OUT/$tag.sock" || { echo "RESULT run=gossipd FAILED (no memif socket)"; ip netns del "$NS"; return; }
	sleep 1
	c0=$(cpu_s "$g")
	gen "$tag" 198.18.0.1:7946 gd-node "$NS"
	c1=$(cpu_s "$g")
	kill -INT "$g" 2>/dev/null; sleep 1; kill -KILL "$g" 2>/dev/null
	wait "$g" 2>/dev/null
	ip netns del "$NS"
	acks=$(jnum "$OUT/gen-$tag.json" acks_in)
	echo "RESULT run=swarm-dpdk->gossipd-dpdk round=$1" \
		"acks_per_s=$(jnum "$OUT/gen-$tag.json" acks_in_per_s)" \
		"gossipd_cpu_s=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')" \
		"gossipd_acks_per_cpu_s=$(awk -v a="$c0" -v b="$c1" -v n="$acks" 'BEGIN { printf "%.0f", (b > a ? n / (b - a) : 0) }')" \
		"gen_acks_per_cpu_s=$(jnum "$OUT/gen-$tag.json" acks_per_cpu_s)" \
		"gen_busy_ns_per_ack=$(jnum "$OUT/gen-$tag.json" busy_ns_per_ack)" \
		"lost=$(jnum "$OUT/gen-$tag.json" lost)" \
		"loadavg=$(loadavg)"
}

# (s) the socket backend: a socket target swarm joined to one gossipd,
# flooded by a socket generator swarm. Needs --flood on the socket
# backend; skipped (with a line saying so) when this build has none.
run_socket() {
	local tag=s$1 g t p q gp rp c0 c1 acks
	if ! "$SWARM" --help | grep -q 'flood.*socket'; then
		echo "RESULT run=swarm-socket SKIPPED (no --flood on the socket backend in this build)"
		return
	fi
	read -r gp rp p q <<<"$(python3 -c 'import random; print(*random.sample(range(20000, 32000), 4))')"
	"$GOSSIPD" --name sock-seed --bind 127.0.0.1:"$gp" \
		--rpc-addr 127.0.0.1:"$rp" --log-level warn >"$OUT/seed-$tag.log" 2>&1 &
	g=$!; PIDS+=($g)
	sleep 1
	taskset -c 0 "$SWARM" --members "$TARGET_N" --join 127.0.0.1:"$gp" \
		--port "$p" --no-leave --duration $((DURATION + 120)) \
		--json "$OUT/tgt-$tag.json" >"$OUT/tgt-$tag.log" 2>&1 &
	t=$!; PIDS+=($t)
	for _ in $(seq 240); do
		grep -q "joined $TARGET_N/$TARGET_N" "$OUT/tgt-$tag.log" && break
		sleep 0.5
	done
	c0=$(cpu_s "$t")
	taskset -c 1 "$SWARM" --members 1000 --prefix 127.32.0.0/16 --port "$q" \
		--flood 127.64.0.1:"$p" --flood-name swarm- \
		--flood-members "$TARGET_N" --flood-window "$WINDOW" \
		--duration "$DURATION" --json "$OUT/gen-$tag.json" \
		>"$OUT/gen-$tag.log" 2>&1
	c1=$(cpu_s "$t")
	kill -KILL "$t" "$g" 2>/dev/null
	wait "$t" "$g" 2>/dev/null
	acks=$(jnum "$OUT/gen-$tag.json" acks_in)
	echo "RESULT run=swarm-socket->swarm-socket round=$1 target_members=$TARGET_N" \
		"acks_per_s=$(jnum "$OUT/gen-$tag.json" acks_in_per_s)" \
		"target_cpu_s=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')" \
		"target_acks_per_cpu_s=$(awk -v a="$c0" -v b="$c1" -v n="$acks" 'BEGIN { printf "%.0f", (b > a ? n / (b - a) : 0) }')" \
		"gen_acks_per_cpu_s=$(jnum "$OUT/gen-$tag.json" acks_per_cpu_s)" \
		"lost=$(jnum "$OUT/gen-$tag.json" lost)" \
		"loadavg=$(loadavg)"
}

for r in $(seq "$ROUNDS"); do
	case "$SKIP" in *b*) ;; *) note "round $r: swarm -> swarm (dpdk)"; run_swarm "$r" ;; esac
	case "$SKIP" in *a*) ;; *) note "round $r: swarm -> gossipd (dpdk)"; run_gossipd "$r" ;; esac
	case "$SKIP" in *s*) ;; *) note "round $r: swarm -> swarm (socket)"; run_socket "$r" ;; esac
done
echo "logs and JSON in $OUT"
