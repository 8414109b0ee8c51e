#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# `serf keys` across a mixed encrypted cluster on 127.0.0.1 (ports below
# 32768):
#
#   serf sa, serf sb (-encrypt K1)  <->  gossipd g (--encrypt K1)
#                                   <->  gossipd h (--keyring-file [K1])
#
# A full rotation driven from a serf agent's RPC (install K2, list, use K2,
# remove K1), then one driven from gossipd's RPC (install K3 on g, list on
# g, use K3 on h, remove K2 on g): every command reports success from all
# 4 nodes, list counts every key on 4/4, h's keyring file is rewritten
# after each change with the new primary first, no member is suspected or
# failed at any time (agents' logs, gossipd's logs, serf members), then
# a third rotation to a 16-byte (AES-128) key, a serf agent holding only
# that key joins, and h restarted from its rewritten file rejoins. Error paths: removing the
# primary and using an unknown key fail on every node with memberlist's
# texts; a malformed key gets Go's base64 error.
# Every process is killed by PID by a trap, also on failure. Exit 77 =
# skipped (no serf).
# Usage: GOSSIPD=build/control/gossipd tests/integration/it_keys.sh
set -u

GOSSIPD=${GOSSIPD:-${1:-build/control/gossipd}}
. "$(dirname "$0")/it_lib.sh"

it_init_mixed gd-it-keys

# Does the agent at RPC port $1 list exactly $2 members, all alive?
all_alive() {
	local out

	out=$(timeout 5 "$SERF" members -rpc-addr="127.0.0.1:$1" 2>/dev/null)
	[ "$(echo "$out" | awk '$3 == "alive"' | wc -l)" = "$2" ] &&
		[ "$(echo "$out" | grep -c .)" = "$2" ]
}

# serf keys $2... against RPC port $1; output in $LOG/keys.out.
keys() {
	local port=$1

	shift
	timeout 20 "$SERF" keys -rpc-addr="127.0.0.1:$port" "$@" \
		>"$LOG/keys.out" 2>&1
	KEYS_RC=$?
	cat "$LOG/keys.out" >>"$LOG/keys.all"
}

# Did the last keys command succeed with the text $1?
keys_ok() {
	[ "$KEYS_RC" = 0 ] && grep -qF "$1" "$LOG/keys.out"
}

# Did the last keys command fail with $1 (e.g. "4/4 nodes reported
# failure") and each of the 4 "failed:  node  text" lines carry $2?
keys_failed() {
	[ "$KEYS_RC" = 1 ] && grep -qF "$1" "$LOG/keys.out" &&
		[ "$(grep -c "^failed: " "$LOG/keys.out")" = 4 ] &&
		[ "$(grep "^failed: " "$LOG/keys.out" | grep -cF "$2")" = 4 ]
}

# Does the last list show key $1 held by $2 of 4 nodes? (The CLI's
# columnize turns "KEY | [n/N]" into aligned columns.)
listed() {
	grep -qE "^$(printf '%s' "$1" | sed 's/[+/]/\\&/g') +\[$2/4\]" \
		"$LOG/keys.out"
}

# h's keyring file, as a space-separated list (primary first).
ring_file() {
	python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))))' \
		"$LOG/keyring.json" 2>/dev/null
}

# The file is serf's MarshalIndent layout and mode 0600.
ring_file_is_serfs() {
	python3 - "$LOG/keyring.json" <<'EOF'
import json, os, stat, sys
p = sys.argv[1]
text = open(p).read()
keys = json.loads(text)
want = json.dumps(keys, indent=2).replace(", ", ",")
ok = text == want and stat.S_IMODE(os.stat(p).st_mode) == 0o600
sys.exit(0 if ok else 1)
EOF
}

# No node suspected or failed anywhere: agents' and gossipd's logs.
no_suspicion() {
	! grep -hiE "suspect|EventMemberFailed|marking .* as failed" \
		"$LOG"/sa.log "$LOG"/sb.log "$LOG"/g.log "$LOG"/h.log
}

K1=$("$SERF" keygen)
K2=$("$SERF" keygen)
K3=$("$SERF" keygen)
K4=$(head -c 16 /dev/urandom | base64)	# AES-128
read -r P_SA R_SA P_SB R_SB P_G R_G P_H R_H P_SC R_SC <<<"$(free_ports 10)"
[ -n "$R_SC" ] || skip "no 10 free ports below 32768"

note "serf sa :$P_SA, sb :$P_SB; gossipd g :$P_G, h :$P_H (logs $LOG)"
serf_start sa "$P_SA" "$R_SA" -encrypt="$K1"
check "serf sa is up" 'wait_status $R_SA sa alive 15'
serf_start sb "$P_SB" "$R_SB" -encrypt="$K1" -join="127.0.0.1:$P_SA"
# h joins through sb: sb must be listening first
check "serf sb is up and joined sa" \
	'wait_status $R_SB sb alive 15 && wait_status $R_SB sa alive 15'
gossipd_start g "$P_G" "$R_G" --encrypt "$K1" --join "127.0.0.1:$P_SA"
printf '[\n  "%s"\n]' "$K1" >"$LOG/keyring.json"
chmod 600 "$LOG/keyring.json"
gossipd_start h "$P_H" "$R_H" --keyring-file "$LOG/keyring.json" \
	--join "127.0.0.1:$P_SB"
H_PID=$IT_PID

