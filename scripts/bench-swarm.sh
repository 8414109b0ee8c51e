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
# Usage: scripts/bench-swarm.sh [build-dir]
#        (env: SIZES, STAY, FAILS, JOIN_MAX, STRESS, STRESS_N, STRESS_S)
set -u

BUILD=${1:-build}
SWARM=${GOSSIP_SWARM:-$BUILD/tools/swarm/gossip-swarm}
SIZES=${SIZES-"10000 100000"}
STAY=${STAY:-60}
FAILS=${FAILS:-100}
JOIN_MAX=${JOIN_MAX:-600}		# s allowed for the join
OUT=${OUT:-$(mktemp -d /tmp/bench-swarm.XXXXXX)}
HZ=$(getconf CLK_TCK)
PIDS=()

command -v serf >/dev/null || { echo "no serf"; exit 77; }
[ -x "$SWARM" ] || { echo "no gossip-swarm at $SWARM"; exit 1; }

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

note() { echo "[$(date +%T)] $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

free_ports() {
	python3 - "$1" <<'PY'
import random, socket, sys
want, out = int(sys.argv[1]), []
for p in random.sample(range(20000, 32000), 2000):
    try:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            s.bind(("0.0.0.0", p))
            s.close()
    except OSError:
        continue
    out.append(p)
    if len(out) == want:
        break
print(" ".join(map(str, out)))
PY
}

# count RPC STATUS
count() {
	serf members -rpc-addr="127.0.0.1:$1" -status="$2" 2>/dev/null |
		grep -c .
}
# CPU seconds (utime + stime) and RSS MiB of a PID.
cpu_s() {
	awk -v hz="$HZ" '{ sub(/^.*\) /, ""); split($0, f, " ");
		printf "%.2f", (f[12] + f[13]) / hz }' "/proc/$1/stat" 2>/dev/null
}
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

run_size() {
	local n=$1 pa pb ra rb sp a b t0 tj fail_at ok_stay=1 tf
	read -r pa ra pb rb sp <<<"$(free_ports 5)"
	serf agent -node=bench-a -bind="127.0.0.1:$pa" -rpc-addr="127.0.0.1:$ra" \
		-log-level=warn >"$OUT/serf-a-$n.log" 2>&1 &
	a=$!; PIDS+=($a)
	wait_count 15 "$ra" alive 1 || return 1
	serf agent -node=bench-b -bind="127.0.0.1:$pb" -rpc-addr="127.0.0.1:$rb" \
		-join="127.0.0.1:$pa" -log-level=warn >"$OUT/serf-b-$n.log" 2>&1 &
	b=$!; PIDS+=($b)
	wait_count 15 "$ra" alive 2 || return 1
	# The failures come after the join and the stay-alive window
	# (relative to the swarm's own end of join: N@+T).
	fail_at=$((STAY + 15))
	t0=$(now)
	"$SWARM" --members "$n" --join "127.0.0.1:$pa" --join "127.0.0.1:$pb" \
		--port "$sp" --fail "$FAILS@+$fail_at" \
		--json "$OUT/swarm-$n.json" 2>"$OUT/swarm-$n.log" &
	sp=$!; PIDS+=($sp)
	if ! { wait_count $((JOIN_MAX + fail_at - 5)) "$ra" alive $((n + 2)) &&
		wait_count 30 "$rb" alive $((n + 2)); }; then
		# Keep going: the summary and the odd members tell why.
		for r in "$ra" "$rb"; do
			note "agent $r lists $(serf members -rpc-addr="127.0.0.1:$r" | grep -c .) members"
			serf members -rpc-addr="127.0.0.1:$r" | grep -v ' alive ' |
				head -5 | sed "s/^/  agent $r not alive: /" >&2
		done
	fi
	tj=$(since "$t0")
	note "N=$n: both agents list $((n + 2)) alive after $tj s"
	local c0a c0b c1a c1b
	c0a=$(cpu_s "$a"); c0b=$(cpu_s "$b")
	local end=$(($(date +%s) + STAY))
	while [ "$(date +%s)" -lt "$end" ]; do
		[ "$(count "$ra" alive)" = $((n + 2)) ] &&
			[ "$(count "$rb" alive)" = $((n + 2)) ] || ok_stay=0
		sleep 5
	done
	c1a=$(cpu_s "$a"); c1b=$(cpu_s "$b")
	note "N=$n: stay-alive $STAY s: $([ $ok_stay = 1 ] && echo ok || echo FAILED)"
	wait_count 120 "$ra" failed "$FAILS" &&
		wait_count 30 "$rb" failed "$FAILS"
	tf=$(since "$t0")
	# Real agents listed failed by the other (should be none).
	local real_failed
	real_failed=$(serf members -rpc-addr="127.0.0.1:$ra" -status=failed |
		grep -vc '^swarm-')
	local cpu_a cpu_b rss_a rss_b cpu_sw rss_sw hwm_sw t_leave
	cpu_a=$(cpu_s "$a"); cpu_b=$(cpu_s "$b")
	rss_a=$(hwm_mb "$a"); rss_b=$(hwm_mb "$b")
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
	local left
	left=$(count "$ra" left)
	echo "RESULT N=$n join_all_alive_s=$tj stay_${STAY}s=$([ $ok_stay = 1 ] && echo ok || echo fail)" \
		"failed_listed_at_s=$tf fail_after_join_s=$fail_at real_failed=$real_failed" \
		"leave_s=$t_leave left_after_leave=$left" \
		"serf_a_cpu_s=$cpu_a serf_b_cpu_s=$cpu_b serf_a_peak_rss_mb=$rss_a serf_b_peak_rss_mb=$rss_b" \
		"serf_cpu_pct_while_stable=$(awk -v a0="$c0a" -v a1="$c1a" -v b0="$c0b" -v b1="$c1b" -v s="$STAY" 'BEGIN { printf "%.1f/%.1f", (a1 - a0) * 100 / s, (b1 - b0) * 100 / s }')" \
		"swarm_cpu_s=$cpu_sw swarm_rss_mb=$rss_sw swarm_peak_rss_mb=$hwm_sw" \
		"swarm_rss_per_member_b=$(awk -v r="$rss_sw" -v n="$n" 'BEGIN { printf "%.0f", r * 1048576 / n }')"
	grep -E '"dead_s": \{|lifeguard|false_positives|join_time' \
		"$OUT/swarm-$n.json" | sed "s/^/  N=$n /"
	kill -TERM "$a" "$b" 2>/dev/null
	wait "$a" "$b" 2>/dev/null
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
	run_size "$n" || echo "RESULT N=$n FAILED (logs in $OUT)"
done
if [ "${STRESS:-1}" = 1 ]; then
	run_stress "${STRESS_N:-1000}" "--loss 0.1" loss ||
		echo "RESULT stress=loss FAILED"
	run_stress "${STRESS_N:-1000}" "--probe-rate-mult 100" mult ||
		echo "RESULT stress=mult FAILED"
fi
echo "logs and JSON in $OUT"
