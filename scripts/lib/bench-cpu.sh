# Shared by the bench scripts (sourced): CPU accounting for the
# "disturbed" verdict, and a wait for a quiet moment before a round.
# shellcheck shell=bash

# CPU time (jiffies) of all CPUs, and of the given processes.
cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
cpu_of() {
	local s=0 p t
	for p in "$@"; do
		t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }') || t=0
		s=$((s + ${t:-0}))
	done
	echo "$s"
}
# Before a round: wait (at most QUIET_WAIT s) until the CPUs have been
# nearly idle (< 10% of one CPU) for half a second, so that rounds start
# in a quiet moment on a shared machine; the round is still checked.
QUIET_WAIT=${QUIET_WAIT:-30}
wait_quiet() {
	local b0 b1 i
	for i in $(seq $((QUIET_WAIT * 2))); do
		b0=$(cpu_busy); sleep 0.5; b1=$(cpu_busy)
		[ $((b1 - b0)) -le 5 ] && return 0
	done
	return 0
}
