#!/usr/bin/env bash
# Ping->ack throughput: a real serf agent versus gossipd's socket dataplane,
# both on 127.0.0.1, driven in turn by tools/gossip-ping (closed loop,
# window W) for D seconds each, R rounds alternating. Prints acks/s for
# each run, the means, and the ratio gossipd/serf.
#
# The gossipd side is build/control/gossipd when it exists, otherwise
# tools/dp-echo (socket dataplane + fast path, no control plane).
#
# Usage: scripts/bench-dataplane.sh [--rounds 3] [--duration 3]
#          [--window 256] [--lcores 1] [--pin] [--target auto|gossipd|dp-echo]
# Env: BUILD (default build). Everything started is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=3
DURATION=3
WINDOW=256
LCORES=1
PIN=0
TARGET=auto
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) ROUNDS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--window) WINDOW=$2; shift 2 ;;
	--lcores) LCORES=$2; shift 2 ;;
	--pin) PIN=1; shift ;;
	--target) TARGET=$2; shift 2 ;;
	-h|--help) sed -n '2,13p' "$0"; exit 0 ;;
	*) echo "bench-dataplane: unknown argument: $1" >&2; exit 2 ;;
	esac
done
case "$ROUNDS$DURATION" in *[!0-9]*) echo "bench-dataplane: --rounds/--duration are whole numbers" >&2; exit 2 ;; esac
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 20 ] && [ "$DURATION" -ge 1 ] && [ "$DURATION" -le 60 ] \
	|| { echo "bench-dataplane: rounds 1..20, duration 1..60 s" >&2; exit 2; }

BUILD=${BUILD:-build}
command -v serf >/dev/null || { echo "bench-dataplane: serf not installed" >&2; exit 1; }
if [ ! -x "$BUILD/tools/gossip-ping" ] || [ ! -x "$BUILD/tools/dp-echo" ]; then
	[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
	ninja -C "$BUILD" tools/gossip-ping tools/dp-echo >/dev/null
fi
PING=$BUILD/tools/gossip-ping
if [ "$TARGET" = auto ]; then
	TARGET=dp-echo
	[ -x "$BUILD/control/gossipd" ] && TARGET=gossipd
fi

LOGDIR=$(mktemp -d /tmp/bench-dataplane.XXXXXX)
PIDS=()
cleanup() {
	trap - INT TERM EXIT
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do
		# bounded: TERM, then KILL after 5 s
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	echo "bench-dataplane: logs in $LOGDIR"
}
trap cleanup INT TERM EXIT

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

SRV_PIN=()
CLI_PIN=()
if [ "$PIN" = 1 ]; then
	SRV_PIN=(taskset -c 0)
	CLI_PIN=(taskset -c 1)
fi

SERF_PORT=$(free_port)
SERF_RPC=$(free_port)
GD_PORT=$(free_port)
GD_RPC=$(free_port)

"${SRV_PIN[@]}" serf agent -node=bench-serf -bind="127.0.0.1:$SERF_PORT" \
	-rpc-addr="127.0.0.1:$SERF_RPC" -log-level=warn >"$LOGDIR/serf.log" 2>&1 &
PIDS+=($!)
if [ "$TARGET" = gossipd ]; then
	"${SRV_PIN[@]}" "$BUILD/control/gossipd" --name bench-gossipd \
		--bind "127.0.0.1:$GD_PORT" --rpc-addr "127.0.0.1:$GD_RPC" \
		>"$LOGDIR/gossipd.log" 2>&1 &
else
	"${SRV_PIN[@]}" "$BUILD/tools/dp-echo" --name bench-gossipd \
		--bind "127.0.0.1:$GD_PORT" --lcores "$LCORES" \
		--duration $((ROUNDS * DURATION * 4 + 60)) >"$LOGDIR/gossipd.log" 2>&1 &
fi
PIDS+=($!)

# Wait until a target acks a ping (bounded: about 10 s).
wait_acks() {
	for _ in $(seq 25); do
		"$PING" --target "127.0.0.1:$1" --name "$2" --window 1 \
			--duration 0.2 --timeout-ms 100 >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "bench-dataplane: $2 on port $1 never acked (see $LOGDIR)" >&2
	return 1
}
wait_acks "$SERF_PORT" bench-serf
wait_acks "$GD_PORT" bench-gossipd

# One measured run; prints acks/s.
run_one() {
	local out
	out=$("${CLI_PIN[@]}" "$PING" --target "127.0.0.1:$1" --name "$2" \
		--window "$WINDOW" --duration "$DURATION" 2>&1) || true
	echo "$out" >>"$LOGDIR/gossip-ping.log"
	echo "$out" | sed -n 's/^RESULT acks_per_s=\([0-9]*\).* loss_pct=\([0-9.]*\).*/\1 \2/p'
}

echo "bench-dataplane: serf $(serf version | head -1) vs $TARGET" \
	"(lcores $LCORES), window $WINDOW, $DURATION s x $ROUNDS rounds, pin=$PIN"
SERF_SUM=0
GD_SUM=0
for r in $(seq "$ROUNDS"); do
	read -r s sl <<<"$(run_one "$SERF_PORT" bench-serf)"
	read -r g gl <<<"$(run_one "$GD_PORT" bench-gossipd)"
	s=${s:-0}; g=${g:-0}
	printf 'round %d: serf %8d acks/s (loss %s%%)   %s %8d acks/s (loss %s%%)\n' \
		"$r" "$s" "${sl:-?}" "$TARGET" "$g" "${gl:-?}"
	SERF_SUM=$((SERF_SUM + s))
	GD_SUM=$((GD_SUM + g))
done
SERF_MEAN=$((SERF_SUM / ROUNDS))
GD_MEAN=$((GD_SUM / ROUNDS))
RATIO=$(awk -v g="$GD_MEAN" -v s="$SERF_MEAN" 'BEGIN { if (s > 0) printf "%.1f", g / s; else print "inf" }')
echo "mean: serf $SERF_MEAN acks/s, $TARGET $GD_MEAN acks/s, ratio gossipd/serf = $RATIO"
