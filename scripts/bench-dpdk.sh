#!/usr/bin/env bash
# The DPDK dataplane's ping -> ack fast path, three ways (the DPDK part
# of scripts/bench-dataplane.sh, which prints the one table; this script
# also runs alone):
#
#  1. memif: gossipd --dataplane dpdk (memif server; its lcore and the
#     mostly sleeping control thread on CPU 0) driven by tools/dpdk-pinggen
#     (memif client, busy-polling on CPU 1) in another process, R rounds
#     of D seconds after a 0.5 s warm-up: acks/s (whole round, and the
#     median of 100 ms slices), ns per ack, the gossipd lcore's own busy
#     ns per received frame (its stop log) and the generator's busy ns per
#     ack. gossipd runs in a throwaway netns whose lo holds 198.18.0.1,
#     because control binds its TCP listener to the node's address.
#  2. net_ring in one process: tools/dpdk-fpbench (the backend's lcore on
#     CPU 1, the test's generator on CPU 0): acks/s and ns per ack.
#  3. callgrind: instructions per ping -> ack (inclusive cost of
#     dp_dpdk_lcore_handle, which covers parse, fast path, rewrite and
#     tx_burst, divided by the pings) versus dpdk-testpmd
#     --forward-mode=macswap on net_ring (forwarding thread's instructions
#     divided by the packets it forwarded). valgrind runs with
#     --fair-sched=yes: by default it hands its big lock to whichever
#     thread asks, so a busy-polling lcore starves the thread that waits
#     for it (testpmd's Enter took 13 minutes that way).
#
# A round counts as disturbed when processes other than ours used more
# than 10% of one CPU while it measured (/proc/stat minus our own CPU
# time): the lead's valgrind jobs and test runs share this 2-vCPU VM.
#
# Every EAL passes --no-pci --no-huge; traffic stays in memif/ring
# memory. Everything started is stopped by PID, the netns and sockets are
# removed by a trap. Timed figures are noisy on a shared 2-vCPU VM
# (dpdk-here.md): compare numbers from one run only.
#
# Usage: scripts/bench-dpdk.sh [--rounds 3] [--duration 3] [--window 256]
#          [--pings 20000] [--skip memif,ring,callgrind] [--out FILE]
# --out appends the results as "key value..." lines for bench-dataplane.sh.
# Env: BUILD (default build); QUIET_WAIT (default 30 s per round).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=3
DURATION=3
WINDOW=256
PINGS=20000
SKIP=""
OUT=/dev/null
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) ROUNDS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--window) WINDOW=$2; shift 2 ;;
	--pings) PINGS=$2; shift 2 ;;
	--skip) SKIP=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	-h|--help) sed -n '2,37p' "$0"; exit 0 ;;
	*) echo "bench-dpdk: unknown argument: $1" >&2; exit 2 ;;
	esac
done
case "$ROUNDS$DURATION$WINDOW$PINGS" in
*[!0-9]*) echo "bench-dpdk: numbers only" >&2; exit 2 ;;
esac
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 20 ] && [ "$DURATION" -ge 1 ] &&
	[ "$DURATION" -le 60 ] && [ "$WINDOW" -ge 1 ] && [ "$WINDOW" -le 1000 ] &&
	[ "$PINGS" -ge 1000 ] && [ "$PINGS" -le 1000000 ] ||
	{ echo "bench-dpdk: rounds 1..20, duration 1..60, window 1..1000, pings 1e3..1e6" >&2; exit 2; }

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
	rm -f "$SOCK"
	echo "bench-dpdk: logs in $LOGDIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

Q="--no-pci --no-huge -m 256 --no-shconf --no-telemetry --log-level=lib.eal:error"

# cpu_busy, cpu_of, wait_quiet (QUIET_WAIT)
. scripts/lib/bench-cpu.sh	# after the cd to the top

