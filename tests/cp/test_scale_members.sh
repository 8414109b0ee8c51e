#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# gossipd with 10^5 members (owner: scale-sync): it joins a seed that
# streams 100,000 members (pp_seed), then the real serf CLI lists them all
# through gossipd's streamed members reply, and gossipctl counts and
# summarises them. Loopback only; every process is killed by PID on exit.
#
# usage: test_scale_members.sh gossipd gossipctl pp_seed [N]
# Exit 77 (skipped) without serf.
set -u
GOSSIPD=${1:?usage: $0 gossipd gossipctl pp_seed [N]}
CTL=${2:?}
SEED=${3:?}
N=${4:-100000}
command -v serf >/dev/null 2>&1 || { echo "serf not installed: skip"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "python3 missing: skip"; exit 77; }

. "$(dirname "$0")/tap_lib.sh"

"$SEED" "$N" 150 > "$TMP/seed.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do [ -s "$TMP/seed.out" ] && break; sleep 0.1; done
SP=$(head -n1 "$TMP/seed.out")
[ -n "$SP" ] || { echo "seed did not start"; exit 1; }
GG=$(free_port); GR=$(free_port)
GRPC=127.0.0.1:$GR
"$GOSSIPD" --name g1 --bind 127.0.0.1:"$GG" --rpc-addr "$GRPC" \
	--join 127.0.0.1:"$SP" > "$TMP/gossipd.log" 2>&1 &
PIDS+=($!)

WANT=$((N + 2))	# the pool, the seed, gossipd
got=0
for _ in $(seq 1 600); do
	got=$(timeout 20 "$CTL" --rpc-addr "$GRPC" members --count 2>/dev/null)
	[ "${got:-0}" -ge "$WANT" ] 2>/dev/null && break
	sleep 0.1
done
if [ "${got:-0}" -eq "$WANT" ]; then
	ok "gossipctl members --count: $got after the join"
else
	fail "gossipctl members --count: ${got:-none}, want $WANT"
	tail -5 "$TMP/gossipd.log"
fi

t0=$(date +%s.%N)
lines=$(timeout 60 serf members -rpc-addr="$GRPC" | wc -l)
t1=$(date +%s.%N)
if [ "$lines" -eq "$WANT" ]; then
	ok "serf members lists $lines members ($(python3 -c "print(round($t1-$t0,2))") s)"
else
	fail "serf members: $lines lines, want $WANT"
fi
alive=$(timeout 60 serf members -rpc-addr="$GRPC" -status=alive -name='m-000000.' | wc -l)
if [ "$alive" -eq 10 ]; then
	ok "serf members -status=alive -name=m-000000. (members-filtered): 10"
else
	fail "serf members -status=alive -name=m-000000.: $alive, want 10"
fi
sum=$(timeout 60 "$CTL" --rpc-addr "$GRPC" members --summary)
case "$sum" in
"$WANT members: "*) ok "gossipctl members --summary: $sum" ;;
*) fail "gossipctl members --summary: $sum" ;;
esac
n_web=$(timeout 60 "$CTL" --rpc-addr "$GRPC" members --tag role=web --name 'm-.*' --count)
if [ "$n_web" -eq "$N" ]; then
	ok "gossipctl members --tag role=web --name m-.* --count: $n_web"
else
	fail "gossipctl members --tag role=web --count: $n_web, want $N"
fi
# A second gossipd joins g1: g1's reply streams the pool and its Serf
# user state (N + 2 status entries), which g2 merges in slices of 16,384
# entries over several loop passes (cp_sync_serf.c). Members g1 already
# holds as suspect or dead do not become members of g2 (memberlist's
# mergeState ignores those for unknown nodes), hence "at least N - 100".
G2G=$(free_port); G2R=$(free_port)
"$GOSSIPD" --name g2 --bind 127.0.0.1:"$G2G" --rpc-addr 127.0.0.1:"$G2R" \
	--join 127.0.0.1:"$GG" > "$TMP/g2.log" 2>&1 &
PIDS+=($!)
got2=0
for _ in $(seq 1 300); do
	got2=$(timeout 20 "$CTL" --rpc-addr 127.0.0.1:"$G2R" info 2>/dev/null |
	       awk '$1 == "members" {print $3}')
	[ "${got2:-0}" -ge $((N - 100)) ] 2>/dev/null && break
	sleep 0.1
done
sleep 1	# the last slices
if [ "${got2:-0}" -ge $((N - 100)) ] &&
   ! grep -q "Failed to merge remote" "$TMP/g2.log"; then
	ok "g2 joined g1: $got2 members, the Serf state merged in slices"
else
	fail "g2: ${got2:-none} members, want >= $((N - 100))"
	grep "Failed to merge" "$TMP/g2.log" | head -3
fi
tap_done
