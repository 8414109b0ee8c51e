#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# gossip-swarm against two real `serf agent`s on loopback (issue 10):
#
#   serf A, serf B (joined)  <->  gossip-swarm, N virtual members,
#                                 --join A --join B
#
# For each N in $SIZES (default "10000 100000"):
#   - join time: from the swarm's start until both agents list N + 2 alive;
#   - stay-alive: both keep listing N + 2 alive, nothing failed, for $STAY s;
#   - --fail $FAILS@T (T = after the stay window): when each agent declared
#     each injected failure dead (the swarm's --json: p50/p99/max), next to
#     Lifeguard's prediction and the time both list $FAILS failed;
#   - serf's CPU (utime + stime from /proc, whole run) and peak RSS, the
#     swarm's CPU and RSS, and RSS per virtual member.
# Loopback only; ports below 32768; every process is ours, killed by PID.
# Then (STRESS=1, the default) --loss 0.1 and --probe-rate-mult 100 with
# $STRESS_N (1000) members against one agent for $STRESS_S (60) s.
# Output: one "RESULT ..." line per run (and the JSON kept in $OUT).
# TARGET=gossipd: the same against three gossipd nodes (control/gossipd,
# --rpc-addr each, `serf members` talks to their RPC); TARGET=mixed: two
# serf agents and two gossipd in one pool. The stress runs are serf only.
# Usage: scripts/bench-swarm.sh [build-dir]
#        (env: TARGET, SIZES, STAY, FAILS, JOIN_MAX, STRESS, STRESS_N,
#         STRESS_S, GOSSIPD, GOSSIP_SWARM)
set -u

BUILD=${1:-build}
SWARM=${GOSSIP_SWARM:-$BUILD/tools/swarm/gossip-swarm}
GOSSIPD=${GOSSIPD:-$BUILD/control/gossipd}
TARGET=${TARGET:-serf}			# serf | gossipd | mixed
SIZES=${SIZES-"10000 100000"}
STAY=${STAY:-60}
FAILS=${FAILS:-100}
JOIN_MAX=${JOIN_MAX:-600}		# s allowed for the join
OUT=${OUT:-$(mktemp -d /tmp/bench-swarm.XXXXXX)}
mkdir -p "$OUT"
# shellcheck source=lib/bench-live.sh
. "$(cd "$(dirname "$0")" && pwd)/lib/bench-live.sh"

command -v serf >/dev/null || { echo "no serf"; exit 77; }
case "$TARGET" in
serf) ;;
gossipd | mixed) [ -x "$GOSSIPD" ] || { echo "no gossipd at $GOSSIPD"; exit 1; } ;;
*) echo "TARGET must be serf, gossipd or mixed"; exit 2 ;;
esac
[ -x "$SWARM" ] || { echo "no gossip-swarm at $SWARM"; exit 1; }

trap live_cleanup EXIT
trap 'exit 130' INT TERM

# count RPC STATUS
count() {
	serf members -rpc-addr="127.0.0.1:$1" -status="$2" 2>/dev/null |
		grep -c .
}
# RSS MiB of a PID (cpu_s comes from lib/bench-live.sh).
rss_mb() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
hwm_mb() { awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# wait_count SECONDS RPC STATUS N: until the agent lists N with STATUS.
wait_count() {
	local end=$(($(date +%s) + $1)) c
	while [ "$(date +%s)" -lt "$end" ]; do
		c=$(count "$2" "$3")
		[ "$c" = "$4" ] && return 0
		sleep 2
	done
	note "agent $2 lists $c $3, want $4"
	return 1
}

# start_real KIND NAME PORT RPC [SEED_PORT]: a serf agent or a gossipd.
start_real() {
	local kind=$1 name=$2 port=$3 rpc=$4 seed=${5:-} join=()
	if [ "$kind" = serf ]; then
		[ -n "$seed" ] && join=(-join="127.0.0.1:$seed")
		serf agent -node="$name" -bind="127.0.0.1:$port" \
			-rpc-addr="127.0.0.1:$rpc" "${join[@]}" -log-level=warn \
			>"$OUT/$name.log" 2>&1 &
	else
		[ -n "$seed" ] && join=(--join "127.0.0.1:$seed")
		"$GOSSIPD" --name "$name" --bind "127.0.0.1:$port" \
			--rpc-addr "127.0.0.1:$rpc" "${join[@]}" --log-level warn \
			>"$OUT/$name.log" 2>&1 &
	fi
	LAST_PID=$!; PIDS+=("$LAST_PID")
}

# The real nodes of $TARGET: serf (2 serf agents), gossipd (3 gossipd),
# mixed (2 serf agents + 2 gossipd).
real_kinds() {
	case "$TARGET" in
	serf) echo "serf serf" ;;
	gossipd) echo "gossipd gossipd gossipd" ;;
	mixed) echo "serf serf gossipd gossipd" ;;
	esac
}

