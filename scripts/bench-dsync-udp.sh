#!/usr/bin/env bash
# Idle cost of delta sync's HELLO over UDP (docs/delta-sync.md §4a), A/B
# in one window: two gossipd clusters of N nodes on 127.0.0.1 at once,
# one built from this tree (new: UDP HELLO) and one from an older build
# (old: a TCP connection per exchange), each joining its own node 0.
# After both converged and SETTLE s more, over WINDOW s: CPU per node
# from /proc/PID/task/*/schedstat (ns on CPU, every thread), and the TCP
# connections each cluster accepted (gossipctl info tcp_accepted, summed)
# and its UDP HELLOs, per node and minute; the load average at the start
# and end of the window.
#
# Usage: scripts/bench-dsync-udp.sh -o OLD_GOSSIPD [-b BUILD] [-n N]
#        [-w WINDOW_S] [-p BASE_PORT] [-r ROUNDS]
#   OLD_GOSSIPD: e.g. a build of the commit before (git archive REV |
#   tar -x -C DIR; meson setup DIR/build; ninja -C DIR/build
#   control/gossipd). ROUNDS windows in a row (default 1), each printed.
# Everything started is killed by PID (trap); traffic stays on loopback.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
BUILD=$ROOT/build
N=30
WINDOW=60
BASE=21000
ROUNDS=1
OLD=""
SETTLE=${SETTLE:-30}
while getopts "o:b:n:w:p:r:" o; do
	case $o in
	o) OLD=$OPTARG ;;
	b) BUILD=$OPTARG ;;
	n) N=$OPTARG ;;
	w) WINDOW=$OPTARG ;;
	p) BASE=$OPTARG ;;
	r) ROUNDS=$OPTARG ;;
	*) echo "usage: $0 -o old_gossipd [-b build] [-n N] [-w s] [-p port]" \
		"[-r rounds]" >&2; exit 2 ;;
	esac
done
NEW=$BUILD/control/gossipd
CTL=$BUILD/control/gossipctl
for x in "$NEW" "$CTL" "$OLD"; do
	[ -x "$x" ] || { echo "bench-dsync-udp: no $x" >&2; exit 2; }
done
OUT=$(mktemp -d /tmp/bench-dsync-udp.XXXXXX)
PIDS=()
cleanup() {
	[ ${#PIDS[@]} -gt 0 ] && kill "${PIDS[@]}" 2>/dev/null
	sleep 1
	[ ${#PIDS[@]} -gt 0 ] && kill -KILL "${PIDS[@]}" 2>/dev/null
	wait 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start KIND BIN PORT0: N nodes, gossip PORT0+i, RPC PORT0+500+i
start() {
	local kind=$1 bin=$2 p0=$3 i join=()
	for ((i = 0; i < N; i++)); do
		[ "$i" -gt 0 ] && join=(--join "127.0.0.1:$p0")
		"$bin" --name "$kind$i" --bind "127.0.0.1:$((p0 + i))" \
			--rpc-addr "127.0.0.1:$((p0 + 500 + i))" \
			--log-level warn "${join[@]}" \
			>"$OUT/$kind$i.log" 2>&1 &
		PIDS+=($!)
		eval "PID_${kind}_$i=$!"
		[ "$i" -eq 0 ] && sleep 1
	done
}

# members KIND: how many alive members node 0 of KIND lists
members() {
	"$CTL" --rpc-addr "127.0.0.1:$(($2 + 500))" members --status alive \
		--count 2>/dev/null || echo 0
}

# cpu_ns PID: ns on CPU of every thread
cpu_ns() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null |
		awk '{ s += $1 } END { print s + 0 }'
}

# sum_info KIND P0 KEY: KEY of gossipctl info summed over the nodes
sum_info() {
	local i s=0 v
	for ((i = 0; i < N; i++)); do
		v=$("$CTL" --rpc-addr "127.0.0.1:$(($2 + 500 + i))" info \
			2>/dev/null | awk -v k="$3" '$1 == k { print $3 }')
		s=$((s + ${v:-0}))
	done
	echo "$s"
}

# cluster_ns KIND: CPU ns of its N nodes, summed
cluster_ns() {
	local i s=0 p
	for ((i = 0; i < N; i++)); do
		p=$(eval echo "\$PID_${1}_$i")
		s=$((s + $(cpu_ns "$p")))
	done
	echo "$s"
}

P_NEW=$BASE
P_OLD=$((BASE + 1000))
start new "$NEW" "$P_NEW"
start old "$OLD" "$P_OLD"
for _ in $(seq 180); do
	a=$(members new "$P_NEW"); b=$(members old "$P_OLD")
	[ "$a" = "$N" ] && [ "$b" = "$N" ] && break
	sleep 1
done
echo "converged: new $a/$N old $b/$N; settle ${SETTLE}s"
sleep "$SETTLE"
printf '%-5s %10s %10s %12s %12s  %s\n' round cluster ms/s/node \
	tcp/min/node udp_hello/min load | tee "$OUT/table.txt"
for ((r = 1; r <= ROUNDS; r++)); do
	l0=$(cut -d' ' -f1 /proc/loadavg)
	cn0=$(cluster_ns new); co0=$(cluster_ns old)
	tn0=$(sum_info new "$P_NEW" tcp_accepted)
	to0=$(sum_info old "$P_OLD" tcp_accepted)
	un0=$(sum_info new "$P_NEW" sync_udp_hellos)
	t0=$(date +%s.%N)
	sleep "$WINDOW"
	t1=$(date +%s.%N)
	cn1=$(cluster_ns new); co1=$(cluster_ns old)
	tn1=$(sum_info new "$P_NEW" tcp_accepted)
	to1=$(sum_info old "$P_OLD" tcp_accepted)
	un1=$(sum_info new "$P_NEW" sync_udp_hellos)
	l1=$(cut -d' ' -f1 /proc/loadavg)
	awk -v r="$r" -v n="$N" -v t0="$t0" -v t1="$t1" \
	    -v cn=$((cn1 - cn0)) -v co=$((co1 - co0)) \
	    -v tn=$((tn1 - tn0)) -v to=$((to1 - to0)) -v un=$((un1 - un0)) \
	    -v l="$l0-$l1" 'BEGIN {
		w = t1 - t0
		printf "%-5d %10s %10.3f %12.2f %12.2f  %s\n", r, "new",
			cn / 1e6 / w / n, tn * 60 / w / n, un * 60 / w / n, l
		printf "%-5d %10s %10.3f %12.2f %12s  %s\n", r, "old",
			co / 1e6 / w / n, to * 60 / w / n, "-", l
		printf "%-5d %10s %10.2f\n", r, "old/new", (cn > 0) ? co / cn : 0
	}' | tee -a "$OUT/table.txt"
done
echo "logs and table: $OUT"
