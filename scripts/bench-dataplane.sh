#!/usr/bin/env bash
# Ping->ack throughput of gossipd's dataplanes against a real serf agent,
# all rows measured in this one run on this machine, printed as one table:
#
#  (a) gossipd --dataplane dpdk, memif server, driven by tools/dpdk-pinggen
#      over net_memif from another process (scripts/bench-dpdk.sh; gossipd
#      on CPU 0, the generator on CPU 1): acks/s, ns per ack, and the
#      gossipd lcore's busy ns per frame;
#  (b) gossipd's socket dataplane on 127.0.0.1, driven by tools/gossip-ping
#      (closed loop, window W): acks/s;
#  (c) a real `serf agent` on 127.0.0.1 under the same load: acks/s;
#  ratios against the targets (DPDK >= 10x socket and >= 200x serf,
#  socket >= 30x serf), and the callgrind line: instructions per ping->ack
#  of the DPDK fast path next to dpdk-testpmd macswap's per packet on
#  net_ring (target <= 10x), with a breakdown.
#  Encrypted (serf -encrypt, one random 32-byte key for the run):
#  (a') gossipd dpdk --encrypt over memif, driven by dpdk-pinggen
#       --encrypt, as (a); (b') gossipd socket --encrypt and (c') serf
#       agent -encrypt, driven by gossip-ping --encrypt, alternating with
#       (b) and (c); the ratio (a')/(c') against its target (>= 100x);
#       and callgrind's instructions per encrypted ping->ack
#       (dpdk-fpbench --encrypt) next to the plaintext figure, for the
#       32-byte key and a 16-byte one with the default AES-GCM back end
#       and for the 32-byte key through EVP and libsodium.
#
# Each row is the median of R rounds of D seconds (spread min..max); (b)
# and (c) alternate round by round. A round is DISTURBED when processes
# other than ours used more than 10% of one CPU while it measured (the
# VM has 2 vCPUs and is shared); medians use the undisturbed rounds when
# there are any, and the table says how many were disturbed.
#
# Usage: scripts/bench-dataplane.sh [--rounds 3] [--duration 3]
#          [--window 256] [--pings 20000] [--no-pin]
#          [--skip dpdk,ring,callgrind,socket,serf,enc]
# (enc skips every encrypted row; enc-memif, enc-socket, enc-serf,
# enc-callgrind and enc-backends (the EVP and libsodium counts) skip one
# each.)
# --no-pin: let the kernel place gossip-ping, gossipd (socket) and serf
# instead of server on CPU 0, client on CPU 1.
# Env: BUILD (default build); QUIET_WAIT (default 30): seconds each round
# may wait for a quiet moment. Everything started is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=3
DURATION=3
WINDOW=256
PINGS=20000
PIN=1
SKIP=""
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) ROUNDS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--window) WINDOW=$2; shift 2 ;;
	--pings) PINGS=$2; shift 2 ;;
	--no-pin) PIN=0; shift ;;
	--skip) SKIP=$2; shift 2 ;;
	-h|--help) sed -n '2,/^set -e/{/^set -e/d;p}' "$0"; exit 0 ;;
	*) echo "bench-dataplane: unknown argument: $1" >&2; exit 2 ;;
	esac
done
. scripts/lib/bench-args.sh	# bench_args_check, skipped
bench_args_check bench-dataplane
# encrypted row $1 (memif, socket, serf, callgrind, backends) skipped?
# (callgrind skips the encrypted counts too)
enc_skipped() {
	skipped enc || skipped "enc-$1" ||
		{ [ "$1" != memif ] && [ "$1" != socket ] && [ "$1" != serf ] && skipped callgrind; }
}

