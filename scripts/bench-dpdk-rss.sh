#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The DPDK dataplane with 1 and with 2 dataplane lcores (queue pairs) on
# the veth wire of tests/integration/dpdk_ns_lib.sh: memberlist pings
# from FLOWS UDP sockets in the peer namespace (closed loop, WINDOW in
# flight per socket, a Python generator), for DURATION s per run. Prints
# per run: acks/s seen by the generator, acks answered on each lcore,
# frames per queue, and CPU seconds of gossipd and the generator (from
# /proc, utime+stime).
#
# On a 2-vCPU machine two lcores share a CPU (with each other, or one of
# them with control) and the kernel's veth and the generator need CPU
# too, so acks/s does not show RSS scaling here; what it shows is that the flows spread
# over both queues and both lcores answer. Every EAL invocation passes
# --no-pci; traffic stays in the namespaces; everything is removed on exit.
# Usage: BUILD=build scripts/bench-dpdk-rss.sh   (root)
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
GOSSIPD=$BUILD/control/gossipd
FLOWS=${FLOWS:-16}
WINDOW=${WINDOW:-8}
DURATION=${DURATION:-4}
. tests/integration/dpdk_ns_lib.sh
ns_setup

Q="--no-pci --no-huge -m 256 --no-shconf --no-telemetry"
Q="$Q --log-level=lib.eal:warning --log-level=pmd.net.tap:emerg"

cpu_s() {	# utime+stime of pid $1 in seconds
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' \
		"/proc/$1/stat" 2>/dev/null || echo 0
}

PINGER='
import socket, struct, sys, time, select
flows, window, dur = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
dst = ("198.18.0.1", 7946)
def ping(seq, port):
    return (b"\x00\x85\xa4Node\xa6dpdk-1\xa5SeqNo\xce" + struct.pack(">I", seq)
            + b"\xaaSourceAddr\xa4" + socket.inet_aton("198.18.0.2")
            + b"\xaaSourceNode\xa1p\xaaSourcePort\xcd" + struct.pack(">H", port))
socks, port = [], {}
for i in range(flows):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("198.18.0.2", 0)); s.setblocking(False)
    socks.append(s); port[s] = s.getsockname()[1]
seq, acks = 1, 0
for s in socks:
    for w in range(window):
        s.sendto(ping(seq, port[s]), dst); seq += 1
t0 = time.time(); end = t0 + dur
while time.time() < end:
    r, _, _ = select.select(socks, [], [], 0.2)
    if not r:   # lost ones: refill every window
        for s in socks:
            for w in range(window):
                s.sendto(ping(seq, port[s]), dst); seq += 1
    for s in r:
        while True:
            try: s.recv(2048)
            except BlockingIOError: break
            acks += 1
            s.sendto(ping(seq, port[s]), dst); seq += 1
print("acks_per_s %.0f" % (acks / (time.time() - t0)))
'

run() {	# $1: label, $2: lcores option, $3: devargs suffix
	local log=$LOG/gd-$1.log pid ppid out g0 g1
	ip netns exec "$A" "$GOSSIPD" --name dpdk-1 --bind 198.18.0.1:7946 \
		--rpc-addr 127.0.0.1:7373 --dataplane dpdk \
		--eal "$2 $Q --vdev=net_af_packet0,iface=va$3" >"$log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	for ((i = 0; i < 100; i++)); do
		grep -q 'agent running' "$log" && break
		sleep 0.1
	done
	g0=$(cpu_s "$pid")
	ip netns exec "$B" python3 -c "$PINGER" "$FLOWS" "$WINDOW" "$DURATION" \
		>"$LOG/ping-$1.out" 2>&1 &
	ppid=$!
	wait "$ppid"
	g1=$(cpu_s "$pid")
	kill -TERM "$pid"
	wait_exit "$pid" 15 || fail "$1: gossipd ignores SIGTERM"
	echo "== $1 ($2$3): $(cat "$LOG/ping-$1.out"), gossipd CPU $(awk -v a="$g0" -v b="$g1" 'BEGIN { printf "%.2f", b - a }') s in ${DURATION} s"
	grep -oE 'lcore [0-9]+: rx=[0-9]+ tx=[0-9]+ acks_fast=[0-9]+' "$log"
	grep -oE 'port 0 queue [0-9]+: rx [0-9]+ tx [0-9]+' "$log"
}

run 1lcore "-l 0-1" ""
run 2lcores-cpu1 "--lcores 0@0,1@1,2@1" ",qpairs=2"
run 2lcores-split "--lcores 0@0,1@0,2@1" ",qpairs=2"