# --- 1. memif, two processes ---
memif_round() {	# $1: round number; prints "rate median busy_ns pg_ns foreign%"
	local gdlog=$LOGDIR/gossipd-$1.log pglog=$LOGDIR/pinggen-$1.log
	local gpid ppid b0 b1 o0 o1 t0 t1 rc
	rm -f "$SOCK"
	local eal="--lcores=0@0,1@0 $Q --file-prefix=gdbs$ID-$1 --vdev=net_memif0,role=server,socket=$SOCK,socket-abstract=no"  # --no-pci via $Q
	ip netns exec "$NS" taskset -c 0 "$GD" --name bench-node --bind 198.18.0.1:7946 --rpc-addr 127.0.0.1:17373 --dataplane dpdk --eal "$eal" >"$gdlog" 2>&1 &  # --no-pci via $Q
	gpid=$!
	PIDS+=("$gpid")
	for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
	ip netns exec "$NS" taskset -c 1 "$PG" -l 1 $Q --file-prefix=gdbc$ID-$1 --vdev=net_memif0,role=client,socket="$SOCK",socket-abstract=no -- --name bench-node --dst 198.18.0.1:7946 --src 198.18.0.9:7947 --window "$WINDOW" --duration "$DURATION" --warmup-ms 500 --linger-ms 30000 >"$pglog" 2>&1 &  # --no-pci via $Q
	ppid=$!
	PIDS+=("$ppid")
	# sample inside the generator's timed part: EAL init, ARP and warm-up
	# take about 0.9 s, so [1, max(D, 1.5)] s after its start
	sleep 1
	t0=$(date +%s.%N); b0=$(cpu_busy); o0=$(cpu_of "$gpid" "$ppid")
	sleep "$(awk -v d="$DURATION" 'BEGIN { print (d > 1.5 ? d - 1 : 0.5) }')"
	t1=$(date +%s.%N); b1=$(cpu_busy); o1=$(cpu_of "$gpid" "$ppid")
	kill -0 "$ppid" 2>/dev/null || o1=-1	# gone: no valid sample
	# The generator reports, then idles (--linger-ms): gossipd stops
	# first, so its stop log's counters are not cut by a disconnect.
	# (A client leaving under a polling lcore used to crash gossipd in
	# librte_net_memif 22.11; dp_dpdk_link.h's guard prevents that now.)
	for _ in $(seq $(((DURATION + 15) * 10))); do
		grep -q '^acks' "$pglog" && break
		kill -0 "$ppid" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$gpid" 2>/dev/null || true
	rc=0
	wait "$gpid" 2>/dev/null || rc=$?
	grep -q 'ns per received frame' "$gdlog" ||
		echo "  gossipd exited with status $rc without its lcore stop log (see $gdlog)" >&2
	kill -TERM "$ppid" 2>/dev/null || true
	wait "$ppid" 2>/dev/null || true
	awk -v b=$((b1 - b0 - o1 + o0)) -v o1="$o1" -v t0="$t0" -v t1="$t1" \
		'/^acks/ { r = $6; m = $15; pb = $21 }
		 /ns per received frame/ { gb = $(NF-6) }
		 END { printf "%s %s %s %s %.0f\n", r ? r : 0, m ? m : 0, gb ? gb : "n/a",
			pb ? pb : "n/a", (o1 < 0 ? 999 : b < 0 ? 0 : b / (t1 - t0)) }' "$pglog" "$gdlog"
}

if ! skipped memif; then
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	ip -n "$NS" addr add 198.18.0.1/32 dev lo
	echo "== 1. memif: gossipd dpdk (cpu0) <- dpdk-pinggen (cpu1), window $WINDOW, ${DURATION}s x $ROUNDS"
	for r in $(seq "$ROUNDS"); do
		wait_quiet
		memif_round "$r" >"$LOGDIR/memif-$r.txt"	# not in $(): PIDS stays ours
		read -r rate med gbusy pbusy foreign <"$LOGDIR/memif-$r.txt"
		dist=""
		[ "$foreign" -gt 10 ] && dist="  DISTURBED: others used ${foreign}% of a CPU"
		[ "$foreign" = 999 ] && dist="  DISTURBED? the generator ended before the CPU sample"
		echo "  round $r: $rate acks/s (slice median $med), gossipd lcore $gbusy ns/frame busy, pinggen $pbusy ns/ack busy$dist"
		echo "memif_round $r $rate $med $gbusy $pbusy $foreign" >>"$OUT"
	done
fi

# --- 2. net_ring, one process ---
if ! skipped ring; then
	echo "== 2. net_ring in one process: dpdk-fpbench, 1e6 pings x $ROUNDS"
	for r in $(seq "$ROUNDS"); do
		wait_quiet
		"$FB" -l 0-1 $Q -- --pings 1000000 >"$LOGDIR/fb-$r.log" 2>&1 || true  # --no-pci via $Q
		line=$(awk '/^pings/ { print $6, $9 }' "$LOGDIR/fb-$r.log")
		busy=$(awk '/ns per received frame/ { print $(NF-6) }' "$LOGDIR/fb-$r.log")
		echo "  round $r: ${line% *} acks/s, ${line#* } ns/ack wall, lcore $busy ns/frame busy"
		echo "ring_round $r $line $busy" >>"$OUT"
	done
