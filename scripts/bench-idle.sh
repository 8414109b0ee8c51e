#!/usr/bin/env bash
# Idle cost and failure detection, serf agent vs gossipd, on loopback.
#
# For each size N (default 50 and 120) and each implementation, one run:
#   1. start N agents on 127.0.0.1 (gossip ports BASE+i, RPC ports
#      BASE+1000+i, gossipd's 4000 higher; all below 32768), each joining
#      node 0, in batches (ports in use, or an agent that exits: the run
#      starts over 2000 ports higher, twice at most);
#   2. wait until 5 sampled observers see N alive members;
#   3. settle, then measure idle CPU per node over WINDOW seconds, as %
#      of one core, from two sources: the nanoseconds on CPU of every
#      thread (/proc/PID/task/*/schedstat, first field, summed: serf is
#      Go and runs many threads; gossipd's are counted the same way) and
#      utime+stime of /proc/PID/stat (clock ticks of 10 ms: over 20 s
#      one tick is 0.05 %, so a quiet node's figure is mostly rounding);
#      the table gives schedstat's, the line under it both;
#   4. SIGKILL one node (not an observer) and time, from the kill, when
#      each observer's `serf monitor` prints EventMemberFailed for it:
#      first and all 5; KILLS (-k, default 7) nodes one after the other,
#      the table gives the medians (each kill is listed under it).
# Then print the table of issue 13, with the load average at the start
# of each run. Everything started is killed by PID (trap), loops are
# bounded, traffic stays on 127.0.0.1.
#
# -d adds the DPDK lcore under --dp-power off, backoff and interrupt
# (gossipd --dataplane dpdk in a throwaway netns whose lo holds
# 198.18.0.1, as scripts/bench-dpdk.sh): on net_memif, acks/s from
# tools/dpdk-pinggen (another process, window 256, 3 s) and then the idle
# lcore thread's CPU while the generator stays connected and quiet; on
# net_ring (nothing attached), the idle lcore's CPU. -n "" skips the
# clusters. Every EAL gets --no-pci --no-huge.
#
# -S runs both clusters of a size at once and measures their idle CPU
# over the same window (then the kills, one cluster after the other):
# on a shared machine whose load moves by the minute, the only fair
# ratio. The table says which way it ran.
#
# Usage: scripts/bench-idle.sh [-b BUILD_DIR] [-n "50 120"] [-w WINDOW_S]
#        [-i "serf gossipd"] [-p BASE_PORT] [-k KILLS] [-S] [-d]
# The machine should be quiet: the load average is printed with the table.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")

BUILD=$ROOT/build
SIZES="50 120"
WINDOW=20
IMPLS="serf gossipd"
BASE=20000
SETTLE=${SETTLE:-}	# default 5 s; 30 s with -S (see there)
CONVERGE_MAX=${CONVERGE_MAX:-180}
DETECT_MAX=${DETECT_MAX:-60}
KILLS=${KILLS:-7}
DPDK=0
BOTH=0
while getopts "b:n:w:i:p:k:dS" o; do
	case $o in
	b) BUILD=$OPTARG ;;
	n) SIZES=$OPTARG ;;
	w) WINDOW=$OPTARG ;;
	i) IMPLS=$OPTARG ;;
	p) BASE=$OPTARG ;;
	k) KILLS=$OPTARG ;;
	S) BOTH=1 ;;
	d) DPDK=1 ;;
	*) echo "usage: $0 [-b build] [-n sizes] [-w window_s] [-i impls]" \
		"[-p base_port] [-k kills] [-S] [-d]" >&2
	   exit 2 ;;
	esac
done
# -S: the second cluster has only just converged when the window
# opens; its joins' push/pulls and first delta syncs must be over
[ -n "$SETTLE" ] || { [ "$BOTH" -eq 1 ] && SETTLE=30 || SETTLE=5; }
GOSSIPD=$BUILD/control/gossipd
SERF=$(command -v serf || true)
[ -n "$SERF" ] || { echo "bench-idle: needs the serf binary" >&2; exit 2; }
case " $IMPLS " in *" gossipd "*)
	[ -x "$GOSSIPD" ] || { echo "bench-idle: no $GOSSIPD (-b)" >&2; exit 2; } ;;
