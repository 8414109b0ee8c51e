# Sourced by scripts/bench-dataplane.sh: its encrypted DPDK rows.
#  (a') gossipd --dataplane dpdk --encrypt KEY (memif server, CPU 0) driven
#       by tools/dpdk-pinggen --encrypt KEY (memif client, CPU 1), in a
#       throwaway netns whose lo holds 198.18.0.1, as scripts/bench-dpdk.sh
#       runs the plaintext (a): "memif_enc_round r rate median busy_ns
#       pg_ns foreign%" lines;
#  callgrind: instructions per encrypted ping -> ack on the lcore
#       (tools/dpdk-fpbench --encrypt KEY, PINGS pings): "cg enc:FUNC N".
# Uses the caller's BUILD ROUNDS DURATION WINDOW PINGS RES LOGDIR PIDS
# ENC_KEY, enc_skipped, wait_quiet, cpu_busy and cpu_of; sets ENC_NS and
# ENC_SOCK for the caller's cleanup. Every EAL passes --no-pci.
# shellcheck shell=bash

ENC_Q="--no-pci --no-huge -m 256 --no-shconf --no-telemetry --log-level=lib.eal:error"
ENC_GD=$BUILD/control/gossipd
ENC_PG=$BUILD/tools/dpdk-pinggen
ENC_FB=$BUILD/tools/dpdk-fpbench

# One round; prints "rate median busy_ns pg_ns foreign%".
enc_memif_round() {	# $1: round number
	local gdlog=$LOGDIR/gossipd-enc-$1.log pglog=$LOGDIR/pinggen-enc-$1.log
	local gpid ppid b0 b1 o0 o1 t0 t1 rc
	local eal="--lcores=0@0,1@0 $ENC_Q --file-prefix=gdbe$$-$1 --vdev=net_memif0,role=server,socket=$ENC_SOCK,socket-abstract=no"  # --no-pci via ENC_Q
	rm -f "$ENC_SOCK"
	ip netns exec "$ENC_NS" taskset -c 0 "$ENC_GD" --name bench-node --bind 198.18.0.1:7946 --rpc-addr 127.0.0.1:17374 --dataplane dpdk --eal "$eal" --encrypt "$ENC_KEY" >"$gdlog" 2>&1 &
	gpid=$!
	PIDS+=("$gpid")
	for _ in $(seq 100); do [ -S "$ENC_SOCK" ] && break; sleep 0.05; done
	ip netns exec "$ENC_NS" taskset -c 1 "$ENC_PG" -l 1 $ENC_Q --file-prefix=gdbf$$-$1 --vdev=net_memif0,role=client,socket="$ENC_SOCK",socket-abstract=no -- --name bench-node --dst 198.18.0.1:7946 --src 198.18.0.9:7947 --window "$WINDOW" --duration "$DURATION" --warmup-ms 500 --linger-ms 30000 --encrypt "$ENC_KEY" >"$pglog" 2>&1 &  # --no-pci via ENC_Q
	ppid=$!
	PIDS+=("$ppid")
	sleep 1
	t0=$(date +%s.%N); b0=$(cpu_busy); o0=$(cpu_of "$gpid" "$ppid")
	sleep "$(awk -v d="$DURATION" 'BEGIN { print (d > 1.5 ? d - 1 : 0.5) }')"
	t1=$(date +%s.%N); b1=$(cpu_busy); o1=$(cpu_of "$gpid" "$ppid")
	kill -0 "$ppid" 2>/dev/null || o1=-1
	for _ in $(seq $(((DURATION + 15) * 10))); do
		grep -q '^acks' "$pglog" && break
		kill -0 "$ppid" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$gpid" 2>/dev/null || true
	rc=0
	wait "$gpid" 2>/dev/null || rc=$?
	grep -q 'ns per received frame' "$gdlog" ||
		echo "  gossipd --encrypt exited with status $rc without its lcore stop log (see $gdlog)" >&2
	kill -TERM "$ppid" 2>/dev/null || true
	wait "$ppid" 2>/dev/null || true
	rm -rf "/var/run/dpdk/gdbe$$-$1" "/var/run/dpdk/gdbf$$-$1"	# EAL's
	awk -v b=$((b1 - b0 - o1 + o0)) -v o1="$o1" -v t0="$t0" -v t1="$t1" \
		'/^acks/ { r = $6; m = $15; pb = $21 }
		 /ns per received frame/ { gb = $(NF-6) }
		 END { printf "%s %s %s %s %.0f\n", r ? r : 0, m ? m : 0, gb ? gb : "n/a",
			pb ? pb : "n/a", (o1 < 0 ? 999 : b < 0 ? 0 : b / (t1 - t0)) }' "$pglog" "$gdlog"
}

