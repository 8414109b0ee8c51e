#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The DPDK dataplane's counters through DPDK's telemetry socket and
# /metrics, on the namespace wire of dpdk_ns_lib.sh (198.18.0.0/15 only):
#
#   netns A: gossipd --dataplane dpdk (net_af_packet0 on va),
#            --metrics-addr 127.0.0.1:P (A's own loopback)
#   netns B: gossipd (socket dataplane) 198.18.0.2 joins it
#
# Checks: "/gossipd/stats" on A's telemetry socket answers a dict with
# rx_pkts > 0 and an "lcore0" dict; /metrics in A shows lcore 0's packets
# and passes promtool (when installed). Every EAL gets --no-pci; the
# namespaces and processes go in the trap. Exit 77 = skipped. About 15 s.
# Usage: GOSSIPD=build/control/gossipd tests/integration/it_metrics_tel.sh
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/dpdk_ns_lib.sh"

command -v python3 >/dev/null || skip "no python3 (telemetry client)"
command -v curl >/dev/null || skip "no curl"
ns_setup

PREFIX=gdmet$ID
SOCK=/var/run/dpdk/$PREFIX/dpdk_telemetry.v2
# EAL leaves its runtime directory (the telemetry socket) behind
trap 'ns_cleanup; rm -rf "/var/run/dpdk/$PREFIX"' EXIT
EAL="-l 0-1 --no-pci --no-huge -m 256 --no-shconf --file-prefix=$PREFIX"
EAL="$EAL --log-level=lib.eal:warning --log-level=lib.telemetry:error"
EAL="$EAL --vdev=net_af_packet0,iface=va"

ip netns exec "$A" "$GOSSIPD" --name dpdk-m --bind 198.18.0.1:7946 \
	--dataplane dpdk --metrics-addr 127.0.0.1:9101 --eal "$EAL" \
	>"$LOG/dpdk.log" 2>&1 &
PIDS+=($!)
ip netns exec "$B" "$GOSSIPD" --name sock-m --bind 198.18.0.2:7946 \
	--rpc-addr 127.0.0.1:7373 --retry-join 198.18.0.1:7946 \
	--retry-interval 1s >"$LOG/sock.log" 2>&1 &
PIDS+=($!)

for ((i = 0; i < 100; i++)); do
	[ -S "$SOCK" ] && break
	sleep 0.2
done
[ -S "$SOCK" ] || fail "no telemetry socket $SOCK"

# One command on the telemetry socket (SOCK_SEQPACKET, JSON).
tel() {
	python3 - "$SOCK" "$1" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect(sys.argv[1])
s.recv(16384)				# the greeting
s.send(sys.argv[2].encode())
print(json.dumps(json.loads(s.recv(1 << 16).decode())))
EOF
}

# Wait until the dpdk node has received some packets from B.
rx=0
for ((i = 0; i < 30; i++)); do
	out=$(tel /gossipd/stats 2>"$LOG/tel.err")
	rx=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1])["/gossipd/stats"]; print(d.get("rx_pkts", 0) if "lcore0" in d else 0)' "$out" 2>/dev/null)
	[ "${rx:-0}" -gt 0 ] 2>/dev/null && break
	sleep 0.5
done
note "telemetry: $out"
[ "${rx:-0}" -gt 0 ] 2>/dev/null ||
	fail "/gossipd/stats never showed rx_pkts > 0 with lcore0"
note "ok: /gossipd/stats rx_pkts=$rx with an lcore0 dict"

ip netns exec "$A" curl -s -m 3 http://127.0.0.1:9101/metrics >"$LOG/scrape.txt"
v=$(awk '$1 == "gossipd_dp_packets_total{lcore=\"0\",kind=\"rx\"}" { print $2 }' "$LOG/scrape.txt")
[ "${v:-0}" -gt 0 ] 2>/dev/null || fail "/metrics: lcore 0 rx is '${v:-}'"
note "ok: /metrics lcore 0 rx = $v"
if command -v promtool >/dev/null; then
	promtool check metrics <"$LOG/scrape.txt" >"$LOG/promtool.log" 2>&1 ||
		fail "promtool check metrics"
	note "ok: promtool check metrics"
else
	note "SKIP promtool check: promtool not installed (Debian package prometheus)"
fi
note "PASS"
exit 0
