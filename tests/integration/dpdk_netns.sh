#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# gossipd --dataplane dpdk on a veth "wire" between two network
# namespaces, against a socket-backend gossipd and a real serf agent.
#
#   netns A (DPDK node)                       netns B (peers)
#   gossipd dpdk 198.18.0.1:7946              gossipd socket 198.18.0.2:7946
#     net_af_packet0 on va (no IP) ---veth--- vb 198.18.0.2 + 198.18.0.3
#     net_tap0 = gdtap0 198.18.0.1/24         serf agent     198.18.0.3:7946
#       (exception path: the kernel's TCP sync, ARP, ICMP)
#
# The kernel of A must not answer for 198.18.0.1 on va itself (af_packet
# copies frames, it does not steal them): no IP on va, arp_ignore=8, IPv6
# off, and a policy rule that blackholes IPv4 arriving on va. The tap is
# created persistent beforehand so the address exists when gossipd binds
# its TCP listener; the tap PMD attaches to it.
#
# Checks: all three join and see each other alive; SIGKILL of the DPDK
# node shows 'failed' in serf; a restarted DPDK node is alive again;
# SIGTERM shows 'left'. Everything (processes by PID, namespaces, EAL
# files) is removed by a trap, also on failure. Exit 77 = skipped.
# Usage: GOSSIPD=build/control/gossipd tests/integration/dpdk_netns.sh
set -u

GOSSIPD=${GOSSIPD:-build/control/gossipd}
SERF=${SERF:-serf}
ID=$$
A=gd-dpdk-$ID
B=gd-peer-$ID
LOG=${LOGDIR:-$(mktemp -d /tmp/gd-dpdk-netns.XXXXXX)}
mkdir -p "$LOG"
PIDS=()
FAILED=0

skip() { echo "SKIP: $*"; exit 77; }
note() { echo "[$(date +%T)] $*"; }

[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
command -v ip >/dev/null || skip "no iproute2"
command -v "$SERF" >/dev/null || skip "no serf agent"
[ -x "$GOSSIPD" ] || skip "no gossipd at $GOSSIPD"
[ -e /dev/net/tun ] || skip "no /dev/net/tun"

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	rm -rf "/var/run/dpdk/gdnetns$ID"*
	if [ "$FAILED" = 0 ] && [ -z "${LOGDIR:-}" ]; then
		rm -rf "$LOG"
	else
		echo "logs kept in $LOG"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	FAILED=1
	echo "FAIL: $*"
	for f in "$LOG"/*.log; do
		echo "---- $f (tail)"
		tail -n 25 "$f"
	done
	exit 1
}

# --- topology ---
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
ip netns exec "$A" sysctl -qw net.ipv6.conf.va.disable_ipv6=1 \
	net.ipv4.conf.va.arp_ignore=8 net.ipv4.conf.all.arp_ignore=0
ip -n "$A" link set va up
MAC=$(ip netns exec "$A" cat /sys/class/net/va/address)
ip -n "$A" tuntap add dev gdtap0 mode tap multi_queue
ip -n "$A" link set gdtap0 address "$MAC"
ip -n "$A" addr add 198.18.0.1/24 dev gdtap0
ip -n "$A" link set gdtap0 up
ip -n "$A" rule add pref 10 iif va blackhole

EAL="-l 0-1 --no-pci --no-huge -m 256 --no-shconf --no-telemetry"
EAL="$EAL --vdev=net_af_packet0,iface=va --vdev=net_tap0,iface=gdtap0"
EAL="$EAL --log-level=lib.eal:warning --log-level=pmd.net.tap:emerg"

start_dpdk() {	# $1: run number (log and prefix)
	ip netns exec "$A" "$GOSSIPD" --name dpdk-node \
		--bind 198.18.0.1:7946 --rpc-addr 127.0.0.1:7373 \
		--dataplane dpdk --join 198.18.0.3:7946 \
		--eal "$EAL --file-prefix=gdnetns$ID-$1" \
		>"$LOG/gossipd-dpdk-$1.log" 2>&1 &
	DPDK_PID=$!
	PIDS+=("$DPDK_PID")
}

# serf's view: "name addr status" for one member, or empty.
serf_status() {
	ip netns exec "$B" "$SERF" members -rpc-addr=127.0.0.1:7374 \
		2>/dev/null | awk -v n="$1" '$1 == n { print $3 }'
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

# --- peers ---
ip netns exec "$B" "$SERF" agent -node=serf-node -bind=198.18.0.3:7946 \
	-rpc-addr=127.0.0.1:7374 -log-level=debug >"$LOG/serf.log" 2>&1 &
PIDS+=($!)
ip netns exec "$B" "$GOSSIPD" --name sock-node --bind 198.18.0.2:7946 \
	--rpc-addr 127.0.0.1:7373 --retry-join 198.18.0.3:7946 \
	--retry-interval 1s >"$LOG/gossipd-sock.log" 2>&1 &
PIDS+=($!)
wait_status serf-node alive 10 || fail "serf agent did not start"

# --- 1. all join ---
start_dpdk 1
wait_status dpdk-node alive 20 || fail "dpdk node never alive in serf"
wait_status sock-node alive 20 || fail "socket node never alive in serf"
note "serf sees all three alive:"
ip netns exec "$B" "$SERF" members -rpc-addr=127.0.0.1:7374
# The DPDK node must see both peers too (its own RPC, in netns A).
for ((i = 0; i < 50; i++)); do
	n=$(ip netns exec "$A" "$SERF" members -rpc-addr=127.0.0.1:7373 \
		-status=alive 2>/dev/null | wc -l)
	[ "$n" = 3 ] && break
	sleep 0.2
done
[ "$n" = 3 ] || fail "dpdk node sees $n alive members, not 3"
note "dpdk node sees 3 alive members"
# Let probes run so the fast path answers some pings.
sleep 3

# --- 2. SIGKILL: failed ---
kill -KILL "$DPDK_PID"
wait "$DPDK_PID" 2>/dev/null
wait_status dpdk-node failed 30 || fail "killed dpdk node not failed"
note "after SIGKILL serf shows dpdk-node failed"

# --- 3. restart (a new EAL in a new process), then SIGTERM: left ---
start_dpdk 2
wait_status dpdk-node alive 30 || fail "restarted dpdk node not alive"
note "restarted dpdk node is alive again"
sleep 2
kill -TERM "$DPDK_PID"
for ((i = 0; i < 100; i++)); do
	kill -0 "$DPDK_PID" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$DPDK_PID" 2>/dev/null && fail "dpdk node ignores SIGTERM"
wait "$DPDK_PID"
rc=$?
[ "$rc" = 0 ] || fail "dpdk node exited $rc after SIGTERM"
wait_status dpdk-node left 20 || fail "terminated dpdk node not left"
note "after SIGTERM serf shows dpdk-node left"

# The lcore's own report: pings acked on the lcore, TCP via the tap.
grep -h 'lcore 1:' "$LOG"/gossipd-dpdk-2.log | tail -n 2
grep -q 'exc_to_kernel=' "$LOG/gossipd-dpdk-2.log" ||
	fail "no frame went through the exception path"
echo "PASS: dpdk_netns"