esac
BASE0=$BASE
for n in $SIZES; do
	if [ $((BASE + 9000 + n)) -ge 32768 ] || [ "$n" -lt 7 ]; then
		echo "bench-idle: sizes 7..$((32767 - BASE - 9000)) with base $BASE" >&2
		exit 2
	fi
done

WORK=$(mktemp -d /tmp/bench-idle.XXXXXX)
PIDS=()		# agents of the current run
OTHER=()	# -S: the other cluster's agents, running meanwhile
MONS=()		# monitor pipelines of the current run
HZ=$(getconf CLK_TCK)

stop_all() {
	local p
	for p in "${MONS[@]}" "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	for p in "${MONS[@]}" "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	PIDS=()
	MONS=()
}
NS=""
cleanup() {
	PIDS+=("${OTHER[@]}")
	stop_all
	[ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Any of our ports taken already? Then another run or helper has them.
ports_free() {
	local n=$1 busy
	busy=$(ss -Htuln 2>/dev/null | awk -v lo="$BASE" -v hi="$((BASE + 1000 + n))" '
		{ n = split($5, a, ":"); p = a[n] + 0
		  if (p >= lo && p <= hi) c++ } END { print c + 0 }')
	[ "$busy" -eq 0 ]
}

# Start node i of impl ($1), gossip port BASE+i, RPC BASE+1000+i.
start_node() {
	local impl=$1 i=$2 port=$((BASE + $2)) rpc=$((BASE + 1000 + $2))
	local join=()

	[ "$i" -gt 0 ] && join=(-join "127.0.0.1:$BASE")
	if [ "$impl" = serf ]; then
		"$SERF" agent -node "n$i" -bind "127.0.0.1:$port" \
			-rpc-addr "127.0.0.1:$rpc" -log-level warn "${join[@]}" \
			>"$WORK/n$i.log" 2>&1 &
	else
		[ "$i" -gt 0 ] && join=(--join "127.0.0.1:$BASE")
		"$GOSSIPD" --name "n$i" --bind "127.0.0.1:$port" \
			--rpc-addr "127.0.0.1:$rpc" --log-level warn "${join[@]}" \
			>"$WORK/n$i.log" 2>&1 &
	fi
	PIDS+=($!)
}

# Alive members as node i sees them (serf's CLI speaks to both).
nb_alive() {
	timeout 5 "$SERF" members -rpc-addr "127.0.0.1:$((BASE + 1000 + $1))" \
		-status alive 2>/dev/null | wc -l
}

# Wait until every observer sees n alive. @retval 0 when converged.
converge() {
	local n=$1 end=$((SECONDS + CONVERGE_MAX)) o ok
	shift
	while [ $SECONDS -lt $end ]; do
		for o in "${!PIDS[@]}"; do
			kill -0 "${PIDS[$o]}" 2>/dev/null && continue
			echo "bench-idle: n$o exited: $(tail -1 "$WORK/n$o.log")" >&2
			return 1
		done
		ok=1
		for o in "$@"; do
			[ "$(nb_alive "$o")" -eq "$n" ] || { ok=0; break; }
		done
		[ $ok -eq 1 ] && return 0
		sleep 1
	done
	return 1
}

# "pid ns ticks" of every agent: ns on CPU summed over its threads
# (schedstat), utime+stime in clock ticks (stat). No fork per PID, so
# the two snapshots take the same short time.
cpu_snap() {
	local p t a ns st
	for p in "${PIDS[@]}"; do
		ns=0
		for t in /proc/"$p"/task/*/schedstat; do
			read -r a _ <"$t" 2>/dev/null && ns=$((ns + a))
		done
		read -r st <"/proc/$p/stat" 2>/dev/null || st=""
		st=${st##*) }
		# shellcheck disable=SC2086 # split stat's fields
		set -- $st
		echo "$p $ns $((${12:-0} + ${13:-0}))"
	done
}

now_ns() { date +%s%N; }

# Idle CPU per node over WINDOW s, % of one core: "mean min max" from
# schedstat, then the same three from the ticks. Divided by the time
# really elapsed between the snapshots. With -S the snapshots hold both
# clusters (PIDS: serf's then gossipd's) and $WORK/cpu.serf and
# $WORK/cpu.gossipd get each one's line.
idle_cpu() {
	local t0 t1
	t0=$(now_ns)
	cpu_snap >"$WORK/cpu0"
	sleep "$WINDOW"
	t1=$(now_ns)
	cpu_snap >"$WORK/cpu1"
	paste -d' ' "$WORK/cpu0" "$WORK/cpu1" >"$WORK/cpu01"
	if [ "$BOTH" -eq 1 ]; then
		head -n "$1" "$WORK/cpu01" | cpu_stats $((t1 - t0)) >"$WORK/cpu.serf"
		tail -n +$(($1 + 1)) "$WORK/cpu01" |
			cpu_stats $((t1 - t0)) >"$WORK/cpu.gossipd"
		return
	fi
	cpu_stats $((t1 - t0)) <"$WORK/cpu01"
}

# Lines "pid ns0 ticks0 pid ns1 ticks1" over $1 ns -> the six figures.
cpu_stats() {
	awk -v hz="$HZ" -v w="$(($1 / 1000))" '
		function mm(v, k) { s[k] += v
			if (n == 1 || v < lo[k]) lo[k] = v
			if (n == 1 || v > hi[k]) hi[k] = v }
		$1 == $4 { n++; mm(($5 - $2) * 100 / (w * 1000), 0)
			   mm(($6 - $3) * 100 * 1e6 / hz / w, 1) }
		END { if (n) printf "%.4f %.4f %.4f %.3f %.3f %.3f\n",
			s[0] / n, lo[0], hi[0], s[1] / n, lo[1], hi[1] }'
}

# One serf monitor per observer, each line stamped on arrival; the victim's
# EventMemberFailed lines are kept in $WORK/mon.<o>.
start_monitors() {
	local victim=$1 o
	shift
	for o in "$@"; do
		# $! is the monitor itself; perl ends with its output
		"$SERF" monitor -rpc-addr "127.0.0.1:$((BASE + 1000 + o))" \
			-log-level info 2>/dev/null > >(perl -MTime::HiRes=time \
			-ne '$| = 1; printf "%.3f %s", time(), $_
				if /EventMemberFailed: '"n$victim"'\b/' \
			>"$WORK/mon.$o") &
		MONS+=($!)
	done
	sleep 1	# monitors registered before the kill
}

# Kill the victim; append "first all" (seconds until the first and the
# last observer saw it failed; "-" when one did not within DETECT_MAX) to
# $WORK/det. Not in $(): the monitors' PIDs must stay in this shell.
detect() {
	local victim=$1 t0 end o got m
	shift
	start_monitors "$victim" "$@"
	t0=$(perl -MTime::HiRes=time -e 'printf "%.3f", time()')
	kill -9 "${PIDS[$victim]}"
	end=$((SECONDS + DETECT_MAX))
	while [ $SECONDS -lt $end ]; do
		got=0
		for o in "$@"; do
			awk -v t0="$t0" '$1 >= t0 { f = 1 } END { exit !f }' \
				"$WORK/mon.$o" 2>/dev/null && got=$((got + 1))
		done
		[ $got -eq $# ] && break
		sleep 0.2
	done
	# a line stamped before the kill is a flap (a false suspicion that
	# was refuted), not this detection: the first one after counts
	for o in "$@"; do
		awk -v t0="$t0" '$1 >= t0 { print $1; exit }' \
			"$WORK/mon.$o" 2>/dev/null
	done | awk -v t0="$t0" -v want=$# '
		{ d = $1 - t0; n++; if (n == 1 || d < lo) lo = d; if (d > hi) hi = d }
		END { if (n == 0) print "- -"; else if (n < want)
			printf "%.1f -\n", lo
		      else printf "%.1f %.1f\n", lo, hi }' >>"$WORK/det"
	for m in "${MONS[@]}"; do kill -9 "$m" 2>/dev/null; wait "$m" 2>/dev/null; done
	MONS=()
	rm -f "$WORK"/mon.*
}

# KILLS victims, one after the other, from the top, never an observer:
# "first all" medians in $WORK/det.med, each kill logged on stderr.
detect_all() {
	local n=$1 v=$(($1 - 1)) k=0
	shift
	: >"$WORK/det"
	while [ $k -lt "$KILLS" ] && [ $v -gt 0 ]; do
		case " $* " in *" $v "*) v=$((v - 1)); continue ;; esac
		detect "$v" "$@"
		echo "bench-idle:   kill n$v -> failed: $(tail -1 "$WORK/det")" >&2
		k=$((k + 1))
		v=$((v - 1))
		sleep 2
	done
	awk '{ f[NR] = $1; a[NR] = $2 } END {
		for (i = 1; i <= NR; i++) for (j = i + 1; j <= NR; j++) {
			if (f[j] + 0 < f[i] + 0) { t = f[i]; f[i] = f[j]; f[j] = t }
			if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t } }
		m = int((NR + 1) / 2); print (NR ? f[m] " " a[m] : "- -") }' \
		"$WORK/det" >"$WORK/det.med"
}

# One run: impl $1, size $2, ports shifted by $3. Prints "impl n load mean lo hi tmean tlo
# thi first all" (load: the 1-minute load average at the start) and
# leaves each kill's "first all" in $WORK/kills.<impl>.<n>.
# serf and gossipd use port ranges 4000 apart (no TIME_WAIT overlap).
run_one() {
	local impl=$1 n=$2 i obs cpu load
	local BASE=$((BASE0 + $3))
	[ "$impl" = gossipd ] && BASE=$((BASE + 4000))
	obs=(0 $((n / 4)) $((n / 2)) $((3 * n / 4)) $((n - 2)))
	if ! ports_free "$n"; then
		echo "bench-idle: ports $BASE..$((BASE + 1000 + n)) busy" >&2
		return 1
	fi
	load=$(cut -d' ' -f1 /proc/loadavg)
	for i in $(seq 0 $((n - 1))); do
		start_node "$impl" "$i"
		[ "$i" -eq 0 ] && sleep 1
		[ $((i % 10)) -eq 9 ] && sleep 0.5
	done
	if ! converge "$n" "${obs[@]}"; then
		echo "bench-idle: $impl x $n did not converge" >&2
		stop_all
		return 1
	fi
	sleep "$SETTLE"
	cpu=$(idle_cpu)
	detect_all "$n" "${obs[@]}"
	stop_all
	cp "$WORK/det" "$WORK/kills.$impl.$n"
	echo "$impl $n $load $cpu $(cat "$WORK/det.med")"
}

# Start impl $1's n $2 agents on BASE into PIDS; converge. @retval 0 ok.
start_cluster() {
	local i
	for i in $(seq 0 $(($2 - 1))); do
		start_node "$1" "$i"
		[ "$i" -eq 0 ] && sleep 1
		[ $((i % 10)) -eq 9 ] && sleep 0.5
	done
	converge "$2" "${OBS[@]}" && return 0
	echo "bench-idle: $1 x $2 did not converge" >&2
	return 1
}

# -S: both clusters of size $1 (ports shifted by $2) up at once, idle
# CPU of both over the same window (the same load for both: on a shared
# machine the only fair ratio), then each one's kills while the other
# idles. Prints both result lines (run_one's format).
run_both() {
	local n=$1 sb=$((BASE0 + $2)) gb=$((BASE0 + $2 + 4000)) load impl
	local BASE
	local -a sp
	OBS=(0 $((n / 4)) $((n / 2)) $((3 * n / 4)) $((n - 2)))
	for BASE in $sb $gb; do
		ports_free "$n" && continue
		echo "bench-idle: ports $BASE..$((BASE + 1000 + n)) busy" >&2
		return 1
	done
	load=$(cut -d' ' -f1 /proc/loadavg)
	BASE=$sb
	start_cluster serf "$n" || { stop_all; return 1; }
	sp=("${PIDS[@]}")
	OTHER=("${sp[@]}")
	PIDS=()
	BASE=$gb
	start_cluster gossipd "$n" || { PIDS+=("${sp[@]}"); OTHER=(); stop_all; return 1; }
	OTHER=("${PIDS[@]}")
	PIDS=("${sp[@]}" "${PIDS[@]}")
	sleep "$SETTLE"
	idle_cpu "$n"
	PIDS=("${sp[@]}")
	BASE=$sb
	for impl in serf gossipd; do
		[ $impl = gossipd ] && { BASE=$gb; sp=("${PIDS[@]}")
			PIDS=("${OTHER[@]}"); OTHER=("${sp[@]}"); }
		detect_all "$n" "${OBS[@]}"
		cp "$WORK/det" "$WORK/kills.$impl.$n"
		echo "$impl $n $load $(cat "$WORK/cpu.$impl") $(cat "$WORK/det.med")"
	done
	PIDS+=("${OTHER[@]}")
	OTHER=()
	stop_all
}

: >"$WORK/results"
for n in $SIZES; do
	if [ "$BOTH" -eq 1 ]; then
		echo "bench-idle: serf and gossipd x $n at once ..." >&2
		for shift in 0 2000 4000; do
			run_both "$n" "$shift" >>"$WORK/results" && break
			sleep 2
		done
		sleep 2
		continue
	fi
	for impl in $IMPLS; do
		echo "bench-idle: $impl x $n ..." >&2
		# tests of others take ports anywhere: 2 more tries, elsewhere
		for shift in 0 2000 4000; do
			run_one "$impl" "$n" "$shift" >>"$WORK/results" && break
			sleep 2
		done
		sleep 2
	done
done

echo
echo "bench-idle: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg), window ${WINDOW}s"
echo
echo "| N nodes | idle CPU per node, serf agent | idle CPU per node, gossipd |" \
	"kill -> failed, first / all 5 sampled observers: serf | gossipd |"
echo "|---|---:|---:|---:|---:|"
for n in $SIZES; do
	awk -v n="$n" '
		function cpu(i) { return sprintf("%.3f %% (%.3f-%.3f)", m[i], l[i], h[i]) }
		function det(i) { return f[i] == "-" ? "-" : f[i] " s / " a[i] " s" }
		$2 == n { m[$1] = $4; l[$1] = $5; h[$1] = $6; f[$1] = $10; a[$1] = $11 }
		END { printf "| %d | %s | %s | %s | %s |\n", n,
			("serf" in m) ? cpu("serf") : "-",
			("gossipd" in m) ? cpu("gossipd") : "-",
			("serf" in m) ? det("serf") : "-",
			("gossipd" in m) ? det("gossipd") : "-" }' "$WORK/results"
done
echo
echo "(idle CPU: mean per node, (min-max) over nodes, % of one core, from"
echo "schedstat; kill -> failed: medians of $KILLS kills; clusters measured" \
	"$([ "$BOTH" -eq 1 ] && echo "at once, same window" || echo "one after the other"))"
echo
for n in $SIZES; do
	awk -v n="$n" '
		$2 == n { m[$1] = $4; t[$1] = $7; tl[$1] = $8; th[$1] = $9
			  ld[$1] = $3 }
		END { for (i in m)
			printf "%s x %d: load %s; schedstat %.4f %%, ticks %.3f %% (%.2f-%.2f)\n",
				i, n, ld[i], m[i], t[i], tl[i], th[i]
		      if (!("serf" in m) || !("gossipd" in m) || m["gossipd"] <= 0)
			exit
		      tr = "-"
		      if (t["gossipd"] > 0)
			tr = sprintf("%.1fx", t["serf"] / t["gossipd"])
		      printf "%d nodes: serf / gossipd = %.1fx (schedstat), %s (ticks)\n",
			n, m["serf"] / m["gossipd"], tr }' \
		"$WORK/results"
	for impl in $IMPLS; do
		[ -f "$WORK/kills.$impl.$n" ] || continue
		echo "$impl x $n kills (first/all, s):" \
			"$(awk '{ printf "%s%s/%s", (NR > 1 ? ", " : ""), $1, $2 }' \
				"$WORK/kills.$impl.$n")"
	done
done

# --- -d: the DPDK lcore, --dp-power off / backoff / interrupt ---

# CPU % of one core of pid's thread named like an EAL worker, over $2 s.
lcore_cpu() {
	local pid=$1 w=$2 t a b
	t=$(grep -l 'worker' /proc/"$pid"/task/*/comm 2>/dev/null | head -1)
	t=${t%/comm}
	[ -n "$t" ] || { echo "-"; return; }
	a=$(sed 's/^.*) //' "$t/stat" | awk '{ print $12 + $13 }')
	sleep "$w"
	b=$(sed 's/^.*) //' "$t/stat" | awk '{ print $12 + $13 }')
	awk -v d=$((b - a)) -v hz="$HZ" -v w="$w" 'BEGIN { printf "%.1f", d * 100 / hz / w }'
}

# One gossipd dpdk in the netns; $1 power, $2 vdev. Sets GPID.
start_dpdk() {
	local eal="--lcores=0@0,1@0 $Q --file-prefix=gdidle$$-$1-$3 --vdev=$2"
	ip netns exec "$NS" "$GOSSIPD" --name idle-node \
		--bind 198.18.0.1:7946 --rpc-addr "127.0.0.1:$((BASE + 3000))" \
		--dataplane dpdk --dp-power "$1" --eal "$eal" \
		>"$WORK/gd-$1-$3.log" 2>&1 &  # --no-pci via $Q
	GPID=$!
	PIDS+=("$GPID")
}

# memif, power $1: R_ACKS acks/s, R_CPU idle lcore CPU %. (No $(): the
# PIDs started must stay in this shell for the trap.)
dpdk_memif() {
	local sock=$WORK/memif-$1.sock
	start_dpdk "$1" "net_memif0,role=server,socket=$sock,socket-abstract=no" memif
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
	ip netns exec "$NS" "$PG" -l 1 $Q --file-prefix=gdidlepg$$-$1 \
		--vdev=net_memif0,role=client,socket="$sock",socket-abstract=no \
		-- --name idle-node --dst 198.18.0.1:7946 --src 198.18.0.9:7947 \
		--window 256 --duration 3 --warmup-ms 500 --linger-ms 20000 \
		>"$WORK/pg-$1.log" 2>&1 &  # --no-pci via $Q
	PIDS+=($!)
	for _ in $(seq 150); do
		grep -q '^acks' "$WORK/pg-$1.log" && break
		sleep 0.1
	done
	R_ACKS=$(awk '/^acks/ { print $6 }' "$WORK/pg-$1.log")
	sleep 1		# the generator is connected and quiet now
	R_CPU=$(lcore_cpu "$GPID" 5)
	stop_all
}

# net_ring with nothing attached, power $1: R_RING idle lcore CPU %.
dpdk_ring() {
	start_dpdk "$1" "net_ring0" ring
	sleep 3
	R_RING=$(lcore_cpu "$GPID" 5)
	stop_all
}

if [ "$DPDK" -eq 1 ]; then
	PG=$BUILD/tools/dpdk-pinggen
	Q="--no-pci --no-huge -m 256 --no-shconf --no-telemetry --log-level=lib.eal:error"
	[ -x "$PG" ] || { echo "bench-idle: no $PG" >&2; exit 2; }
	NS=gd-idle-$$
	ip netns add "$NS" && ip -n "$NS" link set lo up &&
		ip -n "$NS" addr add 198.18.0.1/32 dev lo ||
		{ echo "bench-idle: cannot make netns $NS" >&2; exit 2; }
	echo
	echo "| --dp-power | memif acks/s (pinggen, window 256) | idle lcore CPU, memif peer attached | idle lcore CPU, net_ring |"
	echo "|---|---:|---:|---:|"
	for pw in off backoff interrupt; do
		echo "bench-idle: dpdk --dp-power $pw ..." >&2
		dpdk_memif "$pw"
		dpdk_ring "$pw"
		echo "| $pw | ${R_ACKS:--} | $R_CPU % | $R_RING % |"
	done
	echo
	echo "(lcore CPU: the EAL worker thread's utime+stime over 5 s, % of one core)"
fi
