#!/usr/bin/env bash
# The DPDK dataplane's ping -> ack fast path, three ways:
#
#  1. memif: gossipd --dataplane dpdk (memif server; its lcore and the
#     control thread on CPU 0) driven by tools/dpdk-pinggen (memif client,
#     CPU 1) in another process: acks/s over R rounds of D seconds, and the
#     lcore's own busy ns per received frame (from gossipd's stop log).
#     gossipd runs in a throwaway netns whose lo holds 198.18.0.1, because
#     control binds its TCP listener to the node's address.
#  2. net_ring in one process: tools/dpdk-fpbench (the backend's lcore on
#     CPU 1, the test's generator on CPU 0): acks/s and ns per ack.
#  3. callgrind: instructions per ping -> ack (inclusive cost of
#     dp_dpdk_lcore_handle, which covers parse, fast path, rewrite and
#     tx_burst, divided by the pings) versus dpdk-testpmd
#     --forward-mode=macswap on net_ring (forwarding thread's instructions
#     divided by the packets it forwarded).
#
# Every EAL passes --no-pci --no-huge; traffic stays in memif/ring
# memory. Everything started is stopped by PID, the netns and sockets are
# removed by a trap. Timed figures are noisy on a shared 2-vCPU VM
# (dpdk-here.md): compare numbers from one run only.
#
# Usage: scripts/bench-dpdk.sh [--rounds 3] [--duration 3] [--window 256]
#          [--pings 20000] [--skip memif,ring,callgrind]
# Env: BUILD (default build).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=3
DURATION=3
WINDOW=256
PINGS=20000
SKIP=""
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) ROUNDS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--window) WINDOW=$2; shift 2 ;;
	--pings) PINGS=$2; shift 2 ;;
	--skip) SKIP=$2; shift 2 ;;
	-h|--help) sed -n '2,25p' "$0"; exit 0 ;;
	*) echo "bench-dpdk: unknown argument: $1" >&2; exit 2 ;;
	esac
done
case "$ROUNDS$DURATION$WINDOW$PINGS" in
*[!0-9]*) echo "bench-dpdk: numbers only" >&2; exit 2 ;;
esac
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 20 ] && [ "$DURATION" -ge 1 ] &&
	[ "$DURATION" -le 60 ] && [ "$PINGS" -le 1000000 ] ||
	{ echo "bench-dpdk: rounds 1..20, duration 1..60, pings <= 1e6" >&2; exit 2; }

BUILD=${BUILD:-build}
GD=$BUILD/control/gossipd
PG=$BUILD/tools/dpdk-pinggen
FB=$BUILD/tools/dpdk-fpbench
if [ ! -x "$GD" ] || [ ! -x "$PG" ] || [ ! -x "$FB" ]; then
	[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
	ninja -C "$BUILD" control/gossipd tools/dpdk-pinggen \
		tools/dpdk-fpbench >/dev/null
fi
skipped() { case ",$SKIP," in *",$1,"*) return 0 ;; esac; return 1; }

