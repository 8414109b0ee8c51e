# SPDX-License-Identifier: MIT
# Sourced by the DPDK namespace tests (dpdk_netns.sh, dpdk_exc.sh): the
# "wire" they share, a trap that removes everything, and small helpers.
#
#   netns $A (DPDK node)                 netns $B (peers)
#   gossipd --dataplane dpdk             vb 198.18.0.2/24 + 198.18.0.3/24
#     net_af_packet0 on va ---veth------ (ethtool tx off: full checksums)
#     gd<N>: made by gossipd itself
#
# va is left DOWN with no address: bringing it up and keeping its kernel
# quiet is gossipd's job now, as it would be on a real host.
# Callers set GOSSIPD, then call ns_setup; exit 77 = skipped.

GOSSIPD=${GOSSIPD:-build/control/gossipd}
SERF=${SERF:-serf}
ID=$$
A=gd-dpdk-$ID
B=gd-peer-$ID
LOG=${LOGDIR:-$(mktemp -d /tmp/gd-dpdk-ns.XXXXXX)}
mkdir -p "$LOG"
PIDS=()
FAILED=0

skip() { echo "SKIP: $*"; exit 77; }
note() { echo "[$(date +%T)] $*"; }

ns_cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	if [ "$FAILED" = 0 ] && [ -z "${LOGDIR:-}" ]; then
		rm -rf "$LOG"
	else
		echo "logs kept in $LOG"
	fi
}

fail() {
	FAILED=1
	echo "FAIL: $*"
	for f in "$LOG"/*.log; do
		[ -e "$f" ] || continue
		echo "---- $f (tail)"
		tail -n 25 "$f"
	done
	exit 1
}

ns_setup() {
	[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
	command -v ip >/dev/null || skip "no iproute2"
	[ -x "$GOSSIPD" ] || skip "no gossipd at $GOSSIPD"
	[ -e /dev/net/tun ] || skip "no /dev/net/tun"
	trap ns_cleanup EXIT
	trap 'exit 1' INT TERM
	ip netns add "$A" || skip "cannot create network namespaces"
	ip netns add "$B"
	ip link add va netns "$A" type veth peer name vb netns "$B" ||
		skip "no veth"
	ip -n "$A" link set lo up
	ip -n "$B" link set lo up
	ip -n "$B" addr add 198.18.0.2/24 dev vb
	ip -n "$B" addr add 198.18.0.3/24 dev vb
	ip -n "$B" link set vb up
	# Full checksums on the wire, no TSO super-frames (dpdk-here.md 3.2).
	ip netns exec "$B" ethtool -K vb tx off >/dev/null 2>&1 ||
		note "ethtool tx off failed: UDP checksums may be partial"
}

# Wait until process $1 exits (at most $2 s); its status in $RC.
wait_exit() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$1" 2>/dev/null && return 1
	wait "$1"
	RC=$?
	return 0
}

# Our rules in netns A (the priorities dp_exc.h uses), one per line.
gd_rules() {
	ip -n "$A" rule show | grep -E '^(7940|7941|32800):'
}

# --- the serf agent in namespace B (RPC 127.0.0.1:7374 there) ---

# serf CLI against the agent in B: $1 the command, flags before the rest
serf_b() {
	local c=$1
	shift
	ip netns exec "$B" "$SERF" "$c" -rpc-addr=127.0.0.1:7374 "$@"
}

# serf's view of member $1: its status, or empty.
serf_status() {
	serf_b members 2>/dev/null | awk -v n="$1" '$1 == n { print $3 }'
}

# Wait up to $3 seconds for member $1 to show status $2 in serf.
wait_status() {
	local i
	for ((i = 0; i < $3 * 5; i++)); do
		[ "$(serf_status "$1")" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}

# serf joins the DPDK node (its TCP push/pull ends in A's kernel).
serf_join_dpdk() {
	local i
	for ((i = 0; i < 50; i++)); do
		serf_b join 198.18.0.1:7946 >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}