for n in sb g h; do
	check "sa lists $n alive" 'wait_status $R_SA $n alive 20'
done
for p in $R_SA $R_SB $R_G $R_H; do
	check "the agent at :$p lists 4 members alive" \
		'wait_status $p h alive 15 && all_alive $p 4'
done

note "--- rotation driven from serf agent sa"
keys $R_SA -install "$K2"
check "install K2 (serf sa): every node succeeds" \
	'keys_ok "Successfully installed key!"'
check "  ... h's keyring file is [K1, K2]" '[ "$(ring_file)" = "$K1 $K2" ]'
keys $R_SA -list
check "list (serf sa): K1 and K2 on 4/4 nodes" \
	'keys_ok "listing cluster keys" && listed "$K1" 4 && listed "$K2" 4'
keys $R_SA -use "$K2"
check "use K2 (serf sa): every node succeeds" \
	'keys_ok "Successfully changed primary key!"'
check "  ... h's keyring file is [K2, K1]" '[ "$(ring_file)" = "$K2 $K1" ]'
keys $R_SA -remove "$K1"
check "remove K1 (serf sa): every node succeeds" \
	'keys_ok "Successfully removed key!"'
check "  ... h's keyring file is [K2]" '[ "$(ring_file)" = "$K2" ]'

note "--- rotation driven from gossipd g and h"
keys $R_G -install "$K3"
check "install K3 (gossipd g): every node succeeds" \
	'keys_ok "Successfully installed key!"'
check "  ... h's keyring file is [K2, K3]" '[ "$(ring_file)" = "$K2 $K3" ]'
keys $R_G -list
check "list (gossipd g): K2 and K3 on 4/4 nodes" \
	'keys_ok "listing cluster keys" && listed "$K2" 4 && listed "$K3" 4'
keys $R_H -use "$K3"
check "use K3 (gossipd h): every node succeeds" \
	'keys_ok "Successfully changed primary key!"'
check "  ... h's keyring file is [K3, K2]" '[ "$(ring_file)" = "$K3 $K2" ]'
keys $R_G -remove "$K2"
check "remove K2 (gossipd g): every node succeeds" \
	'keys_ok "Successfully removed key!"'
check "  ... h's keyring file is [K3] in serf's layout, mode 0600" \
	'[ "$(ring_file)" = "$K3" ] && ring_file_is_serfs'
keys $R_SB -list
check "list (serf sb): only K3, on 4/4 nodes" \
	'keys_ok "listing cluster keys" && listed "$K3" 4 &&
	 [ "$(grep -c "\[4/4\]" "$LOG/keys.out")" = 1 ]'

note "--- error paths"
keys $R_G -remove "$K3"
check "remove the primary (gossipd g): 4/4 fail with memberlist's text" \
	'keys_failed "4/4 nodes reported failure" \
	 "Removing the primary key is not allowed"'
keys $R_SA -use "$K1"
check "use a removed key (serf sa): 4/4 fail, not in the keyring" \
	'keys_failed "4/4 nodes reported failure" \
	 "Requested key is not in the keyring"'
keys $R_G -install "not*base64"
check "a malformed key (gossipd g): Go's base64 error" \
	'[ "$KEYS_RC" = 1 ] &&
	 grep -qF "illegal base64 data at input byte 3" "$LOG/keys.out"'

note "--- an AES-128 key (16 bytes), from gossipd h and serf sb"
keys $R_H -install "$K4"
check "install 16-byte K4 (gossipd h): every node succeeds" \
	'keys_ok "Successfully installed key!"'
keys $R_SB -use "$K4"
check "use K4 (serf sb): every node succeeds" \
	'keys_ok "Successfully changed primary key!"'
keys $R_H -remove "$K3"
check "remove K3 (gossipd h): every node succeeds" \
	'keys_ok "Successfully removed key!"'
check "  ... h's keyring file is [K4]" '[ "$(ring_file)" = "$K4" ]'
keys $R_H -list
check "list (gossipd h): only K4, on 4/4 nodes" \
	'keys_ok "listing cluster keys" && listed "$K4" 4 &&
	 [ "$(grep -c "\[4/4\]" "$LOG/keys.out")" = 1 ]'

note "--- the cluster afterwards"
sleep 3	# a few probe rounds with K4 only
for p in $R_SA $R_SB $R_G $R_H; do
	check "the agent at :$p lists 4 members alive" 'all_alive $p 4'
done
check "no node was suspected or failed during the rotations" no_suspicion
serf_start sc "$P_SC" "$R_SC" -encrypt="$K4" -join="127.0.0.1:$P_G"
check "a serf agent with only K4 joins through gossipd g" \
	'wait_status $R_G sc alive 15 && wait_status $R_SC h alive 15'

# h restarted from its rewritten keyring file alone (K4) rejoins.
kill -KILL "$H_PID"
wait "$H_PID" 2>/dev/null
"$GOSSIPD" --name h --bind "127.0.0.1:$P_H" --rpc-addr "127.0.0.1:$R_H" \
	--keyring-file "$LOG/keyring.json" --join "127.0.0.1:$P_SA" \
	>"$LOG/h2.log" 2>&1 &
PIDS+=($!)
check "h restarted from its keyring file (K4 only) rejoins: sa lists it alive" \
	'wait_status $R_H sa alive 20 && wait_status $R_SA h alive 20'

[ "$FAILED" = 0 ] || cat "$LOG/keys.all"
it_finish
