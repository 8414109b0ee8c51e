#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Idle CPU of one gossipd node against the size of its pool (issue 11:
# "CPU per second at 10^6 members, idle pool, within 2x of the same node
# at 10^3"), measured in the SAME windows for every size: one gossipd and
# one gossip-swarm of N - 1 members per size, all up at once, so the load
# of this shared machine weighs on every size alike.
#
# For each size: start gossipd and its swarm, wait until gossipd's RPC
# counts N members (none failed or left), then settle (its first periodic
# push/pull done, its broadcast queue drained, < 20 ms CPU/s over 5 s; at
# most SETTLE_MAX s). Then $SAMPLES windows of $WINDOW s; at each window's
# edges every gossipd's threads' schedstat (run ns, timeslices) and
# /metrics are read, and one row per size and window is printed:
#   ms/s      gossipd's ms on CPU per second (schedstat run time);
#   slices/s  its threads' timeslices per second (wakeups, about);
#   pk_in/s   UDP packets received per second (gossipd_packets_total
#             {direction="in"}), pk_out/s sent;
#   tcp       TCP streams opened either way in the window;
#   swarm_ms  the swarm's own ms on CPU per second (it shares the cores);
#   load      the 1-minute load average at the window's end.
# The last line gives each size's median ms/s and the ratio to the first
# size's median.
#
# Usage: scripts/bench-idle-scale.sh [build-dir]
#        (env: SIZES "1000 1000000", SAMPLES 6, WINDOW 60, SETTLE_MAX 150,
#         SWARM_FLAGS, GOSSIPD_FLAGS, OUT, GOSSIPD, GOSSIPCTL, GOSSIP_SWARM)
# A size may carry a label, N:LABEL, run with the binary $GOSSIPD_LABEL
# and the environment $GOSSIPD_ENV_LABEL; the A/B of cp_thp.h:
#   SIZES="1000 1000000 1000000:off" GOSSIPD_ENV_off=GOSSIPD_THP=0 \
#   SAMPLES=8 scripts/bench-idle-scale.sh build
# Do not query a 10^6 node (gossipctl members: ~2 s of CPU) during the
# windows: it lands in the figures.
# Loopback only, ports below 27000, every process ours and killed by PID.
set -u

BUILD=${1:-build}
GOSSIPD=${GOSSIPD:-$BUILD/control/gossipd}
GOSSIPCTL=${GOSSIPCTL:-$BUILD/control/gossipctl}
SWARM=${GOSSIP_SWARM:-$BUILD/tools/swarm/gossip-swarm}
SIZES=${SIZES-"1000 1000000"}
SAMPLES=${SAMPLES:-6}
WINDOW=${WINDOW:-60}
SETTLE_MAX=${SETTLE_MAX:-150}
SWARM_FLAGS=${SWARM_FLAGS:-}
GOSSIPD_FLAGS=${GOSSIPD_FLAGS:-}
OUT=${OUT:-$(mktemp -d /tmp/bench-idle-scale.XXXXXX)}
mkdir -p "$OUT"
# shellcheck source=lib/bench-live.sh
. "$(cd "$(dirname "$0")" && pwd)/lib/bench-live.sh"

live_require

declare -A GD SW RP MP

# "run_ns slices" summed over a PID's threads.
sched() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null |
		awk '{ t += $1; s += $3 } END { printf "%.0f %.0f\n", t, s }'
}

# metrics_of PORT -> "pk_in pk_out tcp_streams" (counters).
metrics_of() {
	curl -s --max-time 10 "http://127.0.0.1:$1/metrics" 2>/dev/null |
		awk '/^gossipd_packets_total\{direction="in"/ { i += $2 }
		     /^gossipd_packets_total\{direction="out"/ { o += $2 }
		     /^gossipd_tcp_streams_total\{/ { t += $2 }
		     END { printf "%.0f %.0f %.0f\n", i, o, t }'
}

# A size entry is N or N:LABEL; a labelled entry runs the gossipd binary
# in $GOSSIPD_<LABEL> (default $GOSSIPD) with the environment assignments
# in $GOSSIPD_ENV_<LABEL> (e.g. "GLIBC_TUNABLES=..."), so two builds or
# two settings of one size share the same windows.
size_of() { echo "${1%%:*}"; }
label_of() { case $1 in *:*) echo "${1#*:}" ;; esac; }

start_size() {
	local key=$1 n lab bin envs gp rp mp sp idx
	n=$(size_of "$key"); lab=$(label_of "$key")
	bin=$GOSSIPD; envs=""
	if [ -n "$lab" ]; then
		local vb="GOSSIPD_$lab" ve="GOSSIPD_ENV_$lab"
		bin=${!vb:-$GOSSIPD}; envs=${!ve:-}
	fi
	# Ports below 27000: other benches here run clusters on fixed ports
	# 27xxx/28xxx (n0 27400, 27600, 27800 ...); one that finds our node
	# on its seed's port joins our pool.
	read -r gp rp mp sp <<<"$(free_ports 64 | tr ' ' '\n' |
		awk '$1 < 27000' | head -4 | tr '\n' ' ')"
	# shellcheck disable=SC2086
	env $envs "$bin" --name "idle-${key/:/-}" --bind "127.0.0.1:$gp" \
		--rpc-addr "127.0.0.1:$rp" --metrics-addr "127.0.0.1:$mp" \
		--log-level warn $GOSSIPD_FLAGS >"$OUT/gossipd-$key.log" 2>&1 &
	GD[$key]=$!; PIDS+=("$!"); RP[$key]=$rp; MP[$key]=$mp
	local i c
	for i in $(seq 50); do
		c=$(info_counts "$rp")
		[ "${c%% *}" = 1 ] && break
		sleep 0.2
	done
	# Distinct /12s of 127/8 per entry: 127.64/12, 127.80/12, ...
	idx=0
	for i in $SIZES; do [ "$i" = "$key" ] && break; idx=$((idx + 1)); done
	local net="127.$((64 + 16 * idx)).0.0/12"
	# shellcheck disable=SC2086
	"$SWARM" --members $((n - 1)) --join "127.0.0.1:$gp" --port "$sp" \
		--prefix "$net" --name-prefix "s$idx-" $SWARM_FLAGS --no-leave \
		--json "$OUT/swarm-$key.json" 2>"$OUT/swarm-$key.log" &
	SW[$key]=$!; PIDS+=("$!")
	note "$key: gossipd ${GD[$key]} $bin $envs (rpc $rp metrics $mp), swarm ${SW[$key]} on $net"
	# for perf/strace from another shell during the windows
	echo "$key ${GD[$key]} ${SW[$key]} $rp $mp" >>"$OUT/pids"
}