BUILD=${BUILD:-build}
export BUILD
if [ ! -x "$BUILD/tools/gossip-ping" ] || [ ! -x "$BUILD/control/gossipd" ]; then
	[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
	ninja -C "$BUILD" tools/gossip-ping control/gossipd >/dev/null
fi
PING=$BUILD/tools/gossip-ping
# The pool key of the encrypted rows (serf keygen's format).
ENC_KEY=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')

LOGDIR=$(mktemp -d /tmp/bench-dataplane.XXXXXX)
RES=$LOGDIR/results.txt
: >"$RES"
PIDS=()
cleanup() {
	trap - INT TERM EXIT
	bench_memif_cleanup	# PIDS, then the netns: scripts/lib/bench-memif.sh
	echo "bench-dataplane: logs in $LOGDIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# cpu_busy, cpu_of, wait_quiet (QUIET_WAIT); bench_memif_rounds
. scripts/lib/bench-cpu.sh	# after the cd to the top
. scripts/lib/bench-memif.sh

# --- (a), ring and callgrind: the DPDK part ---
DPDK_SKIP=$SKIP
skipped dpdk && DPDK_SKIP="$DPDK_SKIP,memif"
if ! skipped dpdk || ! skipped ring || ! skipped callgrind; then
	bash scripts/bench-dpdk.sh --rounds "$ROUNDS" --duration "$DURATION" \
		--window "$WINDOW" --pings "$PINGS" --skip "$DPDK_SKIP" \
		--out "$RES" 2>&1 | tee "$LOGDIR/bench-dpdk.log" | sed 's/^/  | /' ||
		echo "bench-dataplane: bench-dpdk.sh failed (see $LOGDIR/bench-dpdk.log)" >&2
fi

# --- (a') and the encrypted callgrind line (scripts/lib/bench-enc.sh) ---
. scripts/lib/bench-enc.sh

# --- (b) and (c): gossip-ping against gossipd (socket) and serf ---
# A port free for both TCP and UDP on 127.0.0.1 (memberlist uses both).
free_port() {
	python3 - <<'EOF'
import socket
for _ in range(100):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        t.close()
        continue
    u.close(); t.close()
    print(port)
    break
EOF
}

# Wait until a target acks a ping (bounded: about 10 s); $3: the key or -.
wait_acks() {
	local enc=()
	[ "${3:--}" != - ] && enc=(--encrypt "$3")
	for _ in $(seq 25); do
		"$PING" --target "127.0.0.1:$1" --name "$2" --window 1 \
			--duration 0.2 --timeout-ms 100 "${enc[@]}" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "bench-dataplane: $2 on port $1 never acked (see $LOGDIR)" >&2
	return 1
}

SRV_PIN=()
CLI_PIN=()
if [ "$PIN" = 1 ]; then
	SRV_PIN=(taskset -c 0)
	CLI_PIN=(taskset -c 1)
fi
TARGETS=()	# "row port name pid"
if ! skipped serf; then
	if command -v serf >/dev/null; then
		SERF_PORT=$(free_port)
		"${SRV_PIN[@]}" serf agent -node=bench-serf -bind="127.0.0.1:$SERF_PORT" \
			-rpc-addr="127.0.0.1:$(free_port)" -log-level=warn >"$LOGDIR/serf.log" 2>&1 &
		PIDS+=($!)
		TARGETS+=("serf $SERF_PORT bench-serf - $!")
		if ! enc_skipped serf; then
			SERF_EPORT=$(free_port)
			"${SRV_PIN[@]}" serf agent -node=bench-serf-enc -bind="127.0.0.1:$SERF_EPORT" \
				-rpc-addr="127.0.0.1:$(free_port)" -encrypt="$ENC_KEY" \
				-log-level=warn >"$LOGDIR/serf-enc.log" 2>&1 &
			PIDS+=($!)
			TARGETS+=("serf_enc $SERF_EPORT bench-serf-enc $ENC_KEY $!")
		fi
	else
		echo "bench-dataplane: serf not installed: no (c) row" >&2
	fi
fi
if ! skipped socket; then
	GD_PORT=$(free_port)
	"${SRV_PIN[@]}" "$BUILD/control/gossipd" --name bench-gossipd \
		--bind "127.0.0.1:$GD_PORT" --rpc-addr "127.0.0.1:$(free_port)" \
		>"$LOGDIR/gossipd-socket.log" 2>&1 &
	PIDS+=($!)
	TARGETS+=("socket $GD_PORT bench-gossipd - $!")
fi
if ! skipped socket && ! enc_skipped socket; then
	GD_EPORT=$(free_port)
	"${SRV_PIN[@]}" "$BUILD/control/gossipd" --name bench-gossipd-enc \
		--bind "127.0.0.1:$GD_EPORT" --rpc-addr "127.0.0.1:$(free_port)" \
		--encrypt "$ENC_KEY" >"$LOGDIR/gossipd-socket-enc.log" 2>&1 &
	PIDS+=($!)
	TARGETS+=("socket_enc $GD_EPORT bench-gossipd-enc $ENC_KEY $!")
fi
for t in "${TARGETS[@]}"; do
	read -r _ port name key _ <<<"$t"
	wait_acks "$port" "$name" "$key"
done

# One measured run of gossip-ping; appends "row round acks/s loss% foreign%".
ping_round() {	# $1 row $2 port $3 name $4 round $5 key or -
	local out=$LOGDIR/gossip-ping-$1-$4.log ppid b0 b1 o0 o1 t0 t1 ours
	local enc=()
	[ "${5:--}" != - ] && enc=(--encrypt "$5")
	ours=$(for t in "${TARGETS[@]}"; do echo "${t##* }"; done)
	"${CLI_PIN[@]}" "$PING" --target "127.0.0.1:$2" --name "$3" \
		--window "$WINDOW" --duration "$DURATION" "${enc[@]}" >"$out" 2>&1 &
	ppid=$!
	sleep 0.3
	t0=$(date +%s.%N); b0=$(cpu_busy); o0=$(cpu_of $ours "$ppid")
	sleep "$(awk -v d="$DURATION" 'BEGIN { print d - 0.5 }')"
	t1=$(date +%s.%N); b1=$(cpu_busy); o1=$(cpu_of $ours "$ppid")
	wait "$ppid" || true
	sed -n 's/^RESULT acks_per_s=\([0-9]*\).* loss_pct=\([0-9.]*\).*/\1 \2/p' "$out" |
		awk -v row="$1" -v r="$4" -v b=$((b1 - b0 - o1 + o0)) -v t0="$t0" -v t1="$t1" \
		'{ printf "%s_round %s %s %s %.0f\n", row, r, $1, $2, b < 0 ? 0 : b / (t1 - t0) }' >>"$RES"
}

if [ "${#TARGETS[@]}" -gt 0 ]; then
	echo "== (b)/(c): gossip-ping, window $WINDOW, ${DURATION}s x $ROUNDS rounds, pin=$PIN"
	for r in $(seq "$ROUNDS"); do
		for t in "${TARGETS[@]}"; do
			read -r row port name key _ <<<"$t"
			wait_quiet
			ping_round "$row" "$port" "$name" "$r" "$key"
			awk -v row="${row}_round" -v r="$r" '$1 == row && $2 == r {
				printf "  round %s: %-10s %9s acks/s (loss %s%%)%s\n", r, substr(row, 1, length(row) - 6), $3, $4,
					($5 > 10 ? "  DISTURBED: others used " $5 "% of a CPU" : "") }' "$RES"
		done
	done
fi

# --- the table ---
# "median min max n_disturbed n" of column $2 of rows $1, undisturbed
# rounds preferred; column $3 holds the foreign CPU %.
stat_of() {
	awk -v row="$1" -v col="$2" -v fc="$3" '$1 == row {
		n++; v = $col; d = $fc > 10
		if (!d) good[ng++] = v; all[na++] = v; nd += d }
	function med(a, k,   i, j, t) {
		for (i = 0; i < k; i++) for (j = i + 1; j < k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return k % 2 ? a[int(k / 2)] : (a[k / 2 - 1] + a[k / 2]) / 2 }
	END {
		if (!n) { print "n/a n/a n/a 0 0"; exit }
		m = ng ? med(good, ng) : med(all, na)
		lo = all[0]; hi = all[0]
		for (i = 1; i < na; i++) { if (all[i] < lo) lo = all[i]; if (all[i] > hi) hi = all[i] }
		printf "%.0f %.0f %.0f %d %d\n", m, lo, hi, nd, n }' "$RES"
}
row_line() {	# $1 label $2 stat line $3 extra
	read -r m lo hi nd n <<<"$2"
	if [ "$n" = 0 ]; then
		printf '%-34s %12s\n' "$1" "skipped"
		return
	fi
	printf '%-34s %12s %23s %9s %10s  %s\n' "$1" "$m" "$lo..$hi" \
		"$(awk -v m="$m" 'BEGIN { if (m > 0) printf "%.0f", 1e9 / m; else print "-" }')" \
		"$nd/$n" "$3"
}
ratio() {	# $1 label $2 num $3 den $4 target (>=)
	awk -v l="$1" -v a="$2" -v b="$3" -v t="$4" 'BEGIN {
		if (a + 0 <= 0 || b + 0 <= 0) { printf "  %-14s n/a\n", l; exit }
		r = a / b; printf "  %-14s %8.1fx   (target >= %sx: %s)\n", l, r, t, (r >= t ? "met" : "NOT met") }'
}
cg_val() { awk -v k="$1" '$1 == "cg" && $2 == k { print $3 }' "$RES"; }