if ! enc_skipped memif && ! skipped dpdk; then
	ENC_NS=gd-benc-$$
	ENC_SOCK=$LOGDIR/memif-enc.sock
	ip netns add "$ENC_NS"
	ip -n "$ENC_NS" link set lo up
	ip -n "$ENC_NS" addr add 198.18.0.1/32 dev lo
	echo "== (a') memif, --encrypt: gossipd dpdk (cpu0) <- dpdk-pinggen (cpu1), window $WINDOW, ${DURATION}s x $ROUNDS"
	for r in $(seq "$ROUNDS"); do
		wait_quiet
		enc_memif_round "$r" >"$LOGDIR/memif-enc-$r.txt"	# not in $(): PIDS
		read -r rate med gbusy pbusy foreign <"$LOGDIR/memif-enc-$r.txt"
		dist=""
		[ "$foreign" -gt 10 ] && dist="  DISTURBED: others used ${foreign}% of a CPU"
		[ "$foreign" = 999 ] && dist="  DISTURBED? the generator ended before the CPU sample"
		echo "  round $r: $rate acks/s (slice median $med), gossipd lcore $gbusy ns/frame busy, pinggen $pbusy ns/ack busy$dist"
		echo "memif_enc_round $r $rate $med $gbusy $pbusy $foreign" >>"$RES"
	done
	ip netns del "$ENC_NS" 2>/dev/null || true
fi

if ! enc_skipped callgrind && ! skipped callgrind && command -v valgrind >/dev/null; then
	echo "== callgrind, encrypted ping -> ack (dpdk-fpbench --encrypt, $PINGS pings)"
	if timeout -k 5 300 valgrind --tool=callgrind --fair-sched=yes \
		--callgrind-out-file="$LOGDIR/cg.fb-enc" "$ENC_FB" -l 0-1 $ENC_Q -- \
		--pings "$PINGS" --encrypt "$ENC_KEY" >"$LOGDIR/cg-fb-enc.log" 2>&1; then  # --no-pci via ENC_Q
		acks=$(awk '/^pings/ { print $2 }' "$LOGDIR/cg-fb-enc.log")
		callgrind_annotate --inclusive=yes --threshold=100 "$LOGDIR/cg.fb-enc" >"$LOGDIR/cg-fb-enc.txt" 2>/dev/null
		for f in dp_dpdk_lcore_handle swim_crypto_ctx_open_udp dp_dpdk_seal_ack; do
			v=$(awk -v f="$f" 'index($0, ":" f " [") { gsub(",", "", $1); print $1; exit }' "$LOGDIR/cg-fb-enc.txt")
			[ -n "$v" ] && [ "${acks:-0}" -gt 0 ] || continue
			v=$(awk -v v="$v" -v n="$acks" 'BEGIN { printf "%.0f", v / n }')
			echo "  enc:$f: $v instr/ping (inclusive)"
			echo "cg enc:$f $v" >>"$RES"
		done
	else
		echo "  dpdk-fpbench --encrypt under valgrind failed:"
		tail -n 5 "$LOGDIR/cg-fb-enc.log"
	fi
fi
