#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The whole daemon behind the RPC: a real `serf agent` and gossipd join over
# loopback, then the real serf CLI (and gossipctl) talk to gossipd's RPC and
# must see what they see through the agent's RPC.
#
# usage: test_rpc_gossipd.sh path/to/gossipd path/to/gossipctl
# Exit 77 (skipped) without serf. Every process is killed by PID on exit.
set -u
GOSSIPD=${1:?usage: $0 gossipd gossipctl}
CTL=${2:?usage: $0 gossipd gossipctl}
command -v serf >/dev/null 2>&1 || { echo "serf not installed: skip"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "python3 missing: skip"; exit 77; }

. "$(dirname "$0")/tap_lib.sh"

SG=$(free_port); SR=$(free_port); GG=$(free_port); GR=$(free_port)
SERF=127.0.0.1:$SR
GRPC=127.0.0.1:$GR
serf agent -node=serf1 -bind=127.0.0.1:"$SG" -rpc-addr="$SERF" \
	-tag role=web > "$TMP/serf.log" 2>&1 &
PIDS+=($!)
wait_for serf members -rpc-addr="$SERF" || { echo "serf agent did not start"; exit 1; }
"$GOSSIPD" --name g1 --bind 127.0.0.1:"$GG" --rpc-addr "$GRPC" \
	--tag role=db --join 127.0.0.1:"$SG" > "$TMP/gossipd.log" 2>&1 &
GPID=$!
PIDS+=($GPID)

two_alive() {
	[ "$(serf members -rpc-addr="$1" -status=alive | wc -l)" -eq 2 ]
}
if wait_for two_alive "$GRPC" && wait_for two_alive "$SERF"; then
	ok "both RPCs list two alive members"
else
	fail "cluster did not form"; tail -5 "$TMP/gossipd.log"; exit 1
fi

a=$(serf members -rpc-addr="$SERF" -detailed | sort)
b=$(serf members -rpc-addr="$GRPC" -detailed | sort)
tap_is "serf members -detailed: gossipd == agent" "$a" "$b"
if "$CTL" --rpc-addr "$GRPC" members --json | python3 -c '
import json, sys
d = {m["name"]: m for m in json.load(sys.stdin)}
assert sorted(d) == ["g1", "serf1"], d
for m in d.values():
    assert sorted(m) == ["addr", "incarnation", "name", "port", "status",
                         "tags"], m
    assert isinstance(m["incarnation"], int) and m["incarnation"] >= 1, m
assert d["serf1"]["tags"] == {"role": "web"}, d'; then
	ok "gossipctl members --json through gossipd (incarnation set)"
else
	fail "gossipctl members --json"
