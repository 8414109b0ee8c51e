#!/bin/sh
# SPDX-License-Identifier: MIT
# Run the scenario executables over many seeds (the nightly soak):
#   tests/sim/soak.sh BUILD_DIR [FIRST_SEED] [COUNT] [scenario...]
# e.g. tests/sim/soak.sh build-sim 1000 50 detect loss
# Each run is bounded by `timeout`; a failing seed prints its replay
# command and log tail. Figures are aggregated by summarize.sh at the end.
set -u
build=${1:?usage: soak.sh BUILD_DIR [FIRST_SEED] [COUNT] [scenario...]}
first=${2:-1}
count=${3:-20}
shift $(( $# < 3 ? $# : 3 ))
dir="$build/tests/scenario"
[ -d "$dir" ] || { echo "soak: no $dir" >&2; exit 2; }
if [ $# -eq 0 ]; then
	for f in "$dir"/test_sc_*; do
		[ -f "$f" ] && [ -x "$f" ] && set -- "$@" "${f##*/test_sc_}"
	done
fi
results=$(mktemp)
trap 'rm -f "$results"' EXIT
fails=0
seed=$first
while [ "$seed" -lt $((first + count)) ]; do
	for sc in "$@"; do
		out=$(GOSSIPD_TEST_SEED=$seed timeout 600 "$dir/test_sc_$sc" 2>&1)
		printf '%s\n' "$out" | grep '^SIM-RESULT ' >> "$results"
		if ! printf '%s\n' "$out" | grep -q 'Failing: 0 | Crashing: 0'; then
			fails=$((fails + 1))
			echo "FAIL: GOSSIPD_TEST_SEED=$seed $dir/test_sc_$sc"
			printf '%s\n' "$out" | grep -v '^SIM-TRACE' | tail -15
		fi
	done
	seed=$((seed + 1))
done
"$(dirname "$0")/summarize.sh" "$results"
echo "soak: seeds $first..$((first + count - 1)), scenarios: $*, failures: $fails"
[ "$fails" -eq 0 ]
