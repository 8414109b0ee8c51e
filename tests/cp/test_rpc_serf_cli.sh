#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The real `serf` CLI against cp_rpc (rpc_fake_server) and against a real
# `serf agent`, side by side: for every command both can answer the same
# way, stdout+stderr and the exit code must be identical. Then fake-only
# checks (monitor, async join, auth, stubs that must not hang).
#
# usage: test_rpc_serf_cli.sh path/to/rpc_fake_server
# Exit 77 (meson: skipped) when serf is not installed. Loopback only; every
# process started here is killed by PID on exit.
set -u
FAKE=${1:?usage: $0 rpc_fake_server}
command -v serf >/dev/null 2>&1 || { echo "serf not installed: skip"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "python3 missing: skip"; exit 77; }

. "$(dirname "$0")/tap_lib.sh"

# run ADDR ARGS...: serf's output (stdout+stderr) then "rc=N", into stdout
run() {
	local addr=$1 sub=$2; shift 2
	# flags must come before positional arguments (Go's flag package)
	timeout 10 serf "$sub" -rpc-addr="$addr" "$@" 2>&1
	echo "rc=$?"
}

GP=$(free_port)
RP=$(free_port)
serf agent -node=alpha -bind=127.0.0.1:"$GP" -rpc-addr=127.0.0.1:"$RP" \
	-tag role=web > "$TMP/agent.log" 2>&1 &
AGENT=$!
PIDS+=($AGENT)
REAL=127.0.0.1:$RP
wait_for serf members -rpc-addr="$REAL"
start_fake --alpha-port "$GP"
FAKEADDR=127.0.0.1:$FP
[ -n "$FP" ] || { echo "fake server did not start"; exit 1; }

# same DESC ARGS...: identical output and rc from the agent and from us
same() {
	local desc=$1; shift
	local a b
	a=$(run "$REAL" "$@")
	b=$(run "$FAKEADDR" "$@")
	tap_is "same: $desc" "$a" "$b"
}

same "members -name=alpha" members -name=alpha
same "members -name=alpha -detailed" members -name=alpha -detailed
same "members -name=alpha -format=json" members -name=alpha -format=json
same "members -status=alive -name=alpha -format=json" members -status=alive -name=alpha -format=json
same "members -tag role=web" members -tag role=web
same "members -status=nomatch (empty table)" members -status=nomatch
same "members -status=( (bad regex: client closed)" members -status='('
same "members -tag bad (rejected by the CLI)" members -tag bad
same "members -rpc-auth=x without auth" members -name=alpha -rpc-auth=x
same "join 127.0.0.1:1 (multi-error, rc 1)" join 127.0.0.1:1
same "force-leave nosuch" force-leave nosuch
same "tags -set a=b" tags -set a=b
same "members after tags (json)" members -name=alpha -format=json
same "tags -delete a" tags -delete a
same "event ev hello" event ev hello
same "event -coalesce=false ev" event -coalesce=false ev

# info: same sections and agent name (values differ: Go runtime vs us)
shape() {
	serf info -format=json -rpc-addr="$1" 2>&1 | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sorted(d), d["agent"]["name"], sorted(d["tags"].items()))'
}
if [ "$(shape "$REAL")" == "$(shape "$FAKEADDR")" ]; then
	ok "same: info sections, agent.name, tags"
else
	fail "same: info sections"; shape "$REAL"; shape "$FAKEADDR"
fi

same "query -timeout=500ms q (acks from the live node)" query -timeout=500ms q
same "query -no-ack -timeout=300ms q" query -no-ack -timeout=300ms q
same "query _serf_x (internal prefix)" query _serf_x
same "query -format=json -timeout=300ms q" query -format=json -timeout=300ms q
same "leave (the agent then exits)" leave
wait "$AGENT" 2>/dev/null

# expect DESC WANT ARGS...: our output must be exactly WANT
expect() {
	local desc=$1 want=$2; shift 2
	tap_is "$desc" "$want" "$(run "$FAKEADDR" "$@")"
}

# expect_unordered DESC WANT ARGS...: the same lines in any order. serf's
# query command reads its ack and response channels in one Go select, which
# picks at random when both are ready, so their order is not ours to fix.
expect_unordered() {
	local desc=$1 want=$2; shift 2
	tap_is "$desc" "$(sort <<<"$want")" \
		"$(sort <<<"$(run "$FAKEADDR" "$@")")"
}

start_fake
FAKEADDR=127.0.0.1:$FP
expect "members: four members, serf's column layout" \
"alpha          127.0.0.1:7946  alive    role=web
b-longer-name  127.0.0.2:7947  failed   dc=east
c6             [::1]:7948      left$(printf '%5s' '')
d              127.0.0.4:7949  leaving
rc=0" members
expect "members -status=alive" \
"alpha  127.0.0.1:7946  alive  role=web
rc=0" members -status=alive
expect "members -name=c6 -format=json (IPv6)" \
'{
  "members": [
    {
      "name": "c6",
      "addr": "[::1]:7948",
      "port": 7948,
      "tags": {},
      "status": "left",
      "protocol": {
        "max": 5,
        "min": 2,
        "version": 5
      }
    }
  ]
}
rc=0' members -name=c6 -format=json
expect "join async (completes later in the loop)" \
"Successfully joined cluster by contacting 1 nodes.
rc=0" join 127.0.0.1:2
expect "force-leave -prune b-longer-name" "rc=0" force-leave -prune b-longer-name
expect "members after prune" \
"alpha  127.0.0.1:7946  alive    role=web
c6     [::1]:7948      left$(printf '%5s' '')
d      127.0.0.4:7949  leaving
rc=0" members
expect_unordered "query echo: ack, response, totals" \
"Query 'echo' dispatched
Ack from 'alpha'
Response from 'alpha': pong
Total Acks: 1
Total Responses: 1
rc=0" query -timeout=300ms echo hi
expect "reachability: acks of every live member" \
"Total members: 3, live members: 1
Starting reachability test...
Successfully contacted all live nodes
rc=0" reachability
expect "rtt alpha d (coordinates from ops)" \
"Estimated alpha <-> d rtt: 2.020 ms
rc=0" rtt alpha d
expect "rtt d (the other end from stats' agent.name)" \
"Estimated d <-> alpha rtt: 2.020 ms
rc=0" rtt d
expect "rtt to a node without a coordinate" \
"Could not find a coordinate for node \"c6\"
rc=1" rtt alpha c6

mon=$(timeout 2 serf monitor -rpc-addr="$FAKEADDR" 2>&1)
if echo "$mon" | grep -q '\[INFO\] fake: tick' && ! echo "$mon" | grep -q DEBUG; then
	ok "monitor streams INFO lines, filters DEBUG"
else
	fail "monitor"; echo "$mon" | head -5
fi
mon=$(timeout 2 serf monitor -log-level=debug -rpc-addr="$FAKEADDR" 2>&1)
if echo "$mon" | grep -q '\[DEBUG\] fake'; then
	ok "monitor -log-level=debug shows DEBUG"
else
	fail "monitor debug"
fi
expect "leave" "Graceful leave complete
rc=0" leave

start_fake --auth s3cret
FAKEADDR=127.0.0.1:$FP
expect "auth: none given" \
"Error retrieving members: Authentication required
rc=1" members -status=alive
expect "auth: wrong key" \
"Error connecting to Serf agent: Invalid authentication token
rc=1" members -status=alive -rpc-auth=nope
expect "auth: right key" \
"alpha  127.0.0.1:7946  alive  role=web
rc=0" members -status=alive -rpc-auth=s3cret

fake_stop
tap_done
