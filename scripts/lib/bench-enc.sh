# Sourced by scripts/bench-dataplane.sh and scripts/bench-dpdk.sh
# --encrypt: their encrypted DPDK rows.
#  (a') gossipd --dataplane dpdk --encrypt KEY (memif server, CPU 0) driven
#       by tools/dpdk-pinggen --encrypt KEY (memif client, CPU 1), as the
#       plaintext (a) (scripts/lib/bench-memif.sh): "memif_enc_round r
#       rate median busy_ns pg_ns foreign%" lines;
#  callgrind: instructions per encrypted ping -> ack on the lcore
#       (tools/dpdk-fpbench --encrypt, PINGS pings), for the run's 32-byte
#       key and a 16-byte one with the default AES-GCM back end, and
#       (unless enc-backends is skipped) the 32-byte key through EVP and
#       through libsodium: "cg enc[16|_evp|_na]:FUNC N" and
#       "cg_crypto TAG BACKEND" lines. Two valgrinds run at a time (2 CPUs).
# Uses the caller's BUILD ROUNDS DURATION WINDOW PINGS RES LOGDIR PIDS
# ENC_KEY, skipped, enc_skipped and scripts/lib/bench-memif.sh (sourced
# here if the caller has not). Every EAL passes --no-pci.
# shellcheck shell=bash

Q=${Q:-"--no-pci --no-huge -m 256 --no-shconf --no-telemetry --log-level=lib.eal:error"}
declare -F bench_memif_rounds >/dev/null || . scripts/lib/bench-memif.sh

if ! enc_skipped memif && ! skipped dpdk; then
	echo "== (a') memif, --encrypt: gossipd dpdk (cpu0) <- dpdk-pinggen (cpu1), window $WINDOW, ${DURATION}s x $ROUNDS"
	bench_memif_rounds enc memif_enc_round "$RES" 17374 "$ENC_KEY"
fi

# One callgrind run: $1 tag (enc, enc16, enc_evp, enc_na), $2 key,
# $3 back end. Prints and records its lines.
enc_cg() {
	local tag=$1 acks f v cr
	local log=$LOGDIR/cg-fb-$tag.log txt=$LOGDIR/cg-fb-$tag.txt
	if ! timeout -k 5 300 valgrind --tool=callgrind --fair-sched=yes \
		--callgrind-out-file="$LOGDIR/cg.fb-$tag" "$BUILD/tools/dpdk-fpbench" -l 0-1 $Q -- \
		--pings "$PINGS" --encrypt "$2" --crypto-backend "$3" >"$log" 2>&1; then  # --no-pci via $Q
		echo "  dpdk-fpbench --encrypt ($tag) under valgrind failed:"
		tail -n 5 "$log"
		return 0
	fi
	acks=$(awk '/^pings/ { print $2 }' "$log")
	cr=$(awk '/^crypto/ { print $2 }' "$log")
	echo "cg_crypto $tag ${cr:-?}" >>"$RES"
	callgrind_annotate --inclusive=yes --threshold=100 "$LOGDIR/cg.fb-$tag" >"$txt" 2>/dev/null
	for f in dp_dpdk_lcore_handle swim_crypto_ctx_open_udp dp_dpdk_seal_ack; do
		v=$(awk -v f="$f" 'index($0, ":" f " [") { gsub(",", "", $1); print $1; exit }' "$txt")
		[ -n "$v" ] && [ "${acks:-0}" -gt 0 ] || continue
		v=$(awk -v v="$v" -v n="$acks" 'BEGIN { printf "%.0f", v / n }')
		echo "  $tag ($(( ${#2} * 3 / 4 - $(tr -cd = <<<"$2" | wc -c) ))-byte key, ${cr:-?}): $f: $v instr/ping (inclusive)"
		echo "cg $tag:$f $v" >>"$RES"
	done
}

if ! enc_skipped callgrind && command -v valgrind >/dev/null; then
	echo "== callgrind, encrypted ping -> ack (dpdk-fpbench --encrypt, $PINGS pings), load $(cut -d' ' -f1-3 /proc/loadavg)"
	ENC_KEY16=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(16)).decode())')
	# two at a time, each printing into its own file (no interleaving)
	enc_cg enc "$ENC_KEY" auto >"$LOGDIR/cg-enc.out" &
	PIDS+=($!)
	enc_cg enc16 "$ENC_KEY16" auto >"$LOGDIR/cg-enc16.out"
	wait "${PIDS[-1]}" 2>/dev/null || true
	cat "$LOGDIR/cg-enc.out" "$LOGDIR/cg-enc16.out"
	if ! enc_skipped backends; then
		enc_cg enc_evp "$ENC_KEY" evp >"$LOGDIR/cg-enc_evp.out" &
		PIDS+=($!)
		enc_cg enc_na "$ENC_KEY" libsodium >"$LOGDIR/cg-enc_na.out"
		wait "${PIDS[-1]}" 2>/dev/null || true
		cat "$LOGDIR/cg-enc_evp.out" "$LOGDIR/cg-enc_na.out"
	fi
fi
