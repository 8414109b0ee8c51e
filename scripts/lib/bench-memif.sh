# Shared by scripts/bench-dpdk.sh (plaintext) and scripts/lib/bench-enc.sh
# (--encrypt), sourced: one memif round of gossipd --dataplane dpdk (memif
# server; its lcore and the mostly sleeping control thread on CPU 0)
# driven by tools/dpdk-pinggen (memif client, busy-polling on CPU 1), and
# the loop over rounds that prints and records them. gossipd runs in a
# netns whose lo holds 198.18.0.1 (control binds its TCP listener to the
# node's address). Every EAL passes --no-pci (in $Q).
# Uses the caller's BUILD Q LOGDIR WINDOW DURATION ROUNDS and PIDS (every
# process started is appended, for the caller's trap), and cpu_busy,
# cpu_of, wait_quiet (scripts/lib/bench-cpu.sh).
# shellcheck shell=bash

# One round; prints "rate median busy_ns pg_ns foreign%".
# $1 round, $2 tag (log names, EAL prefixes), $3 netns, $4 memif socket,
# $5 gossipd's RPC port, $6 base64 key or - (plaintext).
bench_memif_round() {
	local r=$1 tag=$2 ns=$3 sock=$4 rpc=$5 key=$6
	local gdlog=$LOGDIR/gossipd-$tag-$r.log pglog=$LOGDIR/pinggen-$tag-$r.log
	local gpid ppid b0 b1 o0 o1 t0 t1 rc enc=()
	local pre=gdb$tag$$-$r
	local eal="--lcores=0@0,1@0 $Q --file-prefix=${pre}s --vdev=net_memif0,role=server,socket=$sock,socket-abstract=no"  # --no-pci via $Q
	[ "$key" != - ] && enc=(--encrypt "$key")
	rm -f "$sock"
	ip netns exec "$ns" taskset -c 0 "$BUILD/control/gossipd" --name bench-node --bind 198.18.0.1:7946 --rpc-addr "127.0.0.1:$rpc" --dataplane dpdk --eal "$eal" "${enc[@]}" >"$gdlog" 2>&1 &
	gpid=$!
	PIDS+=("$gpid")
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
	ip netns exec "$ns" taskset -c 1 "$BUILD/tools/dpdk-pinggen" -l 1 $Q --file-prefix="${pre}c" --vdev=net_memif0,role=client,socket="$sock",socket-abstract=no -- --name bench-node --dst 198.18.0.1:7946 --src 198.18.0.9:7947 --window "$WINDOW" --duration "$DURATION" --warmup-ms 500 --linger-ms 30000 "${enc[@]}" >"$pglog" 2>&1 &  # --no-pci via $Q
	ppid=$!
	PIDS+=("$ppid")
	# sample inside the generator's timed part: EAL init, ARP and warm-up
	# take about 0.9 s, so [1, max(D, 1.5)] s after its start
	sleep 1
	t0=$(date +%s.%N); b0=$(cpu_busy); o0=$(cpu_of "$gpid" "$ppid")
	sleep "$(awk -v d="$DURATION" 'BEGIN { print (d > 1.5 ? d - 1 : 0.5) }')"
	t1=$(date +%s.%N); b1=$(cpu_busy); o1=$(cpu_of "$gpid" "$ppid")
	kill -0 "$ppid" 2>/dev/null || o1=-1	# gone: no valid sample
	# The generator reports, then idles (--linger-ms): gossipd stops
	# first, so its stop log's counters are not cut by a disconnect.
	for _ in $(seq $(((DURATION + 15) * 10))); do
		grep -q '^acks' "$pglog" && break
		kill -0 "$ppid" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$gpid" 2>/dev/null || true
	rc=0
	wait "$gpid" 2>/dev/null || rc=$?
	grep -q 'ns per received frame' "$gdlog" ||
		echo "  gossipd ($tag) exited with status $rc without its lcore stop log (see $gdlog)" >&2
	kill -TERM "$ppid" 2>/dev/null || true
	wait "$ppid" 2>/dev/null || true
	rm -rf "/var/run/dpdk/${pre}s" "/var/run/dpdk/${pre}c"	# EAL's
	awk -v b=$((b1 - b0 - o1 + o0)) -v o1="$o1" -v t0="$t0" -v t1="$t1" \
		'/^acks/ { r = $6; m = $15; pb = $21 }
		 /ns per received frame/ { gb = $(NF-6) }
		 END { printf "%s %s %s %s %.0f\n", r ? r : 0, m ? m : 0, gb ? gb : "n/a",
			pb ? pb : "n/a", (o1 < 0 ? 999 : b < 0 ? 0 : b / (t1 - t0)) }' "$pglog" "$gdlog"
}

# ROUNDS rounds in a throwaway netns; prints each and appends
# "$2 r rate median busy_ns pg_ns foreign%" to $3.
# $1 tag, $2 result key, $3 result file, $4 RPC port, $5 key or -.
bench_memif_rounds() {
	local tag=$1 key=$2 out=$3 rpc=$4 k=$5
	local ns=gd-b$tag-$$ sock=$LOGDIR/memif-$tag.sock
	local r rate med gbusy pbusy foreign dist
	ip netns add "$ns"
	BENCH_MEMIF_NS+=("$ns")
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add 198.18.0.1/32 dev lo
	for r in $(seq "$ROUNDS"); do
		wait_quiet
		# not in $(): PIDS must stay the caller's
		bench_memif_round "$r" "$tag" "$ns" "$sock" "$rpc" "$k" >"$LOGDIR/memif-$tag-$r.txt"
		read -r rate med gbusy pbusy foreign <"$LOGDIR/memif-$tag-$r.txt"
		dist=""
		[ "$foreign" -gt 10 ] && dist="  DISTURBED: others used ${foreign}% of a CPU"
		[ "$foreign" = 999 ] && dist="  DISTURBED? the generator ended before the CPU sample"
		echo "  round $r: $rate acks/s (slice median $med), gossipd lcore $gbusy ns/frame busy, pinggen $pbusy ns/ack busy, load $(cut -d' ' -f1 /proc/loadavg)$dist"
		echo "$key $r $rate $med $gbusy $pbusy $foreign" >>"$out"
	done
	ip netns del "$ns" 2>/dev/null || true
	rm -f "$sock"
}

# For the caller's trap: stop every process in PIDS (TERM, then KILL after
# 5 s, bounded), then delete every netns bench_memif_rounds made.
BENCH_MEMIF_NS=()
bench_memif_cleanup() {
	local pid ns
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	for ns in "${BENCH_MEMIF_NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
	return 0
}
