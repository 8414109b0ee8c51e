#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# One live gossipd daemon as a member of an N-member pool whose other N - 1
# members are played by gossip-swarm (issue 11's "Done when" table, live):
#
#   gossipd --bind 127.0.0.1:P --rpc-addr 127.0.0.1:R  <--  gossip-swarm
#                                          --members N-1 --join 127.0.0.1:P
#
# For each N in $SIZES (default "1000 10000 100000 1000000"), one row:
#   join_s      from the swarm's start until gossipd's RPC (`gossipctl
#               info`: serf members, failed, left) counts N members, none
#               failed or left; then `gossipctl members --summary` checks
#               N alive;
#   rss / hwm   gossipd's VmRSS and VmHWM (peak) after the join, MiB;
#   B/member    (VmRSS after the join - VmRSS before the swarm) / (N - 1);
#   idle CPU    gossipd's time on CPU over $IDLE s after the join has
#               settled (its first periodic push/pull done, its broadcast
#               queue drained, then < 20 ms CPU/s over 5 s; at most
#               SETTLE_MAX s), in ms of CPU per second: the sum of its
#               threads' /proc/PID/task/*/schedstat run times (ns; utime
#               and stime tick in 10 ms, too coarse for an idle node).
#               The swarm keeps probing it, as N - 1 members would;
#   idle bytes  the swarm's UDP kB each way per second over that window
#               (its per-second progress lines: "in" is what gossipd sent);
#   sync        a full push/pull both ways started by `gossipctl join
#               <a swarm member>`: wall time of the RPC, gossipd's CPU in
#               it, its peak VmHWM in it (reset just before through
#               /proc/PID/clear_refs) and that peak's growth over VmRSS
#               before it, the exchange's bytes (both ways: twice what
#               gossipd read(2) from the stream, /proc/PID/io rchar; the
#               swarm counts UDP only);
#   pp B/s      steady push/pull bytes/s: two exchanges (gossipd's own and
#               one from a peer, on average) of the sync's bytes per
#               memberlist's scaled PushPullInterval (30 s x (ceil(log2 N
#               - 5) + 1)), the rate a pool of N would see;
#   members     wall time of `serf members -rpc-addr` (the real CLI) and
#               of `gossipctl members --count`, with their counts;
#   probe fails the swarm's failed probes of gossipd over the whole run
#               (its --json: real[].failed_probes; the sync is in it), and
#               gossipd's own failed probes (metrics); bq: gossipd's
#               broadcast queue depth after the join (the alives it
#               re-gossips, RetransmitMult x log10 N times each, as
#               memberlist does, at most --max-queue-depth of them).
# Loopback only, ports below 32768, every process ours and killed by PID.
# Each size is bounded: JOIN_MAX s for the join (default 120 + N/2000),
# IDLE s idle (30), SYNC_MAX s for the sync (300), CLI_MAX s for a CLI.
#
# Usage: scripts/bench-scale-live.sh [build-dir]
#        (env: SIZES, IDLE, SETTLE_MAX, JOIN_MAX, SYNC_MAX, CLI_MAX, SWARM_FLAGS, OUT,
#         GOSSIPD, GOSSIPCTL, GOSSIP_SWARM)
# Prints one row per size (and keeps the logs, the swarm's JSON and the
# table in $OUT).
set -u

BUILD=${1:-build}
GOSSIPD=${GOSSIPD:-$BUILD/control/gossipd}
GOSSIPCTL=${GOSSIPCTL:-$BUILD/control/gossipctl}
SWARM=${GOSSIP_SWARM:-$BUILD/tools/swarm/gossip-swarm}
SIZES=${SIZES-"1000 10000 100000 1000000"}
IDLE=${IDLE:-30}
SETTLE_MAX=${SETTLE_MAX:-120}
SYNC_MAX=${SYNC_MAX:-300}
CLI_MAX=${CLI_MAX:-180}
SWARM_FLAGS=${SWARM_FLAGS:-}		# e.g. "--probe-rate-mult 10"
OUT=${OUT:-$(mktemp -d /tmp/bench-scale-live.XXXXXX)}
mkdir -p "$OUT"
# shellcheck source=lib/bench-live.sh
. "$(cd "$(dirname "$0")" && pwd)/lib/bench-live.sh"

