#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# gossipd without DPDK (issue 12, Packaging), on a machine that has DPDK:
# configure a build dir of its own with -Ddpdk_dataplane=disabled, build
# only gossipd and gossipctl, and check
#   - no object of theirs included a DPDK header (ninja's dependency log),
#     no compile command names a DPDK include dir, nothing links librte_*;
#   - `gossipd --dataplane dpdk` exits 2 saying it was built without DPDK;
#   - two such gossipd on 127.0.0.1 (ports below 32768) join and each lists
#     the other alive through gossipctl.
# Every process is killed by PID by a trap, also on failure.
# Usage: tests/integration/nodpdk.sh SOURCE_ROOT BUILD_DIR
set -u

SRC=${1:?usage: nodpdk.sh SOURCE_ROOT BUILD_DIR}
BDIR=${2:?usage: nodpdk.sh SOURCE_ROOT BUILD_DIR}
LOG=$(mktemp -d /tmp/gd-nodpdk.XXXXXX)
PIDS=()
FAILED=0

note() { echo "[$(date +%T)] $*"; }
die() { note "FAIL: $*"; FAILED=1; exit 1; }

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	if [ "$FAILED" = 0 ]; then
		rm -rf "$LOG"
	else
		echo "logs kept in $LOG"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

check() {
	if eval "$2"; then
		note "ok: $1"
	else
		note "FAIL: $1"
		FAILED=1
	fi
}

# --- build -----------------------------------------------------------------
if [ ! -f "$BDIR/build.ninja" ]; then
	# no tests: the variant's own suite is not what this test runs
	meson setup "$BDIR" "$SRC" -Ddpdk_dataplane=disabled -Dtests=false \
		>"$LOG/setup.log" 2>&1 || { cat "$LOG/setup.log"; die "meson setup"; }
fi
grep -q "dpdk_dataplane.*disabled" "$BDIR/meson-info/intro-buildoptions.json" ||
	meson configure "$BDIR" -Ddpdk_dataplane=disabled >"$LOG/conf.log" 2>&1 ||
	die "meson configure"
note "building gossipd and gossipctl in $BDIR"
# -j2: the machine has 2 cores
ninja -C "$BDIR" -j2 control/gossipd control/gossipctl >"$LOG/build.log" 2>&1 ||
	{ tail -30 "$LOG/build.log"; die "ninja gossipd gossipctl"; }
GOSSIPD=$BDIR/control/gossipd
GOSSIPCTL=$BDIR/control/gossipctl

# ninja -t deps: every header each object included, as the compiler saw it
ninja -C "$BDIR" -t deps >"$LOG/deps.txt" 2>&1 || die "ninja -t deps"
check "the objects' header lists were recorded" \
	'grep -q "dp_ring.c.o" "$LOG/deps.txt" && grep -q "dp_spsc.h" "$LOG/deps.txt"'
check "no object included a DPDK header (rte_*.h)" \
	'! grep -E "/rte_[A-Za-z0-9_]*\.h|/dpdk/" "$LOG/deps.txt"'
check "no compile command names a DPDK include dir or RTE flag" \
	'! grep -E "include/dpdk|-DRTE_|GOSSIPD_HAVE_DPDK|DP_HAVE_DPDK_BACKEND" "$BDIR/compile_commands.json"'
check "gossipd links no DPDK library" '! ldd "$GOSSIPD" | grep -q librte_'

# --- --dataplane dpdk --------------------------------------------------------
"$GOSSIPD" --name x --bind 127.0.0.1:1 --rpc-addr 127.0.0.1:1 \
	--dataplane dpdk >"$LOG/dpdk.out" 2>&1 </dev/null
RC=$?
check "--dataplane dpdk exits 2 (got $RC)" '[ "$RC" = 2 ]'
check "  ... saying it was built without DPDK" \
	'grep -q "built without DPDK" "$LOG/dpdk.out"'

# --- two gossipd on loopback -------------------------------------------------
# A port below 32768 (out of the usual ephemeral range) free for TCP and
# UDP on 127.0.0.1, not one handed out before.
TAKEN=" "
free_port() {
	local p
	p=$(python3 - "$TAKEN" <<'EOF'
import random, socket, sys
taken = set(sys.argv[1].split())
for _ in range(500):
    p = random.randint(20000, 32767)
    if str(p) in taken:
        continue
    try:
        t = socket.socket(); t.bind(("127.0.0.1", p))
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", p))
    except OSError:
        continue
    t.close(); u.close(); print(p); break
EOF
	)
	echo "$p"
}
P_A=$(free_port); TAKEN="$TAKEN $P_A"
R_A=$(free_port); TAKEN="$TAKEN $R_A"
P_B=$(free_port); TAKEN="$TAKEN $P_B"
R_B=$(free_port); TAKEN="$TAKEN $R_B"
[ -n "$P_A" ] && [ -n "$R_A" ] && [ -n "$P_B" ] && [ -n "$R_B" ] ||
	die "no four free ports below 32768"

# Status of node $2 as the gossipd at RPC port $1 lists it ("" if absent).
status_of() {
	timeout 5 "$GOSSIPCTL" --rpc-addr "127.0.0.1:$1" members 2>/dev/null |
		awk -v n="$2" '$1 == n { print $3 }'
}

wait_status() {
	local end=$((SECONDS + $4))

	while [ $SECONDS -lt "$end" ]; do
		[ "$(status_of "$1" "$2")" = "$3" ] && return 0
		sleep 0.2
	done
	return 1
}

note "gossipd a :$P_A (rpc $R_A), b :$P_B (rpc $R_B)"
"$GOSSIPD" --name a --bind "127.0.0.1:$P_A" --rpc-addr "127.0.0.1:$R_A" \
	>"$LOG/a.log" 2>&1 </dev/null &
PIDS+=($!)
check "a is up and lists itself alive" 'wait_status $R_A a alive 15'
"$GOSSIPD" --name b --bind "127.0.0.1:$P_B" --rpc-addr "127.0.0.1:$R_B" \
	--join "127.0.0.1:$P_A" >"$LOG/b.log" 2>&1 </dev/null &
PIDS+=($!)
check "b joins a: b lists a alive" 'wait_status $R_B a alive 15'
check "a lists b alive" 'wait_status $R_A b alive 15'
check "a runs the socket dataplane" 'grep -q "dataplane socket" "$LOG/a.log"'
# several probe rounds (1 s each) over the dp_spsc rings
sleep 3
check "after 3 s of probes a still lists b alive" \
	'[ "$(status_of $R_A b)" = alive ]'
check "after 3 s of probes b still lists a alive" \
	'[ "$(status_of $R_B a)" = alive ]'

[ "$FAILED" = 0 ] || exit 1
note "all checks passed"
exit 0