ID=$$
NS=gd-bench-$ID
LOGDIR=$(mktemp -d /tmp/bench-dpdk.XXXXXX)
SOCK=$LOGDIR/memif.sock
PIDS=()
cleanup() {
	trap - INT TERM EXIT
	local pid
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$LOGDIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

Q="--no-pci --no-huge -m 256 --no-shconf --no-telemetry --log-level=lib.eal:error"
mean() { awk '{ s += $1; n++ } END { if (n) printf "%.0f", s / n; else print "n/a" }'; }

# --- 1. memif, two processes ---
memif_round() {	# $1: round number; prints "acks/s ns_per_frame"
	local gdlog=$LOGDIR/gossipd-$1.log pglog=$LOGDIR/pinggen-$1.log pid
	rm -f "$SOCK"
	ip netns exec "$NS" "$GD" --name bench-node --bind 198.18.0.1:7946 \
		--rpc-addr 127.0.0.1:17373 --dataplane dpdk \
		--eal "--lcores=0@0,1@0 $Q --file-prefix=gdbs$ID-$1 --vdev=net_memif0,role=server,socket=$SOCK,socket-abstract=no" \
		>"$gdlog" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
	ip netns exec "$NS" taskset -c 1 "$PG" -l 1 $Q --file-prefix=gdbc$ID-$1 \
		--vdev=net_memif0,role=client,socket="$SOCK",socket-abstract=no \
		-- --name bench-node --dst 198.18.0.1:7946 --src 198.18.0.9:7947 \
		--window "$WINDOW" --duration "$DURATION" >"$pglog" 2>&1 || true
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	echo "$(awk '/^acks/ { print $6 }' "$pglog") \
$(awk '/ns per received frame/ { print $(NF-6) }' "$gdlog")"
}

if ! skipped memif; then
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	ip -n "$NS" addr add 198.18.0.1/32 dev lo
	echo "== 1. memif: gossipd dpdk (cpu0) <- dpdk-pinggen (cpu1), window $WINDOW, ${DURATION}s x $ROUNDS"
	: >"$LOGDIR/memif.txt"
	for r in $(seq "$ROUNDS"); do
		res=$(memif_round "$r")
		echo "  round $r: $(echo "$res" | awk '{ printf "%s acks/s, lcore %s ns/frame busy", $1, $2 }')"
		echo "$res" >>"$LOGDIR/memif.txt"
	done
	echo "  mean: $(awk '{ print $1 }' "$LOGDIR/memif.txt" | mean) acks/s, $(awk '{ print $2 }' "$LOGDIR/memif.txt" | mean) ns/frame"
fi

# --- 2. net_ring, one process ---
if ! skipped ring; then
	echo "== 2. net_ring in one process: dpdk-fpbench, 1e6 pings x $ROUNDS"
	: >"$LOGDIR/ring.txt"
	for r in $(seq "$ROUNDS"); do
		"$FB" -l 0-1 $Q -- --pings 1000000 >"$LOGDIR/fb-$r.log" 2>&1 || true
		line=$(awk '/^pings/ { print $6, $9 }' "$LOGDIR/fb-$r.log")
		busy=$(awk '/ns per received frame/ { print $(NF-6) }' "$LOGDIR/fb-$r.log")
		echo "  round $r: ${line% *} acks/s, ${line#* } ns/ack wall, lcore $busy ns/frame busy"
		echo "$line" >>"$LOGDIR/ring.txt"
	done
	echo "  mean: $(awk '{ print $1 }' "$LOGDIR/ring.txt" | mean) acks/s"
fi

# --- 3. instructions per packet (callgrind) ---
if ! skipped callgrind && command -v valgrind >/dev/null; then
	echo "== 3. callgrind, instructions per packet (load-independent)"
	valgrind --tool=callgrind --callgrind-out-file="$LOGDIR/cg.fb" \
		"$FB" -l 0-1 $Q -- --pings "$PINGS" >"$LOGDIR/cg-fb.log" 2>&1 ||
		{ echo "  dpdk-fpbench under valgrind failed:"; tail -n 5 "$LOGDIR/cg-fb.log"; }
	acks=$(awk '/^pings/ { print $2 }' "$LOGDIR/cg-fb.log")
	acks=${acks:-0}
	callgrind_annotate --inclusive=yes --threshold=100 "$LOGDIR/cg.fb" >"$LOGDIR/cg-fb.txt" 2>/dev/null
	incl() {	# inclusive Ir of function $1 in the fpbench profile
		awk -v f="$1" 'index($0, ":" f " [") { gsub(",", "", $1); print $1; exit }' \
			"$LOGDIR/cg-fb.txt"
	}
	for f in dp_dpdk_lcore_handle dp_fp_process dp_pkt_parse dp_pkt_udp4_reply; do
		v=$(incl "$f" || true)
		[ -n "$v" ] && [ "$acks" -gt 0 ] && echo "  $f: $(awk -v v="$v" -v n="$acks" 'BEGIN { printf "%.0f", v / n }') instr/ping"
	done
	if command -v dpdk-testpmd >/dev/null; then
		(sleep 20; echo) | valgrind --tool=callgrind --separate-threads=yes \
			--callgrind-out-file="$LOGDIR/cg.tp" dpdk-testpmd -l 0-1 $Q \
			--vdev=net_ring0 -- --forward-mode=macswap --port-topology=loop \
			--tx-first --total-num-mbufs=2048 >"$LOGDIR/cg-tp.log" 2>&1 || true
		pkts=$(awk '/RX-packets:/ { print $2; exit }' "$LOGDIR/cg-tp.log")
		ir=$(for f in "$LOGDIR"/cg.tp-*; do awk '/^totals:/ { print $2 }' "$f"; done | sort -n | tail -1)
		[ -n "$pkts" ] && [ "$pkts" -gt 0 ] &&
			echo "  dpdk-testpmd macswap (net_ring, forwarding thread): $(awk -v v="$ir" -v n="$pkts" 'BEGIN { printf "%.1f", v / n }') instr/packet ($pkts packets)"
	else
		echo "  dpdk-testpmd not installed (Debian package dpdk-dev): no baseline"
	fi
fi
