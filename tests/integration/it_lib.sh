# SPDX-License-Identifier: MIT
#
# Shell pieces shared by the integration scripts (it_encrypt.sh,
# it_keys.sh, it_handlers.sh, it_metrics.sh, it_swarm.sh, nodpdk.sh).
# Sourced, never run:
#
#   . "$(dirname "$0")/it_lib.sh"
#   it_init gd-it-NAME        # LOG dir, PIDS, FAILED, NB_CHECKS, traps
#                             # (it_init_mixed: the same after the skips
#                             # of a gossipd-and-serf script)
#   check "what" 'condition'  # counted; a failure sets FAILED=1
#   ...
#   it_finish                 # closing line, exit 0 or 1
#
# The trap kills only the PIDs the script appended to PIDS (each of its
# own background processes), also on failure or on SIGINT/SIGTERM; logs
# are removed on success and kept (and named) on failure.
# Callers may set SERF (default serf) and GOSSIPD before using the
# serf_* / gossipd_start helpers, and IT_POLL (default 0.2 s) for
# wait_for / wait_status.

SERF=${SERF:-serf}
IT_POLL=${IT_POLL:-0.2}

skip() { echo "SKIP: $*"; exit 77; }
note() { echo "[$(date +%T)] $*"; }
# A failure the script cannot go on after: logged, logs kept, exit 1.
die() { note "FAIL: $*"; FAILED=1; exit 1; }

it_cleanup() {
	local p
	# CONT then KILL (as it_encrypt.sh and it_keys.sh did): harmless
	# for a running process.
	for p in "${PIDS[@]}"; do
		kill -CONT "$p" 2>/dev/null
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

# it_init PREFIX: a fresh log dir /tmp/PREFIX.XXXXXX and the cleanup trap.
it_init() {
	LOG=$(mktemp -d "/tmp/$1.XXXXXX") || { echo "mktemp failed"; exit 1; }
	PIDS=()
	FAILED=0
	NB_CHECKS=0
	trap it_cleanup EXIT
	trap 'exit 130' INT TERM
}

# it_init_mixed PREFIX: for a script that runs $GOSSIPD against serf
# agents on free ports: skip (77) without a serf agent, python3 (for
# free_ports) or an executable $GOSSIPD, then it_init PREFIX.
it_init_mixed() {
	command -v "$SERF" >/dev/null || skip "no serf agent"
	command -v python3 >/dev/null || skip "no python3 (free ports)"
	[ -x "$GOSSIPD" ] || skip "no gossipd at $GOSSIPD"
	it_init "$1"
}

# check TEXT CONDITION: eval the condition, log ok/FAIL, count it.
check() {
	NB_CHECKS=$((NB_CHECKS + 1))
	if eval "$2"; then
		note "ok: $1"
	else
		note "FAIL: $1"
		FAILED=1
	fi
}

# The closing line, then exit 0 if every check passed, else 1.
it_finish() {
	if [ "$FAILED" = 0 ]; then
		note "$NB_CHECKS checks, all passed"
		exit 0
	fi
	note "$NB_CHECKS checks, FAILED"
	exit 1
}

# free_ports N: N different ports in 20000..32767 (below Linux's
# ephemeral range, so no outgoing connection takes one meanwhile), each
# free for both TCP and UDP on every address (gossip-swarm binds
# 127.64.x.y too), space-separated; fewer if too few are free.
free_ports() {
	python3 - "$1" <<'EOF'
import random, socket, sys
want, got = int(sys.argv[1]), []
for p in random.sample(range(20000, 32768), 4000):
    try:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind(("0.0.0.0", p))
            finally:
                s.close()
    except OSError:
        continue
    got.append(p)
    if len(got) == want:
        break
print(" ".join(map(str, got)))
EOF
}

# wait_for SECONDS COMMAND...: eval COMMAND every IT_POLL s until it
# succeeds (0) or SECONDS have passed (1).
wait_for() {
	local end=$((SECONDS + $1))

	shift
	while [ $SECONDS -lt "$end" ]; do
		eval "$@" && return 0
		sleep "$IT_POLL"
	done
	return 1
}

# Status of node $2 as the agent at RPC port $1 sees it ("" if absent).
# A script whose nodes have no serf RPC redefines it (nodpdk.sh).
status_of() {
	timeout 5 "$SERF" members -rpc-addr="127.0.0.1:$1" 2>/dev/null |
		awk -v n="$2" '$1 == n { print $3 }'
}

# Wait (bounded by $4 seconds) until $1 sees $2 with status $3.
wait_status() {
	local end=$((SECONDS + $4))

	while [ $SECONDS -lt "$end" ]; do
		[ "$(status_of "$1" "$2")" = "$3" ] && return 0
		sleep "$IT_POLL"
	done
	return 1
}

# serf_start NAME PORT RPC [AGENT ARGS...]: a serf agent on 127.0.0.1,
# output in $LOG/NAME.log, its PID in PIDS and in IT_PID.
serf_start() {
	local name=$1 port=$2 rpc=$3

	shift 3
	"$SERF" agent -node="$name" -bind="127.0.0.1:$port" \
		-rpc-addr="127.0.0.1:$rpc" "$@" >"$LOG/$name.log" 2>&1 &
	IT_PID=$!
	PIDS+=($IT_PID)
}

# gossipd_start NAME PORT RPC [GOSSIPD ARGS...]: the same for $GOSSIPD.
gossipd_start() {
	local name=$1 port=$2 rpc=$3

	shift 3
	"$GOSSIPD" --name "$name" --bind "127.0.0.1:$port" \
		--rpc-addr "127.0.0.1:$rpc" "$@" >"$LOG/$name.log" 2>&1 </dev/null &
	IT_PID=$!
	PIDS+=($IT_PID)
}