A=$(stat_of memif_round 3 7)
A_SLICE=$(stat_of memif_round 4 7 | cut -d' ' -f1)
A_BUSY=$(stat_of memif_round 5 7 | cut -d' ' -f1)
A_PG=$(stat_of memif_round 6 7 | cut -d' ' -f1)
B=$(stat_of socket_round 3 5)
C=$(stat_of serf_round 3 5)
AE=$(stat_of memif_enc_round 3 7)
AE_SLICE=$(stat_of memif_enc_round 4 7 | cut -d' ' -f1)
AE_BUSY=$(stat_of memif_enc_round 5 7 | cut -d' ' -f1)
AE_PG=$(stat_of memif_enc_round 6 7 | cut -d' ' -f1)
BE=$(stat_of socket_enc_round 3 5)
CE=$(stat_of serf_enc_round 3 5)
echo
echo "== bench-dataplane: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) vCPU $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r)"
echo "   serf $(command -v serf >/dev/null && serf version | head -1), window $WINDOW, $ROUNDS rounds x ${DURATION}s, $([ "$PIN" = 1 ] && echo "server cpu0 / client cpu1" || echo "(b)/(c) unpinned")"
printf '%-34s %12s %23s %9s %10s  %s\n' "row" "acks/s" "spread (min..max)" "ns/ack" "disturbed" "notes"
row_line "(a) gossipd dpdk, memif" "$A" "100 ms slices: median $A_SLICE; gossipd lcore busy $A_BUSY ns/frame, pinggen busy $A_PG ns/ack"
row_line "(b) gossipd socket, loopback" "$B" ""
row_line "(c) serf agent, loopback" "$C" ""
row_line "(a') gossipd dpdk, memif, --encrypt" "$AE" "100 ms slices: median $AE_SLICE; gossipd lcore busy $AE_BUSY ns/frame, pinggen busy $AE_PG ns/ack"
row_line "(b') gossipd socket, --encrypt" "$BE" ""
row_line "(c') serf agent, -encrypt" "$CE" ""
A_M=${A%% *}; B_M=${B%% *}; C_M=${C%% *}
AE_M=${AE%% *}; BE_M=${BE%% *}; CE_M=${CE%% *}
echo "ratios:"
ratio "dpdk/socket" "$A_M" "$B_M" 10
ratio "dpdk/serf" "$A_M" "$C_M" 200
ratio "socket/serf" "$B_M" "$C_M" 30
ratio "enc dpdk/serf" "$AE_M" "$CE_M" 100
H=$(cg_val dp_dpdk_lcore_handle)
T=$(cg_val testpmd_macswap)
if [ -n "$H" ] || [ -n "$T" ]; then
	echo "callgrind (instructions, load-independent):"
	awk -v h="${H:-0}" -v t="${T:-0}" 'BEGIN {
		printf "  dpdk fast path %s instr/ping (dp_dpdk_lcore_handle incl.) vs testpmd macswap %s instr/packet (net_ring)",
			h ? h : "n/a", t ? t : "n/a"
		if (h > 0 && t > 0) printf ": %.1fx (target <= 10x: %s)", h / t, (h / t <= 10 ? "met" : "NOT met")
		printf "\n" }'
	for tag in enc enc16 enc_evp enc_na; do
		EH=$(cg_val "$tag:dp_dpdk_lcore_handle")
		[ -n "$EH" ] || continue
		EO=$(cg_val "$tag:swim_crypto_ctx_open_udp")
		ES=$(cg_val "$tag:dp_dpdk_seal_ack")
		awk -v t="$tag" -v e="$EH" -v h="${H:-0}" -v o="${EO:-0}" -v s="${ES:-0}" \
			-v cr="$(awk -v t="$tag" '$1 == "cg_crypto" && $2 == t { print $3 }' "$RES")" 'BEGIN {
			printf "  encrypted, %s key, AES-GCM by %s: %s instr/ping (open %s, seal ack %s, rest %s)",
				(t == "enc16" ? "16-byte" : "32-byte"), cr, e, o, s, e - o - s
			if (h > 0) printf "; %.1fx plaintext", e / h
			printf "\n" }'
	done
	HW=$(cg_val hw_csum:dp_dpdk_lcore_handle)
	if [ -n "$HW" ] && [ -n "$T" ]; then
		awk -v h="$HW" -v t="$T" 'BEGIN {
		printf "  with RX checksum offload (pings flagged GOOD, as a NIC that verifies them): %s instr/ping, %.1fx\n", h, h / t }'
	fi
	for f in dp_pkt_parse_hw swim_wire_match_ping_pat send_ack; do
		v=$(cg_val "$f")
		if [ -n "$v" ]; then echo "$f $v"; fi	# pipefail: no false status
	done | awk '{ s = s (NR > 1 ? ", " : "") $1 " " $2 }
		END { if (NR) print "  breakdown, instr/ping inclusive: " s }'
fi
R=$(stat_of ring_round 3 99)	# no disturbance column
[ "${R##* }" != 0 ] && echo "net_ring in one process (dpdk-fpbench): median ${R%% *} acks/s"
exit 0
