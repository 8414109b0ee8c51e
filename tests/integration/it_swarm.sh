#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# gossip-swarm against one real `serf agent`, loopback only:
#
#   serf agent (127.0.0.1)  <->  gossip-swarm, 1,000 virtual members
#                                (127.64.0.1 .. 127.64.3.232, one port)
#
# Checks: serf lists 1,001 alive after the join; `serf join` of a
# virtual address does a push/pull with it; still 1,001 alive and
# nothing failed for 20 s (no false positives: pings, probes, gossip and
# push/pull all work); `--fail 10@25` shows exactly 10 failed in serf
# (detected through the swarm's Lifeguard-timed gossip); SIGTERM makes the
# other 990 leave gracefully: serf shows them `left`; the --json summary
# records 10 failures declared dead by serf; a `serf query` is acked by
# the 990 live virtual members. Bounded to about 90 s; every
# process is ours and killed by PID in a trap. Exit 77 = skipped.
# Usage: GOSSIP_SWARM=build/tools/swarm/gossip-swarm tests/integration/it_swarm.sh
set -u

SWARM=${GOSSIP_SWARM:-${1:-build/tools/swarm/gossip-swarm}}
IT_POLL=0.5	# it_lib.sh's wait_for: `serf members` lists 1,001 here
. "$(dirname "$0")/it_lib.sh"
T0=$(date +%s)
note() { echo "[$(date +%T) +$(($(date +%s) - T0))s] $*"; }
# Checks here stop at the first failure (it_lib.sh's die).
ok() { NB_CHECKS=$((NB_CHECKS + 1)); note "ok: $*"; }

command -v "$SERF" >/dev/null || skip "no serf agent"
command -v python3 >/dev/null || skip "no python3 (free ports)"
[ -x "$SWARM" ] || skip "no gossip-swarm at $SWARM"
it_init it-swarm

# count STATUS: members serf lists with that status.
count() {
	# serf prints an empty line when nothing matches: count non-empty.
	"$SERF" members -rpc-addr="127.0.0.1:$RPC" -status="$1" 2>/dev/null |
		grep -c .
}

read -r SERF_PORT RPC SWARM_PORT <<<"$(free_ports 3)"
[ -n "$SWARM_PORT" ] || skip "no free ports"
note "serf 127.0.0.1:$SERF_PORT rpc $RPC, swarm port $SWARM_PORT"

serf_start it-real "$SERF_PORT" "$RPC" -log-level=warn
wait_for 10 '[ "$(count alive)" = 1 ]' || die "serf agent did not start"

"$SWARM" --members 1000 --join "127.0.0.1:$SERF_PORT" --port "$SWARM_PORT" \
	--fail 10@25 --json "$LOG/swarm.json" 2>"$LOG/swarm.log" &
SWARM_PID=$!
PIDS+=($SWARM_PID)

wait_for 15 '[ "$(count alive)" = 1001 ]' ||
	die "serf lists $(count alive) alive, want 1001"
ok "serf lists 1001 alive"

# serf pushes and pulls with a virtual member (what its periodic sync and
# reconnects do); an address with no member behind it refuses.
"$SERF" join -rpc-addr="127.0.0.1:$RPC" "127.64.0.100:$SWARM_PORT" \
	>"$LOG/join.out" 2>&1 || die "serf join of a virtual member failed"
"$SERF" join -rpc-addr="127.0.0.1:$RPC" "127.64.9.1:$SWARM_PORT" \
	>>"$LOG/join.out" 2>&1 && die "serf joined through a non-member"
ok "push/pull with a virtual member; none at a non-member address"

for i in $(seq 1 10); do
	sleep 2
	a=$(count alive)
	f=$(count failed)
	[ "$a" = 1001 ] && [ "$f" = 0 ] ||
		die "after $((2 * i)) s: $a alive, $f failed (want 1001, 0)"
done
ok "still 1001 alive, 0 failed after 20 s"

# Injected at 25 s; Lifeguard at n = 1001 needs about 2 + 12 s.
wait_for 40 '[ "$(count failed)" = 10 ]' ||
	die "serf lists $(count failed) failed, want 10"
[ "$(count alive)" = 991 ] || die "$(count alive) alive, want 991"
ok "serf lists the 10 injected failures as failed, 991 alive"

# Every live virtual member acks a query, as an agent without handlers
# does (serf sends it once its gossip queue, full of the 1,000 joins,
# lets it through: hence the long timeout).
acks=$("$SERF" query -rpc-addr="127.0.0.1:$RPC" -timeout=15s it-swarm \
	2>/dev/null | awk '/Total Acks/ { print $3 }')
[ "$acks" = 991 ] || die "serf query: $acks acks, want 991"
ok "serf query: 991 acks (990 virtual members and serf)"

kill -TERM "$SWARM_PID"
wait_for 20 '! kill -0 $SWARM_PID 2>/dev/null' || die "swarm did not exit"
wait "$SWARM_PID"
rc=$?
[ "$rc" = 0 ] || die "gossip-swarm exit $rc"
wait_for 10 '[ "$(count left)" = 990 ]' ||
	die "serf lists $(count left) left, want 990"
[ "$(count failed)" = 10 ] && [ "$(count alive)" = 1 ] ||
	die "after leave: $(count failed) failed, $(count alive) alive"
ok "graceful leave: 990 left, 10 failed, serf alone alive"

grep -q '"pairs_declared_dead": 10' "$LOG/swarm.json" ||
	die "summary: $(grep pairs "$LOG/swarm.json")"
grep -q '"false_positives": {"suspect": 0, "dead": 0' "$LOG/swarm.json" ||
	die "summary: $(grep false_pos "$LOG/swarm.json")"
ok "summary: 10 failures declared dead by serf, no false positives"
grep -E '"dead_s"|lifeguard' "$LOG/swarm.json" | head -2
it_finish
