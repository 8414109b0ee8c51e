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
. "$(dirname "$0")/it_lib.sh"
it_init gd-nodpdk

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
read -r P_A R_A P_B R_B <<<"$(free_ports 4)"
[ -n "$R_B" ] || die "no four free ports below 32768"

# Status of node $2 as the gossipd at RPC port $1 lists it ("" if absent);
# it_lib.sh's wait_status polls it.
status_of() {
	timeout 5 "$GOSSIPCTL" --rpc-addr "127.0.0.1:$1" members 2>/dev/null |
		awk -v n="$2" '$1 == n { print $3 }'
}

note "gossipd a :$P_A (rpc $R_A), b :$P_B (rpc $R_B)"
gossipd_start a "$P_A" "$R_A"
check "a is up and lists itself alive" 'wait_status $R_A a alive 15'
gossipd_start b "$P_B" "$R_B" --join "127.0.0.1:$P_A"
check "b joins a: b lists a alive" 'wait_status $R_B a alive 15'
check "a lists b alive" 'wait_status $R_A b alive 15'
check "a runs the socket dataplane" 'grep -q "dataplane socket" "$LOG/a.log"'
# several probe rounds (1 s each) over the dp_spsc rings
sleep 3
check "after 3 s of probes a still lists b alive" \
	'[ "$(status_of $R_A b)" = alive ]'
check "after 3 s of probes b still lists a alive" \
	'[ "$(status_of $R_B a)" = alive ]'

it_finish
