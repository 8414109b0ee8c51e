#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# gossipctl against cp_rpc (rpc_fake_server): members table and JSON,
# filters, join errors, info, tags, force-leave, leave, auth, exit codes
# (0 ok, 1 RPC error, 2 usage). When serf is installed, also checks that
# gossipctl's table is byte-identical to `serf members`, and that against a
# real serf agent the JSON incarnation is null.
#
# usage: test_gossipctl.sh path/to/rpc_fake_server path/to/gossipctl
set -u
FAKE=${1:?usage: $0 rpc_fake_server gossipctl}
CTL=${2:?usage: $0 rpc_fake_server gossipctl}
command -v python3 >/dev/null 2>&1 || { echo "python3 missing: skip"; exit 77; }

. "$(dirname "$0")/tap_lib.sh"

# ctl ARGS...: stdout, then "stderr:<text>", then "rc=N"
ctl() {
	local out err rc
	out=$(timeout 10 "$CTL" --rpc-addr "$ADDR" "$@" 2>"$TMP/err")
	rc=$?
	err=$(cat "$TMP/err")
	printf '%s\nstderr:%s\nrc=%d' "$out" "$err" "$rc"
}

# check DESC WANT ARGS...
check() {
	local desc=$1 want=$2; shift 2
	tap_is "$desc" "$want" "$(ctl "$@")"
}

# pycheck DESC PYEXPR ARGS...: run gossipctl, JSON-load stdout as d, assert
pycheck() {
	local desc=$1 expr=$2; shift 2
	if timeout 10 "$CTL" --rpc-addr "$ADDR" "$@" 2>&1 |
	   python3 -c "import json,sys; d=json.load(sys.stdin); assert $expr, d"; then
		ok "$desc"
	else
		fail "$desc"
	fi
}

start_fake
[ -n "$FP" ] || { echo "fake server did not start"; exit 1; }
ADDR=127.0.0.1:$FP

check "members: serf's column layout" \
"alpha          127.0.0.1:7946  alive    role=web
b-longer-name  127.0.0.2:7947  failed   dc=east
c6             [::1]:7948      left$(printf '%5s' '')
d              127.0.0.4:7949  leaving
stderr:
rc=0" members
check "members --status alive" \
"alpha  127.0.0.1:7946  alive  role=web
stderr:
rc=0" members --status alive
check "members --status nomatch: one empty line, like serf" \
"
stderr:
rc=0" members --status nomatch
check "members --status nomatch --json: []" \
"[]
stderr:
rc=0" members --status nomatch --json
pycheck "members --json: 4 records with our fields" \
'len(d) == 4 and all(sorted(m) == ["addr","incarnation","name","port","status","tags"] for m in d)' \
	members --json
pycheck "members --json: incarnation from the extension" \
'[m["incarnation"] for m in d] == [1, 7, 3, 0]' members --json
pycheck "members --json: addr is the bare IP, port separate" \
'(d[2]["addr"], d[2]["port"], d[3]["addr"]) == ("::1", 7948, "127.0.0.4")' members --json
pycheck "members --status alive --json" \
'[m["name"] for m in d] == ["alpha"] and d[0]["tags"] == {"role": "web"}' \
	members --status alive --json
pycheck "members --tag role=web --name al.* --json" \
'[m["name"] for m in d] == ["alpha"]' members --tag role=web --name 'al.*' --json
check "members --status '(' (server hangs up)" \
"
stderr:Error retrieving members: client closed
rc=1" members --status '('

if command -v serf >/dev/null 2>&1; then
	for args in "" "-detailed" "-status=alive" "-status=nomatch"; do
		gargs=${args/-detailed/--detailed}
		gargs=${gargs/-status=/--status }
		# shellcheck disable=SC2086
		a=$(serf members -rpc-addr="$ADDR" $args)
		# shellcheck disable=SC2086
		b=$("$CTL" --rpc-addr "$ADDR" members $gargs)
		tap_is "members $gargs == serf members $args" "$a" "$b"
	done
fi