# all_count STATUS N [SECONDS]: every real node lists N with STATUS.
all_count() {
	local r ok=0
	for r in "${RPCS[@]}"; do
		wait_count "${3:-30}" "$r" "$1" "$2" || ok=1
	done
	return $ok
}

run_size() {
	local n=$1 kinds nr i k sp t0 tj fail_at ok_stay=1 tf tag
	kinds=($(real_kinds)); nr=${#kinds[@]}; tag="$TARGET-$n"
	local ports=($(free_ports $((2 * nr + 1))))
	NODES=(); RPCS=(); GPORTS=(); local rpids=()
	for ((i = 0; i < nr; i++)); do
		k=${kinds[$i]}
		start_real "$k" "bench-$k-$i-$n" "${ports[$((2 * i))]}" \
			"${ports[$((2 * i + 1))]}" \
			"$([ "$i" -gt 0 ] && echo "${ports[0]}")"
		rpids+=("$LAST_PID"); RPCS+=("${ports[$((2 * i + 1))]}")
		GPORTS+=("${ports[$((2 * i))]}")
		wait_count 15 "${RPCS[0]}" alive $((i + 1)) || return 1
	done
	sp=${ports[$((2 * nr))]}
	# The failures come after the join and the stay-alive window
	# (relative to the swarm's own end of join: N@+T).
	fail_at=$((STAY + 15))
	local joins=()
	for i in "${GPORTS[@]}"; do joins+=(--join "127.0.0.1:$i"); done
	t0=$(now)
	"$SWARM" --members "$n" "${joins[@]}" \
		--port "$sp" --fail "$FAILS@+$fail_at" \
		--json "$OUT/swarm-$tag.json" 2>"$OUT/swarm-$tag.log" &
	sp=$!; PIDS+=($sp)
	if ! all_count alive $((n + nr)) $((JOIN_MAX + fail_at - 5)); then
		# Keep going: the summary and the odd members tell why.
		for r in "${RPCS[@]}"; do
			note "node $r lists $(serf members -rpc-addr="127.0.0.1:$r" | grep -c .) members"
			serf members -rpc-addr="127.0.0.1:$r" | grep -v ' alive ' |
				head -5 | sed "s/^/  node $r not alive: /" >&2
		done
	fi
	tj=$(since "$t0")
	note "$tag: all $nr real nodes list $((n + nr)) alive after $tj s"
	local c0=() c1=() stay_counts=""
	for i in "${rpids[@]}"; do c0+=("$(cpu_s "$i")"); done
	local end=$(($(date +%s) + STAY)) r c
	while [ "$(date +%s)" -lt "$end" ]; do
		for r in "${RPCS[@]}"; do
			c=$(count "$r" alive)
			[ "$c" = $((n + nr)) ] || { ok_stay=0; stay_counts+=" $r:$c"; }
		done
		sleep 5
	done
	for i in "${rpids[@]}"; do c1+=("$(cpu_s "$i")"); done
	note "$tag: stay-alive $STAY s: $([ $ok_stay = 1 ] && echo ok || echo "FAILED (rpc:alive$stay_counts)")"
	all_count failed "$FAILS" 120
	tf=$(since "$t0")
	# Real nodes listed failed by the first (should be none).
	local real_failed
	real_failed=$(serf members -rpc-addr="127.0.0.1:${RPCS[0]}" -status=failed |
		grep -vc '^swarm-')
	local cpu_r="" rss_r="" pct_r="" cpu_sw rss_sw hwm_sw t_leave
	for ((i = 0; i < nr; i++)); do
		cpu_r+="${cpu_r:+/}$(cpu_s "${rpids[$i]}")"
		rss_r+="${rss_r:+/}$(hwm_mb "${rpids[$i]}")"
		pct_r+="${pct_r:+/}$(awk -v a="${c0[$i]}" -v b="${c1[$i]}" -v s="$STAY" 'BEGIN { printf "%.1f", (b - a) * 100 / s }')"
	done
	cpu_sw=$(cpu_s "$sp"); rss_sw=$(rss_mb "$sp"); hwm_sw=$(hwm_mb "$sp")
	# Two leave passes at the default 2000 members/s, plus slack.
	t_leave=$(now)
	kill -TERM "$sp"
	for _ in $(seq $((n / 500 + 60))); do
		kill -0 "$sp" 2>/dev/null || break
		sleep 0.5
	done
	wait "$sp" 2>/dev/null
	t_leave=$(since "$t_leave")
	sleep 3
	local left=""
	for r in "${RPCS[@]}"; do left+="${left:+/}$(count "$r" left)"; done
	echo "RESULT target=$TARGET nodes=$(IFS=,; echo "${kinds[*]}") N=$n join_all_alive_s=$tj stay_${STAY}s=$([ $ok_stay = 1 ] && echo ok || echo fail)" \
		"failed_listed_at_s=$tf fail_after_join_s=$fail_at real_failed=$real_failed" \
		"leave_s=$t_leave left_after_leave=$left" \
		"real_cpu_s=$cpu_r real_peak_rss_mb=$rss_r" \
		"real_cpu_pct_while_stable=$pct_r" \
		"swarm_cpu_s=$cpu_sw swarm_rss_mb=$rss_sw swarm_peak_rss_mb=$hwm_sw" \
		"swarm_rss_per_member_b=$(awk -v r="$rss_sw" -v n="$n" 'BEGIN { printf "%.0f", r * 1048576 / n }')" \
		"loadavg=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' /)"
	grep -E '"dead_s": \{|lifeguard|false_positives|join_time' \
		"$OUT/swarm-$tag.json" | sed "s/^/  $tag /"
	kill -TERM "${rpids[@]}" 2>/dev/null
	wait "${rpids[@]}" 2>/dev/null
	return 0
}

# Loss and stress against one agent: --loss 0.1 (the swarm drops a tenth
# of what it receives) and --probe-rate-mult 100; false positives on both
# sides: serf's (suspect/dead about healthy virtual members, from the
# swarm's summary; failed members in serf) and the swarm's (its probes of
# serf that failed).
run_stress() {
	local n=$1 flags=$2 tag=$3 pa ra sp a c0 c1 failed
	read -r pa ra sp <<<"$(free_ports 3)"
	serf agent -node=stress -bind="127.0.0.1:$pa" -rpc-addr="127.0.0.1:$ra" \
		-log-level=warn >"$OUT/serf-$tag.log" 2>&1 &
	a=$!; PIDS+=($a)
	wait_count 15 "$ra" alive 1 || return 1
	# shellcheck disable=SC2086
	"$SWARM" --members "$n" --join "127.0.0.1:$pa" --port "$sp" $flags \
		--duration "$STRESS_S" --no-leave --json "$OUT/swarm-$tag.json" \
		2>"$OUT/swarm-$tag.log" &
	sp=$!; PIDS+=($sp)
	wait_count 60 "$ra" alive $((n + 1)) || return 1
	c0=$(cpu_s "$a")
	wait "$sp" 2>/dev/null
	c1=$(cpu_s "$a")
	failed=$(count "$ra" failed)
	echo "RESULT stress=$tag N=$n flags='$flags' serf_failed=$failed" \
		"serf_cpu_pct=$(awk -v a="$c0" -v b="$c1" -v s="$STRESS_S" 'BEGIN { printf "%.1f", (b - a) * 100 / s }')" \
		"$(grep -o '"false_positives": {[^}]*}' "$OUT/swarm-$tag.json")" \
		"$(grep -o '"probe_failures": [0-9]*' "$OUT/swarm-$tag.json")" \
		"$(grep -o '"acks_in_per_s": [0-9.]*' "$OUT/swarm-$tag.json")"
	kill -TERM "$a" 2>/dev/null
	wait "$a" 2>/dev/null
	return 0
}

STRESS_S=${STRESS_S:-60}
for n in $SIZES; do
	run_size "$n" || echo "RESULT target=$TARGET N=$n FAILED (logs in $OUT)"
done
if [ "${STRESS:-$([ "$TARGET" = serf ] && echo 1 || echo 0)}" = 1 ]; then
	run_stress "${STRESS_N:-1000}" "--loss 0.1" loss ||
		echo "RESULT stress=loss FAILED"
	run_stress "${STRESS_N:-1000}" "--probe-rate-mult 100" mult ||
		echo "RESULT stress=mult FAILED"
fi
echo "logs and JSON in $OUT"
