#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# gossipd with memberlist encryption against real `serf agent -encrypt`
# nodes, all on 127.0.0.1 with free ports below 32768:
#
#   serf sa, serf sb (-encrypt=KEY)  <->  gossipd g (--encrypt KEY)
#                                    <->  gossipd h (--keyring-file [KEY, OLD])
#   serf sc (-encrypt=KEY) joins through g
#
# Checks: everyone lists everyone alive (push/pull over sealed streams),
# tags cross in both directions, a serf agent can join through gossipd,
# still alive after several probe rounds (sealed UDP pings and acks both
# ways); a gossipd with a wrong key or none cannot join (exit 1) and is
# never listed; a malformed key exits 2 with one line; SIGINT of g shows
# 'left' in serf. Every process is killed by PID by a trap, also on
# failure. Exit 77 = skipped (no serf).
# Usage: GOSSIPD=build/control/gossipd tests/integration/it_encrypt.sh
set -u

GOSSIPD=${GOSSIPD:-${1:-build/control/gossipd}}
. "$(dirname "$0")/it_lib.sh"

it_init_mixed gd-it-encrypt

# Does the agent at RPC port $1 list $2 with tag $3 (k=v)?
has_tag() {
	timeout 5 "$SERF" members -rpc-addr="127.0.0.1:$1" -tag "$3" \
		2>/dev/null | awk -v n="$2" '$1 == n { f = 1 } END { exit !f }'
}

KEY=$("$SERF" keygen)
OLD=$("$SERF" keygen)
WRONG=$("$SERF" keygen)
read -r P_SA R_SA P_SB R_SB P_G R_G P_H R_H P_SC R_SC P_W R_W P_N R_N \
	<<<"$(free_ports 14)"
[ -n "$R_N" ] || skip "no 14 free ports below 32768"

note "serf sa :$P_SA, sb :$P_SB; gossipd g :$P_G, h :$P_H (logs $LOG)"
serf_start sa "$P_SA" "$R_SA" -encrypt="$KEY" -tag role=serf
check "serf sa is up" 'wait_status $R_SA sa alive 15'
serf_start sb "$P_SB" "$R_SB" -encrypt="$KEY" -join="127.0.0.1:$P_SA"
check "serf sb joins sa (encrypted serf cluster)" \
	'wait_status $R_SA sb alive 15 && wait_status $R_SB sa alive 15'

gossipd_start g "$P_G" "$R_G" --encrypt "$KEY" --tag role=web \
	--join "127.0.0.1:$P_SA"
G_PID=$IT_PID
printf '[\n  "%s",\n  "%s"\n]\n' "$KEY" "$OLD" >"$LOG/keyring.json"
gossipd_start h "$P_H" "$R_H" --keyring-file "$LOG/keyring.json" \
	--join "127.0.0.1:$P_SB"

check "sa lists gossipd g alive" 'wait_status $R_SA g alive 15'
check "sb lists gossipd g alive" 'wait_status $R_SB g alive 15'
check "g lists sa alive" 'wait_status $R_G sa alive 15'
check "g lists sb alive" 'wait_status $R_G sb alive 15'
check "sa lists gossipd h (keyring file) alive" 'wait_status $R_SA h alive 15'
check "h lists g alive" 'wait_status $R_H g alive 15'
check "sa lists g with its tag role=web" 'has_tag $R_SA g role=web'
check "g lists sa with its tag role=serf" 'has_tag $R_G sa role=serf'

# The other direction: an encrypted serf agent joins through gossipd.
serf_start sc "$P_SC" "$R_SC" -encrypt="$KEY" -join="127.0.0.1:$P_G"
check "serf sc joins through gossipd g (g lists sc alive)" \
	'wait_status $R_G sc alive 15'
check "  ... and sa learns of sc" 'wait_status $R_SA sc alive 15'
check "  ... and sc lists g and sa alive" \
	'wait_status $R_SC g alive 15 && wait_status $R_SC sa alive 15'