fi
out=$(serf info -format=json -rpc-addr="$GRPC" | python3 -c '
import json, sys; d = json.load(sys.stdin); print(d["agent"]["name"], d["serf"]["members"])')
[ "$out" == "g1 2" ] && ok "serf info: agent.name, serf.members" || fail "serf info: $out"

# serf info -format=json: the agent's shape exactly (every section and key,
# empty sections as {}, encrypted as "false"), plus only our "gossipd".
serf info -format=json -rpc-addr="$SERF" > "$TMP/info_agent.json"
serf info -format=json -rpc-addr="$GRPC" > "$TMP/info_gossipd.json"
if python3 - "$TMP/info_agent.json" "$TMP/info_gossipd.json" <<'PY'
import json, sys
a, g = (json.load(open(f)) for f in sys.argv[1:3])
assert sorted(g) == sorted(list(a) + ["gossipd"]), (sorted(a), sorted(g))
for sec in a:
    assert sorted(a[sec]) == sorted(g[sec]), (sec, sorted(a[sec]), sorted(g[sec]))
assert a["event_handlers"] == {} and g["event_handlers"] == {}, g
assert a["serf"]["encrypted"] == "false" == g["serf"]["encrypted"], g["serf"]
assert g["tags"] == {"role": "db"}, g["tags"]
for sec in g:
    assert all(isinstance(v, str) for v in g[sec].values()), sec
PY
then
	ok "serf info -format=json: same sections and keys as the agent"
else
	fail "serf info shape differs"
fi

# serf rtt: coordinates from ping acks, through either RPC, both ways.
RTT_RE='^Estimated [a-z0-9]+ <-> [a-z0-9]+ rtt: [0-9]+\.[0-9]{3} ms$'
rtt_ok() { serf rtt -rpc-addr="$1" "$2" "$3" | grep -Eq "$RTT_RE"; }
if wait_for rtt_ok "$GRPC" g1 serf1 && wait_for rtt_ok "$SERF" g1 serf1; then
	ok "serf rtt g1 serf1 through gossipd and through the agent"
else
	fail "serf rtt: $(serf rtt -rpc-addr="$GRPC" g1 serf1 2>&1)"
fi
out=$(serf rtt -rpc-addr="$GRPC" serf1 2>&1)
[[ "$out" =~ ^Estimated\ serf1\ \<-\>\ g1\ rtt: ]] &&
	ok "serf rtt with one node: the other end is stats agent.name" ||
	fail "serf rtt serf1: $out"
out=$(serf rtt -rpc-addr="$GRPC" nosuch 2>&1); rc=$?
[ $rc -eq 1 ] && [ "$out" == 'Could not find a coordinate for node "nosuch"' ] &&
	ok "serf rtt to an unknown node: the agent's text, exit 1" ||
	fail "serf rtt nosuch: rc $rc: $out"

out=$(serf join -rpc-addr="$GRPC" 127.0.0.1:"$SG" 2>&1)
[ "$out" == "Successfully joined cluster by contacting 1 nodes." ] &&
	ok "serf join through gossipd" || fail "serf join: $out"
out=$(serf tags -rpc-addr="$GRPC" -set zone=z1 2>&1)
[ "$out" == "Successfully updated agent tags" ] && ok "serf tags -set" ||
	fail "serf tags: $out"
zone_seen() { serf members -rpc-addr="$SERF" -tag zone=z1 | grep -q '^g1 '; }
wait_for zone_seen && ok "the agent sees gossipd's new tag" || fail "tag not gossiped"
out=$(serf event -rpc-addr="$GRPC" deploy v1 2>&1)
[ "$out" == "Event 'deploy' dispatched! Coalescing enabled: true" ] &&
	ok "serf event" || fail "serf event: $out"

out=$(timeout 20 serf query -rpc-addr="$GRPC" -timeout=1s q 2>&1)
if [[ "$out" == *"Ack from 'serf1'"* && "$out" == *"Ack from 'g1'"* &&
      "$out" == *"Total Acks: 2"* ]]; then
	ok "serf query through gossipd: both nodes ack"
else
	fail "serf query: $out"
fi
out=$(timeout 20 serf reachability -rpc-addr="$GRPC" 2>&1)
[[ "$out" == *"Successfully contacted all live nodes"* ]] &&
	ok "serf reachability through gossipd" || fail "reachability: $out"

# serf monitor: the replayed ring, then live lines, filtered by level (the
# daemon logs at info, a debug monitor still gets DEBUG lines), plus the
# event records of the stream the CLI opens too.
timeout -s INT 30 serf monitor -rpc-addr="$GRPC" > "$TMP/mon_info.txt" 2>&1 &
MON_INFO=$!
PIDS+=($MON_INFO)
timeout -s INT 30 serf monitor -rpc-addr="$GRPC" -log-level=debug \
	> "$TMP/mon_debug.txt" 2>&1 &
MON_DEBUG=$!
PIDS+=($MON_DEBUG)
seen() { grep -q -- "$2" "$1"; }
wait_for seen "$TMP/mon_info.txt" '\[INFO\] serf: EventMemberJoin: g1 ' &&
	ok "serf monitor: the ring is replayed (g1's own join)" ||
	fail "serf monitor replay: $(head -3 "$TMP/mon_info.txt")"
S2=$(free_port); S2R=$(free_port)
serf agent -node=serf2 -bind=127.0.0.1:"$S2" -rpc-addr=127.0.0.1:"$S2R" \
	-join=127.0.0.1:"$GG" > "$TMP/serf2.log" 2>&1 &
PIDS+=($!)
wait_for seen "$TMP/mon_info.txt" '\[INFO\] serf: EventMemberJoin: serf2 ' &&
	ok "serf monitor: a live member-join line" ||
	fail "serf monitor live: $(tail -3 "$TMP/mon_info.txt")"
wait_for seen "$TMP/mon_info.txt" 'Event: "member-join"' &&
	ok "serf monitor: the member-join event record" ||
	fail "serf monitor: no event record"
wait_for seen "$TMP/mon_debug.txt" 'EventMemberJoin: serf2 ' &&
	seen "$TMP/mon_debug.txt" '\[DEBUG\]' &&
	! seen "$TMP/mon_info.txt" '\[DEBUG\]' &&
	ok "serf monitor: DEBUG lines only at -log-level=debug" ||
	fail "serf monitor level filter"
kill -INT "$MON_INFO" "$MON_DEBUG"
wait "$MON_INFO"; rc1=$?
wait "$MON_DEBUG"; rc2=$?
[ $rc1 -ne 124 ] && [ $rc2 -ne 124 ] && serf members -rpc-addr="$GRPC" >/dev/null &&
	ok "serf monitor stops on Ctrl-C (stop), the RPC still answers" ||
	fail "serf monitor stop: rc $rc1 $rc2"
out=$(serf monitor -rpc-addr="$GRPC" -log-level=bogus 2>&1); rc=$?
[ $rc -eq 1 ] && [ "$out" == "Error starting monitor: Unknown log level: BOGUS" ] &&
	ok "serf monitor -log-level=bogus: the agent's error" ||
	fail "serf monitor bogus: rc $rc: $out"

# gossipctl members --json: incarnation is gossipd's, so it moves when our
# tags change (a new alive message with incarnation + 1).
inc_of() {
	"$CTL" --rpc-addr "$GRPC" members --json | python3 -c '
import json, sys
print({m["name"]: m["incarnation"] for m in json.load(sys.stdin)}[sys.argv[1]])' "$1"
}
inc1=$(inc_of g1)
out=$(serf tags -rpc-addr="$GRPC" -delete role -delete zone 2>&1)
inc2=$(inc_of g1)
[ "$out" == "Successfully updated agent tags" ] && [ "$inc2" -gt "$inc1" ] 2>/dev/null &&
	ok "gossipctl: g1's incarnation $inc1 -> $inc2 after a tags change" ||
	fail "incarnation after tags: $inc1 -> $inc2 ($out)"
# ... and with no tags left, info still has an empty tags section.
out=$(serf info -format=json -rpc-addr="$GRPC" | python3 -c '
import json, sys; d = json.load(sys.stdin); print(d["tags"], d["event_handlers"])')
[ "$out" == "{} {}" ] && serf info -rpc-addr="$GRPC" | grep -qx 'tags:' &&
	ok "serf info without tags: tags: {} as the agent" || fail "serf info tags: $out"

out=$(timeout 20 serf leave -rpc-addr="$GRPC" 2>&1)
[ "$out" == "Graceful leave complete" ] && ok "serf leave" || fail "serf leave: $out"
gone() { ! kill -0 "$GPID" 2>/dev/null; }
wait_for gone && ok "gossipd exits after leave" || fail "gossipd still running"
left_seen() { serf members -rpc-addr="$SERF" -status=left | grep -q '^g1 '; }
wait_for left_seen && ok "the agent sees g1 left" || fail "g1 not left"

tap_done
