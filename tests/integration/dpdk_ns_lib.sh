# SPDX-License-Identifier: MIT
# Sourced by the DPDK namespace tests (dpdk_netns.sh, dpdk_netns_enc.sh,
# dpdk_exc.sh, it_metrics_tel.sh): the
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

# --- the DPDK node's life, as dpdk_netns.sh and dpdk_netns_enc.sh check
# it (callers define start_dpdk RUN, which sets DPDK_PID) ---

# Wait up to 10 s until the DPDK node's own RPC (127.0.0.1:7373 in A)
# lists $1 alive members; fail otherwise.
wait_dpdk_sees() {
	local i n
	for ((i = 0; i < 50; i++)); do
		n=$(ip netns exec "$A" "$SERF" members -rpc-addr=127.0.0.1:7373 \
			-status=alive 2>/dev/null | wc -l)
		[ "$n" = "$1" ] && return 0
		sleep 0.2
	done
	fail "dpdk node sees $n alive members, not $1"
}

# SIGKILL -> serf shows it failed; a restart (run 2) -> alive again, $1
# seconds of probes, then SIGINT -> exit 0 and serf shows it left.
dpdk_kill_restart_interrupt() {
	kill -KILL "$DPDK_PID"
	wait "$DPDK_PID" 2>/dev/null
	wait_status dpdk-1 failed 30 || fail "killed dpdk node not failed"
	note "after SIGKILL serf shows dpdk-1 failed"
	start_dpdk 2
	serf_join_dpdk || fail "serf cannot join the restarted dpdk node"
	wait_status dpdk-1 alive 30 || fail "restarted dpdk node not alive"
	note "restarted dpdk node is alive again"
	sleep "$1"
	kill -INT "$DPDK_PID"
	wait_exit "$DPDK_PID" 10 || fail "dpdk node ignores SIGINT"
	[ "$RC" = 0 ] || fail "dpdk node exited $RC after SIGINT"
	wait_status dpdk-1 left 20 || fail "interrupted dpdk node not left"
	note "after SIGINT serf shows dpdk-1 left"
}