live_require
HAVE_SERF=1
command -v serf >/dev/null || HAVE_SERF=0

# rchar of a PID: bytes it read through read(2) (gossipd reads its TCP
# streams with read(2); UDP comes through recvmmsg, not counted here).
rchar() { io_b "$1" rchar; }

# swarm_sum LOG FROM TO: the swarm's kB each way summed over its progress
# lines stamped in (FROM, TO] s of its run -> "in_kB out_kB lines".
swarm_sum() {
	sed -n 's/^\[swarm *\([0-9.]*\)s\].*kB\/s in \([0-9.]*\) out \([0-9.]*\).*/\1 \2 \3/p' "$1" |
		awk -v a="$2" -v b="$3" '$1 > a && $1 <= b { i += $2; o += $3; k++ }
			END { printf "%.1f %.1f %d\n", i, o, k }'
}



# time_cli SECONDS CMD...: runs CMD, prints "wall_s lines" (lines of stdout).
time_cli() {
	local t s l
	t=$(now)
	l=$(timeout "$1" "${@:2}" 2>/dev/null | wc -l)
	s=$?
	echo "$(since "$t") $l"
}

run_size() {
	local n=$1 m=$(($1 - 1)) tag="n$1" gp rp mp sp gd sw
	local join_max=${JOIN_MAX:-$((120 + $1 / 2000))}
	read -r gp rp mp sp <<<"$(free_ports 4)"
	"$GOSSIPD" --name "live-$n" --bind "127.0.0.1:$gp" \
		--rpc-addr "127.0.0.1:$rp" --metrics-addr "127.0.0.1:$mp" \
		--log-level warn >"$OUT/gossipd-$tag.log" 2>&1 &
	gd=$!; PIDS+=("$gd")
	local i c
	for i in $(seq 50); do
		c=$(info_counts "$rp")
		[ "${c%% *}" = 1 ] && break
		sleep 0.2
	done
	[ "${c%% *}" = 1 ] || { note "$tag: gossipd did not start"; return 1; }
	local rss0 cpu0
	rss0=$(vm_kb "$gd" VmRSS)
	local t0 tj="" cnt
	t0=$(now)
	# shellcheck disable=SC2086
	"$SWARM" --members "$m" --join "127.0.0.1:$gp" --port "$sp" $SWARM_FLAGS \
		--no-leave --json "$OUT/swarm-$tag.json" 2>"$OUT/swarm-$tag.log" &
	sw=$!; PIDS+=("$sw")
	local end=$(($(date +%s) + join_max))
	while [ "$(date +%s)" -lt "$end" ]; do
		kill -0 "$gd" 2>/dev/null || { note "$tag: gossipd died"; break; }
		cnt=$(info_counts "$rp")
		if [ "$cnt" = "$n 0 0" ]; then tj=$(since "$t0"); break; fi
		sleep 0.5
	done
	if [ -z "$tj" ]; then
		note "$tag: no join in $join_max s (members failed left: $cnt)"
		tj="timeout(${cnt// //})"
		kill -0 "$gd" 2>/dev/null || { tail -5 "$OUT/gossipd-$tag.log" >&2; return 1; }
	fi
	local summ
	summ=$(timeout "$CLI_MAX" "$GOSSIPCTL" --rpc-addr "127.0.0.1:$rp" \
		members --summary 2>&1)
	note "$tag: join $tj s; $summ"
	local rss1 hwm1 bpm bq
	bq=$(metric "$mp" gossipd_broadcast_queue_depth)
	rss1=$(vm_kb "$gd" VmRSS); hwm1=$(vm_kb "$gd" VmHWM)
	bpm=$(awk -v a="$rss0" -v b="$rss1" -v m="$m" 'BEGIN { printf "%.0f", (b - a) * 1024 / m }')

	# Settle: the swarm's last join batches may still be pushing/pulling
	# after gossipd counts N (a push/pull per batch), and gossipd's first
	# periodic push/pull (a full exchange of N, at a random time in its
	# first 30 s, the next one a scaled interval later: 180 s at 10^3,
	# 480 s at 10^6) must not fall in the idle window: wait until it went
	# out (metrics: TCP streams out_ok >= 1) and gossipd spends < 20 ms
	# CPU/s over 5 s (at most SETTLE_MAX s).
	local settle=0 sa sb ok q
	sa=$(cpu_s "$gd")
	while [ "$settle" -lt "$SETTLE_MAX" ]; do
		sleep 5; settle=$((settle + 5))
		sb=$(cpu_s "$gd")
		ok=$(metric "$mp" 'gossipd_tcp_streams_total{result="out_ok"}')
		q=$(info_key "$rp" intent_queue serf)
		[ "${ok:-0}" -ge 1 ] && [ "${q:-1}" -eq 0 ] &&
			awk -v a="$sa" -v b="$sb" 'BEGIN { exit !(b - a < 0.1) }' && break
		sa=$sb
	done
	note "$tag: settled after $settle s"
	# Idle window: CPU of gossipd, bytes each way (swarm's view).
	local sin sout k cpu1 ti0 ti1
	cpu0=$(cpu_ms "$gd"); ti0=$(since "$t0")
	sleep "$IDLE"
	cpu1=$(cpu_ms "$gd"); ti1=$(since "$t0")
	read -r sin sout k <<<"$(swarm_sum "$OUT/swarm-$tag.log" "$ti0" "$ti1")"
	[ "$k" -gt 0 ] || k=1
	local idle_ms idle_in idle_out
	idle_ms=$(awk -v a="$cpu0" -v b="$cpu1" -v s="$IDLE" 'BEGIN { printf "%.2f", (b - a) / s }')
	idle_in=$(awk -v x="$sin" -v k="$k" 'BEGIN { printf "%.1f", x / k }')
	idle_out=$(awk -v x="$sout" -v k="$k" 'BEGIN { printf "%.1f", x / k }')
	note "$tag: idle ${IDLE}s: gossipd ${idle_ms} ms CPU/s; swarm kB/s in $idle_in out $idle_out"

	# Full sync: gossipd pushes/pulls with a swarm member (the last one).
	local okb0 rssb cpus0 ts sync_s sync_cpu hwm2 jrc jp
	okb0=$(metric "$mp" 'gossipd_tcp_streams_total{result="out_ok"}')
	# VmHWM from here on is the sync's peak (5 > clear_refs resets it).
	echo 5 >"/proc/$gd/clear_refs" 2>/dev/null || note "$tag: no clear_refs: sync_hwm is the run's peak"
	rssb=$(vm_kb "$gd" VmRSS); cpus0=$(cpu_s "$gd")
	local rc0 rc1
	rc0=$(rchar "$gd")
	local peer
	peer=$(python3 -c "import ipaddress,sys; print(ipaddress.ip_address('127.64.0.0') + 1 + int(sys.argv[1]))" $((m - 1)))
	ts=$(now)
	timeout "$SYNC_MAX" "$GOSSIPCTL" --rpc-addr "127.0.0.1:$rp" \
		--timeout "$SYNC_MAX" join "$peer:$sp" >"$OUT/join-$tag.out" 2>&1 &
	jp=$!; PIDS+=("$jp")
	end=$(($(date +%s) + SYNC_MAX + 5))
	while kill -0 "$jp" 2>/dev/null && [ "$(date +%s)" -lt "$end" ]; do
		sleep 0.2
	done
	wait "$jp"; jrc=$?
	sync_s=$(since "$ts")
	rc1=$(rchar "$gd")
	sync_cpu=$(awk -v a="$cpus0" -v b="$(cpu_s "$gd")" 'BEGIN { printf "%.2f", b - a }')
	hwm2=$(vm_kb "$gd" VmHWM)
	local okb1 ppbs ppi ex_kb
	okb1=$(metric "$mp" 'gossipd_tcp_streams_total{result="out_ok"}')
	ppi=$(pp_interval "$n")
	# the exchange's bytes: both directions, less the idle traffic
	# The swarm counts UDP only: the exchange's bytes are what gossipd
	# read(2) from the stream (the swarm's state), twice (gossipd's own
	# state, sent with send(2), holds the same N members).
	ex_kb=$(awk -v a="$rc0" -v b="$rc1" 'BEGIN { printf "%.0f", 2 * (b - a) / 1000 }')
	ppbs=$(awk -v kb="$ex_kb" -v p="$ppi" 'BEGIN { printf "%.0f", 2 * kb * 1000 / p }')
	note "$tag: sync rc=$jrc $(tr '\n' ' ' <"$OUT/join-$tag.out") in $sync_s s, CPU $sync_cpu s, out_ok $okb0 -> $okb1, ~$ex_kb kB both ways; HWM $(mib "$hwm2") MiB"

	# The CLIs at this size.
	local sm gm
	if [ "$HAVE_SERF" = 1 ]; then
		sm=$(time_cli "$CLI_MAX" serf members -rpc-addr="127.0.0.1:$rp")
	else
		sm="- -"
	fi
	gm=$(time_cli "$CLI_MAX" "$GOSSIPCTL" --rpc-addr "127.0.0.1:$rp" \
		--timeout "$CLI_MAX" members)
	local gcount
	gcount=$(timeout "$CLI_MAX" "$GOSSIPCTL" --rpc-addr "127.0.0.1:$rp" \
		--timeout "$CLI_MAX" members --count 2>/dev/null)
	local gfail hwm3 rss3 cpu_end
	gfail=$(metric "$mp" 'gossipd_probes_total{result="failed"}')
	hwm3=$(vm_kb "$gd" VmHWM); rss3=$(vm_kb "$gd" VmRSS)
	cpu_end=$(cpu_s "$gd")
	# Stop the swarm (--no-leave: it writes its summary and exits).
	kill -INT "$sw" 2>/dev/null
	for i in $(seq 120); do kill -0 "$sw" 2>/dev/null || break; sleep 0.5; done
	wait "$sw" 2>/dev/null
	local pf jt
	pf=$(grep -o '"failed_probes": [0-9]*' "$OUT/swarm-$tag.json" 2>/dev/null | awk '{ print $2 }')
	jt=$(grep -o '"join_time_s": [0-9.]*' "$OUT/swarm-$tag.json" 2>/dev/null | awk '{ print $2 }')
	kill -TERM "$gd" 2>/dev/null; wait "$gd" 2>/dev/null
	printf '%-8s %9s %8s %7s %7s %8s %8s %8s %8s %7s %8s %8s %9s %10s %11s %9s %s\n' \
		"$n" "$tj" "${jt:--}" "$(mib "$rss1")" "$(mib "$hwm1")" "$bpm" \
		"$idle_ms" "$idle_in/$idle_out" "$sync_s" "$sync_cpu" \
		"$(mib "$hwm2")" "+$(mib $((hwm2 - rssb)))" "$ex_kb" "$ppbs" \
		"${sm% *}s/${sm#* }" "${gm% *}s" \
		"pf=${pf:-?} bq=${bq:-?} gd_pf=${gfail:-?} count=${gcount:-?} join_rc=$jrc cpu=${cpu_end}s rss_end=$(mib "$rss3") hwm_end=$(mib "$hwm3")" \
		| tee -a "$OUT/table.txt"
}

note "output in $OUT; gossipd $GOSSIPD; load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %9s %8s %7s %7s %8s %8s %8s %8s %7s %8s %8s %9s %10s %11s %9s %s\n' \
	N join_s sw_join rssMiB hwmMiB B/memb idle_ms/s idle_kBps sync_s \
	sync_cpu sync_hwm peak+ sync_kB pp_B/s serf_memb gctl_memb notes |
	tee "$OUT/table.txt"
for n in $SIZES; do
	run_size "$n" || note "size $n failed"
done
note "done; load $(cut -d' ' -f1-3 /proc/loadavg)"
