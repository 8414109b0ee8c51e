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

TMP=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

NFAIL=0
NOK=0
ok() { NOK=$((NOK + 1)); echo "ok $NOK - $1"; }
fail() { NFAIL=$((NFAIL + 1)); echo "not ok - $1"; }
port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for CMD...: retry for up to 10 s until CMD succeeds
wait_for() {
	for _ in $(seq 1 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

SG=$(port); SR=$(port); GG=$(port); GR=$(port)
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
if [ "$a" == "$b" ]; then
	ok "serf members -detailed: gossipd == agent"
else
	fail "members differ"; diff <(echo "$a") <(echo "$b") | sed 's/^/#   /'
fi
if "$CTL" --rpc-addr "$GRPC" members --json | python3 -c '
import json, sys
d = {m["name"]: m for m in json.load(sys.stdin)}
assert sorted(d) == ["g1", "serf1"], d
assert isinstance(d["g1"]["incarnation"], int), d
assert d["serf1"]["tags"] == {"role": "web"}, d'; then
	ok "gossipctl members --json through gossipd (incarnation set)"
else
	fail "gossipctl members --json"
fi
out=$(serf info -format=json -rpc-addr="$GRPC" | python3 -c '
import json, sys; d = json.load(sys.stdin); print(d["agent"]["name"], d["serf"]["members"])')
[ "$out" == "g1 2" ] && ok "serf info: agent.name, serf.members" || fail "serf info: $out"

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

out=$(timeout 20 serf leave -rpc-addr="$GRPC" 2>&1)
[ "$out" == "Graceful leave complete" ] && ok "serf leave" || fail "serf leave: $out"
gone() { ! kill -0 "$GPID" 2>/dev/null; }
wait_for gone && ok "gossipd exits after leave" || fail "gossipd still running"
left_seen() { serf members -rpc-addr="$SERF" -status=left | grep -q '^g1 '; }
wait_for left_seen && ok "the agent sees g1 left" || fail "g1 not left"

echo "# $NOK passed, $NFAIL failed"
[ "$NFAIL" -eq 0 ]
