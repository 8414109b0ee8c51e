#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The DPDK dataplane's start-up errors and its queue pairs, on the veth
# wire of dpdk_ns_lib.sh (no serf needed):
#   - without CAP_NET_ADMIN: exit 2, one line saying it is needed, and
#     nothing made (EAL is not even started);
#   - --port that does not exist: exit 2, the ports EAL has are listed;
#   - 2 dataplane lcores on an af_packet port with one queue pair: exit 2,
#     naming qpairs=N; the tap made before the check is gone again;
#   - no --bind (0.0.0.0): exit 2, a unicast address is needed;
#   - 2 dataplane lcores with qpairs=2: 32 UDP flows from the peer land on
#     both queues (per-queue and per-lcore counters in the exit log), and
#     SIGTERM removes the tap and the rules.
# Exit 77 = skipped. Usage: GOSSIPD=build/control/gossipd tests/integration/dpdk_exc.sh
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/dpdk_ns_lib.sh"

command -v python3 >/dev/null || skip "no python3"
ns_setup

Q="--no-pci --no-huge -m 256 --no-shconf --no-telemetry"
Q="$Q --log-level=lib.eal:warning --log-level=pmd.net.tap:emerg"
WIRE="--vdev=net_af_packet0,iface=va"
# Three lcores on two CPUs: control on 0, two dataplane lcores on 1.
L3="--lcores 0@0,1@1,2@1"

# Nothing of ours left in A: no gd<N>, no rules.
assert_clean() {	# $1: after what
	ip -n "$A" -o link show | grep -q ': gd[0-9]' &&
		fail "$1: a gd<N> interface is left"
	[ -z "$(gd_rules)" ] || fail "$1: rules left: $(gd_rules)"
}

# Run gossipd in A, expecting exit 2 and $2 in its output.
expect_usage() {	# $1: name, $2: text, $3...: command
	local name=$1 want=$2 rc
	shift 2
	ip netns exec "$A" timeout 30 "$@" >"$LOG/$name.log" 2>&1
	rc=$?
	[ "$rc" = 2 ] || fail "$name: exit $rc, not 2"
	grep -qF -- "$want" "$LOG/$name.log" ||
		fail "$name: no '$want' in its output"
	note "$name: exit 2, $(grep -F -- "$want" "$LOG/$name.log" | head -n 1)"
	assert_clean "$name"
}

GD=("$GOSSIPD" --name dpdk-1 --rpc-addr 127.0.0.1:7373 --dataplane dpdk)

# --- 1. no CAP_NET_ADMIN ---
if command -v setpriv >/dev/null; then
	expect_usage nocap "needs CAP_NET_ADMIN" \
		setpriv --bounding-set=-net_admin --inh-caps=-net_admin \
		"${GD[@]}" --bind 198.18.0.1:7946 --eal "-l 0-1 $Q $WIRE"
	grep -q 'EAL:' "$LOG/nocap.log" && fail "nocap: EAL was started"
else
	note "no setpriv: capability check not run"
fi

# --- 2. a port that does not exist ---
expect_usage badport "--port 3 does not exist: EAL has 1 ports: 0 net_af_packet0" \
	"${GD[@]}" --bind 198.18.0.1:7946 --port 3 --eal "-l 0-1 $Q $WIRE"

# --- 3. more lcores than the port has queue pairs ---
expect_usage queues "has 1 rx / 1 tx queues; 2 dataplane lcores need one pair each" \
	"${GD[@]}" --bind 198.18.0.1:7946 --eal "$L3 $Q $WIRE"
grep -qF 'qpairs=N' "$LOG/queues.log" || fail "queues: no qpairs hint"

# --- 4. no unicast address ---
expect_usage nobind "needs a unicast bind address" \
	"${GD[@]}" --eal "-l 0-1 $Q $WIRE"

# --- 5. two queue pairs, flows on both ---
ip netns exec "$A" "${GD[@]}" --bind 198.18.0.1:7946 \
	--eal "$L3 $Q $WIRE,qpairs=2" >"$LOG/rss.log" 2>&1 &
PID=$!
PIDS+=("$PID")
for ((i = 0; i < 100; i++)); do
	grep -q 'agent running' "$LOG/rss.log" && break
	kill -0 "$PID" 2>/dev/null || fail "rss: gossipd exited"
	sleep 0.1
done
grep -q '2 lcores, exception path tap (made by gossipd)' "$LOG/rss.log" ||
	fail "rss: not 2 lcores with its own tap"
# 32 flows (source ports) x 4 datagrams; not memberlist: counted, dropped.
# One datagram first, then a pause: B's kernel holds only 3 datagrams while
# it resolves 198.18.0.1's MAC, and would drop the rest of a burst.
ip netns exec "$B" python3 -c '
import socket, time
warm = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
warm.sendto(b"\xff not memberlist", ("198.18.0.1", 7946))
time.sleep(0.5)
socks = []
for i in range(32):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("198.18.0.2", 0))
    socks.append(s)
for r in range(4):
    for s in socks:
        s.sendto(b"\xff not memberlist", ("198.18.0.1", 7946))
' || fail "rss: cannot send from B"
sleep 1
kill -TERM "$PID"	# SIGTERM: stops without a leave, cleans up all
wait_exit "$PID" 15 || fail "rss: gossipd ignores SIGTERM"
[ "$RC" = 0 ] || fail "rss: exit $RC after SIGTERM"
grep -E 'port 0 queue [01]:|lcore [12]: rx=|queue pairs' "$LOG/rss.log"
for q in 0 1; do
	n=$(sed -n "s/.*port 0 queue $q: rx \([0-9]*\).*/\1/p" "$LOG/rss.log")
	[ "${n:-0}" -gt 0 ] || fail "rss: queue $q received nothing"
done
[ "$(grep -cE 'lcore [12]: rx=' "$LOG/rss.log")" = 2 ] ||
	fail "rss: not both lcores received"
assert_clean "rss"
note "both queues and both lcores got flows; gd0 and the rules are gone"
echo "PASS: dpdk_exc"