check "join: RPC error is one line, exit 1" \
"
stderr:Error joining the cluster: 1 error occurred: * Failed to join 127.0.0.1: dial tcp 127.0.0.1:1: connect: connection refused
rc=1" join 127.0.0.1:1
check "join: async success" \
"Successfully joined cluster by contacting 2 nodes.
stderr:
rc=0" join --replay 127.0.0.1:2 127.0.0.1:9
check "join: no address is a usage error" \
"
stderr:gossipctl: wrong number of arguments (see gossipctl --help)
rc=2" join
check "force-leave b-longer-name" \
"
stderr:
rc=0" force-leave b-longer-name
pycheck "force-leave: failed node now left" \
'[m["name"] for m in d] == ["b-longer-name", "c6"]' members --status left --json
check "tags --set x=y --delete role" \
"Successfully updated agent tags
stderr:
rc=0" tags --set x=y --delete role
check "members --name alpha after tags" \
"alpha  127.0.0.1:7946  alive  x=y
stderr:
rc=0" members --name alpha
check "tags --set without '=' is a usage error" \
"
stderr:gossipctl: invalid tag 'bad' (want K=V)
rc=2" tags --set bad
check "info: serf's sections" \
"agent:
	name = alpha
event_handlers:
runtime:
	arch = amd64
	os = linux
	version = gossipd-fake
serf:
	encrypted = false
	failed = 0
	left = 2
	members = 4
tags:
	x = y
stderr:
rc=0" info
pycheck "info --json" 'd["agent"]["name"] == "alpha" and d["event_handlers"] == {}' \
	info --json
check "event" \
"Event 'deploy' dispatched! Coalescing enabled: false
stderr:
rc=0" event --no-coalesce deploy payload
check "leave" \
"Graceful leave complete
stderr:
rc=0" leave
check "leave again: agent error, exit 1" \
"
stderr:Error leaving: Leave already in progress
rc=1" leave
check "unknown command: usage, exit 2" \
"
stderr:gossipctl: unknown command (see gossipctl --help)
rc=2" bogus 2>/dev/null
got=$(timeout 5 "$CTL" 2>&1; echo "rc=$?")
if [ "$got" == "gossipctl: missing command (see gossipctl --help)
rc=2" ]; then
	ok "no command: usage, exit 2"
else
	fail "no command: $got"
fi
got=$(timeout 5 "$CTL" --help; echo "rc=$?")
if [[ "$got" == "usage: gossipctl "*"rc=0" ]]; then
	ok "--help: usage on stdout, exit 0"
else
	fail "--help: $got"
fi
got=$(SERF_RPC_ADDR=$ADDR timeout 5 "$CTL" members --status alive 2>&1)
if [ "$got" == "alpha  127.0.0.1:7946  alive  x=y" ]; then
	ok "SERF_RPC_ADDR honoured"
else
	fail "SERF_RPC_ADDR: $got"
fi
got=$(timeout 5 "$CTL" --rpc-addr=127.0.0.1:1 members 2>&1; echo "rc=$?")
if [ "$got" == "Error connecting to Serf agent: dial tcp 127.0.0.1:1: connect: connection refused
rc=1" ]; then
	ok "connection refused: one line, exit 1"
else
	fail "connection refused: $got"
fi

start_fake --auth k3y
ADDR=127.0.0.1:$FP
check "auth required" \
"
stderr:Error retrieving members: Authentication required
rc=1" members --status alive
check "auth: wrong key" \
"
stderr:Error connecting to Serf agent: Invalid authentication token
rc=1" --rpc-auth nope members
got=$(SERF_RPC_AUTH=k3y timeout 5 "$CTL" --rpc-addr "$ADDR" members --status alive 2>&1)
if [ "$got" == "alpha  127.0.0.1:7946  alive  role=web" ]; then
	ok "SERF_RPC_AUTH honoured"
else
	fail "SERF_RPC_AUTH: $got"
fi

# A real agent: same table as serf, incarnation null (no extension there)
if command -v serf >/dev/null 2>&1; then
	GP=$(free_port)
	RP=$(free_port)
	serf agent -node=real -bind=127.0.0.1:"$GP" -rpc-addr=127.0.0.1:"$RP" \
		-tag role=db > "$TMP/agent.log" 2>&1 &
	PIDS+=($!)
	ADDR=127.0.0.1:$RP
	wait_for serf members -rpc-addr="$ADDR"
	a=$(serf members -rpc-addr="$ADDR" -detailed)
	b=$("$CTL" --rpc-addr "$ADDR" members --detailed)
	tap_is "real agent: members --detailed == serf's" "$a" "$b"
	pycheck "real agent: json, incarnation null" \
	'd[0]["name"] == "real" and d[0]["incarnation"] is None and d[0]["tags"] == {"role": "db"}' \
		members --json
	check "real agent: leave" \
"Graceful leave complete
stderr:
rc=0" leave
fi

fake_stop
tap_done
