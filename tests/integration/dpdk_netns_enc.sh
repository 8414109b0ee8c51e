#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The encrypted variant of dpdk_netns.sh: a DPDK gossipd and a real serf
# agent, both with -encrypt (an AES-128 key, as older Serf/Consul pools
# use: the lcore's cipher contexts come from libcrypto for every size),
# on the veth "wire" of dpdk_ns_lib.sh. The DPDK node's lcore opens the
# sealed pings and answers them with sealed acks; its control thread
# seals push/pull over the kernel's TCP (the exception interface).
#
# Checks: serf joins the DPDK node and both see each other alive; the
# DPDK node's lcore acked sealed pings itself (acks_fast > 0 in its stop
# log) and dropped nothing as undecryptable from serf; a plaintext serf
# cannot join; SIGKILL -> serf shows 'failed'; a restart is alive again;
# SIGINT -> 'left', exit 0.
# Everything is removed by a trap, also on failure. Exit 77 = skipped.
# Usage: GOSSIPD=build/control/gossipd tests/integration/dpdk_netns_enc.sh
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/dpdk_ns_lib.sh"

command -v "$SERF" >/dev/null || skip "no serf agent"
KEY=$(head -c 16 /dev/urandom | base64)	# AES-128
EAL="-l 0-1 --no-pci --no-huge -m 256 --no-shconf --vdev=net_af_packet0,iface=va"

ns_setup

start_dpdk() {	# $1: run number (log name)
	ip netns exec "$A" "$GOSSIPD" --name dpdk-1 --bind 198.18.0.1:7946 \
		--dataplane dpdk --eal "$EAL" --encrypt "$KEY" \
		>"$LOG/gossipd-dpdk-$1.log" 2>&1 &	# --no-pci in $EAL
	DPDK_PID=$!
	PIDS+=("$DPDK_PID")
}

# serf_b, serf_status, wait_status, serf_join_dpdk, wait_dpdk_sees,
# dpdk_kill_restart_interrupt: dpdk_ns_lib.sh.

# --- the encrypted serf agent, and a plaintext one that must not get in ---
ip netns exec "$B" "$SERF" agent -node=serf-node -bind=198.18.0.3:7946 \
	-rpc-addr=127.0.0.1:7374 -encrypt="$KEY" -log-level=debug \
	>"$LOG/serf.log" 2>&1 &
PIDS+=($!)
ip netns exec "$B" "$SERF" agent -node=plain-node -bind=198.18.0.2:7946 \
	-rpc-addr=127.0.0.1:7375 -log-level=debug >"$LOG/serf-plain.log" 2>&1 &
PIDS+=($!)
wait_status serf-node alive 10 || fail "serf agent did not start"

# --- 1. join: both alive on both sides ---
start_dpdk 1
serf_join_dpdk || fail "encrypted serf cannot join the encrypted dpdk node"
wait_status dpdk-1 alive 20 || fail "dpdk node never alive in serf"
wait_dpdk_sees 2
note "serf and the dpdk node see each other alive (AES-128)"
ip netns exec "$B" "$SERF" join -rpc-addr=127.0.0.1:7375 198.18.0.1:7946 \
	>/dev/null 2>&1 && fail "a plaintext serf joined the encrypted node"
note "a plaintext serf cannot join"
sleep 3	# serf probes the dpdk node: the lcore answers sealed pings

# --- 2. SIGKILL: failed; 3. restart, then SIGINT: left ---
dpdk_kill_restart_interrupt 3

# --- 4. the lcore did the sealed acks ---
stats=$(grep -h 'lcore 1: rx=' "$LOG/gossipd-dpdk-2.log" | tail -n 1)
note "lcore: $stats"
acks=$(sed -n 's/.* acks_fast=\([0-9]*\).*/\1/p' <<<"$stats")
[ "${acks:-0}" -gt 0 ] || fail "the lcore acked no sealed ping"
grep -qiE 'decrypt packet failed|failed to decrypt' "$LOG/serf.log" &&
	fail "serf could not decrypt what the dpdk node sent"
echo "PASS: dpdk_netns_enc"
