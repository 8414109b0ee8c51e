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
SERF=${SERF:-serf}
LOG=$(mktemp -d /tmp/it-swarm.XXXXXX)
PIDS=()
FAILED=0
T0=$(date +%s)

skip() { echo "SKIP: $*"; exit 77; }
note() { echo "[$(date +%T) +$(($(date +%s) - T0))s] $*"; }

command -v "$SERF" >/dev/null || skip "no serf agent"
command -v python3 >/dev/null || skip "no python3 (free ports)"
[ -x "$SWARM" ] || skip "no gossip-swarm at $SWARM"

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	if [ "$FAILED" = 0 ]; then
		rm -rf "$LOG"
	else
		echo "logs kept in $LOG"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Free ports below 32768 (UDP and TCP), so nothing collides with
# ephemeral ports or with other tests' agents.
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

fail() { note "FAIL: $*"; FAILED=1; exit 1; }
ok() { note "ok: $*"; }

# count STATUS: members serf lists with that status.
count() {
	# serf prints an empty line when nothing matches: count non-empty.
	"$SERF" members -rpc-addr="127.0.0.1:$RPC" -status="$1" 2>/dev/null |
		grep -c .
}

# wait_for SECONDS CMD: poll CMD every 0.5 s.
wait_for() {
	local end=$(($(date +%s) + $1))
	shift
	while [ "$(date +%s)" -lt "$end" ]; do
		eval "$@" && return 0
		sleep 0.5
	done
	return 1
}

read -r SERF_PORT RPC SWARM_PORT <<<"$(free_ports 3)"
[ -n "$SWARM_PORT" ] || skip "no free ports"
note "serf 127.0.0.1:$SERF_PORT rpc $RPC, swarm port $SWARM_PORT"

"$SERF" agent -node=it-real -bind="127.0.0.1:$SERF_PORT" \
	-rpc-addr="127.0.0.1:$RPC" -log-level=warn >"$LOG/serf.log" 2>&1 &
PIDS+=($!)
wait_for 10 '[ "$(count alive)" = 1 ]' || fail "serf agent did not start"

"$SWARM" --members 1000 --join "127.0.0.1:$SERF_PORT" --port "$SWARM_PORT" \
	--fail 10@25 --json "$LOG/swarm.json" 2>"$LOG/swarm.log" &
SWARM_PID=$!
PIDS+=($SWARM_PID)

wait_for 15 '[ "$(count alive)" = 1001 ]' ||
	fail "serf lists $(count alive) alive, want 1001"
ok "serf lists 1001 alive"

# serf pushes and pulls with a virtual member (what its periodic sync and
# reconnects do); an address with no member behind it refuses.
"$SERF" join -rpc-addr="127.0.0.1:$RPC" "127.64.0.100:$SWARM_PORT" \
	>"$LOG/join.out" 2>&1 || fail "serf join of a virtual member failed"
"$SERF" join -rpc-addr="127.0.0.1:$RPC" "127.64.9.1:$SWARM_PORT" \
	>>"$LOG/join.out" 2>&1 && fail "serf joined through a non-member"
ok "push/pull with a virtual member; none at a non-member address"

for i in $(seq 1 10); do
	sleep 2
	a=$(count alive)
	f=$(count failed)
	[ "$a" = 1001 ] && [ "$f" = 0 ] ||
		fail "after $((2 * i)) s: $a alive, $f failed (want 1001, 0)"
done
ok "still 1001 alive, 0 failed after 20 s"

# Injected at 25 s; Lifeguard at n = 1001 needs about 2 + 12 s.
wait_for 40 '[ "$(count failed)" = 10 ]' ||
	fail "serf lists $(count failed) failed, want 10"
[ "$(count alive)" = 991 ] || fail "$(count alive) alive, want 991"
ok "serf lists the 10 injected failures as failed, 991 alive"

# Every live virtual member acks a query, as an agent without handlers
# does (serf sends it once its gossip queue, full of the 1,000 joins,
# lets it through: hence the long timeout).
acks=$("$SERF" query -rpc-addr="127.0.0.1:$RPC" -timeout=15s it-swarm \
	2>/dev/null | awk '/Total Acks/ { print $3 }')
[ "$acks" = 991 ] || fail "serf query: $acks acks, want 991"
ok "serf query: 991 acks (990 virtual members and serf)"

kill -TERM "$SWARM_PID"
wait_for 20 '! kill -0 $SWARM_PID 2>/dev/null' || fail "swarm did not exit"
wait "$SWARM_PID"
rc=$?
[ "$rc" = 0 ] || fail "gossip-swarm exit $rc"
wait_for 10 '[ "$(count left)" = 990 ]' ||
	fail "serf lists $(count left) left, want 990"
[ "$(count failed)" = 10 ] && [ "$(count alive)" = 1 ] ||
	fail "after leave: $(count failed) failed, $(count alive) alive"
ok "graceful leave: 990 left, 10 failed, serf alone alive"

grep -q '"pairs_declared_dead": 10' "$LOG/swarm.json" ||
	fail "summary: $(grep pairs "$LOG/swarm.json")"
grep -q '"false_positives": {"suspect": 0, "dead": 0' "$LOG/swarm.json" ||
	fail "summary: $(grep false_pos "$LOG/swarm.json")"
ok "summary: 10 failures declared dead by serf, no false positives"
grep -E '"dead_s"|lifeguard' "$LOG/swarm.json" | head -2
note "PASS"
