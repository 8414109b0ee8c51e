# SPDX-License-Identifier: MIT
#
# Shared by the control plane's shell tests (test_gossipctl.sh,
# test_rpc_serf_cli.sh, test_rpc_gossipd.sh, test_scale_members.sh):
# sourced, never run. It owns the scratch directory, the PIDs to kill on
# exit (every process a test starts goes into PIDS, and is killed by PID,
# never by name), TAP-style ok/fail counting and the final verdict.
# Loopback only. Needs bash and python3 (free_port).

TMP=$(mktemp -d)
PIDS=()
FAKE_PIDS=()	# rpc_fake_server instances (also in PIDS), for fake_stop
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

# tap_is DESC WANT GOT: ok when GOT is exactly WANT, else fail with the
# diff.
tap_is() {
	if [ "$3" == "$2" ]; then
		ok "$1"
	else
		fail "$1"
		diff <(echo "$2") <(echo "$3") | sed 's/^/#   /'
	fi
}

# A TCP port free on 127.0.0.1 right now.
free_port() {
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

# Start a fake server ($FAKE, extra args go to it); sets FP to its port.
# Not in a $(...) subshell, so that its PID is recorded for the cleanup.
start_fake() {
	local out=$TMP/fake.$RANDOM
	"$FAKE" --max-seconds 120 "$@" > "$out" 2>&1 &
	PIDS+=($!)
	FAKE_PIDS+=($!)
	for _ in $(seq 1 100); do
		[ -s "$out" ] && break
		sleep 0.05
	done
	FP=$(head -n1 "$out")
}

# Stop the fakes cleanly (SIGTERM: cp_rpc_delete runs); under ASan a leak
# or UB report lands in their output, and fails the test.
fake_stop() {
	for p in "${FAKE_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	if grep -lE "Sanitizer|runtime error" "$TMP"/fake.* >/dev/null 2>&1; then
		fail "fake server sanitizer report"
		grep -hE -A5 "Sanitizer|runtime error" "$TMP"/fake.* | head -20
	else
		ok "fake servers exited clean"
	fi
}

# The last line of a test: the counts, and its exit status (0: all ok).
tap_done() {
	echo "# $NOK passed, $NFAIL failed"
	[ "$NFAIL" -eq 0 ]
}
