#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The README's DPDK example, run exactly as README.md writes it (the test
# reads the command out of README.md), on a veth "wire" between two
# network namespaces, against a real serf agent and a socket gossipd.
# There is no setup of the DPDK node's side beyond the veth itself:
# gossipd makes its exception interface (a tap holding 198.18.0.1 for
# the kernel's TCP), brings va up and keeps va's kernel quiet.
# Topology: dpdk_ns_lib.sh.
#
# Checks: the node and both peers see each other alive; the exception
# interface exists while it runs; SIGKILL -> serf shows 'failed'; a
# restart takes over the killed run's rules and is alive again; SIGINT
# -> 'left' (SIGTERM leaves only with --leave-on-terminate, as in serf;
# dpdk_exc.sh stops by SIGTERM), exit 0, and the tap and every rule it
# added are gone.
# Everything is removed by a trap, also on failure. Exit 77 = skipped.
# Usage: GOSSIPD=build/control/gossipd tests/integration/dpdk_netns.sh
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
README=${README:-$HERE/../../README.md}
. "$HERE/dpdk_ns_lib.sh"

command -v "$SERF" >/dev/null || skip "no serf agent"
[ -r "$README" ] || fail "no README.md at $README"

# The example: the indented line starting "gossipd --name dpdk-1" and its
# backslash continuations, as one shell line.
EXAMPLE=$(awk '
	/^    gossipd --name dpdk-1 / { on = 1 }
	on { line = $0; sub(/^ +/, "", line); more = sub(/\\$/, "", line);
	     printf "%s ", line; if (!more) exit }' "$README")
[ -n "$EXAMPLE" ] || fail "README.md has no 'gossipd --name dpdk-1' example"
eval "CMD=($EXAMPLE)"
[ "${CMD[0]}" = gossipd ] || fail "README example does not start with gossipd"
CMD[0]=$GOSSIPD
note "README example: ${EXAMPLE}"

ns_setup

start_dpdk() {	# $1: run number (log name)
	ip netns exec "$A" "${CMD[@]}" >"$LOG/gossipd-dpdk-$1.log" 2>&1 &
	DPDK_PID=$!
	PIDS+=("$DPDK_PID")
}

# serf_b, serf_status, wait_status, serf_join_dpdk, wait_dpdk_sees,
# dpdk_kill_restart_interrupt: dpdk_ns_lib.sh.

# --- peers ---
ip netns exec "$B" "$SERF" agent -node=serf-node -bind=198.18.0.3:7946 \
	-rpc-addr=127.0.0.1:7374 -log-level=debug >"$LOG/serf.log" 2>&1 &
PIDS+=($!)
ip netns exec "$B" "$GOSSIPD" --name sock-node --bind 198.18.0.2:7946 \
	--rpc-addr 127.0.0.1:7373 --retry-join 198.18.0.3:7946 \
	--retry-interval 1s >"$LOG/gossipd-sock.log" 2>&1 &
PIDS+=($!)
wait_status serf-node alive 10 || fail "serf agent did not start"

# --- 1. the example as written: all alive ---
start_dpdk 1
serf_join_dpdk || fail "serf cannot join the dpdk node"
wait_status dpdk-1 alive 20 || fail "dpdk node never alive in serf"
wait_status sock-node alive 20 || fail "socket node never alive in serf"
note "serf sees all three alive:"
serf_b members
wait_dpdk_sees 3
note "dpdk node sees 3 alive members"
ip -n "$A" -4 addr show dev gd0 | grep -q 'inet 198.18.0.1/32' ||
	fail "no exception interface gd0 with 198.18.0.1"
[ "$(gd_rules | wc -l)" = 3 ] || fail "expected 3 rules: $(gd_rules)"
sleep 2	# let probes run so the lcore acks some pings

# --- 2. SIGKILL: failed; 3. a restart over the killed run's rules, then
# SIGINT: left ---
dpdk_kill_restart_interrupt 2

# --- 4. nothing left behind ---
ip -n "$A" link show gd0 >/dev/null 2>&1 && fail "gd0 still exists"
[ -z "$(gd_rules)" ] || fail "rules left behind: $(gd_rules)"
note "gd0 and its rules are gone"

grep -h 'lcore 1:' "$LOG"/gossipd-dpdk-2.log | tail -n 2
grep -q 'made by gossipd' "$LOG/gossipd-dpdk-2.log" ||
	fail "the exception interface was not gossipd's own"
grep -q 'exc_to_kernel=' "$LOG/gossipd-dpdk-2.log" ||
	fail "no frame went through the exception path"
echo "PASS: dpdk_netns"