# Probes run every second: after several rounds nobody is suspect.
sleep 6
check "after 6 s of sealed probes sa still lists g alive" \
	'[ "$(status_of $R_SA g)" = alive ]'
check "after 6 s of sealed probes sb still lists h alive" \
	'[ "$(status_of $R_SB h)" = alive ]'
check "after 6 s g still lists sb alive" '[ "$(status_of $R_G sb)" = alive ]'
check "serf logged no decrypt failure" \
	'! grep -qi "decrypt" "$LOG/sa.log" "$LOG/sb.log" "$LOG/sc.log"'
# UDP itself works: no TCP-only fallback warning, no suspicion.
check "serf saw no UDP probe failure (no fallback, no suspect)" \
	'! grep -qiE "misconfigured|suspect" "$LOG/sa.log" "$LOG/sb.log" \
	 "$LOG/sc.log"'

# gossipd's own counters (serf info): serf's sealed pings were opened
# and acked on the dataplane thread, and no datagram failed to open.
info_of() {
	timeout 5 "$SERF" info -rpc-addr="127.0.0.1:$1" 2>/dev/null |
		awk -v k="$2" '$1 == k { print $3 }'
}
check "g acked sealed pings on the fast path" \
	'[ "$(info_of $R_G dp_acks_fast)" -gt 0 ] 2>/dev/null'
check "g dropped no datagram as unopenable" \
	'[ "$(info_of $R_G dp_drop_malformed)" = 0 ]'
check "serf info on g says encrypted = true, as on sa" \
	'[ "$(info_of $R_G encrypted)" = true ] &&
	 [ "$(info_of $R_SA encrypted)" = true ]'

# A wrong key, and no key at all: the join fails (exit 1), never listed.
timeout 30 "$GOSSIPD" --name w --bind "127.0.0.1:$P_W" \
	--rpc-addr "127.0.0.1:$R_W" --encrypt "$WRONG" \
	--join "127.0.0.1:$P_SA" >"$LOG/w.log" 2>&1
RC=$?
check "gossipd with a wrong key cannot join (exit 1, got $RC)" '[ $RC = 1 ]'
check "serf refused w's stream" \
	'grep -q "No installed keys could decrypt" "$LOG/sa.log"'
timeout 30 "$GOSSIPD" --name n --bind "127.0.0.1:$P_N" \
	--rpc-addr "127.0.0.1:$R_N" --join "127.0.0.1:$P_SA" \
	>"$LOG/n.log" 2>&1
RC=$?
check "gossipd without a key cannot join (exit 1, got $RC)" '[ $RC = 1 ]'
sleep 1
check "sa never lists w or n" \
	'[ -z "$(status_of $R_SA w)" ] && [ -z "$(status_of $R_SA n)" ]'

# Malformed keys are usage errors: exit 2, one line naming the problem.
# (16- and 24-byte keys are AES-128/192: valid, as in serf; 20 is not.)
"$GOSSIPD" --name x --bind 127.0.0.1:17999 --encrypt "AAECAwQFBgcICQoLDA0ODxAREhM=" >"$LOG/x.out" 2>&1
RC=$?
check "a 20-byte key exits 2 (got $RC)" '[ $RC = 2 ]'
check "  ... with one line naming the sizes" \
	'[ "$(wc -l <"$LOG/x.out")" = 1 ] && grep -q "16, 24 or 32" "$LOG/x.out"'
"$GOSSIPD" --name x --bind 127.0.0.1:17999 --keyring-file "$LOG/missing.json" >"$LOG/y.out" 2>&1
RC=$?
check "a missing keyring file exits 2 (got $RC)" '[ $RC = 2 ]'
check "  ... with one line naming the file" \
	'[ "$(wc -l <"$LOG/y.out")" = 1 ] && grep -q "missing.json" "$LOG/y.out"'

# A graceful leave travels sealed too.
kill -INT "$G_PID"
check "SIGINT of g shows left on sa" 'wait_status $R_SA g left 20'

it_finish