wait_join() {
	local key=$1 n end cnt
	n=$(size_of "$key")
	end=$(($(date +%s) + 120 + n / 2000))
	while [ "$(date +%s)" -lt "$end" ]; do
		cnt=$(info_counts "${RP[$key]}")
		[ "$cnt" = "$n 0 0" ] && { note "$key: joined"; return 0; }
		kill -0 "${GD[$key]}" 2>/dev/null || break
		sleep 1
	done
	note "$key: no join (members failed left: ${cnt:-?})"
	return 1
}

# Settle every size at once: each until its first push/pull went out
# (metrics: TCP streams out_ok >= 1), its broadcast queue drained and
# < 20 ms CPU/s over 5 s, or SETTLE_MAX s.
settle_all() {
	local s=0 n b ok q left
	declare -A a ready
	for n in $SIZES; do a[$n]=$(cpu_ms "${GD[$n]}"); done
	while [ "$s" -lt "$SETTLE_MAX" ]; do
		sleep 5; s=$((s + 5)); left=0
		for n in $SIZES; do
			[ -n "${ready[$n]:-}" ] && continue
			b=$(cpu_ms "${GD[$n]}")
			ok=$(metric "${MP[$n]}" 'gossipd_tcp_streams_total{result="out_ok"}')
			q=$(info_key "${RP[$n]}" intent_queue serf)
			if [ "${ok:-0}" -ge 1 ] && [ "${q:-1}" -eq 0 ] &&
				awk -v a="${a[$n]}" -v b="$b" 'BEGIN { exit !(b - a < 100) }'; then
				ready[$n]=1; note "$n: settled after $s s"
			else
				a[$n]=$b; left=$((left + 1))
			fi
		done
		[ "$left" -eq 0 ] && return 0
	done
	note "settle: SETTLE_MAX ($SETTLE_MAX s) reached"
}

note "output in $OUT; sizes $SIZES; $SAMPLES x $WINDOW s; load $(cut -d' ' -f1-3 /proc/loadavg)"
for n in $SIZES; do start_size "$n"; done
for n in $SIZES; do wait_join "$n" || exit 1; done
settle_all

declare -A S0 M0 W0
snap() {
	local n
	for n in $SIZES; do
		S0[$n]=$(sched "${GD[$n]}")
		M0[$n]=$(metrics_of "${MP[$n]}")
		W0[$n]=$(cpu_ms "${SW[$n]}")
	done
}
printf '%-3s %-8s %8s %9s %8s %8s %4s %9s %6s\n' w N ms/s slices/s \
	pk_in/s pk_out/s tcp swarm_ms load | tee "$OUT/table.txt"
snap
for w in $(seq "$SAMPLES"); do
	sleep "$WINDOW"
	for n in $SIZES; do
		local_s=$(sched "${GD[$n]}"); local_m=$(metrics_of "${MP[$n]}")
		local_w=$(cpu_ms "${SW[$n]}")
		awk -v w="$w" -v n="$n" -v s="$WINDOW" -v a="${S0[$n]}" \
		    -v b="$local_s" -v ma="${M0[$n]}" -v mb="$local_m" \
		    -v wa="${W0[$n]}" -v wb="$local_w" \
		    -v l="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
			split(a, x); split(b, y); split(ma, p); split(mb, q);
			printf "%-3s %-8s %8.3f %9.1f %8.1f %8.1f %4d %9.1f %6s\n",
			    w, n, (y[1] - x[1]) / 1e6 / s, (y[2] - x[2]) / s,
			    (q[1] - p[1]) / s, (q[2] - p[2]) / s, q[3] - p[3],
			    (wb - wa) / s, l }' | tee -a "$OUT/table.txt"
	done
	snap
done
# (into a variable first: awk must not read what tee appends)
medians=$(awk -v order="$SIZES" 'function isort(a, k,  i, j, t) { for (i = 2; i <= k; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t } }
     NR > 1 && $1 ~ /^[0-9]+$/ { v[$2] = v[$2] " " $3 }
     END { k0 = split(order, keys, " ");
	for (e = 1; e <= k0; e++) { n = keys[e]; k = split(v[n], a, " ");
		if (k == 0) continue; isort(a, k);
		m = k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2;
		if (e == 1) m0 = m;
		printf "median %s %.3f ms/s over %d windows (min %.3f max %.3f), %.2fx the first\n",
		    n, m, k, a[1], a[k], (m0 > 0 ? m / m0 : 0) } }' \
	"$OUT/table.txt")
echo "$medians" | tee -a "$OUT/table.txt"
note "done; load $(cut -d' ' -f1-3 /proc/loadavg)"