fi

# --- 3. instructions per packet (callgrind) ---
# $1: "" or --hw-csum (pings marked as a NIC's RX checksum offload would:
# the fast path without its software checksum checks); $2: key prefix.
cg_fpbench() {
	local acks f v funcs=dp_dpdk_lcore_handle
	[ -z "$1" ] && funcs="$funcs dp_pkt_parse_hw swim_wire_match_ping_pat send_ack"
	timeout -k 5 300 valgrind --tool=callgrind --fair-sched=yes --callgrind-out-file="$LOGDIR/cg.fb$1" "$FB" -l 0-1 $Q -- --pings "$PINGS" $1 >"$LOGDIR/cg-fb$1.log" 2>&1 ||  # --no-pci via $Q
		{ echo "  dpdk-fpbench $1 under valgrind failed:"; tail -n 5 "$LOGDIR/cg-fb$1.log"; return 0; }
	acks=$(awk '/^pings/ { print $2 }' "$LOGDIR/cg-fb$1.log")
	callgrind_annotate --inclusive=yes --threshold=100 "$LOGDIR/cg.fb$1" >"$LOGDIR/cg-fb$1.txt" 2>/dev/null
	for f in $funcs; do
		v=$(awk -v f="$f" 'index($0, ":" f " [") { gsub(",", "", $1); print $1; exit }' "$LOGDIR/cg-fb$1.txt")
		[ -n "$v" ] && [ "${acks:-0}" -gt 0 ] || continue
		v=$(awk -v v="$v" -v n="$acks" 'BEGIN { printf "%.0f", v / n }')
		echo "  $2$f: $v instr/ping (inclusive)"
		echo "cg $2$f $v" >>"$OUT"
	done
}

# testpmd forwards until Enter; 5 s under valgrind is tens of millions of
# packets. timeout bounds it if Enter is ever missed again.
cg_testpmd() {
	local pkts ir="" best f v
	(sleep 5; echo) | timeout -k 5 120 valgrind --tool=callgrind --fair-sched=yes --separate-threads=yes --callgrind-out-file="$LOGDIR/cg.tp" dpdk-testpmd -l 0-1 $Q --vdev=net_ring0 -- --forward-mode=macswap --port-topology=loop --tx-first --total-num-mbufs=2048 >"$LOGDIR/cg-tp.log" 2>&1 || true  # --no-pci via $Q
	pkts=$(awk '/RX-packets:/ { print $2; exit }' "$LOGDIR/cg-tp.log")
	# the forwarding thread: the one that spent most in net_ring's rx/tx
	# (the main thread's init can outweigh it when few packets went by)
	best=0
	for f in "$LOGDIR"/cg.tp-*; do
		v=$(callgrind_annotate "$f" 2>/dev/null |
			awk '/librte_net_ring/ { gsub(",", "", $1); s += $1 } END { print s + 0 }')
		[ "$v" -gt "$best" ] || continue
		best=$v
		ir=$(awk '/^totals:/ { print $2 }' "$f")
	done
	if [ -n "$pkts" ] && [ "$pkts" -gt 0 ] && [ -n "$ir" ]; then
		v=$(awk -v v="$ir" -v n="$pkts" 'BEGIN { printf "%.1f", v / n }')
		echo "  dpdk-testpmd macswap (net_ring, forwarding thread): $v instr/packet ($pkts packets)"
		echo "cg testpmd_macswap $v" >>"$OUT"
	else
		echo "  dpdk-testpmd under valgrind gave no count (see $LOGDIR/cg-tp.log)"
	fi
}

if ! skipped callgrind; then
	echo "== 3. callgrind, instructions per packet (load-independent)"
	if ! command -v valgrind >/dev/null; then
		echo "  valgrind not installed: skipped"
	else
		start=$SECONDS
		cg_fpbench "" ""
		cg_fpbench --hw-csum hw_csum:
		if command -v dpdk-testpmd >/dev/null; then
			cg_testpmd
		else
			echo "  dpdk-testpmd not installed (Debian package dpdk-dev): no baseline"
		fi
		echo "  (callgrind section: $((SECONDS - start)) s)"
	fi
fi
