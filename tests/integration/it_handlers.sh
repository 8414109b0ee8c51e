#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Event handlers on a mixed cluster on 127.0.0.1 (ports below 32768):
#
#   serf s1 (-event-handler H)   gossipd g1 (--event-handler H)
#   serf s2                      gossipd g2
#
# The same handler script H records its SERF_* environment and its stdin
# per run. Both s1 and g1 must fire, with the same variable names and the
# same stdin lines (tags compared as sets: serf writes them in Go's map
# order), for: member-join (every member, itself included), a user event
# (`serf event -coalesce=false`), three coalesced user events (one run,
# the last payload), a query (`serf query` gets H's stdout from both as
# the response), member-update (`serf tags` on s2), member-leave (g2
# leaves on SIGINT) and member-failed (s2 SIGKILLed). Then SIGHUP on g1
# swaps a handler given in its --config-file; a bad filter is refused at
# the start. About 35 s.
# Every process is killed by PID by a trap, also on failure. Exit 77 =
# skipped (no serf).
# Usage: GOSSIPD=build/control/gossipd tests/integration/it_handlers.sh
set -u

GOSSIPD=${GOSSIPD:-${1:-build/control/gossipd}}
. "$(dirname "$0")/it_lib.sh"

command -v "$SERF" >/dev/null || skip "no serf agent"
command -v python3 >/dev/null || skip "no python3"
[ -x "$GOSSIPD" ] || skip "no gossipd at $GOSSIPD"
it_init gd-it-handlers

# The handler: one .env and one .in file per run, under $OUTDIR/<node>/.
OUTDIR=$LOG/out
export OUTDIR
H=$LOG/h.sh
cat >"$H" <<'EOF'
#!/bin/sh
d="$OUTDIR/$SERF_SELF_NAME"
mkdir -p "$d"
f="$d/$(date +%s%N).$$.$SERF_EVENT"
env | grep '^SERF_' | sort >"$f.env.tmp"
cat >"$f.in"
mv "$f.env.tmp" "$f.env"
[ "$SERF_EVENT" = query ] && printf 'answer from %s' "$SERF_SELF_NAME"
exit 0
EOF
chmod +x "$H"

