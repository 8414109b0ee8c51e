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
#  With --encrypt (a random 32-byte key) or --encrypt-key BASE64: also
#  the encrypted memif row (gossipd --encrypt, dpdk-pinggen --encrypt)
#  and callgrind's instructions per encrypted ping->ack for 32- and
#  16-byte keys and each AES-GCM back end (scripts/lib/bench-enc.sh).
#
# Usage: scripts/bench-dpdk.sh [--rounds 3] [--duration 3] [--window 256]
#          [--pings 20000] [--skip memif,ring,callgrind,enc-memif,
#          enc-callgrind,enc-backends] [--out FILE] [--encrypt]
# --out appends the results as "key value..." lines for bench-dataplane.sh.
# Only the encrypted memif row, for example:
#   scripts/bench-dpdk.sh --encrypt --skip memif,ring,callgrind,enc-callgrind
# Env: BUILD (default build); QUIET_WAIT (default 30 s per round).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=3
DURATION=3
WINDOW=256
PINGS=20000
SKIP=""
OUT=/dev/null
ENC_KEY=""
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) ROUNDS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--window) WINDOW=$2; shift 2 ;;
	--pings) PINGS=$2; shift 2 ;;
	--skip) SKIP=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--encrypt) ENC_KEY=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())'); shift ;;
	--encrypt-key) ENC_KEY=$2; shift 2 ;;
	-h|--help) sed -n '2,/^set -e/{/^set -e/d;p}' "$0"; exit 0 ;;
	*) echo "bench-dpdk: unknown argument: $1" >&2; exit 2 ;;
	esac
done
. scripts/lib/bench-args.sh	# bench_args_check, skipped
bench_args_check bench-dpdk

BUILD=${BUILD:-build}
GD=$BUILD/control/gossipd
PG=$BUILD/tools/dpdk-pinggen
FB=$BUILD/tools/dpdk-fpbench
if [ ! -x "$GD" ] || [ ! -x "$PG" ] || [ ! -x "$FB" ]; then
	[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
	ninja -C "$BUILD" control/gossipd tools/dpdk-pinggen \
		tools/dpdk-fpbench >/dev/null
fi
enc_skipped() { skipped enc || skipped "enc-$1"; }

LOGDIR=$(mktemp -d /tmp/bench-dpdk.XXXXXX)
PIDS=()
cleanup() {
	trap - INT TERM EXIT
	bench_memif_cleanup	# PIDS, then the netns: scripts/lib/bench-memif.sh
	echo "bench-dpdk: logs in $LOGDIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

Q="--no-pci --no-huge -m 256 --no-shconf --no-telemetry --log-level=lib.eal:error"

# cpu_busy, cpu_of, wait_quiet (QUIET_WAIT); bench_memif_rounds
. scripts/lib/bench-cpu.sh	# after the cd to the top
. scripts/lib/bench-memif.sh

# --- 1. memif, two processes (scripts/lib/bench-memif.sh) ---
if ! skipped memif; then
	echo "== 1. memif: gossipd dpdk (cpu0) <- dpdk-pinggen (cpu1), window $WINDOW, ${DURATION}s x $ROUNDS"
	bench_memif_rounds plain memif_round "$OUT" 17373 -
fi

# --- 1'. the same encrypted, and callgrind's encrypted count
# (scripts/lib/bench-enc.sh), with --encrypt ---
if [ -n "$ENC_KEY" ]; then
	RES=$OUT
	. scripts/lib/bench-enc.sh
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
