# SPDX-License-Identifier: MIT
# Shared by scripts/bench-dataplane.sh and scripts/bench-dpdk.sh, sourced
# after their argument loop: the checks of the numbers both take, and
# their --skip list.
# Uses the caller's ROUNDS DURATION WINDOW PINGS SKIP.
# shellcheck shell=bash

# Whole numbers in range (rounds 1..20, duration 1..60 s, window 1..1000,
# pings 1e3..1e6), or exit 2 with $1 (the script's name) on the message.
bench_args_check() {
	case "$ROUNDS$DURATION$WINDOW$PINGS" in
	*[!0-9]*) echo "$1: numbers only" >&2; exit 2 ;;
	esac
	[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 20 ] && [ "$DURATION" -ge 1 ] &&
		[ "$DURATION" -le 60 ] && [ "$WINDOW" -ge 1 ] &&
		[ "$WINDOW" -le 1000 ] && [ "$PINGS" -ge 1000 ] &&
		[ "$PINGS" -le 1000000 ] ||
		{ echo "$1: rounds 1..20, duration 1..60 s, window 1..1000, pings 1e3..1e6" >&2; exit 2; }
}

# Is row $1 in the --skip list?
skipped() { case ",$SKIP," in *",$1,"*) return 0 ;; esac; return 1; }