# stdin lines of node $1's $2 runs (optionally only those of user event
# or query $3), tags sorted, one line each.
lines() {
	local f
	for f in "$OUTDIR/$1"/*."$2".env; do
		[ -e "$f" ] || continue
		if [ -n "${3:-}" ] &&
		   ! grep -qxE "SERF_(USER_EVENT|QUERY_NAME)=$3" "$f"; then
			continue
		fi
		cat "${f%.env}.in"
	done | awk -F '\t' -v OFS='\t' '
	NF == 4 {
		n = split($4, t, ",")
		for (i = 2; i <= n; i++)	# insertion sort: a few tags
			for (j = i; j > 1 && t[j - 1] > t[j]; j--) {
				x = t[j]; t[j] = t[j - 1]; t[j - 1] = x
			}
		s = ""
		for (i = 1; i <= n; i++)
			s = s (i > 1 ? "," : "") t[i]
		$4 = s
	}
	{ print }'
}
has_line() { lines "$1" "$2" | grep -qxF "$3"; }
# The SERF_* names node $1's $2 runs saw (values dropped).
env_names() {
	cat "$OUTDIR/$1"/*."$2".env 2>/dev/null | cut -d= -f1 | sort -u
}
# The value of $3 in node $1's last $2 run.
env_val() {
	local f
	f=$(ls "$OUTDIR/$1"/*."$2".env 2>/dev/null | tail -1)
	[ -n "$f" ] && grep "^$3=" "$f" | cut -d= -f2-
}

read -r S1 S1R S2 S2R G1 G1R G2 G2R <<<"$(free_ports 8)"
[ -n "$G2R" ] || skip "no 8 free ports below 32768"
note "ports: s1 $S1/$S1R s2 $S2/$S2R g1 $G1/$G1R g2 $G2/$G2R; logs $LOG"

# A bad filter stops the start, as serf's agent: exit 2, serf's words.
"$GOSSIPD" --name bad --bind "127.0.0.1:$G1" --rpc-addr "127.0.0.1:$G1R" \
	--event-handler 'member-join,foo=/x.sh' >"$LOG/bad.log" 2>&1
BAD_RC=$?
bad_msg() {
	grep -qxF "gossipd: Invalid event script: Event 'foo' invoking '/x.sh'" \
		"$LOG/bad.log"
}
check "a bad --event-handler filter: exit 2 and serf's message" \
	'[ $BAD_RC = 2 ] && bad_msg'

cat >"$LOG/g1.json" <<EOF
{"event_handlers": ["user:reload=echo one >> $LOG/reload.out",
  "query:big=head -c 2000 /dev/zero | tr '\\\\000' x"]}
EOF

serf_start s1 "$S1" "$S1R" -tag role=web -tag dc=x -event-handler "$H"
wait_status "$S1R" s1 alive 10 || die "s1 did not start"
gossipd_start g1 "$G1" "$G1R" --tag role=gw --tag dc=y --event-handler "$H" \
	--config-file "$LOG/g1.json" --log-level debug --join "127.0.0.1:$S1"
G1PID=$IT_PID
serf_start s2 "$S2" "$S2R" -tag role=db -join "127.0.0.1:$S1"
S2PID=$IT_PID
gossipd_start g2 "$G2" "$G2R" --tag role=db2 --join "127.0.0.1:$S1"
G2PID=$IT_PID

alive4() {
	[ "$($SERF members -rpc-addr "127.0.0.1:$1" -status alive 2>/dev/null |
		wc -l)" = 4 ]
}
check "all four alive (s1 and g1 views)" \
	'wait_for 15 "alive4 $S1R && alive4 $G1R"'

# --- member-join ---
L_S1=$(printf 's1\t127.0.0.1\tweb\tdc=x,role=web')
L_S2=$(printf 's2\t127.0.0.1\tdb\trole=db')
L_G1=$(printf 'g1\t127.0.0.1\tgw\tdc=y,role=gw')
L_G2=$(printf 'g2\t127.0.0.1\tdb2\trole=db2')
joins_seen() {
	local l
	for l in "$L_S1" "$L_S2" "$L_G1" "$L_G2"; do
		has_line "$1" member-join "$l" || return 1
	done
}
check "member-join: s1's handler saw all four, itself too" \
	'wait_for 15 "joins_seen s1"'
check "member-join: g1's handler saw all four, itself too" \
	'wait_for 15 "joins_seen g1"'
check "member-join: same SERF_ names on both" \
	'[ "$(env_names s1 member-join)" = "$(env_names g1 member-join)" ]'
check "member-join: SERF_SELF_ROLE / SERF_TAG_DC are each node's own" \
	'[ "$(env_val s1 member-join SERF_SELF_ROLE)" = web ] &&
	 [ "$(env_val g1 member-join SERF_SELF_ROLE)" = gw ] &&
	 [ "$(env_val g1 member-join SERF_TAG_DC)" = y ] &&
	 [ "$(env_val g1 member-join SERF_EVENT)" = member-join ]'
check "the agent's own environment is inherited (OUTDIR reached H)" \
	'[ -d "$OUTDIR/g1" ] && [ -d "$OUTDIR/s1" ]'

# --- user events ---
"$SERF" event -rpc-addr "127.0.0.1:$S2R" -coalesce=false deploy 'v1 2' \
	>/dev/null
check "user: both ran for deploy with the raw payload" \
	'wait_for 10 "has_line s1 user \"v1 2\" && has_line g1 user \"v1 2\""'
check "user: SERF_USER_EVENT, SERF_USER_LTIME equal on both" \
	'[ "$(env_val g1 user SERF_USER_EVENT)" = deploy ] &&
	 [ "$(env_val s1 user SERF_USER_LTIME)" = \
	   "$(env_val g1 user SERF_USER_LTIME)" ] &&
	 [ -n "$(env_val g1 user SERF_USER_LTIME)" ]'
check "user: same SERF_ names on both" \
	'[ "$(env_names s1 user)" = "$(env_names g1 user)" ]'
for p in p1 p2 p3; do
	"$SERF" event -rpc-addr "127.0.0.1:$G2R" burst "$p" >/dev/null
done
burst_once() { [ "$(lines s1 user burst)" = p3 ] && [ "$(lines g1 user burst)" = p3 ]; }
check "coalesced user events: one run per node, the last payload" \
	'wait_for 10 burst_once'

# --- query ---
"$SERF" query -rpc-addr "127.0.0.1:$S2R" -timeout 2s uptime qpayload \
	>"$LOG/query.out" 2>&1
responded() { grep -qxF "Response from '$1': answer from $1" "$LOG/query.out"; }
check "query: serf query got g1's handler output as g1's response" \
	'responded g1'
check "query: and s1's" 'responded s1'
check "query: payload on stdin, SERF_QUERY_NAME/LTIME on both" \
	'has_line s1 query qpayload && has_line g1 query qpayload &&
	 [ "$(env_val g1 query SERF_QUERY_NAME)" = uptime ] &&
	 [ "$(env_val s1 query SERF_QUERY_LTIME)" = \
	   "$(env_val g1 query SERF_QUERY_LTIME)" ] &&
	 [ "$(env_names s1 query)" = "$(env_names g1 query)" ]'

# A response past query_response_size_limit (1024) is refused as serf
# does, logged; the next handler (H) still answers.
"$SERF" query -rpc-addr "127.0.0.1:$S2R" -timeout 2s big >"$LOG/query.out" 2>&1
too_big() {
	grep -qF "Failed to respond to query 'query: big': response exceeds \
limit of 1024 bytes" "$LOG/g1.log"
}
check "query: a 2000-byte answer is refused and logged, H answers" \
	'wait_for 5 too_big && responded g1'

# --- SIGHUP: g1's config file handler swapped ---
"$SERF" event -rpc-addr "127.0.0.1:$S1R" -coalesce=false reload a >/dev/null
wait_for 10 "grep -qx one $LOG/reload.out 2>/dev/null"
cat >"$LOG/g1.json" <<EOF
{"event_handlers": ["user:reload=echo two >> $LOG/reload.out"]}
EOF
kill -HUP "$G1PID"
wait_for 5 "grep -q 'event handlers reloaded' $LOG/g1.log"
"$SERF" event -rpc-addr "127.0.0.1:$S1R" -coalesce=false reload b >/dev/null
reload_ok() { [ "$(tr '\n' ' ' <"$LOG/reload.out" 2>/dev/null)" = "one two " ]; }
check "SIGHUP: g1 runs the reloaded handler, not the old one" \
	'wait_for 10 reload_ok'

# --- member-update ---
"$SERF" tags -rpc-addr "127.0.0.1:$S2R" -set zone=z9 >/dev/null
L_S2U=$(printf 's2\t127.0.0.1\tdb\trole=db,zone=z9')
check "member-update: both saw s2's new tags" \
	'wait_for 15 "has_line s1 member-update \"$L_S2U\" &&
		   has_line g1 member-update \"$L_S2U\""'
check "member-update: same SERF_ names on both" \
	'[ "$(env_names s1 member-update)" = "$(env_names g1 member-update)" ]'

# --- member-leave: g2 leaves on SIGINT ---
kill -INT "$G2PID"
check "member-leave: both saw g2 leave" \
	'wait_for 15 "has_line s1 member-leave \"$L_G2\" &&
		   has_line g1 member-leave \"$L_G2\""'

# --- member-failed: s2 killed ---
kill -KILL "$S2PID"
failed_same() {
	local a b
	a=$(lines s1 member-failed)
	b=$(lines g1 member-failed)
	[ -n "$a" ] && [ "$a" = "$b" ] && echo "$a" | grep -q "^s2	127.0.0.1	"
}
check "member-failed: both saw s2 fail, with the same stdin line" \
	'wait_for 25 failed_same'
check "member-leave/failed: same SERF_ names on both" \
	'[ "$(env_names s1 member-failed)" = "$(env_names g1 member-failed)" ] &&
	 [ "$(env_names s1 member-leave)" = "$(env_names g1 member-leave)" ]'
check "g1 logged no handler error" \
	'! grep -q "Error invoking script" "$LOG/g1.log"'

# g1 stops on SIGINT (leaves): the handler state goes with it cleanly.
kill -INT "$G1PID"
G1_RC=124
for _ in $(seq 100); do
	kill -0 "$G1PID" 2>/dev/null || { wait "$G1PID"; G1_RC=$?; break; }
	sleep 0.1
done
check "g1 and g2 stopped on SIGINT with status 0, no sanitizer report" \
	'[ $G1_RC = 0 ] && wait "$G2PID" &&
	 ! grep -qE "Sanitizer|runtime error:" "$LOG/g1.log" "$LOG/g2.log"'

it_finish
